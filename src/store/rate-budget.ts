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

  async acquire(name: string, n: number, priority: Priority, cfg: BucketConfig): Promise<{ granted: number; waitMs: number }> {
    return this.db.transaction().execute(async (trx) => {
      const now = await this.nowMs(trx);
      await trx.insertInto('rate_budget').values({ name, tokens: cfg.burst, updated_ms: now, paused_until_ms: 0 }).onConflict((oc) => oc.column('name').doNothing()).execute();
      const row = await trx.selectFrom('rate_budget').selectAll().where('name', '=', name).forUpdate().executeTakeFirstOrThrow();
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
