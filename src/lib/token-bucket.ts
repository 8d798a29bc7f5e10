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
  const floor = priority === 'sync' ? cfg.reserve : 0;
  const granted = Math.max(0, Math.min(n, Math.floor(state.tokens - floor)));
  state.tokens -= granted;
  const waitMs = granted < n ? Math.max(1, ((floor + 1 - state.tokens) / cfg.perSecond) * 1000) : 0;
  return { granted, waitMs };
}
