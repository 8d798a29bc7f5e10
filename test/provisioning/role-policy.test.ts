import { describe, expect, it } from 'vitest';
import { RolePolicy } from '../../src/provisioning/role-policy.js';

const policy = (over: Record<string, unknown> = {}) =>
  new RolePolicy({
    delivery: 'auto',
    default: 'standard',
    precedence: ['admin', 'architect', 'standard', 'explorer', 'guest'],
    groups: { 'FS Admins': 'admin', Support: 'explorer' },
    ...over,
  } as never);

describe('RolePolicy: groups to roles, by precedence', () => {
  it('group names match in any case; an unmapped group maps to nothing', () => {
    expect(policy().forGroup('fs admins')).toEqual({ role: 'admin', rank: 0 });
    expect(policy().forGroup('Support')).toEqual({ role: 'explorer', rank: 3 });
    expect(policy().forGroup('Engineering')).toBeNull();
  });

  it('the best rank wins; in no mapped group, the default (or null for unchanged)', () => {
    expect(policy().fromRank(0)).toBe('admin');
    expect(policy().fromRank(undefined)).toBe('standard');
    expect(policy({ default: 'unchanged' }).fromRank(undefined)).toBeNull();
  });

  it('a reordered precedence ranks by it', () => {
    const p = policy({ precedence: ['explorer', 'admin', 'architect', 'standard', 'guest'] });
    expect(p.forGroup('Support')).toEqual({ role: 'explorer', rank: 0 });
    expect(p.forGroup('FS Admins')!.rank).toBe(1);
  });
});
