import { ROLES, type Plan, type Role } from '../config/roles.js';

/**
 * Every behaviour of FullStory's SCIM API that is not documented is a switch here
 * (docs/fullstory-scim.md, numbered as there).
 */
export interface SandboxProfile {
  /** #2 SCIM unusable (plan, SAML SSO, switched off): every call fails with this status. */
  scimEnabled: boolean;
  scimDisabledStatus: 401 | 403;
  /** #3 */
  errorStyle: 'scim' | 'fullstory';
  /** #5 */
  storesExternalId: boolean;
  /** #6 */
  patchUsers: boolean;
  /** #9 */
  deleteUsers: boolean;
  /** #10 `sso`: `roles` dropped, groups plain; the role comes from SAML at sign-in and no SCIM read shows it. */
  roleDelivery: 'roles-attribute' | 'role-groups' | 'sso';
  /** #11 */
  plan: Plan;
  /** #12 `none`: /Groups answers 404. Group PATCH and DELETE are never offered. */
  groups: 'get-post-put' | 'none';
  /** #13 `userName-only`: `userName eq` on Users, and no filter at all on Groups. */
  filters: 'standard' | 'userName-only';
  /** #15 */
  discovery: boolean;
  /** #16 null: no limit. */
  rateLimit: { perSecond: number; burst: number; headers: boolean } | null;
  /** #18 */
  faults: {
    latencyMs: number;
    /** Share of requests answered 500, 502 or 503 before anything is done. */
    failRate: number;
    /** Share of writes whose connection is reset after the write was applied. */
    resetRate: number;
    /** Share of requests that hang for hangMs, then have their connection closed. */
    hangRate: number;
    hangMs: number;
  };
  /** #19 null: no cap. */
  seatCap: number | null;
  /** #20 `roles` in a user write where role groups carry the role: dropped silently, or 400. */
  rolesWhereGroups: 'drop' | 'refuse';
  /** #21 How `roles` is written and read back: `[{"value":"architect"}]`, `[{"value":"Architect","primary":true}]`, `["architect"]`. */
  roleForm: 'value-lower' | 'value-capitalised' | 'strings';
  /** #22 The largest page: a larger `count` is cut to it; `totalResults` stays true. */
  maxPage: number;
  /** #23 `merge`: a PUT leaves absent attributes (but `active`) as they are; `replace`: it resets them, `roles` included. */
  putUsers: 'merge' | 'replace';
  /** #24 Role groups: created by the first write that needs them, or there from the start under ids the bridge does not know. */
  roleGroups: 'on-demand' | 'preexisting';
  /**
   * #25 FullStory's own table from pushed group names (any case) to roles: a member of a
   * listed group holds the highest role it lists, whatever #10 says; null: no table.
   */
  groupRoles: Readonly<Record<string, Role>> | null;
}

export const DEFAULT_PROFILE: SandboxProfile = {
  scimEnabled: true,
  scimDisabledStatus: 403,
  errorStyle: 'scim',
  storesExternalId: true,
  patchUsers: true,
  deleteUsers: true,
  roleDelivery: 'roles-attribute',
  plan: 'enterprise',
  groups: 'get-post-put',
  filters: 'standard',
  discovery: true,
  rateLimit: { perSecond: 16, burst: 50, headers: false },
  faults: { latencyMs: 0, failRate: 0, resetRate: 0, hangRate: 0, hangMs: 120_000 },
  seatCap: null,
  rolesWhereGroups: 'drop',
  roleForm: 'value-lower',
  maxPage: 100,
  putUsers: 'merge',
  roleGroups: 'on-demand',
  groupRoles: null,
};

/** The marked (S) column: everything the bridge has to translate or work around. */
export const STRICT_PROFILE: SandboxProfile = {
  ...DEFAULT_PROFILE,
  scimDisabledStatus: 401,
  errorStyle: 'fullstory',
  storesExternalId: false,
  patchUsers: false,
  deleteUsers: false,
  roleDelivery: 'role-groups',
  filters: 'userName-only',
  discovery: false,
};

