import { ROLES, type Role } from '../config/roles.js';
import { pages, type FullStoryApi, type FsUser } from '../fullstory/api.js';
import type { Capabilities } from '../fullstory/preflight.js';
import type { Delivery } from '../fullstory/role-channel.js';
import { decodeRoles, ROLE_NAME } from '../fullstory/role-wire.js';
import type { Store } from '../store/store.js';

export interface Drift {
  id: string;
  userName: string;
  /** The role FullStory holds now. */
  actual: Role | 'unknown';
  /** The role the bridge's groups and mapping call for. */
  desired: string;
}

/**
 * Compares the role FullStory holds for each indexed user with the one the bridge wants
 * (someone may have changed it in FullStory's UI, or a change may still be queued), by
 * paging through FullStory's users and, with role groups, reading the role groups.
 */
export async function findRoleDrift(
  store: Store,
  api: FullStoryApi,
  delivery: Delivery | undefined,
  caps: Capabilities,
): Promise<{ checked: number; drift: Drift[] }> {
  const membership = delivery === 'role-groups' ? await roleGroupMembership(api, caps) : undefined;
  const actualOf = (u: FsUser): Role | 'unknown' => {
    if (membership) return membership.get(u.id) ?? 'standard';
    const r = decodeRoles(u.roles);
    return r.kind === 'role' ? r.role : 'unknown';
  };
  const drift: Drift[] = [];
  let checked = 0;
  let page: FsUser[] = [];
  const compare = async () => {
    const ids = page.map((u) => u.id);
    const desired = await store.read((r) => r.users.rolesOf(ids));
    for (const u of page) {
      const want = desired.get(u.id);
      if (want === undefined) continue;
      checked++;
      if (want !== null && actualOf(u) !== want) drift.push({ id: u.id, userName: u.userName, actual: actualOf(u), desired: want });
    }
    page = [];
  };
  for await (const u of pages((start) => api.listUsers(start, 100, undefined, 'sync'))) {
    page.push(u);
    if (page.length >= 100) await compare();
  }
  await compare();
  return { checked, drift };
}

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

/** Queues the desired role of every drifted user; a running bridge's worker applies them. */
export async function repairRoleDrift(store: Store, drift: readonly Drift[]): Promise<void> {
  if (drift.length === 0) return;
  await store.transaction((tx) => tx.roleSync.enqueue(new Map(drift.map((d) => [d.id, d.desired]))));
}
