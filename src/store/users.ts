import { sql, type Kysely } from 'kysely';
import type { EqTerm } from '../scim/filter.js';
import type { UserResource } from '../scim/user.js';
import type { Database } from './schema.js';
import { unique } from './errors.js';
import { toRow, type UserRow } from './user-row.js';
import type { UserColumns, UserLookups, UserWrites } from './user-statements.js';

export type { UserRow } from './user-row.js';

export interface NewUser {
  id: string;
  resource: UserResource;
  role: string | null;
  createdAt?: string;
}

/** Filter attributes the index answers for /Users (lower-cased path -> key). */
export const USER_FILTER_VOCABULARY: Record<string, string> = {
  id: 'id',
  username: 'userName',
  externalid: 'externalId',
  active: 'active',
  'emails.value': 'emails.value',
};

const CHUNK = 500;

function emailsOf(resource: UserResource): { value_lc: string; type: string | null }[] {
  const emails = Array.isArray(resource.emails) ? resource.emails : [];
  return emails.flatMap((e) =>
    e && typeof e === 'object' && !Array.isArray(e) && typeof e.value === 'string'
      ? [{ value_lc: e.value.toLowerCase(), type: typeof e.type === 'string' ? e.type.toLowerCase() : null }]
      : [],
  );
}

function columns(resource: UserResource): UserColumns {
  return {
    user_name: resource.userName,
    user_name_lc: resource.userName.toLowerCase(),
    external_id: typeof resource.externalId === 'string' ? resource.externalId : null,
    active: resource.active === false ? 0 : 1,
    resource: JSON.stringify(resource),
  };
}

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The user index: FullStory's ids, what the IdP wrote, and the effective role. */
export class UsersRepo {
  constructor(
    private readonly db: Kysely<Database>,
    /** SQLite: the hot lookups, without Kysely, on the connection `db` reads from. */
    private readonly lookups?: UserLookups,
    /** SQLite, in a transaction: the user writes, without Kysely, on the writing connection. */
    private readonly writes?: UserWrites,
  ) {}

  async get(id: string): Promise<UserRow | undefined> {
    if (this.lookups) return this.lookups.byId(id);
    const r = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRow(r);
  }

  async getMany(ids: readonly string[]): Promise<UserRow[]> {
    const out: UserRow[] = [];
    for (const part of chunks(ids)) {
      if (part.length === 0) continue;
      const rows = await this.db.selectFrom('users').selectAll().where('id', 'in', part).execute();
      out.push(...rows.map(toRow));
    }
    return out;
  }

