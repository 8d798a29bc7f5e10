import { sql, type Kysely } from 'kysely';
import { takeFromBucket, type BucketConfig, type Priority } from '../lib/token-bucket.js';
import type { Database } from './schema.js';

/**
 * FullStory's rate budget as one row every replica draws on (PostgreSQL). Each take
 * locks the row for a moment and uses the database's clock, so replicas' clocks do not
 * matter; a 429's pause is written here and every replica honours it.
 */
export class RateBudgetRepo {
  constructor(private readonly db: Kysely<Database>) {}

  private async nowMs(db: Kysely<Database>): Promise<number> {
    const r = await sql<{ now: number }>`SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS now`.execute(db);
    return Number(r.rows[0]!.now);
  }

  /** Budgets this process has made sure exist (a row is never deleted). */
  private readonly created = new Set<string>();

  /**
   * Takes up to `n` tokens. Every call to FullStory on PostgreSQL waits for this, so it
   * is four round trips: begin, lock the row reading the database's clock with it, write
   * the bucket back, commit. (The clock is read as the row is; if the lock was waited for,
   * it can only be earlier than the true time, which refills less: never too much.)
   */
  async acquire(name: string, n: number, priority: Priority, cfg: BucketConfig): Promise<{ granted: number; waitMs: number }> {
    if (!this.created.has(name)) {
      await this.db
        .insertInto('rate_budget')
        .values({ name, tokens: cfg.burst, updated_ms: sql<number>`(extract(epoch from clock_timestamp()) * 1000)::float8`, paused_until_ms: 0 })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      this.created.add(name);
    }
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('rate_budget')
        .selectAll()
        .select(sql<number>`(extract(epoch from clock_timestamp()) * 1000)::float8`.as('now'))
        .where('name', '=', name)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const now = Number(row.now);
      const state = { tokens: Number(row.tokens), updatedMs: Number(row.updated_ms), pausedUntilMs: Number(row.paused_until_ms) };
      const result = takeFromBucket(state, now, n, priority, cfg);
      await trx.updateTable('rate_budget').set({ tokens: state.tokens, updated_ms: state.updatedMs }).where('name', '=', name).execute();
      return result;
    });
  }

  async pause(name: string, seconds: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const now = await this.nowMs(trx);
      await trx
        .updateTable('rate_budget')
        .set((eb) => ({
          paused_until_ms: sql`GREATEST(${eb.ref('paused_until_ms')}, ${now + seconds * 1000})`,
          tokens: sql`LEAST(${eb.ref('tokens')}, 0)`,
        }))
        .where('name', '=', name)
        .execute();
    });
  }
}
