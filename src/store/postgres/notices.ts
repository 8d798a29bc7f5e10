import { sql, type Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { NewNotice, NoticeRow } from '../rows.js';
import type { Database } from '../schema.js';
import type { NoticeWrites } from '../interfaces.js';

/** The notices outbox on PostgreSQL: replicas claiming at once take different rows (SKIP LOCKED). */
export class PostgresNotices implements NoticeWrites {
  constructor(private readonly db: Kysely<Database>) {}

  async pending(): Promise<{ count: number; oldestAt: string | null }> {
    const r = await this.db
      .selectFrom('notices')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('at').as('oldest')])
      .where('sent_at', 'is', null)
      .executeTakeFirstOrThrow();
    return { count: Number(r.n), oldestAt: r.oldest ?? null };
  }

  async lock(): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(hashtext('notices'))`.execute(this.db);
  }

  async add(n: NewNotice): Promise<boolean> {
    const now = new Date().toISOString();
    const r = await this.db
      .insertInto('notices')
      .values({
        id: uuidv7(),
        at: now,
        key: n.key,
        event: n.event,
        body: n.body,
        attempts: 0,
        next_at: now,
        claimed_until: null,
        sent_at: null,
        last_error: null,
      })
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async claim(limit: number, ttlMs: number): Promise<NoticeRow[]> {
    const now = new Date();
    const nowIso = now.toISOString();
    const due = this.db
      .selectFrom('notices')
      .select('id')
      .where('sent_at', 'is', null)
      .where('next_at', '<=', nowIso)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', nowIso)]))
      .orderBy('next_at')
      .limit(limit)
      .forUpdate()
      .skipLocked();
    const rows = await this.db
      .updateTable('notices')
      .set({ claimed_until: new Date(now.getTime() + ttlMs).toISOString() })
      .where('id', 'in', due)
      .returningAll()
      .execute();
    return rows.map((r) => ({ id: r.id, at: r.at, key: r.key, event: r.event, body: r.body, attempts: r.attempts }));
  }

  async sent(id: string): Promise<void> {
    await this.db.updateTable('notices').set({ sent_at: new Date().toISOString(), claimed_until: null }).where('id', '=', id).execute();
  }

  async failed(id: string, error: string, retryAt: Date): Promise<void> {
    await this.db
      .updateTable('notices')
      .set({ attempts: sql`attempts + 1`, last_error: error.slice(0, 500), next_at: retryAt.toISOString(), claimed_until: null })
      .where('id', '=', id)
      .execute();
  }

  async expire(beforeIso: string): Promise<string[]> {
    const unsent = await this.db.deleteFrom('notices').where('at', '<', beforeIso).where('sent_at', 'is', null).returning('event').execute();
    await this.db.deleteFrom('notices').where('at', '<', beforeIso).execute();
    return unsent.map((r) => r.event);
  }
}
