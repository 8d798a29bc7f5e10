import { sql, type Kysely } from 'kysely';
import { refillWaitMs, reserveFor, type BucketConfig, type Priority } from '../../lib/token-bucket.js';
import type { Database } from '../schema.js';
import type { SharedRateBudget } from '../interfaces.js';

/**
 * FullStory's rate budget as one row every replica draws on (PostgreSQL). Each take
 * locks the row for a moment and uses the database's clock, so replicas' clocks do not
 * matter; a 429's pause is written here and every replica honours it.
 */
export class PostgresRateBudget implements SharedRateBudget {
  constructor(private readonly db: Kysely<Database>) {}

  private async nowMs(db: Kysely<Database>): Promise<number> {
    const r = await sql<{ now: number }>`SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS now`.execute(db);
    return Number(r.rows[0]!.now);
  }

  /** Budgets this process has made sure exist (a row is never deleted). */
  private readonly created = new Set<string>();

  /**
   * Takes up to `n` tokens. Every call to FullStory on PostgreSQL waits for this, so it is
   * one statement, one round trip: it locks the row, reads the database's clock, refills,
   * takes and writes the bucket back, as takeFromBucket does in a process (a test holds
   * the two to the same answers). Four round trips (begin, lock, write, commit) were most
   * of what PostgreSQL added to a GET. If the lock was waited for, the clock was read
   * before it was granted: earlier than the true time, so it refills less, never more.
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
    const floor = reserveFor(priority, cfg);
    const { rows } = await sql<{ granted: number; tokens: number; now: number; paused_until_ms: number }>`
      WITH old AS (
        SELECT b.name, b.tokens, b.updated_ms, b.paused_until_ms,
               (extract(epoch from clock_timestamp()) * 1000)::float8 AS now,
               GREATEST(b.updated_ms, b.paused_until_ms) AS since
        FROM rate_budget b WHERE b.name = ${name} FOR UPDATE
      ), refilled AS (
        SELECT name, now, paused_until_ms, GREATEST(updated_ms, now) AS updated_ms,
               CASE WHEN now > since THEN LEAST(${cfg.burst}::float8, tokens + (now - since) / 1000 * ${cfg.perSecond}::float8) ELSE tokens END AS tokens
        FROM old
      ), taken AS (
        SELECT *, CASE WHEN now < paused_until_ms THEN 0
                       ELSE GREATEST(0, LEAST(${n}::float8, floor(tokens - ${floor}::float8))) END AS granted
        FROM refilled
      )
      UPDATE rate_budget r SET tokens = taken.tokens - taken.granted, updated_ms = taken.updated_ms
      FROM taken WHERE r.name = taken.name
      RETURNING taken.granted, r.tokens, taken.now, taken.paused_until_ms`.execute(this.db);
    const row = rows[0];
    if (!row) throw new Error(`rate budget ${name} is missing`);
    const [granted, tokens, now, pausedUntil] = [Number(row.granted), Number(row.tokens), Number(row.now), Number(row.paused_until_ms)];
    if (now < pausedUntil) return { granted: 0, waitMs: pausedUntil - now };
    return { granted, waitMs: granted < n ? refillWaitMs(tokens, floor, cfg.perSecond) : 0 };
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
