import { ROLES, type Role } from '../config/roles.js';
import type { FullStoryApi, FsUser } from '../fullstory/api.js';
import type { Store } from '../store/store.js';
import type { RolePolicy } from './role-policy.js';

export interface Drift {
  id: string;
  userName: string;
  /** The role FullStory holds now. */
  actual: Role | 'unknown';
  /** The role the bridge's groups and mapping call for. */
  desired: string;
}

const ROLE_GROUP: Record<Role, string> = { admin: 'Admin', architect: 'Architect', standard: 'Standard', explorer: 'Explorer', guest: 'Guest' };

/**
 * Compares the role FullStory holds for each indexed user with the one the bridge wants
 * (someone may have changed it in FullStory's UI, or a change may still be queued), by
 * paging through FullStory's users and, with role groups, reading the five role groups.
 */
export async function findRoleDrift(store: Store, api: FullStoryApi, policy: RolePolicy): Promise<{ checked: number; drift: Drift[] }> {
  let membership: Map<string, Role> | undefined;
  if (policy.delivery === 'role-groups') {
    membership = new Map();
    // Lowest role first, so that a user in several ends with the highest.
    for (const role of [...ROLES].reverse()) {
      const group = await api.findGroup(ROLE_GROUP[role]);
      for (const m of group?.members ?? []) membership.set(m.value, role);
    }
  }
  const actualOf = (u: FsUser): Role | 'unknown' => {
    if (membership) return membership.get(u.id) ?? 'standard';
    const value = u.roles?.[0]?.value?.toLowerCase();
    return ROLES.find((r) => r === value) ?? 'unknown';
  };
  const drift: Drift[] = [];
  let checked = 0;
  for (let start = 1; ; start += 100) {
    const page = await api.listUsers(start, 100, undefined, 'sync');
    const users = page.Resources ?? [];
    const desired = await store.users.rolesOf(users.map((u) => u.id));
    for (const u of users) {
      const want = desired.get(u.id);
      if (want === undefined) continue;
      checked++;
      if (want !== null && actualOf(u) !== want) drift.push({ id: u.id, userName: u.userName, actual: actualOf(u), desired: want });
    }
    if (users.length === 0 || start + users.length > page.totalResults) break;
  }
  return { checked, drift };
}

/** Queues the desired role of every drifted user; a running bridge's worker applies them. */
export async function repairRoleDrift(store: Store, drift: readonly Drift[]): Promise<void> {
  if (drift.length === 0) return;
  await store.transaction((tx) => tx.roleSync.enqueue(new Map(drift.map((d) => [d.id, d.desired]))));
}
