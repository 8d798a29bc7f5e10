import type { HoldRow, Repos } from '../store/store.js';
import { holdGrants } from './approvals.js';
import { isDemotion, type DeprovisionGuard } from './guard.js';
import type { RolePolicy } from './role-policy.js';

/** Told how many roles a recompute will change (and how many of them are demotions) before anything is written. */
export type Announce = (changes: number, demotions: number) => void;

/** A mapping change at start: announced before anything is written; its grants that wait are told of (audit, metrics). */
export interface MappingChange {
  announce: Announce;
  onHeld?: (hold: HoldRow) => void;
}

/** The guard a group change answers to, and whose change it is. */
export interface Guarded {
  guard: DeprovisionGuard;
  tokenName: string | null;
  /** False when FullStory has no active admin besides the admins this change touches. */
  adminsRemain: boolean;
}

/** Users whose rows are read at once: a 100,000-member replace reads them a slice at a time. */
const CHUNK = 5_000;

/**
 * Recomputes the effective role of the given users inside the caller's transaction and
 * writes the ones that changed to the outbox; a demotion the guard holds, or a grant
 * waiting for approval, is recorded as the bridge's role but not sent. Returns how many
 * were sent.
 */
export async function recomputeRoles(tx: Repos, policy: RolePolicy, userIds: Iterable<string>, guarded?: Guarded, mapping?: MappingChange): Promise<number> {
  // In id order, a slice at a time: transactions that share users lock them in one order.
  const ids = [...new Set(userIds)].sort();
  if (ids.length === 0) return 0;
  const changed = new Map<string, string | null>();
  const current = new Map<string, string | null>();
  for (let i = 0; i < ids.length; i += CHUNK) await desiredRoles(tx, policy, ids.slice(i, i + CHUNK), changed, current);
  if (changed.size === 0) return 0;
  mapping?.announce(changed.size, [...changed].filter(([id, to]) => isDemotion(current.get(id) ?? null, to)).length);
  await tx.users.setRoles(changed);
  const tokenName = guarded?.tokenName ?? null;
  const onHeld = guarded ? (h: HoldRow) => guarded.guard.announce(h) : mapping?.onHeld;
  const grants = await holdGrants(tx, policy, current, changed, { tokenName, ...(onHeld ? { onHeld } : {}) });
  // A withdrawn grant is no demotion: FullStory never had the role it leaves.
  const demotable = grants.withdrawn.size === 0 ? changed : new Map([...changed].filter(([id]) => !grants.withdrawn.has(id)));
  const held = guarded?.guard.enabled ? await holdDemotions(tx, guarded, current, demotable) : new Set<string>();
  for (const id of grants.held) held.add(id);
  const sent = held.size === 0 ? changed : new Map([...changed].filter(([id]) => !held.has(id)));
  if (sent.size > 0) await tx.roleSync.enqueue(sent as Map<string, string>);
  return sent.size;
}

/** Adds to `changed` the users of `ids` whose role moves, with their role before it in `current`. */
async function desiredRoles(
  tx: Repos,
  policy: RolePolicy,
  ids: string[],
  changed: Map<string, string | null>,
  current: Map<string, string | null>,
): Promise<void> {
  // Two transactions on different groups may touch one user: the second waits here and
  // then reads memberships the first committed, so neither writes a stale role.
  await tx.users.lockForUpdate(ids);
  const ranks = await tx.groups.bestRanks(ids);
  for (const [id, role] of await tx.users.rolesOf(ids)) {
    // A teammate adopted from FullStory (role null) in no mapped group is not the bridge's
    // to manage: the default role is not imposed on them (it would demote an admin).
    if (role === null && !ranks.has(id)) continue;
    const desired = policy.fromRank(ranks.get(id));
    // "unchanged" (null) never overrides a role the bridge already asked for.
    if (desired === null || desired === role) continue;
    changed.set(id, desired);
    current.set(id, role);
  }
}

async function holdDemotions(
  tx: Repos,
  { guard, tokenName, adminsRemain }: Guarded,
  current: ReadonlyMap<string, string | null>,
  changed: ReadonlyMap<string, string | null>,
): Promise<Set<string>> {
  const demoted = [...changed].filter(([id, to]) => isDemotion(current.get(id) ?? null, to));
  if (demoted.length === 0) return new Set();
  const rows = new Map((await tx.users.getMany(demoted.map(([id]) => id))).map((r) => [r.id, r]));
  return guard.admitDemotions(
    tx,
    demoted.map(([id, to]) => ({
      userId: id,
      userName: rows.get(id)?.userName ?? null,
      kind: 'demote' as const,
      currentRole: current.get(id) ?? null,
      role: to,
      tokenName,
      lastAdmin: !adminsRemain && current.get(id) === 'admin',
    })),
  );
}

/** After a config change: every group's mapped role from its name, every user's role again. */
export async function reconcileAllRoles(tx: Repos, policy: RolePolicy, mapping?: MappingChange): Promise<number> {
  for (const group of await tx.groups.all()) {
    const mapped = policy.forGroup(group.displayName);
    if ((mapped?.role ?? null) !== group.role || (mapped?.rank ?? null) !== group.roleRank) {
      await tx.groups.setRole(group.id, mapped?.role ?? null, mapped?.rank ?? null);
    }
  }
  return recomputeRoles(tx, policy, await tx.users.liveIds(), undefined, mapping);
}
