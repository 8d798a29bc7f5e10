/** How role delivery is going, as /readyz shows it. */
export type DeliveryVerdict = { degraded: false } | { degraded: true; reason: string; since: string; failingUsers: number; deliveredUsers: number };

/** Users whose latest outcome is kept: enough to tell a FullStory that refuses roles from one bad user. */
const CAPACITY = 10_000;

interface Outcome {
  error: string | null;
  at: number;
}

/**
 * Role delivery is degraded when, among the users whose role this process last tried
 * within the window (the latest CAPACITY of them), at least `minUsers` are failing and
 * they outnumber those delivered: a FullStory that refuses roles altogether, not one user
 * it refuses. Counts are kept as outcomes come and go, so an outcome costs the same at
 * ten users and at a propagation of 100,000 (counting them all on every outcome made the
 * propagation quadratic).
 */
export class DeliveryHealth {
  /** Each user's latest outcome, oldest first (re-inserted on every outcome). */
  private readonly latest = new Map<string, Outcome>();
  private delivered = 0;
  private readonly reasons = new Map<string, number>();
  private since: number | undefined;

  constructor(
    private readonly windowMs = 10 * 60_000,
    private readonly minUsers = 3,
    private readonly capacity = CAPACITY,
  ) {}

  /** Users whose outcome is kept now. */
  get size(): number {
    return this.latest.size;
  }

  record(userId: string, error: string | null, now = Date.now()): void {
    this.forget(userId);
    this.latest.set(userId, { error, at: now });
    this.count({ error, at: now }, 1);
    while (this.latest.size > this.capacity) this.forget(this.latest.keys().next().value!);
    this.verdict(now);
  }

  verdict(now = Date.now()): DeliveryVerdict {
    for (const [id, o] of this.latest) {
      if (now - o.at <= this.windowMs) break;
      this.forget(id);
    }
    const failing = this.latest.size - this.delivered;
    if (failing < this.minUsers || failing <= this.delivered) {
      this.since = undefined;
      return { degraded: false };
    }
    this.since ??= now;
    const [reason] = [...this.reasons].reduce((a, b) => (b[1] > a[1] ? b : a));
    return { degraded: true, reason, since: new Date(this.since).toISOString(), failingUsers: failing, deliveredUsers: this.delivered };
  }

  private forget(userId: string): void {
    const old = this.latest.get(userId);
    if (!old) return;
    this.latest.delete(userId);
    this.count(old, -1);
  }

  private count(o: Outcome, by: 1 | -1): void {
    if (o.error === null) {
      this.delivered += by;
      return;
    }
    const n = (this.reasons.get(o.error) ?? 0) + by;
    if (n === 0) this.reasons.delete(o.error);
    else this.reasons.set(o.error, n);
  }
}
