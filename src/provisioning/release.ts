import type { AuditLog } from '../audit/log.js';
import type { HoldRow, Store } from '../store/store.js';
import type { OpContext, UsersService } from './users-service.js';

export interface ReleaseDeps {
  store: Store;
  users: UsersService;
  /** Wakes the role-sync worker (a released demotion goes through the outbox). */
  kick: () => void;
  audit: Pick<AuditLog, 'hold' | 'write'>;
}

/**
 * Carries one held change out, as the bridge would have: a deactivation or deletion
 * through the users' rules (not counted by the guard again), a demotion through the
 * outbox with the role the bridge wants now (a later group change may have moved it).
 * The release is one audit row, carrying its FullStory write's status, whoever released
 * it (`ops:<name>` in the console, `cli:release`); a refused release is a row too, and
 * the change stays held.
 */
export async function releaseHold(deps: ReleaseDeps, h: HoldRow, actor: string): Promise<void> {
  const ctx: OpContext = { released: true, note: `released hold ${h.id}`, tokenName: actor };
  try {
    if (h.kind === 'deactivate') await deps.users.patch(h.userId, { Operations: [{ op: 'replace', path: 'active', value: false }] }, ctx);
    else if (h.kind === 'delete') await deps.users.delete(h.userId, ctx);
    else {
      const role = (await deps.store.read((r) => r.users.get(h.userId)))?.role;
      if (role) await deps.store.transaction((tx) => tx.roleSync.enqueue(new Map([[h.userId, role]])));
      deps.kick();
    }
    await deps.store.transaction((tx) => tx.guard.release(h.id));
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
  const detail = h.kind === 'demote' ? `released ${h.id}: the role change is queued for the role-sync worker (its write is audited there)` : `released ${h.id}`;
  deps.audit.hold({ actor, hold: h, action: 'released', upstreamStatus: first?.upstreamStatus ?? null, detail });
  for (const write of more) deps.audit.write({ actor, write });
}
