import type { SharedAuthFailures } from '../store/store.js';

interface Window {
  count: number;
  startMs: number;
}

/**
 * Failed logins throttled per client address: past `limit` failures within a window
 * (a minute), the address is refused with 429 until the window ends, whatever token it
 * sends; other addresses are not touched. With a shared store every replica counts into
 * one row per address and learns the blocked ones within a second.
 */
export class AuthThrottle {
  private readonly local = new Map<string, Window>();
  private readonly blockedUntil = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limit: number,
    private readonly shared?: SharedAuthFailures,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds the address must wait, or undefined when it may try. */
  retryAfter(address: string): number | undefined {
    const until = this.blockedUntil.get(address);
    if (until === undefined) return undefined;
    const left = until - this.now();
    if (left <= 0) {
      this.blockedUntil.delete(address);
      return undefined;
    }
    return Math.ceil(left / 1000);
  }

  /** Counts a failure; `first` is the burst's first (audited), `blocked` when the address is now held. */
  async fail(address: string): Promise<{ first: boolean; blocked: boolean }> {
    const now = this.now();
    const w = this.shared
      ? await this.shared.record(address, now, this.windowMs).then((r) => ({ count: r.count, startMs: r.windowStartMs }))
      : this.count(address, now);
    const blocked = w.count >= this.limit;
    if (blocked) this.blockedUntil.set(address, w.startMs + this.windowMs);
    return { first: w.count === 1, blocked };
  }

  private count(address: string, now: number): Window {
    let w = this.local.get(address);
    if (!w || now - w.startMs >= this.windowMs) {
      w = { count: 0, startMs: now };
      this.local.set(address, w);
      // Bounded: windows that ended are dropped whenever a new one opens.
      for (const [a, old] of this.local) if (now - old.startMs >= this.windowMs) this.local.delete(a);
    }
    w.count++;
    return w;
  }

  /** With a shared store: learn, every second, the addresses other replicas blocked. */
  start(): void {
    if (!this.shared || this.timer) return;
    const shared = this.shared;
    const poll = async () => {
      const now = this.now();
      for (const b of await shared.blocked(now, this.windowMs, this.limit).catch(() => [])) this.blockedUntil.set(b.address, b.windowStartMs + this.windowMs);
    };
    this.timer = setInterval(() => void poll(), 1000).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
