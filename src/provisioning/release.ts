import type { HoldRow, Store } from '../store/store.js';
import type { UsersService } from './users-service.js';

export interface ReleaseDeps {
  store: Store;
  users: UsersService;
  /** Wakes the role-sync worker (a released demotion goes through the outbox). */
  kick: () => void;
}

/**
 * Carries one held change out, as the bridge would have: a deactivation or deletion
 * through the users' rules (not counted by the guard again), a demotion through the
 * outbox with the role the bridge wants now (a later group change may have moved it).
 */
export async function releaseHold(deps: ReleaseDeps, h: HoldRow): Promise<void> {
  const ctx = { released: true, note: `released hold ${h.id}` };
  if (h.kind === 'deactivate') await deps.users.patch(h.userId, { Operations: [{ op: 'replace', path: 'active', value: false }] }, ctx);
  else if (h.kind === 'delete') await deps.users.delete(h.userId, ctx);
  else {
    const role = (await deps.store.read((r) => r.users.get(h.userId)))?.role;
    if (role) await deps.store.transaction((tx) => tx.roleSync.enqueue(new Map([[h.userId, role]])));
    deps.kick();
  }
  await deps.store.transaction((tx) => tx.guard.release(h.id));
}
