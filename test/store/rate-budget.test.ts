import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeFromBucket, type BucketConfig, type Priority } from '../../src/lib/token-bucket.js';
import type { PostgresStore } from '../../src/store/postgres/store.js';
import { postgresAvailable, tempPgStore } from '../helpers/bridge.js';

const pgUp = await postgresAvailable();

/**
 * Needs PostgreSQL. The shared budget's take is one SQL statement; a process's bucket is
 * takeFromBucket. Both must give the same answer from the same state, or replicas would
 * spend FullStory's budget by a different rule than one bridge alone.
 */
describe.skipIf(!pgUp)('the shared rate budget (PostgreSQL)', () => {
  let store: PostgresStore;
  let close: (() => Promise<void>) | undefined;
  const cfg: BucketConfig = { perSecond: 16, burst: 50, reserve: 5 };

  beforeAll(async () => {
    ({ store, close } = await tempPgStore());
  });
  afterAll(async () => close?.());

  const dbNow = async () =>
    Number((await sql<{ now: number }>`SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS now`.execute(store.db)).rows[0]!.now);
  const row = async (name: string) => {
    const r = await store.db.selectFrom('rate_budget').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
    return { tokens: Number(r.tokens), updatedMs: Number(r.updated_ms), pausedUntilMs: Number(r.paused_until_ms) };
  };

  it('a take in the database gives what takeFromBucket gives from the same state: grant, wait and the bucket left', async () => {
    await store.rateBudget.acquire('equivalence', 0, 'idp', cfg);
    // Deterministic cases: full, empty, short of the reserve, refilling, paused, paused long ago.
    const cases: { tokens: number; ageMs: number; pausedInMs: number; n: number; priority: Priority }[] = [
      { tokens: 50, ageMs: 10, pausedInMs: -100_000, n: 1, priority: 'idp' },
      { tokens: 0, ageMs: 0.5, pausedInMs: -100_000, n: 1, priority: 'idp' },
      { tokens: 4.5, ageMs: 1, pausedInMs: -100_000, n: 3, priority: 'sync' },
      { tokens: 7.2, ageMs: 1, pausedInMs: -100_000, n: 10, priority: 'sync' },
      { tokens: 2, ageMs: 250, pausedInMs: -100_000, n: 8, priority: 'idp' },
      { tokens: 40, ageMs: 60_000, pausedInMs: -100_000, n: 20, priority: 'idp' },
      { tokens: -3, ageMs: 100, pausedInMs: 1_500, n: 1, priority: 'idp' },
      { tokens: 0, ageMs: 3_000, pausedInMs: -1_000, n: 2, priority: 'sync' },
    ];
    let seed = 7;
    const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 24; i++) {
      cases.push({
        tokens: rand() * 60 - 5,
        ageMs: rand() * 5_000,
        pausedInMs: rand() < 0.25 ? rand() * 3_000 : -rand() * 10_000,
        n: 1 + Math.floor(rand() * 12),
        priority: rand() < 0.5 ? 'idp' : 'sync',
      });
    }
    for (const c of cases) {
      const now0 = await dbNow();
      await store.db
        .updateTable('rate_budget')
        .set({ tokens: c.tokens, updated_ms: now0 - c.ageMs, paused_until_ms: now0 + c.pausedInMs })
        .where('name', '=', 'equivalence')
        .execute();
      const before = await row('equivalence');
      const got = await store.rateBudget.acquire('equivalence', c.n, c.priority, cfg);
      const after = await row('equivalence');
      // The statement's clock reading is what it stored as the last update (it is later than `before`'s).
      const expectedState = { ...before };
      const expected = takeFromBucket(expectedState, after.updatedMs, c.n, c.priority, cfg);
      const label = JSON.stringify(c);
      expect(got.granted, label).toBe(expected.granted);
      expect(got.waitMs, label).toBeCloseTo(expected.waitMs, 6);
      expect(after.tokens, label).toBeCloseTo(expectedState.tokens, 9);
      expect(after.pausedUntilMs, label).toBe(before.pausedUntilMs);
    }
  });

  it('concurrent takes never grant more than the bucket holds', async () => {
    await store.rateBudget.acquire('race', 0, 'idp', { perSecond: 0.001, burst: 20, reserve: 0 });
    await store.db.updateTable('rate_budget').set({ tokens: 20 }).where('name', '=', 'race').execute();
    const slow = { perSecond: 0.001, burst: 20, reserve: 0 };
    const results = await Promise.all(Array.from({ length: 40 }, () => store.rateBudget.acquire('race', 1, 'idp', slow)));
    expect(results.reduce((sum, r) => sum + r.granted, 0)).toBe(20);
    expect((await row('race')).tokens).toBeGreaterThanOrEqual(0);
  });
});
