/** How role delivery is going, as /readyz shows it. */
export type DeliveryVerdict =
  | { degraded: false }
  | { degraded: true; reason: string; since: string; failingUsers: number; deliveredUsers: number };

/**
 * Role delivery is degraded when, among the users whose role this process last tried
 * within the window, at least `minUsers` are failing and they outnumber those delivered:
 * a FullStory that refuses roles altogether, not one user it refuses.
 */
export class DeliveryHealth {
  /** Each user's latest outcome, oldest first (re-inserted on every outcome). */
  private readonly latest = new Map<string, { error: string | null; at: number }>();
  private since: number | undefined;

  constructor(
    private readonly windowMs = 10 * 60_000,
    private readonly minUsers = 3,
  ) {}

  record(userId: string, error: string | null, now = Date.now()): void {
    this.latest.delete(userId);
    this.latest.set(userId, { error, at: now });
    this.verdict(now);
  }

  verdict(now = Date.now()): DeliveryVerdict {
    for (const [id, o] of this.latest) {
      if (now - o.at <= this.windowMs) break;
      this.latest.delete(id);
    }
    const reasons = new Map<string, number>();
    let delivered = 0;
    for (const o of this.latest.values()) {
      if (o.error === null) delivered++;
      else reasons.set(o.error, (reasons.get(o.error) ?? 0) + 1);
    }
    const failing = this.latest.size - delivered;
    if (failing < this.minUsers || failing <= delivered) {
      this.since = undefined;
      return { degraded: false };
    }
    this.since ??= now;
    const [reason] = [...reasons].reduce((a, b) => (b[1] > a[1] ? b : a));
    return { degraded: true, reason, since: new Date(this.since).toISOString(), failingUsers: failing, deliveredUsers: delivered };
  }
}