export const PROFILES = { default: DEFAULT_PROFILE, strict: STRICT_PROFILE } as const;
export type ProfileName = keyof typeof PROFILES;

export type ProfilePatch = Partial<Omit<SandboxProfile, 'faults'>> & { faults?: Partial<SandboxProfile['faults']> };

export function makeProfile(base: ProfileName | SandboxProfile, patch: ProfilePatch = {}): SandboxProfile {
  const from = typeof base === 'string' ? PROFILES[base] : base;
  return { ...from, ...patch, faults: { ...from.faults, ...(patch.faults ?? {}) } };
}

type ScalarKey = Exclude<keyof SandboxProfile, 'rateLimit' | 'faults' | 'groupRoles'>;

/**
 * Every scalar switch, with the spec's number and the values it takes: the sandbox
 * command's flags (`--role-form strings`) and the tests' capability matrix read it.
 */
export const SWITCHES: Record<ScalarKey, { spec: number; values: readonly (string | number | boolean)[] | 'count' | 'count-or-off' }> = {
  scimEnabled: { spec: 2, values: [true, false] },
  scimDisabledStatus: { spec: 2, values: [403, 401] },
  errorStyle: { spec: 3, values: ['scim', 'fullstory'] },
  storesExternalId: { spec: 5, values: [true, false] },
  patchUsers: { spec: 6, values: [true, false] },
  deleteUsers: { spec: 9, values: [true, false] },
  roleDelivery: { spec: 10, values: ['roles-attribute', 'role-groups', 'sso'] },
  plan: { spec: 11, values: ['enterprise', 'business', 'data-direct'] },
  groups: { spec: 12, values: ['get-post-put', 'none'] },
  filters: { spec: 13, values: ['standard', 'userName-only'] },
  discovery: { spec: 15, values: [true, false] },
  seatCap: { spec: 19, values: 'count-or-off' },
  rolesWhereGroups: { spec: 20, values: ['drop', 'refuse'] },
  roleForm: { spec: 21, values: ['value-lower', 'value-capitalised', 'strings'] },
  maxPage: { spec: 22, values: 'count' },
  putUsers: { spec: 23, values: ['merge', 'replace'] },
  roleGroups: { spec: 24, values: ['on-demand', 'preexisting'] },
};

export const flagName = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** One switch's value from its flag's text, or why it is not one of the switch's values. */
export function parseSwitch(key: ScalarKey, text: string): { value: SandboxProfile[ScalarKey] } | { error: string } {
  const { values } = SWITCHES[key];
  if (values === 'count' || values === 'count-or-off') {
    if (values === 'count-or-off' && text === 'off') return { value: null };
    const n = Number(text);
    return Number.isInteger(n) && n >= 1
      ? { value: n }
      : { error: `--${flagName(key)} takes a whole number from 1${values === 'count-or-off' ? ', or off' : ''}` };
  }
  const found = values.find((v) => String(v) === text);
  return found === undefined ? { error: `--${flagName(key)} is one of ${values.join(', ')}` } : { value: found as SandboxProfile[ScalarKey] };
}

/** #25 from its flag's text (`"Eng Admins=admin,Analysts=explorer"`, or `off`), or why it is not one. */
export function parseGroupRoles(text: string): { value: SandboxProfile['groupRoles'] } | { error: string } {
  if (text === 'off') return { value: null };
  const table: Record<string, Role> = Object.create(null) as Record<string, Role>;
  for (const pair of text.split(',')) {
    const at = pair.lastIndexOf('=');
    const name = pair.slice(0, at).trim();
    const role = ROLES.find(
      (r) =>
        r ===
        pair
          .slice(at + 1)
          .trim()
          .toLowerCase(),
    );
    if (at < 1 || !name || !role) return { error: `--group-roles takes "Group name=role,..." (roles: ${ROLES.join(', ')}), or off` };
    table[name] = role;
  }
  return { value: table };
}
