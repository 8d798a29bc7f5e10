import { isRoleHold, type GuardReads, type HoldRow, type Repos } from '../store/store.js';
import type { RolePolicy } from './role-policy.js';

/** Whose group change asks for the grants, and who is told of a new hold. */
export interface GrantContext {
  tokenName: string | null;
  onHeld?: (hold: HoldRow) => void;
}

export interface GrantOutcome {
  /** Users whose new role waits (held now, or rejected earlier for that same role): recorded, not sent. */
  held: Set<string>;
  /** Users whose waiting or rejected grant the IdP no longer asks for: FullStory never had that role. */
  withdrawn: Set<string>;
}

/**
 * Approvals where they matter (GUARD_APPROVE_ROLES): inside the group change's
 * transaction, a grant of an approved role is held as `approval` rather than sent. The
 * role is still the bridge's record (the IdP's view stays consistent, as with held
 * demotions); FullStory gets it only on `release`. A role change an operator rejected
 * (a grant or a demotion) stays unsent while the IdP keeps asking for that role (its
 * retries change nothing); once the IdP's groups or the mapping call for another role,
 * it is withdrawn, and a later change is a new decision.
 */
export async function holdGrants(
  tx: Repos,
  policy: RolePolicy,
  current: ReadonlyMap<string, string | null>,
  changed: ReadonlyMap<string, string | null>,
  by: GrantContext,
): Promise<GrantOutcome> {
  const out: GrantOutcome = { held: new Set(), withdrawn: new Set() };
  // A held demotion stays the guard's (admitDemotions); the rest are decided here.
  const open = await roleDecisions(tx, false);
  const wanted = [...changed].filter(([id, to]) => policy.needsApproval(current.get(id) ?? null, to) || open.has(id));
  if (wanted.length === 0) return out;
  const names = new Map((await tx.users.getMany(wanted.map(([id]) => id))).map((r) => [r.id, r.userName]));
  const granting = new Map<string, Map<string, string[]>>();
  for (const [id, to] of wanted) {
    const standing = open.get(id);
    if (standing && standing.role === to) {
      out.held.add(id);
      continue;
    }
    if (standing) {
      await tx.guard.decide(standing.id, 'withdrawn', 'idp', `the IdP's groups now call for ${to ?? 'no role'}`);
      if (standing.kind === 'approval') out.withdrawn.add(id);
    }
    if (!policy.needsApproval(current.get(id) ?? null, to)) continue;
    if (!granting.has(to!)) granting.set(to!, await grantingGroups(tx, to!));
    const via = granting
      .get(to!)!
      .get(id)
      ?.map((g) => JSON.stringify(g))
      .join(', ');
    const reason = `a grant of the ${to} role${via ? ` (through ${via})` : ''} waits for an operator's approval (GUARD_APPROVE_ROLES)`;
    const hold = await tx.guard.hold({ userId: id, userName: names.get(id) ?? null, kind: 'approval', role: to, tokenName: by.tokenName, reason });
    out.held.add(id);
    by.onHeld?.(hold);
  }
  return out;
}

/** The IdP groups that map to `role`, by member: named in the hold (which group asked). Read only when a grant waits. */
async function grantingGroups(tx: Repos, role: string): Promise<Map<string, string[]>> {
  const groups = (await tx.groups.all()).filter((g) => g.role === role);
  const members = await tx.groups.membersOf(groups.map((g) => g.id));
  const out = new Map<string, string[]>();
  for (const g of groups) for (const u of members.get(g.id) ?? []) out.set(u, [...(out.get(u) ?? []), g.displayName]);
  return out;
}

/**
 * Each user's open role decision, the newest where there are several: a role change an
 * operator rejected, or one waiting for them (held demotions only with `heldDemotions`).
 * Few, so read whole; `plan`, the access review and the grants all read them so.
 */
export async function roleDecisions(r: { guard: GuardReads }, heldDemotions = true): Promise<Map<string, HoldRow>> {
  const rejected = (await r.guard.holds('rejected')).filter(isRoleHold);
  const held = (await r.guard.holds('held')).filter((h) => h.kind === 'approval' || (heldDemotions && h.kind === 'demote'));
  return new Map([...rejected, ...held].sort((a, b) => (a.at < b.at ? -1 : 1)).map((h) => [h.userId, h]));
}
