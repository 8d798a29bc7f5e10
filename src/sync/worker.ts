import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { UpstreamError } from '../fullstory/errors.js';
import type { RoleSyncItem, Store } from '../store/store.js';
import { RoleNotApplied, type RoleDelivery } from './delivery.js';

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

  constructor(private readonly opts: WorkerOptions) {}

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
    await this.opts.store.transaction((tx) => tx.roleSync.release(this.id)).catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { store, logger, delivery } = this.opts;
    while (this.running) {
      let items: RoleSyncItem[] = [];
      try {
        this.kicked = false;
        // Read per claim: an adaptive delivery may have changed its way since the last.
        const batch = delivery.batched ? GROUP_BATCH : this.opts.concurrency * 4;
        items = await store.transaction((tx) => tx.roleSync.claim(this.id, batch, this.opts.claimTtlMs));
      } catch (err) {
        logger.error({ err }, 'role sync: could not claim work');
      }
      if (items.length === 0) {
        if (!this.kicked) await this.sleep(this.opts.pollMs);
        continue;
      }
      await this.process(items);
    }
  }

  private async process(items: RoleSyncItem[]): Promise<void> {
    const { store, delivery, logger, concurrency } = this.opts;
    let failed = 0;
    // Deliveries run `concurrency` at a time; the rate budget paces them.
    const slices: RoleSyncItem[][] = [];
    const per = delivery.batched ? items.length : 1;
    for (let i = 0; i < items.length; i += per) slices.push(items.slice(i, i + per));
    let next = 0;
    const lane = async () => {
      while (next < slices.length) {
        const slice = slices[next++]!;
        const results = await delivery.deliver(slice.map((i) => ({ userId: i.userId, role: i.desiredRole })));
        for (const item of slice) {
          const err = results.get(item.userId) ?? null;
          try {
            if (!err) {
              await store.transaction((tx) => tx.roleSync.complete(this.id, item));
              this.opts.onOutcome?.(item, null);
            } else if (err instanceof UpstreamError && err.status === 404) {
              logger.warn({ userId: item.userId }, 'role sync: user no longer exists in FullStory; dropping');
              await store.transaction((tx) => tx.roleSync.complete(this.id, item));
            } else {
              failed++;
              const why = failureText(err);
              logger.warn({ userId: item.userId, role: item.desiredRole, attempts: item.attempts + 1, err: why }, 'role sync: delivery failed; will retry');
              await store.transaction((tx) => tx.roleSync.fail(this.id, item, why, new Date(Date.now() + retryDelayMs(item.attempts, err))));
              this.opts.onOutcome?.(item, why);
            }
          } catch (dbErr) {
            logger.error({ err: dbErr }, 'role sync: could not record the outcome; the claim will expire and be retried');
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, slices.length) }, lane));
    this.opts.onApplied?.(items.length - failed, failed);
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
