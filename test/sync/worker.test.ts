import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/bridge.js';
import { UpstreamError } from '../../src/fullstory/errors.js';
import { RoleNotApplied } from '../../src/fullstory/roles/delivery.js';
import { failureText, retryDelayMs } from '../../src/sync/worker.js';

const mid = () => 0.5; // no jitter
describe('retryDelayMs: backoff for a failed role change', () => {
  it('a transient failure waits 1 s, doubling, up to 5 minutes', () => {
    const err = new UpstreamError(503, 'busy', 'http');
    expect([0, 1, 2, 3].map((n) => retryDelayMs(n, err, mid))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelayMs(30, err, mid)).toBe(300_000);
  });

  it("FullStory's no, or a role it did not apply, starts from a minute; a change of delivery retries soon", () => {
    expect(retryDelayMs(0, new UpstreamError(400, 'bad', 'http'), mid)).toBe(60_000);
    expect(retryDelayMs(0, new RoleNotApplied('ignored', false), mid)).toBe(60_000);
    expect(retryDelayMs(0, new RoleNotApplied('ignored; now groups', true), mid)).toBe(1_000);
  });

  it('jitter stays within a quarter either way', () => {
    const err = new UpstreamError(0, 'reset', 'network');
    expect(retryDelayMs(2, err, () => 0)).toBe(3_000);
    expect(retryDelayMs(2, err, () => 1)).toBe(5_000);
  });

  it("the outbox row keeps FullStory's status with the message, or the bridge's own words", () => {
    expect(failureText(new UpstreamError(400, 'Role "architect" is not available', 'http'))).toBe('FullStory 400: Role "architect" is not available');
    expect(failureText(new UpstreamError(0, 'timed out', 'timeout'))).toBe('FullStory timeout: timed out');
    expect(failureText(new RoleNotApplied('FullStory ignored `roles`', false))).toBe('FullStory ignored `roles`');
  });
});

describe('RoleSyncWorker: lanes fed across claims', () => {
  it('keeps `concurrency` role writes in flight from the first claim to the last row: never more, and no lull at a claim', async () => {
    const { Store } = await import('../../src/store/store.js');
    const { RoleSyncWorker } = await import('../../src/sync/worker.js');
    const { default: pino } = await import('pino');
    const store = await Store.open({ dataDir: ':memory:' });
    const n = 200;
    const concurrency = 4;
    await store.transaction(async (tx) => {
      for (let i = 0; i < n; i++) await tx.users.insert({ id: `u${i}`, resource: { userName: `u${i}@example.com` } as never, role: null });
      await tx.roleSync.enqueue(new Map(Array.from({ length: n }, (_, i) => [`u${i}`, 'admin'])));
    });
    let inFlight = 0;
    let most = 0;
    const startedWith: number[] = [];
    const delivered = new Set<string>();
    const worker = new RoleSyncWorker({
      store,
      logger: pino({ level: 'silent' }),
      concurrency,
      pollMs: 50,
      claimTtlMs: 60_000,
      delivery: {
        batched: false,
        async deliver(changes) {
          startedWith.push(inFlight);
          most = Math.max(most, ++inFlight);
          // Writes of uneven length, so lanes finish apart, as FullStory's answers do.
          const ticks = (Number(changes[0]!.userId.slice(1)) % 5) + 1;
          for (let k = 0; k < ticks; k++) await new Promise((r) => setImmediate(r));
          inFlight--;
          for (const c of changes) delivered.add(c.userId);
          return new Map(changes.map((c) => [c.userId, null]));
        },
      },
    });
    worker.start();
    await eventually(async () => (await store.read((r) => r.roleSync.stats())).backlog === 0, 'the outbox drained');
    await worker.stop();
    await store.close();
    expect(delivered.size).toBe(n);
    expect(most).toBe(concurrency);
    // After the lanes first fill, a write starts only as another ends: never into an emptied pipe.
    expect(startedWith.slice(concurrency).filter((k) => k < concurrency - 1)).toEqual([]);
  });
});
