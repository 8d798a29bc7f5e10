import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { SharedAuthFailures } from '../interfaces.js';

/** Failed token checks per address, one row each, counted by one atomic upsert. */
export class PostgresAuthFailures implements SharedAuthFailures {
  constructor(private readonly db: Kysely<Database>) {}

  async record(address: string, nowMs: number, windowMs: number): Promise<{ count: number; windowStartMs: number }> {
    const fresh = nowMs - windowMs;
    const r = await sql<{ failures: number; window_start_ms: number }>`
      insert into auth_failures (address, window_start_ms, failures) values (${address}, ${nowMs}, 1)
      on conflict (address) do update set
        failures = case when auth_failures.window_start_ms <= ${fresh} then 1 else auth_failures.failures + 1 end,
        window_start_ms = case when auth_failures.window_start_ms <= ${fresh} then ${nowMs} else auth_failures.window_start_ms end
      returning failures, window_start_ms`.execute(this.db);
    const row = r.rows[0]!;
    return { count: Number(row.failures), windowStartMs: Number(row.window_start_ms) };
  }

  async blocked(nowMs: number, windowMs: number, limit: number): Promise<{ address: string; windowStartMs: number }[]> {
    const rows = await this.db
      .selectFrom('auth_failures')
      .select(['address', 'window_start_ms'])
      .where('failures', '>=', limit)
      .where('window_start_ms', '>', nowMs - windowMs)
      .execute();
    return rows.map((r) => ({ address: r.address, windowStartMs: Number(r.window_start_ms) }));
  }
}
