import { UpstreamError } from './errors.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Stops hammering a FullStory that is down: after `threshold` failures in a row (no
 * answer, or 5xx) calls fail at once for `openMs`; then one trial call decides. A 4xx
 * or a 429 is FullStory working, and counts as success here. State is per process:
 * it only saves FullStory from calls, no other replica needs it.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  state: CircuitState = 'closed';

  constructor(
    private readonly threshold: number,
    private readonly openMs: number,
  ) {}

  /** Throws when calls must not go out now; otherwise the caller proceeds and reports. */
  before(): void {
    if (this.state === 'closed') return;
    const left = this.openedAt + this.openMs - performance.now();
    if (this.state === 'open' && left > 0) {
      throw new UpstreamError(503, `FullStory has been failing; calls resume in ${Math.ceil(left / 1000)} s`, 'circuit', undefined, Math.ceil(left / 1000));
    }
    if (this.trialInFlight) throw new UpstreamError(503, 'FullStory has been failing; a trial call is under way', 'circuit', undefined, 1);
    this.state = 'half-open';
    this.trialInFlight = true;
  }

  /** The trial never went out (no budget): let the next call be the trial. */
  cancelTrial(): void {
    this.trialInFlight = false;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
    this.state = 'closed';
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.state === 'half-open' || this.failures >= this.threshold) {
      this.state = 'open';
      this.openedAt = performance.now();
    }
  }
}
