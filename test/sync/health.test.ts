import { describe, expect, it } from 'vitest';
import { DeliveryHealth } from '../../src/sync/health.js';

describe('DeliveryHealth: degraded when most users fail, not when one does', () => {
  it('one bad user among many delivered is not degraded', () => {
    const h = new DeliveryHealth();
    for (let i = 0; i < 10; i++) h.record(`ok${i}`, null, 1000);
    for (let i = 0; i < 3; i++) h.record('bad', 'FullStory 400: no', 1000 + i);
    expect(h.verdict(2000)).toEqual({ degraded: false });
  });

  it('most users failing is degraded, with the commonest reason and since when', () => {
    const h = new DeliveryHealth();
    h.record('a', null, 1000);
    h.record('b', 'ignored roles', 2000);
    h.record('c', 'ignored roles', 3000);
    expect(h.verdict(3000).degraded).toBe(false); // two failing: could be two bad users
    h.record('d', 'other', 4000);
    h.record('e', 'ignored roles', 5000);
    expect(h.verdict(6000)).toEqual({ degraded: true, reason: 'ignored roles', since: new Date(4000).toISOString(), failingUsers: 4, deliveredUsers: 1 });
  });

  it('a user delivered after failing counts as delivered; old outcomes leave the window', () => {
    const h = new DeliveryHealth(10_000, 2);
    h.record('a', 'x', 0);
    h.record('b', 'x', 0);
    expect(h.verdict(1).degraded).toBe(true);
    h.record('a', null, 2);
    expect(h.verdict(3).degraded).toBe(false);
    h.record('a', 'x', 20_000);
    h.record('c', 'x', 20_000);
    expect(h.verdict(20_001)).toMatchObject({ degraded: true, since: new Date(20_000).toISOString(), failingUsers: 2 });
    expect(h.verdict(40_001)).toEqual({ degraded: false });
  });
});

describe('DeliveryHealth at scale', () => {
  it('keeps the latest outcomes of a bounded number of users, and its counts agree with them', () => {
    const h = new DeliveryHealth(10 * 60_000, 3, 1_000);
    for (let i = 0; i < 100_000; i++) h.record(`u${i}`, null, i);
    expect(h.size).toBe(1_000);
    // The latest thousand all fail now: the counts must drop every delivered outcome they replace.
    for (let i = 99_000; i < 100_000; i++) h.record(`u${i}`, 'ignored roles', 100_000 + i);
    expect(h.verdict(200_000)).toMatchObject({ degraded: true, reason: 'ignored roles', failingUsers: 1_000, deliveredUsers: 0 });
    for (let i = 0; i < 1_000; i++) h.record(`v${i}`, null, 200_000 + i);
    expect(h.verdict(201_000)).toEqual({ degraded: false });
    expect(h.size).toBe(1_000);
  });
});
