import { sql, type Kysely } from 'kysely';
import { unique } from '../errors.js';
import { chunks, groupColumns, toGroupRow, type GroupFields, type GroupRow, type Terms } from '../rows.js';
import type { Database } from '../schema.js';
import type { GroupWrites } from '../interfaces.js';

/** Groups and memberships on PostgreSQL, through Kysely; a group being changed is held by its row lock. */
export class PostgresGroups implements GroupWrites {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<GroupRow | undefined> {
    const r = await this.db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toGroupRow(r);
  }

  async getForUpdate(id: string): Promise<GroupRow | undefined> {
    const r = await this.db.selectFrom('groups').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    return r && toGroupRow(r);
  }

  async all(): Promise<GroupRow[]> {
    return (await this.db.selectFrom('groups').selectAll().execute()).map(toGroupRow);
  }

  async query(terms: Terms, offset: number, limit: number): Promise<{ rows: GroupRow[]; total: number }> {
    let q = this.db.selectFrom('groups');
    for (const t of terms) {
      const v = String(t.value);
      if (t.key === 'id') q = q.where('id', '=', v);
      else if (t.key === 'displayName') q = q.where('display_name_lc', '=', v.toLowerCase());
      else if (t.key === 'externalId') q = q.where('external_id', '=', v);
      else if (t.key === 'members.value') {
        q = q.where((eb) =>
          eb.exists(
            eb
              .selectFrom('group_members')
              .select(sql<number>`1`.as('one'))
              .whereRef('group_members.group_id', '=', 'groups.id')
              .where('group_members.user_id', '=', v),
          ),
        );
      } else throw new Error(`unsupported filter key ${t.key}`);
    }
    const rows = limit > 0 ? (await q.selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute()).map(toGroupRow) : [];
    if (offset === 0 && rows.length < limit) return { rows, total: rows.length };
    const { total } = await q.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    return { rows, total: Number(total) };
  }

  async insert(id: string, fields: GroupFields): Promise<string> {
    const now = new Date().toISOString();
    await unique('group', () =>
      this.db
        .insertInto('groups')
        .values({ id, ...groupColumns(fields), created_at: now, updated_at: now, version: 1 })
        .execute(),
    );
    return now;
  }

  async update(id: string, fields: GroupFields): Promise<string> {
    const now = new Date().toISOString();
    await unique('group', () =>
      this.db
        .updateTable('groups')
        .set({ ...groupColumns(fields), updated_at: now, version: sql`version + 1` })
        .where('id', '=', id)
        .execute(),
    );
    return now;
  }

  async setRole(id: string, role: string | null, roleRank: number | null): Promise<void> {
    await this.db.updateTable('groups').set({ role, role_rank: roleRank }).where('id', '=', id).execute();
  }

  async touch(id: string): Promise<string> {
    const now = new Date().toISOString();
    await this.db
      .updateTable('groups')
      .set({ updated_at: now, version: sql`version + 1` })
      .where('id', '=', id)
      .execute();
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

  async membersUpTo(groupId: string, limit: number): Promise<{ members: string[]; displays: Map<string, string> } | undefined> {
    const rows = await this.db
      .selectFrom('group_members')
      .select(['user_id', 'display'])
      .where('group_id', '=', groupId)
      .orderBy('user_id')
      .limit(limit + 1)
      .execute();
    if (rows.length > limit) return undefined;
    const displays = new Map<string, string>();
    for (const r of rows) if (r.display !== null) displays.set(r.user_id, r.display);
    return { members: rows.map((r) => r.user_id), displays };
  }

  async membersAmong(groupId: string, userIds: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const part of chunks(userIds)) {
      const rows = await this.db.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).where('user_id', 'in', part).execute();
      for (const r of rows) found.add(r.user_id);
    }
    return found;
  }

  async membersOf(groupIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(groupIds.map((id) => [id, []]));
    for (const part of chunks(groupIds)) {
      const rows = await this.db.selectFrom('group_members').select(['group_id', 'user_id']).where('group_id', 'in', part).orderBy('user_id').execute();
      for (const r of rows) out.get(r.group_id)!.push(r.user_id);
    }
    return out;
  }

  async displaysOf(groupIds: readonly string[]): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>(groupIds.map((id) => [id, new Map()]));
    for (const part of chunks(groupIds)) {
      const rows = await this.db
        .selectFrom('group_members')
        .select(['group_id', 'user_id', 'display'])
        .where('group_id', 'in', part)
        .where('display', 'is not', null)
        .execute();
      for (const r of rows) out.get(r.group_id)!.set(r.user_id, r.display!);
    }
    return out;
  }

  /** One statement per chunk, the pairs passed as two arrays. */
  async setDisplays(groupId: string, displays: ReadonlyMap<string, string>): Promise<void> {
    for (const part of chunks([...displays])) {
      await sql`update group_members m set display = d.display from unnest(${part.map(([u]) => u)}::text[], ${part.map(([, d]) => d)}::text[]) as d(user_id, display)
        where m.group_id = ${groupId} and m.user_id = d.user_id`.execute(this.db);
    }
  }

  async addMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    for (const part of chunks(userIds)) {
      await this.db
        .insertInto('group_members')
        .values(part.map((user_id) => ({ group_id: groupId, user_id })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  async removeMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    for (const part of chunks(userIds)) await this.db.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', 'in', part).execute();
  }

  async bestRanks(userIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const part of chunks(userIds)) {
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
