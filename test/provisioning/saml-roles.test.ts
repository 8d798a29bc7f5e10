import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ROLE_NAME } from '../../src/fullstory/roles/wire.js';
import { RolePolicy } from '../../src/provisioning/role-policy.js';
import { entraConditions, oktaExpression, samlRolesText } from '../../src/provisioning/saml-roles.js';

/**
 * Okta's expression language, the part `oktaExpression` may use: string literals,
 * `isMemberOfGroupName("...")`, `||`, and right-nested `cond ? a : b`, evaluated for a
 * user's groups. Anything else is a parse error, so the test also pins the grammar.
 */
function evalOkta(expr: string, groups: ReadonlySet<string>): string | null {
  let i = 0;
  const ws = () => {
    while (expr[i] === ' ') i++;
  };
  const str = (): string => {
    ws();
    if (expr[i] !== '"') throw new Error(`string expected at ${i}: ${expr.slice(i, i + 20)}`);
    const end = expr.indexOf('"', i + 1);
    const s = expr.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const value = (): string | null => {
    ws();
    if (expr.startsWith('null', i)) {
      i += 4;
      return null;
    }
    if (expr[i] === '"') return str();
    return ternary();
  };
  const test = (): boolean => {
    let any = false;
    for (;;) {
      ws();
      if (!expr.startsWith('isMemberOfGroupName(', i)) throw new Error(`isMemberOfGroupName expected at ${i}`);
      i += 'isMemberOfGroupName('.length;
      const name = str();
      if (expr[i] !== ')') throw new Error(`) expected at ${i}`);
      i++;
      any ||= groups.has(name);
      ws();
      if (!expr.startsWith('||', i)) return any;
      i += 2;
    }
  };
  const ternary = (): string | null => {
    const cond = test();
    ws();
    if (expr[i++] !== '?') throw new Error(`? expected at ${i - 1}`);
    const yes = value();
    ws();
    if (expr[i++] !== ':') throw new Error(`: expected at ${i - 1}`);
    const no = value();
    return cond ? yes : no;
  };
  const out = value();
  ws();
  if (i !== expr.length) throw new Error(`trailing text at ${i}: ${expr.slice(i)}`);
  return out;
}

/** Entra emits the value of the last matching condition (conditions with no scoped groups match every member). */
function evalEntra(conditions: ReturnType<typeof entraConditions>, groups: ReadonlySet<string>): string | null {
  let out: string | null = null;
  for (const c of conditions) if (c.scopedGroups.length === 0 || c.scopedGroups.some((g) => groups.has(g))) out = c.value;
  return out;
}

/** What the bridge's own mapping gives a user in these groups, as the role's FullStory name. */
function bridgeRole(policy: RolePolicy, groups: ReadonlySet<string>): string | null {
  const ranks = [...groups].map((g) => policy.forGroup(g)?.rank).filter((r): r is number => r !== undefined);
  const role = policy.fromRank(ranks.length ? Math.min(...ranks) : undefined);
  return role === null ? null : ROLE_NAME[role];
}

const MAPPINGS = {
  'highest role wins': { groups: { 'FS Admins': 'admin', 'Ops Admins': 'admin', Engineering: 'architect', Analysts: 'explorer', Contractors: 'guest' } },
  'a precedence of its own': {
    precedence: ['guest', 'admin', 'architect', 'standard', 'explorer'],
    groups: { 'FS Admins': 'admin', Contractors: 'guest', Analysts: 'explorer' },
  },
  'default unchanged': { default: 'unchanged', groups: { 'FS Admins': 'admin', Engineering: 'architect' } },
  'no mapped group at all': { groups: {} },
} as const;

describe.each(Object.entries(MAPPINGS))('saml-roles for a mapping where %s', (_name, roles) => {
  const config = loadConfig({}, { roles });
  const policy = new RolePolicy(config.roles);
  const names = [...Object.keys(roles.groups), 'Unmapped'];
  // Every set of up to three of the groups, and none.
  const samples: Set<string>[] = [new Set()];
  for (let a = 0; a < names.length; a++) {
    samples.push(new Set([names[a]!]));
    for (let b = a + 1; b < names.length; b++) {
      samples.push(new Set([names[a]!, names[b]!]));
      for (let c = b + 1; c < names.length; c++) samples.push(new Set([names[a]!, names[b]!, names[c]!]));
    }
  }

  it("Okta's expression gives every sample membership the role the bridge's mapping gives", () => {
    const expr = oktaExpression(config.roles);
    for (const groups of samples) expect([...groups, evalOkta(expr, groups)]).toEqual([...groups, bridgeRole(policy, groups)]);
  });

  it("Entra's claim conditions, last match winning, give every sample membership the same role", () => {
    const conditions = entraConditions(config.roles);
    for (const groups of samples) expect([...groups, evalEntra(conditions, groups)]).toEqual([...groups, bridgeRole(policy, groups)]);
  });

  it('the printed text carries the expression and each condition, under the attribute asked for', () => {
    expect(samlRolesText('okta', config.roles, 'role')).toContain(oktaExpression(config.roles));
    expect(samlRolesText('okta', config.roles, 'role')).toMatch(/Name: +role\n/);
    const entra = samlRolesText('entra', config.roles, 'role');
    for (const c of entraConditions(config.roles)) expect(entra).toContain(`Value: "${c.value}"`);
  });
});

it('a group name Okta would need escaped is refused in words, not guessed at', () => {
  const config = loadConfig({}, { roles: { groups: { 'Say "hi"': 'admin' } } });
  expect(() => oktaExpression(config.roles)).toThrow(/holds a quote/);
});
