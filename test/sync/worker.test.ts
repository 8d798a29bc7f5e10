import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/fullstory/errors.js';
import { RoleNotApplied } from '../../src/sync/delivery.js';
import { failureText, retryDelayMs } from '../../src/sync/worker.js';

const mid = () => 0.5; // no jitter
describe('retryDelayMs: backoff for a failed role change', () => {
  it('a transient failure waits 1 s, doubling, up to 5 minutes', () => {
    const err = new UpstreamError(503, 'busy', 'http');
    expect([0, 1, 2, 3].map((n) => retryDelayMs(n, err, mid))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelayMs(30, err, mid)).toBe(300_000);
  });

  it("FullStory's no, or a role it did not apply, starts from a minute; a change of delivery retries soon", () => {
    expect(retryDelayMs(0, new UpstreamError(400, 'bad', 'http'), mid)).toBe(60_000);
    expect(retryDelayMs(0, new RoleNotApplied('ignored', false), mid)).toBe(60_000);
    expect(retryDelayMs(0, new RoleNotApplied('ignored; now groups', true), mid)).toBe(1_000);
  });

  it('jitter stays within a quarter either way', () => {
    const err = new UpstreamError(0, 'reset', 'network');
    expect(retryDelayMs(2, err, () => 0)).toBe(3_000);
    expect(retryDelayMs(2, err, () => 1)).toBe(5_000);
  });

  it("the outbox row keeps FullStory's status with the message, or the bridge's own words", () => {
    expect(failureText(new UpstreamError(400, 'Role "architect" is not available', 'http'))).toBe('FullStory 400: Role "architect" is not available');
    expect(failureText(new UpstreamError(0, 'timed out', 'timeout'))).toBe('FullStory timeout: timed out');
    expect(failureText(new RoleNotApplied('FullStory ignored `roles`', false))).toBe('FullStory ignored `roles`');
  });
});
