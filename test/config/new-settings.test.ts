import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { parseGroupRoles } from '../../src/sandbox/profile.js';

const refused = (env: Record<string, string>, file: unknown) => {
  try {
    loadConfig(env, file as never);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('the settings this round added refuse what a typo or an attacker would write', () => {
  it('PLAN_INTERVAL_MINUTES: a negative or non-number value, and a misspelt key, are refused by name', () => {
    expect(refused({ PLAN_INTERVAL_MINUTES: '-1' }, {})).toMatch(/plan\.intervalMinutes/);
    expect(refused({ PLAN_INTERVAL_MINUTES: 'hourly' }, {})).toMatch(/plan\.intervalMinutes/);
    expect(refused({}, { plan: { intervalMinute: 5 } })).toMatch(/intervalMinutes/);
    expect(loadConfig({ PLAN_INTERVAL_MINUTES: '0.5' }, {}).plan.intervalMinutes).toBe(0.5);
    expect(loadConfig({}, {}).plan.intervalMinutes).toBe(0);
  });

  it('GUARD_APPROVE_ROLES: admin by default, empty means none, an unknown role (or its Unicode twin) is refused by name', () => {
    expect(loadConfig({}, {}).guard.approveRoles).toEqual(['admin']);
    expect(loadConfig({ GUARD_APPROVE_ROLES: '' }, {}).guard.approveRoles).toEqual([]);
    expect(loadConfig({ GUARD_APPROVE_ROLES: 'admin, architect' }, {}).guard.approveRoles).toEqual(['admin', 'architect']);
    expect(loadConfig({}, { guard: { approveRoles: [] } }).guard.approveRoles).toEqual([]);
    expect(refused({ GUARD_APPROVE_ROLES: 'admins' }, {})).toMatch(/guard\.approveRoles/);
    expect(refused({ GUARD_APPROVE_ROLES: '\uff41dmin' }, {})).toMatch(/guard\.approveRoles/);
    expect(refused({}, { guard: { approveRole: ['admin'] } })).toMatch(/approveRoles/);
    // A default role that needs approval would hand it to every new user without one: refused, not silently granted.
    expect(refused({ DEFAULT_ROLE: 'admin' }, {})).toMatch(/roles\.default.*GUARD_APPROVE_ROLES/);
    expect(loadConfig({ DEFAULT_ROLE: 'admin', GUARD_APPROVE_ROLES: '' }, {}).roles.default).toBe('admin');
  });

  it('roles.delivery takes only its five values, in any spelling the schema does not know refused', () => {
    expect(refused({ ROLE_DELIVERY: 'ssso' }, {})).toMatch(/roles\.delivery/);
    expect(refused({ ROLE_DELIVERY: 'SSO' }, {})).toMatch(/roles\.delivery/);
    for (const v of ['auto', 'roles-attribute', 'role-groups', 'sso', 'groups-passthrough'])
      expect(loadConfig({ ROLE_DELIVERY: v }, {}).roles.delivery).toBe(v);
  });

  it('a group named __proto__ in the mapping or the sandbox table pollutes nothing', () => {
    const file = JSON.parse('{"roles":{"groups":{"__proto__":"admin"}}}') as unknown;
    expect(refused({}, file)).toMatch(/"__proto__" at roles\.groups\.__proto__ is not allowed/);
    const dir = mkdtempSync(join(tmpdir(), 'fsb-cfg-'));
    const yaml = join(dir, 'bridge.yaml');
    writeFileSync(yaml, 'roles:\n  groups:\n    __proto__: admin\n');
    try {
      expect(refused({ CONFIG_FILE: yaml }, {})).toMatch(/bridge\.yaml: the key "__proto__" at roles\.groups\.__proto__/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    const table = parseGroupRoles('__proto__=admin,Analysts=explorer');
    expect('value' in table && table.value && Object.keys(table.value)).toEqual(['__proto__', 'Analysts']);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(parseGroupRoles('Analysts=superuser')).toHaveProperty('error');
  });
});
