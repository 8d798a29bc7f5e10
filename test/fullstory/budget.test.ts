import { describe, expect, it } from 'vitest';
import { LocalTokenSource, RateBudget, type Priority } from '../../src/fullstory/budget.js';

/** The rate budget's fast path (a token at once, no queue) must keep the queue's order. */
describe('rate budget', () => {
  // 20 tokens a second: one every 50 ms.
  const budget = (burst: number) => new RateBudget(new LocalTokenSource({ perSecond: 20, burst, reserve: 0 }), 20);
  /** Holds the event loop, so the budget's own timer cannot hand out the token that refills meanwhile. */
  const blockFor = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };

  it('a token is taken at once when nobody waits, and not when the bucket is empty', () => {
    const b = budget(1);
    expect(b.tryTake('idp')).toBe(true);
    expect(b.tryTake('idp')).toBe(false);
    b.close();
  });

  // The wait a short take reports is how long the caller sleeps before asking again:
  // longer starves FullStory's budget, shorter spins. (The shared PostgreSQL take uses the
  // same rule; test/store/rate-budget.test.ts checks the two agree.)
  it('a short take waits exactly until the token it needs has refilled, and a sync take until one above the reserve', async () => {
    // One token every 50 ms: the wait is 50 ms less what has passed since the bucket emptied.
    const expectRefillWait = async (source: LocalTokenSource, priority: Priority, emptiedAt: number) => {
      const short = await source.acquire(1, priority);
      const elapsed = performance.now() - emptiedAt;
      expect(short.granted).toBe(0);
      expect(short.waitMs).toBeLessThanOrEqual(50);
      expect(short.waitMs).toBeGreaterThanOrEqual(50 - elapsed);
    };
    const idp = new LocalTokenSource({ perSecond: 20, burst: 2, reserve: 0 });
    let emptiedAt = performance.now();
    expect(await idp.acquire(2, 'idp')).toEqual({ granted: 2, waitMs: 0 });
    await expectRefillWait(idp, 'idp', emptiedAt);

    // Sync must leave 3 of the 4 tokens for IdP calls: it gets 1, then waits until the bucket holds 4 again.
    const sync = new LocalTokenSource({ perSecond: 20, burst: 4, reserve: 3 });
    emptiedAt = performance.now();
    expect(await sync.acquire(2, 'sync')).toMatchObject({ granted: 1 });
    await expectRefillWait(sync, 'sync', emptiedAt);
    // An IdP call is not held back by the reserve.
    expect(await sync.acquire(3, 'idp')).toEqual({ granted: 3, waitMs: 0 });
  });

  it.each<[Priority, Priority]>([
    ['idp', 'idp'],
    ['idp', 'sync'],
    ['sync', 'sync'],
  ])('a token that refills goes to the waiting %s call, not to a later %s call', async (waiting, later) => {
    const b = budget(1);
    expect(b.tryTake(waiting)).toBe(true);
    const queued = b.take(waiting, waiting === 'idp' ? 5_000 : Number.POSITIVE_INFINITY);
    blockFor(80);
    expect(b.tryTake(later)).toBe(false);
    await expect(queued).resolves.toBeUndefined();
    b.close();
  });
});
