import { takeFromBucket, type BucketConfig, type BucketState, type Priority } from '../lib/token-bucket.js';
import { UpstreamError } from './errors.js';

export type { Priority };

/** Where tokens come from: this process alone, or a bucket every replica shares. */
export interface TokenSource {
  /** Takes up to `n` tokens now; says how long to wait before asking again when short. */
  acquire(n: number, priority: Priority): Promise<{ granted: number; waitMs: number }>;
  /** FullStory said 429: nobody, on any replica, calls before `seconds` have passed. */
  pause(seconds: number): Promise<void>;
  /** Takes one token at once if there is one, where the source can answer without waiting. */
  tryAcquire?(priority: Priority): boolean;
}

export class LocalTokenSource implements TokenSource {
  private readonly state: BucketState;
  constructor(private readonly cfg: BucketConfig) {
    this.state = { tokens: cfg.burst, updatedMs: performance.now(), pausedUntilMs: 0 };
  }
  async acquire(n: number, priority: Priority) {
    return takeFromBucket(this.state, performance.now(), n, priority, this.cfg);
  }
  tryAcquire(priority: Priority): boolean {
    return takeFromBucket(this.state, performance.now(), 1, priority, this.cfg).granted === 1;
  }
  async pause(seconds: number) {
    this.state.pausedUntilMs = Math.max(this.state.pausedUntilMs, performance.now() + seconds * 1000);
    this.state.tokens = Math.min(this.state.tokens, 0);
  }
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * The rate budget for every call to FullStory. Callers queue by priority (IdP before
 * background sync); one loop per process asks the token source for as many tokens as
 * are waiting. An IdP call that cannot get a token before its deadline fails with a
 * 429-shaped error rather than waiting past the IdP's patience.
 */
export class RateBudget {
  private readonly queues: Record<Priority, Waiter[]> = { idp: [], sync: [] };
  private running = false;
  private wake: (() => void) | undefined;
  private closed = false;
  private retryHintMs = 1000;

  constructor(
    private readonly source: TokenSource,
    private readonly perSecond: number,
  ) {}

  /**
   * A token now, without queueing, when nobody is waiting ahead and the source can say
   * at once (this process's own bucket): the common case pays for no promise or timer.
   */
  tryTake(priority: Priority): boolean {
    if (this.closed || this.queues.idp.length > 0 || (priority === 'sync' && this.queues.sync.length > 0)) return false;
    return this.source.tryAcquire?.(priority) ?? false;
  }

  take(priority: Priority, maxWaitMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new UpstreamError(503, 'The bridge is shutting down', 'budget', undefined, 5));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      if (Number.isFinite(maxWaitMs)) {
        waiter.timer = setTimeout(() => {
          const q = this.queues[priority];
          const i = q.indexOf(waiter);
          if (i >= 0) q.splice(i, 1);
          reject(new UpstreamError(429, 'FullStory rate budget exhausted; try again shortly', 'budget', undefined, this.retryAfterSeconds()));
        }, maxWaitMs);
      }
      this.queues[priority].push(waiter);
      this.kick();
    });
  }

  /** FullStory said 429 with Retry-After: everyone waits, here and on other replicas. */
  async pause(seconds: number): Promise<void> {
    await this.source.pause(seconds);
    this.retryHintMs = Math.max(this.retryHintMs, seconds * 1000);
  }

  retryAfterSeconds(): number {
    const queued = (this.queues.idp.length + this.queues.sync.length) / this.perSecond;
    return Math.max(1, Math.ceil(this.retryHintMs / 1000 + queued));
  }

  get waiting(): number {
    return this.queues.idp.length + this.queues.sync.length;
  }

  private kick(): void {
    if (this.running) {
      this.wake?.();
      return;
    }
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (!this.closed && this.waiting > 0) {
        const priority: Priority = this.queues.idp.length > 0 ? 'idp' : 'sync';
        const q = this.queues[priority];
        let grant: { granted: number; waitMs: number };
        try {
          grant = await this.source.acquire(Math.min(q.length, 32), priority);
        } catch {
          grant = { granted: 0, waitMs: 100 };
        }
        for (let i = 0; i < grant.granted; i++) {
          const w = q.shift();
          if (!w) break;
          if (w.timer) clearTimeout(w.timer);
          w.resolve();
        }
        if (grant.granted === 0) {
          this.retryHintMs = grant.waitMs;
          await new Promise<void>((r) => {
            const t = setTimeout(r, grant.waitMs);
            this.wake = () => {
              // A new IdP waiter may deserve another look sooner only if sync was blocked by the reserve.
              if (priority === 'sync' && this.queues.idp.length > 0) {
                clearTimeout(t);
                r();
              }
            };
          });
          this.wake = undefined;
        }
      }
    } finally {
      this.running = false;
    }
  }

  close(): void {
    this.closed = true;
    this.wake?.();
    for (const q of Object.values(this.queues)) {
      for (const w of q.splice(0)) {
        if (w.timer) clearTimeout(w.timer);
        w.reject(new UpstreamError(503, 'The bridge is shutting down', 'budget', undefined, 5));
      }
    }
  }
}
