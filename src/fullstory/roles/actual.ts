import { ROLES, type Role } from '../../config/roles.js';
import type { FsUser, FullStoryApi } from '../api.js';
import type { Capabilities } from '../preflight.js';
import type { Delivery } from './channel.js';
import { decodeRoles, ROLE_NAME } from './wire.js';

/** Each member's highest role group. */
export async function roleGroupMembership(api: FullStoryApi, caps: Capabilities): Promise<Map<string, Role>> {
  const membership = new Map<string, Role>();
  // Lowest role first, so that a user in several ends with the highest.
  for (const role of [...ROLES].reverse()) {
    const id = caps.roleGroups.get(role);
    const group = id ? await api.getGroup(id) : await api.findGroup(ROLE_NAME[role], { filters: caps.groupFilters });
    for (const m of group?.members ?? []) membership.set(m.value, role);
  }
  return membership;
}

/** The role FullStory holds for a user, as far as SCIM shows it. */
export type ActualRole =
  | { kind: 'role'; role: Role }
  /** A role of FullStory's own beyond the five (Umbrella Admin): never the bridge's to change. */
  | { kind: 'other'; name: string }
  /** `roles` absent or unreadable where roles travel there. */
  | { kind: 'unknown' }
  /** Roles through SSO or FullStory's own group table: no SCIM read shows them. */
  | { kind: 'invisible' };

/**
 * How to read the role FullStory holds for a user, the one way `plan` (and `reconcile`,
 * its roles-only form) reads it: role groups read once, or each user's `roles`.
 */
export async function actualRoleReader(api: FullStoryApi, delivery: Delivery | undefined, caps: Capabilities): Promise<(u: FsUser) => ActualRole> {
  if (delivery === 'sso' || delivery === 'groups-passthrough') return () => ({ kind: 'invisible' });
  const membership = delivery === 'role-groups' ? await roleGroupMembership(api, caps) : undefined;
  return (u) => {
    const r = decodeRoles(u.roles);
    // A role outside the five shows in `roles` whichever way the five travel.
    if (r.kind === 'other') return r;
    if (membership) return { kind: 'role', role: membership.get(u.id) ?? 'standard' };
    return r.kind === 'role' ? { kind: 'role', role: r.role } : { kind: 'unknown' };
  };
}
