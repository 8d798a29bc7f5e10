import type { Plan } from '../config/roles.js';

/**
 * Every behaviour of FullStory's SCIM API that is not documented is a switch here
 * (../shared/spec/fullstory-scim.md, numbered as there).
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
  /** #10 */
  roleDelivery: 'roles-attribute' | 'role-groups';
  /** #11 */
  plan: Plan;
  /** #12 `none`: /Groups answers 404. Group PATCH and DELETE are never offered. */
  groups: 'get-post-put' | 'none';
  /** #13 */
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
