import { sql, type Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { toHoldRow, type HoldRow, type NewHold } from '../rows.js';
import type { Database } from '../schema.js';
import type { GuardWrites, KvWrites, LinkWrites } from '../interfaces.js';

/** Shadow-mode id links on PostgreSQL. */
export class PostgresLinks implements LinkWrites {
  constructor(private readonly db: Kysely<Database>) {}

  async all(): Promise<{ id: string; upstreamId: string | null }[]> {
    const rows = await this.db.selectFrom('user_links').select(['id', 'upstream_id']).execute();
    return rows.map((r) => ({ id: r.id, upstreamId: r.upstream_id }));
  }

  async pending(id: string): Promise<void> {
    await this.db
      .insertInto('user_links')
      .values({ id, upstream_id: null })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async link(id: string, upstreamId: string): Promise<void> {
    await this.db
      .insertInto('user_links')
      .values({ id, upstream_id: upstreamId })
      .onConflict((oc) => oc.column('id').doUpdateSet({ upstream_id: upstreamId }))
      .execute();
  }
}

/** The deprovisioning guard on PostgreSQL: decisions serialised by a transaction-scoped advisory lock. */
export class PostgresGuard implements GuardWrites {
  constructor(private readonly db: Kysely<Database>) {}

  async lock(): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(hashtext('deprovisioning-guard'))`.execute(this.db);
  }

  async countSince(fromIso: string): Promise<number> {
    const r = await this.db
      .selectFrom('guard_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('at', '>=', fromIso)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async record(userId: string, kind: string): Promise<void> {
    await this.db.insertInto('guard_events').values({ id: uuidv7(), at: new Date().toISOString(), user_id: userId, kind }).execute();
  }

  async holds(status?: HoldRow['status']): Promise<HoldRow[]> {
    let q = this.db.selectFrom('holds').selectAll();
    if (status) q = q.where('status', '=', status);
    return (await q.orderBy('at').orderBy('id').execute()).map(toHoldRow);
  }

  async hold(h: NewHold): Promise<HoldRow> {
    const row = {
      id: uuidv7(),
      at: new Date().toISOString(),
      user_id: h.userId,
      user_name: h.userName,
      kind: h.kind,
      role: h.role,
      token_name: h.tokenName,
      reason: h.reason,
      status: 'held',
      released_at: null,
      decided_at: null,
      decided_by: null,
      decision_note: null,
    };
    await this.db.insertInto('holds').values(row).execute();
    return toHoldRow(row);
  }

  async heldFor(userId: string, kind: HoldRow['kind'], status: HoldRow['status'] = 'held'): Promise<HoldRow | undefined> {
    const r = await this.db
      .selectFrom('holds')
      .selectAll()
      .where('user_id', '=', userId)
      .where('kind', '=', kind)
      .where('status', '=', status)
      .orderBy('at', 'desc')
      .executeTakeFirst();
    return r && toHoldRow(r);
  }

  async decide(id: string, status: Exclude<HoldRow['status'], 'held'>, by: string, note: string | null = null): Promise<boolean> {
    const now = new Date().toISOString();
    const r = await this.db
      .updateTable('holds')
      .set({
        status,
        // A rejection later withdrawn keeps who rejected it and why.
        decided_at: sql<string>`coalesce(decided_at, ${now})`,
        decided_by: sql<string>`coalesce(decided_by, ${by})`,
        decision_note: sql<string | null>`coalesce(decision_note, ${note})`,
        ...(status === 'released' ? { released_at: now } : {}),
      })
      .where('id', '=', id)
      .where((eb) => (status === 'withdrawn' ? eb('status', 'in', ['held', 'rejected']) : eb('status', '=', 'held')))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

/** Small shared facts on PostgreSQL. */
export class PostgresKv implements KvWrites {
  constructor(private readonly db: Kysely<Database>) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('kv').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }

  async set(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('kv')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }
}
