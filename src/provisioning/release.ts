import type { AuditLog } from '../audit/log.js';
import { isRoleHold, type HoldRow, type Store } from '../store/store.js';
import type { OpContext, UsersService } from './users-service.js';

export interface ReleaseDeps {
  store: Store;
  users: UsersService;
  /** Wakes the role-sync worker (a released demotion goes through the outbox). */
  kick: () => void;
  audit: Pick<AuditLog, 'hold' | 'write'>;
}

/** What releasing a hold does, in words (the console's confirmation, the webhook's text). */
export function heldChange(h: HoldRow): string {
  const who = h.userName ?? h.userId;
  if (h.kind === 'demote') return `demote ${who} to ${h.role ?? '?'}`;
  if (h.kind === 'approval') return `make ${who} ${h.role ?? '?'}`;
  return h.kind === 'delete' ? `delete ${who}` : `deactivate ${who}`;
}

/** Another operator (or the IdP) decided the hold first: nothing was done. */
export class AlreadyDecided extends Error {
  override name = 'AlreadyDecided';
}

/**
 * Carries one held change out, as the bridge would have: a deactivation or deletion
 * through the users' rules (not counted by the guard again), a demotion or an approved
 * grant through the outbox with the role the bridge wants now.
 * The release is one audit row, carrying its FullStory write's status, whoever released
 * it (`ops:<name>` in the console, `cli:release`); a refused release is a row too, and
 * the change stays held.
 */
export async function releaseHold(deps: ReleaseDeps, h: HoldRow, actor: string): Promise<void> {
  const ctx: OpContext = { released: true, note: `released hold ${h.id}`, tokenName: actor };
  try {
    // Asked again just before acting: another operator may have rejected (or released) it since it was listed.
    if (!isRoleHold(h) && !(await deps.store.read((r) => r.guard.holds('held'))).some((x) => x.id === h.id))
      throw new AlreadyDecided(`${h.id} is no longer held`);
    if (h.kind === 'deactivate') await deps.users.patch(h.userId, { Operations: [{ op: 'replace', path: 'active', value: false }] }, ctx);
    else if (h.kind === 'delete') await deps.users.delete(h.userId, ctx);
    else {
      // Decided and queued in one transaction: two operators releasing at once queue it once.
      const decided = await deps.store.transaction(async (tx) => {
        if (!(await tx.guard.decide(h.id, 'released', actor))) return false;
        const role = (await tx.users.get(h.userId))?.role;
        if (role) await tx.roleSync.enqueue(new Map([[h.userId, role]]));
        return true;
      });
      if (!decided) throw new AlreadyDecided(`${h.id} is no longer held`);
      deps.kick();
    }
    if (!isRoleHold(h)) await deps.store.transaction((tx) => tx.guard.decide(h.id, 'released', actor));
  } catch (err) {
    deps.audit.hold({
      actor,
      hold: h,
      action: 'release-failed',
      upstreamStatus: ctx.writes?.at(-1)?.upstreamStatus ?? null,
      detail: `release of ${h.id} failed: ${(err as Error).message}`,
    });
    throw err;
  }
  const [first, ...more] = ctx.writes ?? [];
  const detail = isRoleHold(h) ? `released ${h.id}: the role change is queued for the role-sync worker (its write is audited there)` : `released ${h.id}`;
  deps.audit.hold({ actor, hold: h, action: 'released', upstreamStatus: first?.upstreamStatus ?? null, detail });
  for (const write of more) deps.audit.write({ actor, write });
}

/**
 * Says no to a held change: it is never applied, and the hold records who and why (so
 * does the audit log). The IdP's retries of it change nothing (see DeprovisionGuard and
 * holdGrants); `plan` shows the user as drift until the IdP or the mapping moves on.
 */
export async function rejectHold(deps: Pick<ReleaseDeps, 'store' | 'audit'>, h: HoldRow, actor: string, why: string | null): Promise<void> {
  // A reason is for the record, not a document: the console's field and the CLI's flag keep the same 500 characters.
  const reason = why?.slice(0, 500) ?? null;
  const decided = await deps.store.transaction((tx) => tx.guard.decide(h.id, 'rejected', actor, reason));
  if (!decided) throw new AlreadyDecided(`${h.id} is no longer held`);
  deps.audit.hold({ actor, hold: h, action: 'rejected', detail: `rejected ${h.id}${reason ? `: ${reason}` : ''}` });
}
