import type { UserResource } from '../../scim/user.js';
import { unique, VersionConflict } from '../errors.js';
import { activeValue, emailsChanged, emailsOf, toUserRow, userColumns, type NewUser, type Terms, type UserColumns, type UserRow } from '../rows.js';
import type { UsersTable } from '../schema.js';
import type { UserWrites } from '../interfaces.js';
import { list, type Prepared } from './prepared.js';
import type { ReadSnapshot } from './read-snapshot.js';
import type { UserRowCache } from './user-cache.js';
import { identityKey } from '../../lib/identity-text.js';

const COLUMNS = '"id", "user_name", "user_name_lc", "external_id", "active", "role", "resource", "created_at", "updated_at", "version"';
const SET =
  '"user_name" = ?, "user_name_lc" = ?, "external_id" = ?, "active" = ?, "resource" = ?, "updated_at" = ?, "version" = "version" + 1, "deleted_at" = null, "upstream" = null';

const SQL = {
  byId: 'select * from "users" where "id" = ?',
  byUserName: 'select * from "users" where "user_name_lc" = ?',
  isLive: 'select 1 from "users" where "id" = ? and "deleted_at" is null',
  many: 'select * from "users" where "id" in (select value from json_each(?))',
  rolesOf: 'select "id", "role" from "users" where "id" in (select value from json_each(?)) and "deleted_at" is null',
  liveIds: 'select "id" from "users" where "deleted_at" is null',
  tombstones: 'select * from "users" where "deleted_at" is not null',
  pageFirst: 'select * from "users" where "deleted_at" is null order by "id" limit ?',
  pageAfter: 'select * from "users" where "deleted_at" is null and "id" > ? order by "id" limit ?',
  pageAt: 'select * from "users" where "deleted_at" is null order by "id" limit ? offset ?',
  insert: `insert into "users" (${COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
  adopt: `insert into "users" (${COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 1) on conflict do nothing`,
  update: `update "users" set ${SET} where "id" = ? returning *`,
  updateIf: `update "users" set ${SET} where "id" = ? and "version" = ? and "deleted_at" is null returning *`,
  setRole: 'update "users" set "role" = ? where "id" = ?',
  setUpstream: 'update "users" set "upstream" = ? where "id" = ?',
  insertEmail: 'insert into "user_emails" ("user_id", "value_lc", "type") values (?, ?, ?)',
  deleteEmails: 'delete from "user_emails" where "user_id" = ?',
  leaveGroups: 'delete from "group_members" where "user_id" = ?',
  leaveOutbox: 'delete from "role_sync" where "user_id" = ?',
  tombstone: 'update "users" set "deleted_at" = ?, "role" = null where "id" = ?',
  remove: 'delete from "users" where "id" = ?',
} as const;

/** Each filter key as a condition on a live user, and its parameters. */
const TERM: Record<string, (t: Terms[number]) => [string, unknown[]]> = {
  id: (t) => ['"id" = ?', [String(t.value)]],
  userName: (t) => ['"user_name_lc" = ?', [identityKey(String(t.value))]],
  externalId: (t) => ['"external_id" = ?', [String(t.value)]],
  active: (t) => ['"active" = ?', [activeValue(t.value)]],
  // `in` over the emails' own index: an `exists` per user walked the whole table.
  'emails.value': (t) =>
    t.type === undefined
      ? ['"id" in (select "user_id" from "user_emails" where "value_lc" = ?)', [identityKey(String(t.value))]]
      : ['"id" in (select "user_id" from "user_emails" where "value_lc" = ? and "type" = ?)', [identityKey(String(t.value)), t.type.toLowerCase()]],
};

/** A filter as the text after `from "users"` and its parameters. */
function where(terms: Terms): [string, unknown[]] {
  const clauses = ['"deleted_at" is null'];
  const params: unknown[] = [];
  for (const t of terms) {
    const term = TERM[t.key];
    if (!term) throw new Error(`unsupported filter key ${t.key}`);
    const [clause, p] = term(t);
    clauses.push(clause);
    params.push(...p);
  }
  return [` where ${clauses.join(' and ')}`, params];
}

/**
 * The user index on one SQLite connection, every statement prepared once and run
 * synchronously. On the read connection it reads inside the turn's snapshot and keeps
 * rows by id in the cache; on the writer it tells the cache what each write did to a
 * user (the snapshot ends with every commit; the cache keeps the rows the commit wrote).
 */
export class SqliteUsers implements UserWrites {
  constructor(
    private readonly p: Prepared,
    private readonly snapshot?: ReadSnapshot,
    private readonly cache?: UserRowCache,
    /** On the writer: told what each write did to a user, for the read side to keep once it commits. */
    private readonly journal?: UserRowCache,
  ) {}

  private select<R>(text: string, ...params: unknown[]): R[] {
    this.snapshot?.enter();
    return this.p.sql<unknown[], R>(text).all(...params);
  }

  async get(id: string): Promise<UserRow | undefined> {
    const kept = this.cache?.get(id);
    if (kept) return kept;
    this.snapshot?.enter();
    const r = this.p.sql<[string], UsersTable>(SQL.byId).get(id);
    if (!r) return undefined;
    return this.cache ? this.cache.add(toUserRow(r)) : toUserRow(r);
  }

  async getMany(ids: readonly string[]): Promise<UserRow[]> {
    return ids.length === 0 ? [] : this.select<UsersTable>(SQL.many, list(ids)).map(toUserRow);
  }

  async findByUserName(userName: string): Promise<UserRow | undefined> {
    return this.findLc(identityKey(userName));
  }

  private findLc(userNameLc: string): UserRow | undefined {
    this.snapshot?.enter();
    const r = this.p.sql<[string], UsersTable>(SQL.byUserName).get(userNameLc);
    return r && toUserRow(r);
  }

  async query(terms: Terms, offset: number, limit: number): Promise<{ rows: UserRow[]; total: number }> {
    // The IdPs' usual lookup: userName is unique, so one row at most.
    if (terms.length === 1 && terms[0]!.key === 'userName' && offset === 0 && limit > 0) {
      const row = this.findLc(identityKey(String(terms[0]!.value)));
      const rows = row && !row.deleted ? [row] : [];
      return { rows, total: rows.length };
    }
    const [filter, params] = where(terms);
    // The total an import asks for on every page: a count of the whole table, kept until a commit.
    if (terms.length === 0 && limit === 0) return { rows: [], total: this.countLive(filter) };
    const rows =
      limit > 0
        ? this.select<UsersTable>(`select * from "users"${filter} order by "created_at", "id" limit ? offset ?`, ...params, limit, offset).map(toUserRow)
        : [];
    // A first page that is not full holds every match: no count needed (the common lookup).
    if (offset === 0 && rows.length < limit) return { rows, total: rows.length };
    const [count] = this.select<{ n: number }>(`select count(*) as "n" from "users"${filter}`, ...params);
    return { rows, total: Number(count!.n) };
  }

  private countLive(filter: string): number {
    const count = () => Number(this.select<{ n: number }>(`select count(*) as "n" from "users"${filter}`)[0]!.n);
    return this.cache ? this.cache.liveCount(count) : count();
  }

  async rolesOf(ids: readonly string[]): Promise<Map<string, string | null>> {
    if (ids.length === 0) return new Map();
    return new Map(this.select<{ id: string; role: string | null }>(SQL.rolesOf, list(ids)).map((r) => [r.id, r.role]));
  }

  async existingIds(ids: readonly string[]): Promise<Set<string>> {
    this.snapshot?.enter();
    const isLive = this.p.sql<[string], unknown>(SQL.isLive);
    // One indexed lookup per id: no statement per list length.
    return new Set(ids.filter((id) => isLive.get(id) !== undefined));
  }

  async page(afterId: string | undefined, limit: number, offset = 0): Promise<UserRow[]> {
    if (afterId === undefined && offset > 0) return this.select<UsersTable>(SQL.pageAt, limit, offset).map(toUserRow);
    return (afterId === undefined ? this.select<UsersTable>(SQL.pageFirst, limit) : this.select<UsersTable>(SQL.pageAfter, afterId, limit)).map(toUserRow);
  }

  async liveIds(): Promise<string[]> {
    return this.select<{ id: string }>(SQL.liveIds).map((r) => r.id);
  }

  async tombstones(): Promise<UserRow[]> {
    return this.select<UsersTable>(SQL.tombstones).map(toUserRow);
  }

  /** SQLite runs one write transaction at a time: nothing to hold. */
  async lockForUpdate(): Promise<void> {}

  async insert(user: NewUser): Promise<void> {
    const now = new Date().toISOString();
    const c = userColumns(user.resource);
    await unique('user', () => this.p.sql(SQL.insert).run(user.id, ...values(c, user.role, user.createdAt ?? now, now)));
    this.journal?.stage(user.id);
    this.setEmails(user.id, user.resource, false);
  }

  async adopt(users: readonly NewUser[]): Promise<void> {
    const now = new Date().toISOString();
    const adopt = this.p.sql(SQL.adopt);
    for (const u of users) {
      if (adopt.run(u.id, ...values(userColumns(u.resource), u.role, u.createdAt ?? now, now)).changes === 1) {
        this.journal?.stage(u.id);
        this.setEmails(u.id, u.resource, false);
      }
    }
  }

  async setUpstream(id: string, upstream: Record<string, unknown> | null): Promise<void> {
    this.p.sql(SQL.setUpstream).run(upstream ? JSON.stringify(upstream) : null, id);
    this.journal?.stage(id);
  }

  async update(id: string, resource: UserResource, expectedVersion?: number, previous?: UserResource): Promise<void> {
    const c = userColumns(resource);
    const set = [c.user_name, c.user_name_lc, c.external_id, c.active, c.resource, new Date().toISOString(), id];
    const run = () =>
      expectedVersion === undefined
        ? this.p.sql<unknown[], UsersTable>(SQL.update).get(...set)
        : this.p.sql<unknown[], UsersTable>(SQL.updateIf).get(...set, expectedVersion);
    const written = await unique('user', run);
    if (!written) {
      if (expectedVersion !== undefined) throw new VersionConflict(id);
      return;
    }
    // The row as the database now holds it: the read side keeps it once this commits.
    this.journal?.stage(id, toUserRow(written));
    if (emailsChanged(previous, resource)) this.setEmails(id, resource, true);
  }

  async setRoles(changes: ReadonlyMap<string, string | null>): Promise<void> {
    const setRole = this.p.sql(SQL.setRole);
    for (const [id, role] of changes) {
      setRole.run(role, id);
      this.journal?.stage(id);
    }
  }

  async delete(id: string, tombstone: boolean): Promise<void> {
    this.journal?.stage(id);
    this.p.sql(SQL.leaveGroups).run(id);
    this.p.sql(SQL.leaveOutbox).run(id);
    if (tombstone) {
      this.p.sql(SQL.tombstone).run(new Date().toISOString(), id);
      return;
    }
    this.p.sql(SQL.deleteEmails).run(id);
    this.p.sql(SQL.remove).run(id);
  }

  /** `replace` drops the old emails first. */
  private setEmails(id: string, resource: UserResource, replace: boolean): void {
    if (replace) this.p.sql(SQL.deleteEmails).run(id);
    const insert = this.p.sql(SQL.insertEmail);
    for (const e of emailsOf(resource)) insert.run(id, e.value_lc, e.type);
  }
}

function values(c: UserColumns, role: string | null, createdAt: string, updatedAt: string): unknown[] {
  return [c.user_name, c.user_name_lc, c.external_id, c.active, role, c.resource, createdAt, updatedAt];
}
