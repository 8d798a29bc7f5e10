import type { Repos } from '../store/store.js';
import type { RolePolicy } from './role-policy.js';

/**
 * Recomputes the effective role of the given users inside the caller's transaction and
 * writes the ones that changed to the outbox. Returns how many changed.
 */
export async function recomputeRoles(tx: Repos, policy: RolePolicy, userIds: Iterable<string>): Promise<number> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return 0;
  // Two transactions on different groups may touch one user: the second waits here and
  // then reads memberships the first committed, so neither writes a stale role.
  await tx.users.lockForUpdate(ids);
  const ranks = await tx.groups.bestRanks(ids);
  const current = await tx.users.rolesOf(ids);
  const changed = new Map<string, string | null>();
  for (const [id, role] of current) {
    // A teammate adopted from FullStory (role null) in no mapped group is not the bridge's
    // to manage: the default role is not imposed on them (it would demote an admin).
    if (role === null && !ranks.has(id)) continue;
    const desired = policy.fromRank(ranks.get(id));
    // "unchanged" (null) never overrides a role the bridge already asked for.
    if (desired === null || desired === role) continue;
    changed.set(id, desired);
  }
  if (changed.size === 0) return 0;
  await tx.users.setRoles(changed);
  await tx.roleSync.enqueue(changed as Map<string, string>);
  return changed.size;
}

/** After a config change: every group's mapped role from its name, every user's role again. */
export async function reconcileAllRoles(tx: Repos, policy: RolePolicy): Promise<number> {
  for (const group of await tx.groups.all()) {
    const mapped = policy.forGroup(group.displayName);
    if ((mapped?.role ?? null) !== group.role || (mapped?.rank ?? null) !== group.roleRank) {
      await tx.groups.setRole(group.id, mapped?.role ?? null, mapped?.rank ?? null);
    }
  }
  return recomputeRoles(tx, policy, await tx.users.liveIds());
}
