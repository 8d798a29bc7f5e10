import type { Delivery } from './channel.js';

/**
 * What the bridge can see of a role it delivered: FullStory showing it on the user
 * (`read-back`), only the group membership it wrote (`membership`: what FullStory makes of
 * it, SCIM cannot show), or nothing at all (`none`: roles come through SSO).
 */
export type Verification = 'read-back' | 'membership' | 'none';

/** Each delivery mode, declared once: check, /readyz, the console and the audit log read their words from here. */
export const MODES: Record<Delivery, { label: string; verification: Verification; confirm?: string }> = {
  'roles-attribute': { label: '`roles` on users', verification: 'read-back' },
  'role-groups': {
    label: 'role groups',
    verification: 'membership',
    confirm:
      "roles are written as membership of FullStory's role groups, which SCIM shows but not what FullStory makes of it: confirm once in FullStory (Settings > People) that a member of its Admin group shows the Admin role.",
  },
  'groups-passthrough': {
    label: "the IdP's mapped groups, mirrored under their own names",
    verification: 'membership',
    confirm:
      "the IdP's mapped groups are mirrored to FullStory, whose own group-to-role table decides roles: confirm once in FullStory (Settings > People) that a member of each mapped group shows the role the mapping gives it.",
  },
  sso: {
    label: 'SSO (the IdP sends the role at sign-in; nothing through SCIM)',
    verification: 'none',
    confirm:
      "roles come through SSO, which SCIM cannot see: paste `fullstory-scim-bridge saml-roles --idp okta|entra` into the IdP's SAML settings, then confirm once in FullStory (Settings > People) that a user who signed in since shows the role the mapping gives them.",
  },
};

/** The audit log's note on a delivered role, by what could be seen of it. */
export const VERIFIED_NOTE: Record<Verification, string> = {
  'read-back': 'role shown by FullStory (read back)',
  membership: 'membership written and read back; SCIM shows no role, so what FullStory makes of it is not verified (verification: membership)',
  none: 'nothing sent through SCIM: the IdP gives this role at the next sign-in through SSO (verification: none)',
};

/** The delivery as /readyz and the console show it: the mode, why, and what verifying a role can see. */
export function deliveryFacts(choice: { delivery: Delivery | undefined; why: string }): {
  mode: Delivery | 'undecided';
  why: string;
  verification: Verification | null;
  confirm: string | null;
} {
  const mode = choice.delivery ? MODES[choice.delivery] : undefined;
  return { mode: choice.delivery ?? 'undecided', why: choice.why, verification: mode?.verification ?? null, confirm: mode?.confirm ?? null };
}
