import { unique } from '../errors.js';
import { groupColumns, toGroupRow, type GroupFields, type GroupRow, type Terms } from '../rows.js';
import type { GroupsTable } from '../schema.js';
import type { GroupWrites } from '../interfaces.js';
import { list, type Prepared } from './prepared.js';
import type { ReadSnapshot } from './read-snapshot.js';

const SQL = {
  byId: 'select * from "groups" where "id" = ?',
  all: 'select * from "groups"',
  insert:
    'insert into "groups" ("id", "display_name", "display_name_lc", "external_id", "role", "role_rank", "extra", "created_at", "updated_at", "version") values (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)',
  update:
    'update "groups" set "display_name" = ?, "display_name_lc" = ?, "external_id" = ?, "role" = ?, "role_rank" = ?, "extra" = ?, "updated_at" = ?, "version" = "version" + 1 where "id" = ?',
  setRole: 'update "groups" set "role" = ?, "role_rank" = ? where "id" = ?',
  touch: 'update "groups" set "updated_at" = ?, "version" = "version" + 1 where "id" = ?',
  deleteMembers: 'delete from "group_members" where "group_id" = ?',
  remove: 'delete from "groups" where "id" = ?',
  members: 'select "user_id" from "group_members" where "group_id" = ? order by "user_id"',
  // Run raw (arrays, not objects): a PATCH answer reads it on every change of a small group.
  membersUpTo: 'select "user_id", "display" from "group_members" where "group_id" = ? order by "user_id" limit ?',
  membersOf: 'select "group_id", "user_id" from "group_members" where "group_id" in (select value from json_each(?)) order by "user_id"',
  displaysOf: 'select "group_id", "user_id", "display" from "group_members" where "group_id" in (select value from json_each(?)) and "display" is not null',
  setDisplay: 'update "group_members" set "display" = ? where "group_id" = ? and "user_id" = ?',
  isMember: 'select 1 from "group_members" where "group_id" = ? and "user_id" = ?',
  add: 'insert into "group_members" ("group_id", "user_id") values (?, ?) on conflict do nothing',
  removeMember: 'delete from "group_members" where "group_id" = ? and "user_id" = ?',
  bestRanks:
    'select m."user_id" as "user_id", min(g."role_rank") as "rank" from "group_members" m join "groups" g on g."id" = m."group_id" ' +
    'where m."user_id" in (select value from json_each(?)) and g."role_rank" is not null group by m."user_id"',
} as const;

const TERM: Record<string, (v: string) => [string, string]> = {
  id: (v) => ['"id" = ?', v],
  displayName: (v) => ['"display_name_lc" = ?', v.toLowerCase()],
  externalId: (v) => ['"external_id" = ?', v],
  'members.value': (v) => ['exists (select 1 from "group_members" m where m."group_id" = "groups"."id" and m."user_id" = ?)', v],
};

function where(terms: Terms): [string, unknown[]] {
  if (terms.length === 0) return ['', []];
  const parts = terms.map((t) => {
    const term = TERM[t.key];
    if (!term) throw new Error(`unsupported filter key ${t.key}`);
    return term(String(t.value));
  });
  return [` where ${parts.map(([c]) => c).join(' and ')}`, parts.map(([, v]) => v)];
}

/**
 * Groups and memberships on one SQLite connection, every statement prepared once.
 * Memberships are checked and changed one row at a time: no statement per list length
 * (see docs/benchmarks.md for what that measured against IN-lists).
 */
export class SqliteGroups implements GroupWrites {
  constructor(
    private readonly p: Prepared,
    private readonly snapshot?: ReadSnapshot,
  ) {}

  private select<R>(text: string, ...params: unknown[]): R[] {
    this.snapshot?.enter();
    return this.p.sql<unknown[], R>(text).all(...params);
  }

  async get(id: string): Promise<GroupRow | undefined> {
    this.snapshot?.enter();
    const r = this.p.sql<[string], GroupsTable>(SQL.byId).get(id);
    return r && toGroupRow(r);
  }

  /** One write transaction at a time on SQLite: reading is holding. */
  getForUpdate(id: string): Promise<GroupRow | undefined> {
    return this.get(id);
  }

  async all(): Promise<GroupRow[]> {
    return this.select<GroupsTable>(SQL.all).map(toGroupRow);
  }

