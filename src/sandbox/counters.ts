/** What reached "FullStory": one count per method, route and status. */
export class Counters {
  private readonly counts = new Map<string, number>();
  /** Arrival times (ms) of authenticated SCIM requests, for rate checks; the latest 200,000. */
  private arrivals: number[] = [];

  arrived(atMs: number): void {
    if (this.arrivals.length >= 200_000) this.arrivals = this.arrivals.slice(100_000);
    this.arrivals.push(atMs);
  }

  arrivalTimes(): readonly number[] {
    return this.arrivals;
  }

  /** The most requests that arrived within any window of `ms` (sliding). */
  busiestWindow(ms: number): number {
    let best = 0;
    let lo = 0;
    for (let hi = 0; hi < this.arrivals.length; hi++) {
      while (this.arrivals[hi]! - this.arrivals[lo]! >= ms) lo++;
      best = Math.max(best, hi - lo + 1);
    }
    return best;
  }

  record(method: string, route: string, status: number): void {
    const key = `${method} ${route} ${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Requests matching every given field; route is the pattern, e.g. "/Users/:id". */
  count(match: { method?: string; route?: string; status?: number | ((s: number) => boolean) } = {}): number {
    let n = 0;
    for (const [key, c] of this.counts) {
      const [method, route, status] = key.split(' ') as [string, string, string];
      if (match.method && match.method !== method) continue;
      if (match.route && match.route !== route) continue;
      const s = Number(status);
      if (typeof match.status === 'number' && match.status !== s) continue;
      if (typeof match.status === 'function' && !match.status(s)) continue;
      n += c;
    }
    return n;
  }

  /** Writes FullStory accepted: what changed its state. */
  writes(): number {
    return (
      this.count({ method: 'POST', status: (s) => s < 300 }) +
      this.count({ method: 'PUT', status: (s) => s < 300 }) +
      this.count({ method: 'PATCH', status: (s) => s < 300 }) +
      this.count({ method: 'DELETE', status: (s) => s < 300 })
    );
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  reset(): void {
    this.counts.clear();
    this.arrivals = [];
  }
}

/** FullStory's limit: a bucket of `burst` requests refilling at `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): { ok: boolean; retryAfterS: number; remaining: number } {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true, retryAfterS: 0, remaining: Math.floor(this.tokens) };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond)), remaining: 0 };
  }
}