  /** The role the bridge last asked for, for each live user among `ids` (no documents loaded). */
  async rolesOf(ids: readonly string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const part of chunks(ids)) {
      if (part.length === 0) continue;
      const rows = await this.db.selectFrom('users').select(['id', 'role']).where('id', 'in', part).where('deleted_at', 'is', null).execute();
      for (const r of rows) out.set(r.id, r.role);
    }
    return out;
  }

  async existingIds(ids: readonly string[]): Promise<Set<string>> {
    if (this.lookups) return this.lookups.liveAmong(ids);
    const found = new Set<string>();
    for (const part of chunks(ids)) {
      const rows = await this.db.selectFrom('users').select('id').where('id', 'in', part).where('deleted_at', 'is', null).execute();
      for (const r of rows) found.add(r.id);
    }
    return found;
  }

  /**
   * Holds the users' rows until the transaction ends (PostgreSQL), in id order so two
   * transactions never deadlock. SQLite runs one write transaction at a time anyway.
   */
  async lockForUpdate(ids: readonly string[], dialect: 'sqlite' | 'postgres'): Promise<void> {
    if (dialect !== 'postgres') return;
    for (const part of chunks([...ids].sort())) {
      if (part.length) await this.db.selectFrom('users').select('id').where('id', 'in', part).orderBy('id').forUpdate().execute();
    }
  }

  async findByUserName(userName: string): Promise<UserRow | undefined> {
    const lc = userName.toLowerCase();
    if (this.lookups) return this.lookups.byUserName(lc);
    const r = await this.db.selectFrom('users').selectAll().where('user_name_lc', '=', lc).executeTakeFirst();
    return r && toRow(r);
  }

  /** Users matching all terms, in a stable order (creation, then id). */
  async query(terms: readonly EqTerm[], offset: number, limit: number): Promise<{ rows: UserRow[]; total: number }> {
    // The IdPs' usual lookup: userName is unique, so one row at most.
    if (terms.length === 1 && terms[0]!.key === 'userName' && offset === 0 && limit > 0) {
      const row = await this.findByUserName(String(terms[0]!.value));
      const rows = row && !row.deleted ? [row] : [];
      return { rows, total: rows.length };
    }
    let q = this.db.selectFrom('users').where('deleted_at', 'is', null);
    for (const t of terms) {
      const v = t.value;
      switch (t.key) {
        case 'id':
          q = q.where('id', '=', String(v));
          break;
        case 'userName':
          q = q.where('user_name_lc', '=', String(v).toLowerCase());
          break;
        case 'externalId':
          q = q.where('external_id', '=', String(v));
          break;
        case 'active':
          q = q.where('active', '=', v === true || String(v).toLowerCase() === 'true' ? 1 : 0);
          break;
        case 'emails.value':
          q = q.where((eb) =>
            eb.exists(
              eb
                .selectFrom('user_emails')
                .select(sql<number>`1`.as('one'))
                .whereRef('user_emails.user_id', '=', 'users.id')
                .where('user_emails.value_lc', '=', String(v).toLowerCase())
                .$if(t.type !== undefined, (s) => s.where('user_emails.type', '=', t.type!.toLowerCase())),
            ),
          );
          break;
        default:
          throw new Error(`unsupported filter key ${t.key}`);
      }
    }
    const rows = limit > 0 ? await q.selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute() : [];
    // A first page that is not full holds every match: no COUNT needed (the common lookup).
    if (offset === 0 && rows.length < limit) return { rows: rows.map(toRow), total: rows.length };
    const { total } = await q.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    return { rows: rows.map(toRow), total: Number(total) };
  }

  /** Throws UniquenessConflict where the id or the userName is taken. */
  async insert(user: NewUser): Promise<void> {
    const now = new Date().toISOString();
    await unique('user', async () => {
      if (this.writes) this.writes.insert(user.id, columns(user.resource), user.role, user.createdAt ?? now, now);
      else {
        await this.db
          .insertInto('users')
          .values({ id: user.id, ...columns(user.resource), role: user.role, created_at: user.createdAt ?? now, updated_at: now, version: 1 })
          .execute();
      }
    });
    await this.setEmails(user.id, user.resource, false);
  }

  /** Every user not deleted. */
  async liveIds(): Promise<string[]> {
    return (await this.db.selectFrom('users').select('id').where('deleted_at', 'is', null).execute()).map((r) => r.id);
  }

  /** Indexes users met upstream that the bridge did not create; an existing row wins. */
  async adopt(users: readonly NewUser[]): Promise<void> {
    const now = new Date().toISOString();
    for (const part of chunks(users, 200)) {
      if (part.length === 0) continue;
      const inserted = await this.db
        .insertInto('users')
        .values(part.map((u) => ({ id: u.id, ...columns(u.resource), role: u.role, created_at: u.createdAt ?? now, updated_at: now, version: 1 })))
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .execute();
      const fresh = new Set(inserted.map((r) => r.id));
      const emails = part.filter((u) => fresh.has(u.id)).flatMap((u) => emailsOf(u.resource).map((e) => ({ user_id: u.id, ...e })));
      for (const rows of chunks(emails, 300)) if (rows.length) await this.db.insertInto('user_emails').values(rows).execute();
    }
  }

  /**
   * Writes the user; with `expectedVersion`, only if nobody wrote it since (false when
   * someone did). `previous` (what was read) spares rewriting unchanged emails.
   */
  async update(id: string, resource: UserResource, expectedVersion?: number, previous?: UserResource): Promise<boolean> {
    const now = new Date().toISOString();
    const changed = await unique('user', () => (this.writes ? this.writes.update(id, columns(resource), now, expectedVersion) : this.updateRow(id, columns(resource), now, expectedVersion)));
    if (changed === 0) return false;
    if (!previous || JSON.stringify(emailsOf(previous)) !== JSON.stringify(emailsOf(resource))) await this.setEmails(id, resource, true);
    return true;
  }

  private async updateRow(id: string, c: UserColumns, now: string, expectedVersion?: number): Promise<number> {
    const r = await this.db
      .updateTable('users')
      .set({ ...c, updated_at: now, version: sql`version + 1`, deleted_at: null })
      .where('id', '=', id)
      .$if(expectedVersion !== undefined, (q) => q.where('version', '=', expectedVersion!).where('deleted_at', 'is', null))
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async setRoles(changes: ReadonlyMap<string, string | null>): Promise<void> {
    const byRole = new Map<string | null, string[]>();
    for (const [id, role] of changes) byRole.set(role, [...(byRole.get(role) ?? []), id]);
    for (const [role, ids] of byRole) {
      for (const part of chunks(ids)) await this.db.updateTable('users').set({ role }).where('id', 'in', part).execute();
    }
  }

  /**
   * Forgets a user: gone from every group and from the outbox. With `tombstone` the
   * row stays (FullStory still holds the user, deactivated) so reads answer 404 and
   * the upstream copy is not adopted back.
   */
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

  /** The user's emails, as filters find them; `replace` drops the old ones first. */
  private async setEmails(id: string, resource: UserResource, replace: boolean): Promise<void> {
    const emails = emailsOf(resource);
    if (this.writes) return this.writes.setEmails(id, emails, replace);
    if (replace) await this.db.deleteFrom('user_emails').where('user_id', '=', id).execute();
    if (emails.length > 0) await this.db.insertInto('user_emails').values(emails.map((e) => ({ user_id: id, ...e }))).execute();
  }
}
