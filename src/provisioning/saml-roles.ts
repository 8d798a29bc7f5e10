import type { Role } from '../config/roles.js';
import type { Config } from '../config/schema.js';
import { ROLE_NAME } from '../fullstory/roles/wire.js';

/** The SAML attribute the role travels in unless `--attribute` says otherwise. */
export const DEFAULT_ROLE_ATTRIBUTE = 'fullstoryRole';

type Mapping = Config['roles'];

/** Each role the mapping grants, highest precedence first, with the IdP groups that grant it. */
export function roleRules(m: Mapping): { role: Role; value: string; groups: string[] }[] {
  return m.precedence
    .map((role) => ({ role, value: ROLE_NAME[role], groups: Object.keys(m.groups).filter((g) => m.groups[g] === role) }))
    .filter((r) => r.groups.length > 0);
}

/** The value a user in no mapped group gets; null: none is sent (FullStory keeps the role it has). */
const fallback = (m: Mapping): string | null => (m.default === 'unchanged' ? null : ROLE_NAME[m.default]);

function oktaString(s: string): string {
  // Okta's expression language quotes with double quotes; a name that needs escaping is refused, not guessed at.
  if (/["\\\n\r]/.test(s)) throw new Error(`the group name ${JSON.stringify(s)} holds a quote, backslash or line break: rename it, or map it by another group`);
  return `"${s}"`;
}

/**
 * An Okta expression-language value for a SAML attribute statement: the first role (in
 * precedence order) whose groups hold the user, else the default. The same precedence
 * and default as the bridge's mapping, so the same groups give the same role.
 */
export function oktaExpression(m: Mapping): string {
  const rules = roleRules(m);
  const end = fallback(m);
  let expr = end === null ? 'null' : oktaString(end);
  for (const r of [...rules].reverse()) {
    const test = r.groups.map((g) => `isMemberOfGroupName(${oktaString(g)})`).join(' || ');
    expr = `${test} ? ${oktaString(r.value)} : ${expr}`;
  }
  return expr;
}

/** One of Entra's claim conditions, in the order they are to be entered. */
export interface EntraCondition {
  userType: 'Members';
  /** Empty: any user (the default). */
  scopedGroups: string[];
  source: 'Attribute';
  value: string;
}

/**
 * Entra's claim conditions for the role claim. Entra evaluates conditions of one source
 * top to bottom and emits the value of the last that matches, so the default comes first
 * and the highest role last.
 */
export function entraConditions(m: Mapping): EntraCondition[] {
  const end = fallback(m);
  const rules = [...roleRules(m)].reverse();
  return [
    ...(end === null ? [] : [{ userType: 'Members' as const, scopedGroups: [], source: 'Attribute' as const, value: end }]),
    ...rules.map((r) => ({ userType: 'Members' as const, scopedGroups: r.groups, source: 'Attribute' as const, value: r.value })),
  ];
}

/** What `saml-roles` prints for an IdP, ready to paste. */
export function samlRolesText(idp: 'okta' | 'entra', m: Mapping, attribute = DEFAULT_ROLE_ATTRIBUTE): string {
  if (idp === 'okta') {
    return [
      `Okta: Applications > your FullStory SAML app > Sign On > Attribute statements > Add`,
      `  Name:       ${attribute}`,
      `  Name format: Unspecified`,
      `  Value:`,
      ``,
      oktaExpression(m),
      ``,
      m.default === 'unchanged'
        ? 'A user in no mapped group gets no role attribute (roles.default is unchanged): FullStory keeps the role it has.'
        : `A user in no mapped group gets ${fallback(m)} (roles.default).`,
      '',
    ].join('\n');
  }
  const lines = entraConditions(m).map(
    (c, i) =>
      `  ${i + 1}. User type: ${c.userType}; Scoped groups: ${c.scopedGroups.length ? c.scopedGroups.join(', ') : '(none: every member)'}; Source: Attribute; Value: "${c.value}"`,
  );
  return [
    `Entra ID: Enterprise applications > your FullStory app > Single sign-on > Attributes & Claims > Add new claim`,
    `  Name: ${attribute}`,
    `  Claim conditions, in this order (Entra emits the value of the LAST condition that matches, so the highest role is last):`,
    ...lines,
    m.default === 'unchanged'
      ? '  No condition for users in no mapped group (roles.default is unchanged): the claim is not sent and FullStory keeps the role.'
      : '',
    `  Scoped groups must be assigned to the app; Entra caps a condition at 50 groups.`,
    '',
  ]
    .filter((l) => l !== '')
    .join('\n')
    .concat('\n');
}
