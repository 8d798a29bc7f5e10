import { UpstreamError } from './errors.js';

export type Priority = 'idp' | 'sync';

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  deadline: number;
  timer?: NodeJS.Timeout;
}

/**
 * The rate budget for every call to FullStory: a token bucket sized like FullStory's,
 * with IdP-facing calls served before background role sync, and a shared pause when
 * FullStory answers 429 with Retry-After. An IdP call that cannot get a token before
 * its deadline fails with a 429-shaped error rather than waiting past the IdP's patience.
 */
export class RateBudget {
  private tokens: number;
  private last = performance.now();
  private pausedUntil = 0;
  private readonly queues: Record<Priority, Waiter[]> = { idp: [], sync: [] };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Waits for one token; `maxWaitMs` bounds the wait (Infinity for background work). */
  take(priority: Priority, maxWaitMs: number): Promise<void> {
    this.refill();
    const higherWaiting = priority === 'sync' && this.queues.idp.length > 0;
    if (this.queues[priority].length === 0 && !higherWaiting && this.tokens >= 1 && performance.now() >= this.pausedUntil) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, deadline: performance.now() + maxWaitMs };
      if (Number.isFinite(maxWaitMs)) {
        waiter.timer = setTimeout(() => {
          const q = this.queues[priority];
          const i = q.indexOf(waiter);
          if (i >= 0) q.splice(i, 1);
          reject(new UpstreamError(429, 'FullStory rate budget exhausted; try again shortly', 'budget', undefined, this.retryAfterSeconds()));
        }, maxWaitMs);
      }
      this.queues[priority].push(waiter);
      this.schedule();
    });
  }

  /** FullStory said 429: nobody calls until Retry-After has passed. */
  pause(seconds: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, performance.now() + seconds * 1000);
    this.tokens = Math.min(this.tokens, 0);
    this.schedule();
  }

  retryAfterSeconds(): number {
    const pause = Math.max(0, this.pausedUntil - performance.now()) / 1000;
    const queued = (this.queues.idp.length + this.queues.sync.length) / this.perSecond;
    return Math.max(1, Math.ceil(pause + queued));
  }

  get waiting(): number {
    return this.queues.idp.length + this.queues.sync.length;
  }

  private refill(): void {
    const now = performance.now();
    const from = Math.max(this.last, this.pausedUntil);
    if (now > from) this.tokens = Math.min(this.burst, this.tokens + ((now - from) / 1000) * this.perSecond);
    this.last = now;
  }

  private schedule(): void {
    if (this.timer) return;
    const run = () => {
      this.timer = undefined;
      this.refill();
      const now = performance.now();
      if (now >= this.pausedUntil) {
        for (const priority of ['idp', 'sync'] as const) {
          const q = this.queues[priority];
          while (q.length > 0 && this.tokens >= 1) {
            const w = q.shift()!;
            if (w.timer) clearTimeout(w.timer);
            this.tokens -= 1;
            w.resolve();
          }
          if (q.length > 0) break;
        }
      }
      if (this.waiting > 0) {
        const wait = now < this.pausedUntil ? this.pausedUntil - now : ((1 - this.tokens) / this.perSecond) * 1000;
        this.timer = setTimeout(run, Math.max(1, wait));
      }
    };
    this.timer = setTimeout(run, 0);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const q of Object.values(this.queues)) {
      for (const w of q.splice(0)) {
        if (w.timer) clearTimeout(w.timer);
        w.reject(new UpstreamError(503, 'The bridge is shutting down', 'budget', undefined, 5));
      }
    }
  }
}
