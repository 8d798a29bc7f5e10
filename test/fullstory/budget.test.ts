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
