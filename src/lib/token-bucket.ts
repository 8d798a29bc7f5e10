export type Priority = 'idp' | 'sync';

export interface BucketState {
  tokens: number;
  updatedMs: number;
  pausedUntilMs: number;
}

export interface BucketConfig {
  perSecond: number;
  burst: number;
  /** Tokens background sync must leave for IdP calls. */
  reserve: number;
}

/**
 * A token bucket: `burst` tokens, refilled at `perSecond`, paused until `pausedUntilMs`
 * after a 429. Takes up to `n` tokens for `priority` (mutating `state`) and says how long
 * to wait when it could not give them all.
 */
export function takeFromBucket(state: BucketState, nowMs: number, n: number, priority: Priority, cfg: BucketConfig): { granted: number; waitMs: number } {
  const from = Math.max(state.updatedMs, state.pausedUntilMs);
  if (nowMs > from) state.tokens = Math.min(cfg.burst, state.tokens + ((nowMs - from) / 1000) * cfg.perSecond);
  state.updatedMs = Math.max(state.updatedMs, nowMs);
  if (nowMs < state.pausedUntilMs) return { granted: 0, waitMs: state.pausedUntilMs - nowMs };
  const floor = reserveFor(priority, cfg);
  const granted = Math.max(0, Math.min(n, Math.floor(state.tokens - floor)));
  state.tokens -= granted;
  return { granted, waitMs: granted < n ? refillWaitMs(state.tokens, floor, cfg.perSecond) : 0 };
}

/** The tokens a take for `priority` must leave in the bucket. */
export function reserveFor(priority: Priority, cfg: BucketConfig): number {
  return priority === 'sync' ? cfg.reserve : 0;
}

/** How long until a bucket holding `tokens` has one above `floor` again (at least 1 ms). */
export function refillWaitMs(tokens: number, floor: number, perSecond: number): number {
  return Math.max(1, ((floor + 1 - tokens) / perSecond) * 1000);
}
