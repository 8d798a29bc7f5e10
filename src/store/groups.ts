import { sql, type Kysely } from 'kysely';
import type { EqTerm } from '../scim/filter.js';
import type { JsonObject } from '../scim/values.js';
import type { GroupStatements } from './group-statements.js';
import { unique } from './errors.js';
import type { Database, GroupsTable } from './schema.js';
import { chunks } from './users.js';

export interface GroupRow {
  id: string;
  displayName: string;
  externalId: string | null;
  role: string | null;
  roleRank: number | null;
  extra: JsonObject;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export const GROUP_FILTER_VOCABULARY: Record<string, string> = {
  id: 'id',
  displayname: 'displayName',
  externalid: 'externalId',
  'members.value': 'members.value',
};

function toRow(r: GroupsTable): GroupRow {
  return {
    id: r.id,
    displayName: r.display_name,
    externalId: r.external_id,
    role: r.role,
    roleRank: r.role_rank === null ? null : Number(r.role_rank),
    extra: JSON.parse(r.extra) as JsonObject,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: Number(r.version),
  };
}

function columns(fields: GroupFields) {
  return {
    display_name: fields.displayName,
    display_name_lc: fields.displayName.toLowerCase(),
    external_id: fields.externalId,
    role: fields.role,
    role_rank: fields.roleRank,
    extra: JSON.stringify(fields.extra),
  };
}

export interface GroupFields {
  displayName: string;
  externalId: string | null;
  role: string | null;
  roleRank: number | null;
  extra: JsonObject;
}

/** Groups are the bridge's own: FullStory never sees them, only the roles they imply. */
export class GroupsRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
    /** SQLite, in a transaction: a group PATCH's statements, without Kysely, on the writing connection. */
    private readonly statements?: GroupStatements,
  ) {}

  async get(id: string): Promise<GroupRow | undefined> {
    const r = await this.db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRow(r);
  }

  /**
   * Reads a group and holds it until the transaction ends, so concurrent changes to one
   * group queue behind each other on any replica. (SQLite runs one write transaction at a time anyway.)
   */
  async getForUpdate(id: string): Promise<GroupRow | undefined> {
    if (this.statements) {
      const r = this.statements.byId(id);
      return r && toRow(r);
    }
    const r = await this.db
      .selectFrom('groups')
      .selectAll()
      .where('id', '=', id)
      .$if(this.dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirst();
    return r && toRow(r);
  }

  async all(): Promise<GroupRow[]> {
    return (await this.db.selectFrom('groups').selectAll().execute()).map(toRow);
  }

  async query(terms: readonly EqTerm[], offset: number, limit: number): Promise<{ rows: GroupRow[]; total: number }> {
    let q = this.db.selectFrom('groups');
    for (const t of terms) {
      const v = String(t.value);
      if (t.key === 'id') q = q.where('id', '=', v);
      else if (t.key === 'displayName') q = q.where('display_name_lc', '=', v.toLowerCase());
      else if (t.key === 'externalId') q = q.where('external_id', '=', v);
      else if (t.key === 'members.value') {
        q = q.where((eb) =>
          eb.exists(
            eb.selectFrom('group_members').select(sql<number>`1`.as('one')).whereRef('group_members.group_id', '=', 'groups.id').where('group_members.user_id', '=', v),
          ),
        );
      } else throw new Error(`unsupported filter key ${t.key}`);
    }
    const rows = limit > 0 ? await q.selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute() : [];
    if (offset === 0 && rows.length < limit) return { rows: rows.map(toRow), total: rows.length };
    const { total } = await q.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    return { rows: rows.map(toRow), total: Number(total) };
  }

  /** Returns the creation time it stored; throws UniquenessConflict where the name is taken. */
  async insert(id: string, fields: GroupFields): Promise<string> {
    const now = new Date().toISOString();
    await unique('group', () =>
      this.db
        .insertInto('groups')
        .values({ id, ...columns(fields), created_at: now, updated_at: now, version: 1 })
        .execute(),
    );
    return now;
  }

  /** Returns the modification time it stored; throws UniquenessConflict where the name is taken. */
  async update(id: string, fields: GroupFields): Promise<string> {
    const now = new Date().toISOString();
    await unique('group', () =>
      this.db
        .updateTable('groups')
        .set({ ...columns(fields), updated_at: now, version: sql`version + 1` })
        .where('id', '=', id)
        .execute(),
    );
    return now;
  }

  async setRole(id: string, role: string | null, roleRank: number | null): Promise<void> {
    await this.db.updateTable('groups').set({ role, role_rank: roleRank }).where('id', '=', id).execute();
  }

  /** Marks the group changed (members only); returns the modification time it stored. */
  async touch(id: string): Promise<string> {
    const now = new Date().toISOString();
    if (this.statements) this.statements.touch(id, now);
    else await this.db.updateTable('groups').set({ updated_at: now, version: sql`version + 1` }).where('id', '=', id).execute();
    return now;
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('group_members').where('group_id', '=', id).execute();
    await this.db.deleteFrom('groups').where('id', '=', id).execute();
  }

  async members(groupId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).orderBy('user_id').execute();
    return rows.map((r) => r.user_id);
  }

  /** Which of `userIds` are members: a PATCH that adds one member to a large group reads one row, not all. */
  async membersAmong(groupId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (this.statements) return this.statements.membersAmong(groupId, userIds);
    const found = new Set<string>();
    for (const part of chunks(userIds)) {
      if (part.length === 0) continue;
      const rows = await this.db.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).where('user_id', 'in', part).execute();
      for (const r of rows) found.add(r.user_id);
    }
    return found;
  }

  async membersOf(groupIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(groupIds.map((id) => [id, []]));
    for (const part of chunks(groupIds)) {
      if (part.length === 0) continue;
      const rows = await this.db.selectFrom('group_members').select(['group_id', 'user_id']).where('group_id', 'in', part).orderBy('user_id').execute();
      for (const r of rows) out.get(r.group_id)!.push(r.user_id);
    }
    return out;
  }

  async addMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    if (this.statements) return this.statements.add(groupId, userIds);
    for (const part of chunks(userIds)) {
      if (part.length === 0) continue;
      await this.db
        .insertInto('group_members')
        .values(part.map((user_id) => ({ group_id: groupId, user_id })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  async removeMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    if (this.statements) return this.statements.remove(groupId, userIds);
    for (const part of chunks(userIds)) {
      if (part.length === 0) continue;
      await this.db.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', 'in', part).execute();
    }
  }

  /** For each user, the best (lowest) rank among the mapped groups they belong to. */
  async bestRanks(userIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const part of chunks(userIds)) {
      if (part.length === 0) continue;
      const rows = await this.db
        .selectFrom('group_members')
        .innerJoin('groups', 'groups.id', 'group_members.group_id')
        .select(['group_members.user_id as user_id', (eb) => eb.fn.min<number>('groups.role_rank').as('rank')])
        .where('group_members.user_id', 'in', part)
        .where('groups.role_rank', 'is not', null)
        .groupBy('group_members.user_id')
        .execute();
      for (const r of rows) out.set(r.user_id, Number(r.rank));
    }
    return out;
  }
}