  async query(terms: Terms, offset: number, limit: number): Promise<{ rows: GroupRow[]; total: number }> {
    const [filter, params] = where(terms);
    const rows =
      limit > 0
        ? this.select<GroupsTable>(`select * from "groups"${filter} order by "created_at", "id" limit ? offset ?`, ...params, limit, offset).map(toGroupRow)
        : [];
    if (offset === 0 && rows.length < limit) return { rows, total: rows.length };
    const [count] = this.select<{ n: number }>(`select count(*) as "n" from "groups"${filter}`, ...params);
    return { rows, total: Number(count!.n) };
  }

  async insert(id: string, fields: GroupFields): Promise<string> {
    const now = new Date().toISOString();
    const c = groupColumns(fields);
    await unique('group', () => this.p.sql(SQL.insert).run(id, c.display_name, c.display_name_lc, c.external_id, c.role, c.role_rank, c.extra, now, now));
    return now;
  }

  async update(id: string, fields: GroupFields): Promise<string> {
    const now = new Date().toISOString();
    const c = groupColumns(fields);
    await unique('group', () => this.p.sql(SQL.update).run(c.display_name, c.display_name_lc, c.external_id, c.role, c.role_rank, c.extra, now, id));
    return now;
  }

  async setRole(id: string, role: string | null, roleRank: number | null): Promise<void> {
    this.p.sql(SQL.setRole).run(role, roleRank, id);
  }

  async touch(id: string): Promise<string> {
    const now = new Date().toISOString();
    this.p.sql(SQL.touch).run(now, id);
    return now;
  }

  async delete(id: string): Promise<void> {
    this.p.sql(SQL.deleteMembers).run(id);
    this.p.sql(SQL.remove).run(id);
  }

  async members(groupId: string): Promise<string[]> {
    return this.select<{ user_id: string }>(SQL.members, groupId).map((r) => r.user_id);
  }

  async membersUpTo(groupId: string, limit: number): Promise<{ members: string[]; displays: Map<string, string> } | undefined> {
    this.snapshot?.enter();
    const rows = this.p
      .sql<[string, number], [string, string | null]>(SQL.membersUpTo)
      .raw(true)
      .all(groupId, limit + 1) as unknown as [string, string | null][];
    if (rows.length > limit) return undefined;
    const displays = new Map<string, string>();
    for (const [user, display] of rows) if (display !== null) displays.set(user, display);
    return { members: rows.map((r) => r[0]), displays };
  }

  async membersOf(groupIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(groupIds.map((id) => [id, []]));
    if (groupIds.length > 0)
      for (const r of this.select<{ group_id: string; user_id: string }>(SQL.membersOf, list(groupIds))) out.get(r.group_id)!.push(r.user_id);
    return out;
  }

  async displaysOf(groupIds: readonly string[]): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>(groupIds.map((id) => [id, new Map()]));
    if (groupIds.length > 0)
      for (const r of this.select<{ group_id: string; user_id: string; display: string }>(SQL.displaysOf, list(groupIds)))
        out.get(r.group_id)!.set(r.user_id, r.display);
    return out;
  }

  async setDisplays(groupId: string, displays: ReadonlyMap<string, string>): Promise<void> {
    const set = this.p.sql(SQL.setDisplay);
    for (const [u, d] of displays) set.run(d, groupId, u);
  }

  async membersAmong(groupId: string, userIds: readonly string[]): Promise<Set<string>> {
    this.snapshot?.enter();
    const isMember = this.p.sql<[string, string], unknown>(SQL.isMember);
    return new Set(userIds.filter((u) => isMember.get(groupId, u) !== undefined));
  }

  async addMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    const add = this.p.sql(SQL.add);
    for (const u of userIds) add.run(groupId, u);
  }

  async removeMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    const remove = this.p.sql(SQL.removeMember);
    for (const u of userIds) remove.run(groupId, u);
  }

  async bestRanks(userIds: readonly string[]): Promise<Map<string, number>> {
    if (userIds.length === 0) return new Map();
    return new Map(this.select<{ user_id: string; rank: number }>(SQL.bestRanks, list(userIds)).map((r) => [r.user_id, Number(r.rank)]));
  }
}
