import { sql, type Kysely } from 'kysely';
import type { UserResource } from '../../scim/user.js';
import { unique, VersionConflict } from '../errors.js';
import { activeValue, chunks, emailsChanged, emailsOf, toUserRow, userColumns, type NewUser, type Terms, type UserRow } from '../rows.js';
import type { Database } from '../schema.js';
import type { UserWrites } from '../interfaces.js';
import { identityKey } from '../../lib/identity-text.js';

/** The user index on PostgreSQL, through Kysely; lists go in chunks to bound a statement's parameters. */
export class PostgresUsers implements UserWrites {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<UserRow | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toUserRow(r);
  }

  async getMany(ids: readonly string[]): Promise<UserRow[]> {
    const out: UserRow[] = [];
    for (const part of chunks(ids)) out.push(...(await this.db.selectFrom('users').selectAll().where('id', 'in', part).execute()).map(toUserRow));
    return out;
  }

  async findByUserName(userName: string): Promise<UserRow | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('user_name_lc', '=', identityKey(userName)).executeTakeFirst();
    return r && toUserRow(r);
  }

  async query(terms: Terms, offset: number, limit: number): Promise<{ rows: UserRow[]; total: number }> {
    let q = this.db.selectFrom('users').where('deleted_at', 'is', null);
    for (const t of terms) {
      const v = String(t.value);
      if (t.key === 'id') q = q.where('id', '=', v);
      else if (t.key === 'userName') q = q.where('user_name_lc', '=', identityKey(v));
      else if (t.key === 'externalId') q = q.where('external_id', '=', v);
      else if (t.key === 'active') q = q.where('active', '=', activeValue(t.value));
      else if (t.key === 'emails.value') {
        // `in` over the emails' own index, as on SQLite.
        q = q.where('id', 'in', (eb) =>
          eb
            .selectFrom('user_emails')
            .select('user_emails.user_id')
            .where('user_emails.value_lc', '=', identityKey(v))
            .$if(t.type !== undefined, (s) => s.where('user_emails.type', '=', t.type!.toLowerCase())),
        );
      } else throw new Error(`unsupported filter key ${t.key}`);
    }
    const rows = limit > 0 ? (await q.selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute()).map(toUserRow) : [];
    // A first page that is not full holds every match: no COUNT needed (the common lookup).
    if (offset === 0 && rows.length < limit) return { rows, total: rows.length };
    const { total } = await q.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    return { rows, total: Number(total) };
  }

  async rolesOf(ids: readonly string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const part of chunks(ids)) {
      const rows = await this.db.selectFrom('users').select(['id', 'role']).where('id', 'in', part).where('deleted_at', 'is', null).execute();
      for (const r of rows) out.set(r.id, r.role);
    }
    return out;
  }

  async existingIds(ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const part of chunks(ids)) {
      for (const r of await this.db.selectFrom('users').select('id').where('id', 'in', part).where('deleted_at', 'is', null).execute()) found.add(r.id);
    }
    return found;
  }

  async page(afterId: string | undefined, limit: number, offset = 0): Promise<UserRow[]> {
    const rows = await this.db
      .selectFrom('users')
      .selectAll()
      .where('deleted_at', 'is', null)
      .$if(afterId !== undefined, (q) => q.where('id', '>', afterId!))
      .orderBy('id')
      .limit(limit)
      .$if(afterId === undefined && offset > 0, (q) => q.offset(offset))
      .execute();
    return rows.map(toUserRow);
  }

  async tombstones(): Promise<UserRow[]> {
    return (await this.db.selectFrom('users').selectAll().where('deleted_at', 'is not', null).execute()).map(toUserRow);
  }

  async liveIds(): Promise<string[]> {
    return (await this.db.selectFrom('users').select('id').where('deleted_at', 'is', null).execute()).map((r) => r.id);
  }

  /** In id order, so two transactions locking overlapping users never deadlock. */
  async lockForUpdate(ids: readonly string[]): Promise<void> {
    for (const part of chunks([...ids].sort())) await this.db.selectFrom('users').select('id').where('id', 'in', part).orderBy('id').forUpdate().execute();
  }

  async insert(user: NewUser): Promise<void> {
    const now = new Date().toISOString();
    await unique('user', () =>
      this.db
        .insertInto('users')
        .values({ id: user.id, ...userColumns(user.resource), role: user.role, created_at: user.createdAt ?? now, updated_at: now, version: 1 })
        .execute(),
    );
    await this.setEmails(user.id, user.resource, false);
  }

  async adopt(users: readonly NewUser[]): Promise<void> {
    const now = new Date().toISOString();
    for (const part of chunks(users, 200)) {
      const inserted = await this.db
        .insertInto('users')
        .values(part.map((u) => ({ id: u.id, ...userColumns(u.resource), role: u.role, created_at: u.createdAt ?? now, updated_at: now, version: 1 })))
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .execute();
      const fresh = new Set(inserted.map((r) => r.id));
      const emails = part.filter((u) => fresh.has(u.id)).flatMap((u) => emailsOf(u.resource).map((e) => ({ user_id: u.id, ...e })));
      for (const rows of chunks(emails, 300)) await this.db.insertInto('user_emails').values(rows).execute();
    }
  }

  async update(id: string, resource: UserResource, expectedVersion?: number, previous?: UserResource): Promise<void> {
    const r = await unique('user', () =>
      this.db
        .updateTable('users')
        .set({ ...userColumns(resource), updated_at: new Date().toISOString(), version: sql`version + 1`, deleted_at: null, upstream: null })
        .where('id', '=', id)
        .$if(expectedVersion !== undefined, (q) => q.where('version', '=', expectedVersion!).where('deleted_at', 'is', null))
        .executeTakeFirst(),
    );
    if (Number(r.numUpdatedRows) === 0) {
      if (expectedVersion !== undefined) throw new VersionConflict(id);
      return;
    }
    if (emailsChanged(previous, resource)) await this.setEmails(id, resource, true);
  }

  async setRoles(changes: ReadonlyMap<string, string | null>): Promise<void> {
    const byRole = new Map<string | null, string[]>();
    for (const [id, role] of changes) byRole.set(role, [...(byRole.get(role) ?? []), id]);
    for (const [role, ids] of byRole) for (const part of chunks(ids)) await this.db.updateTable('users').set({ role }).where('id', 'in', part).execute();
  }

  async setUpstream(id: string, upstream: Record<string, unknown> | null): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ upstream: upstream ? JSON.stringify(upstream) : null })
      .where('id', '=', id)
      .execute();
  }

  async delete(id: string, tombstone: boolean): Promise<void> {
    await this.db.deleteFrom('group_members').where('user_id', '=', id).execute();
    await this.db.deleteFrom('role_sync').where('user_id', '=', id).execute();
    if (tombstone) {
      await this.db.updateTable('users').set({ deleted_at: new Date().toISOString(), role: null }).where('id', '=', id).execute();
      return;
    }
    await this.db.deleteFrom('user_emails').where('user_id', '=', id).execute();
    await this.db.deleteFrom('users').where('id', '=', id).execute();
  }

  /** `replace` drops the old emails first. */
  private async setEmails(id: string, resource: UserResource, replace: boolean): Promise<void> {
    const emails = emailsOf(resource);
    if (replace) await this.db.deleteFrom('user_emails').where('user_id', '=', id).execute();
    if (emails.length > 0)
      await this.db
        .insertInto('user_emails')
        .values(emails.map((e) => ({ user_id: id, ...e })))
        .execute();
  }
}
