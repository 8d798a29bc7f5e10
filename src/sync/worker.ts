import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { UpstreamError } from '../fullstory/errors.js';
import type { RoleSyncItem, Store } from '../store/store.js';
import { PlanBlocked } from '../fullstory/plan-word.js';
import { RoleNotApplied, type RoleDelivery } from '../fullstory/roles/delivery.js';

export interface WorkerOptions {
  store: Store;
  delivery: RoleDelivery;
  logger: Logger;
  concurrency: number;
  pollMs: number;
  claimTtlMs: number;
  onApplied?: (n: number, failed: number) => void;
  /** Each item's outcome: null when FullStory has the role, else why not (already in the outbox row). */
  onOutcome?: (item: RoleSyncItem, error: string | null) => void;
}

/** Outbox rows one claim takes: role groups settle many users per call, so they gain from large batches. */
const GROUP_BATCH = 500;

/** How long a change blocked by FullStory's plan waits before the worker looks at it again. */
export const BLOCKED_RECHECK_MS = 24 * 3600_000;

/** The words an outbox row keeps for a failed delivery. */
export function failureText(err: Error): string {
  return err instanceof UpstreamError ? `FullStory ${err.status || err.kind}: ${err.message}` : err.message;
}

/**
 * How long to wait before trying a failed change again: 1 s doubling to 5 min, with a
 * quarter of jitter either way; FullStory's "no" (a 4xx, a role it did not apply) starts
 * from a minute, since trying sooner changes nothing.
 */
export function retryDelayMs(attempts: number, err: Error, random: () => number = Math.random): number {
  // Blocked by FullStory's word on its plan: looked at again daily, without a call while the word stands.
  if (err instanceof PlanBlocked) return BLOCKED_RECHECK_MS;
  const permanent = (err instanceof UpstreamError && !err.transient) || (err instanceof RoleNotApplied && !err.retrySoon);
  const base = permanent ? 60_000 : 1_000;
  return Math.min(300_000, base * 2 ** Math.min(attempts, 10)) * (0.75 + random() / 2);
}

/**
 * Drains the role-sync outbox into FullStory within the rate budget. Claims are rows
 * in the store, so any replica can run a worker and a dead one's claims expire.
 */
export class RoleSyncWorker {
  readonly id = `worker-${randomUUID()}`;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private kicked = false;
  /** Waiting for a round that finds nothing due (tests, and the CLI waiting for its writes). */
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: WorkerOptions) {}

  /**
   * Resolves after the next round that found nothing due in the outbox: every change
   * queued before the call was tried (or is waiting out a backoff). Kicks the worker, so
   * it does not wait for the next poll.
   */
  idle(): Promise<void> {
    const done = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.kick();
    return done;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Work arrived: look now instead of at the next poll. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Finishes the batch in hand, hands back unstarted claims, and stops. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    await this.opts.store.transaction((tx) => tx.roleSync.release(this.id)).catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.kicked = false;
      // Read per round: an adaptive delivery may have changed its way since the last.
      const asked = this.idleWaiters.length;
      const found = this.opts.delivery.batched ? await this.batchRound() : await this.laneRound();
      // Only those who asked before this round began: what they queued was seen by it.
      if (!found) for (const resolve of this.idleWaiters.splice(0, asked)) resolve();
      if (!found && !this.kicked) await this.sleep(this.opts.pollMs);
    }
  }

  private async claim(limit: number): Promise<RoleSyncItem[]> {
    try {
      return await this.opts.store.transaction((tx) => tx.roleSync.claim(this.id, limit, this.opts.claimTtlMs));
    } catch (err) {
      this.opts.logger.error({ err }, 'role sync: could not claim work');
      return [];
    }
  }

  /** Role groups: a claim of up to GROUP_BATCH rows, delivered as one batch. */
  private async batchRound(): Promise<boolean> {
    const items = await this.claim(GROUP_BATCH);
    if (items.length === 0) return false;
    const results = await this.opts.delivery.deliver(items.map((i) => ({ userId: i.userId, role: i.desiredRole })));
    let failed = 0;
    for (const item of items) if (!(await this.record(item, results.get(item.userId) ?? null))) failed++;
    this.opts.onApplied?.(items.length - failed, failed);
    return true;
  }

  /**
   * One write per user: `concurrency` lanes take rows from a queue that is claimed again
   * while the lanes still have work, so none waits for the slowest of a batch or for the
   * next claim (at 2,000 writes a second the gaps cost a tenth of the time). Returns when
   * the outbox has nothing due, or delivery turned batched.
   */
  private async laneRound(): Promise<boolean> {
    const { concurrency, delivery } = this.opts;
    const queue: RoleSyncItem[] = [];
    let refill: Promise<boolean> | undefined;
    let dry = false;
    let any = false;
    const claimMore = () =>
      (refill ??= this.claim(concurrency * 4).then((items) => {
        refill = undefined;
        queue.push(...items);
        if (items.length === 0) dry = true;
        return items.length > 0;
      }));
    const lane = async () => {
      while (this.running && !delivery.batched) {
        if (queue.length <= concurrency && !dry) void claimMore();
        const item = queue.shift();
        if (!item) {
          if (dry || !(await claimMore())) return;
          continue;
        }
        any = true;
        const results = await delivery.deliver([{ userId: item.userId, role: item.desiredRole }]);
        // The lane writes on while the outcome commits: the row stays claimed until then,
        // and a write whose outcome was lost to a crash is only repeated.
        const recorded = this.record(item, results.get(item.userId) ?? null).then((ok) => {
          recording.delete(recorded);
          this.opts.onApplied?.(ok ? 1 : 0, ok ? 0 : 1);
        });
        recording.add(recorded);
      }
    };
    const recording = new Set<Promise<void>>();
    await Promise.all(Array.from({ length: concurrency }, lane));
    await Promise.all([refill, ...recording]);
    // Claimed and not started (stopping, or delivery turned batched): handed back at once.
    if (queue.length > 0)
      await this.opts.store
        .transaction((tx) =>
          tx.roleSync.release(
            this.id,
            queue.map((i) => i.userId),
          ),
        )
        .catch(() => undefined);
    return any;
  }

  /** Keeps the outcome in the outbox; false when the delivery failed (the user gone from FullStory is done). */
  private async record(item: RoleSyncItem, err: Error | null): Promise<boolean> {
    const { store, logger } = this.opts;
    const gone = err instanceof UpstreamError && err.status === 404;
    try {
      if (!err || gone) {
        if (gone) logger.warn({ userId: item.userId }, 'role sync: user no longer exists in FullStory; dropping');
        await store.transaction((tx) => tx.roleSync.complete(this.id, item));
        if (!err) this.opts.onOutcome?.(item, null);
      } else {
        const why = failureText(err);
        logger.warn(
          { userId: item.userId, role: item.desiredRole, attempts: item.attempts + 1, err: why },
          'role sync: delivery failed; the change stays in the outbox and is tried again with backoff while a bridge runs',
        );
        await store.transaction((tx) => tx.roleSync.fail(this.id, item, why, new Date(Date.now() + retryDelayMs(item.attempts, err))));
        this.opts.onOutcome?.(item, why);
      }
    } catch (dbErr) {
      logger.error({ err: dbErr }, 'role sync: could not record the outcome; the claim will expire and be retried');
    }
    return !err || gone;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}
