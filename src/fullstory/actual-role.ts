import { ROLES, type Role } from '../config/roles.js';
import type { FsUser, FullStoryApi } from './api.js';
import type { Capabilities } from './preflight.js';
import type { Delivery } from './role-channel.js';
import { decodeRoles, ROLE_NAME } from './role-wire.js';

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

/**
 * How to read the role FullStory holds for a user, the one way `plan` (and `reconcile`,
 * its roles-only form) reads it: role groups read once, or each user's `roles`.
 */
export async function actualRoleReader(api: FullStoryApi, delivery: Delivery | undefined, caps: Capabilities): Promise<(u: FsUser) => Role | 'unknown'> {
  const membership = delivery === 'role-groups' ? await roleGroupMembership(api, caps) : undefined;
  return (u) => {
    if (membership) return membership.get(u.id) ?? 'standard';
    const r = decodeRoles(u.roles);
    return r.kind === 'role' ? r.role : 'unknown';
  };
}
