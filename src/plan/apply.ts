import type { FsPatchOp, FullStoryApi } from '../fullstory/api.js';
import { decodeRoles } from '../fullstory/roles/wire.js';
import type { Capabilities } from '../fullstory/preflight.js';
import type { LastAdmin } from '../provisioning/last-admin.js';
import { isActive, toUpstream } from '../provisioning/user-mapping.js';
import type { Store } from '../store/store.js';
import { recordWrite, type WriteRecorder } from '../fullstory/writes.js';
import type { Plan, PlanItem } from './plan.js';

export interface ApplyDeps {
  store: Store;
  /** A live FullStory (never the shadow one), ids translated by its links. */
  api: FullStoryApi;
  capabilities: () => Capabilities;
  lastAdmin: LastAdmin;
  /** `roles` for a create body, where roles travel in user bodies (RoleChannel.bodyRoles). */
  bodyRoles: (role: string | null) => unknown[] | undefined;
  /** Wakes the role-sync worker, which delivers role changes and reads each back. */
  kick: () => void;
  /** How long to wait for the role-sync worker to deliver the roles queued. */
  roleWaitMs?: number;
  /** Every FullStory write apply makes, for the audit log (as `cli:apply`). */
  record?: WriteRecorder;
}

export interface ApplyReport {
  done: number;
  /** Items not carried out, with why (an admin that would be the last to go). */
  skipped: { item: PlanItem; why: string }[];
  /** Items FullStory refused (or that failed on the way): the others were still carried out. */
  failed: { item: PlanItem; why: string }[];
  /** Role changes still in the outbox when apply stopped waiting (a running bridge finishes them). */
  rolesPending: number;
}

const ORDER: Record<PlanItem['action'], number> = { create: 0, update: 1, deactivate: 2, roleChange: 3, unmanaged: 4 };

/**
 * Carries a plan out in FullStory, within the client's rate budget (priority 'sync').
 * Each step is checked against FullStory as it is, so a run that was killed is finished
 * by running it again: a create whose answer was lost is found by userName and linked,
 * not made twice, and a plan made afresh lists only what is left.
 */
export async function applyPlan(plan: Plan, deps: ApplyDeps, progress: (done: number, total: number, item: PlanItem) => void = () => {}): Promise<ApplyReport> {
  const items = plan.items.filter((i) => i.action !== 'unmanaged').sort((a, b) => ORDER[a.action] - ORDER[b.action]);
  const report: ApplyReport = { done: 0, skipped: [], failed: [], rolesPending: 0 };
  const roles = new Map<string, string>();
  for (const item of items) {
    const skip = item.hold ? decisionSkip(item.hold) : await lastAdminSkip(item, deps);
    if (skip) report.skipped.push({ item, why: skip });
    else if (item.action === 'roleChange') roles.set(item.userId, String(item.desired?.role));
    else await step(item, deps, roles).catch((err: unknown) => report.failed.push({ item, why: (err as Error).message }));
    report.done++;
    progress(report.done, items.length, item);
  }
  if (roles.size > 0) report.rolesPending = await deliverRoles(roles, deps);
  return report;
}

/** A role change an operator has yet to decide, or rejected, is theirs: apply does not go round them. */
function decisionSkip(hold: NonNullable<PlanItem['hold']>): string {
  return hold.status === 'rejected'
    ? `rejected by ${hold.by ?? 'an operator'} (hold ${hold.id})`
    : `held for an operator (hold ${hold.id}): \`release\` or \`reject\` it`;
}

/** An admin's deactivation or demotion is skipped when FullStory would have no active admin left. */
async function lastAdminSkip(item: PlanItem, deps: ApplyDeps): Promise<string | undefined> {
  const wasAdmin =
    item.action === 'roleChange'
      ? item.actual?.role === 'admin'
      : item.action === 'deactivate' && (await deps.store.read((r) => r.users.get(item.userId)))?.role === 'admin';
  if (!wasAdmin) return undefined;
  return (await deps.lastAdmin.othersExist(new Set([item.userId]))) ? undefined : 'it would leave FullStory with no active admin';
}

async function step(item: PlanItem, deps: ApplyDeps, roles: Map<string, string>): Promise<void> {
  const { store, api } = deps;
  const row = await store.read((r) => r.users.get(item.userId));
  if (!row) return;
  if (item.action === 'create') {
    // A create killed after FullStory took it: FullStory has the userName, so link rather than post again.
    const body = { ...toUpstream(row.resource, deps.bodyRoles(row.role)), active: isActive(row.resource) && !row.deleted };
    const fs =
      (await api.findUserByUserName(row.userName, 'sync')) ??
      (await recordWrite(
        deps.record,
        { operation: 'users.create', userId: row.id, userName: row.userName, change: `created, active ${String(body.active)}` },
        () => api.createUser(body),
      ));
    await link(deps, row.id, fs.id);
    // A role FullStory's answer does not show goes to the worker, which writes and reads it back.
    const shown = decodeRoles(fs.roles);
    if (row.role !== null && !(shown.kind === 'role' && shown.role === row.role)) roles.set(row.id, row.role);
    return;
  }
  if (item.linkTo) await link(deps, row.id, item.linkTo);
  const desired = item.desired ?? {};
  const ops: FsPatchOp[] = Object.entries(desired).map(([path, value]) => ({ op: 'replace', path, value }));
  if (item.action === 'deactivate') ops.splice(0, ops.length, { op: 'replace', path: 'active', value: false });
  if (ops.length === 0) return;
  const facts = { userId: row.id, userName: row.userName, change: describeOps(item, ops) };
  if (deps.capabilities().patchUsers) {
    await recordWrite(deps.record, { operation: 'users.patch', ...facts }, () => api.patchUser(row.id, ops, 'sync'));
    return;
  }
  // Without PATCH: FullStory's copy with the changes, PUT whole (its roles kept as they are).
  const { id: _id, meta: _meta, schemas: _schemas, ...current } = await api.getUser(row.id, 'sync');
  const body: Record<string, unknown> = { ...current };
  for (const op of ops) setPath(body, op.path!, op.value);
  await recordWrite(deps.record, { operation: 'users.replace', ...facts }, () => api.replaceUser(row.id, body, 'sync'));
}

/** `active true → false; displayName "A" → "B"`: what FullStory held (the plan's actual) and what apply wrote. */
function describeOps(item: PlanItem, ops: FsPatchOp[]): string {
  const actual = (item.actual ?? {}) as Record<string, unknown>;
  return ops.map((o) => `${o.path} ${JSON.stringify(actual[o.path!] ?? null)} → ${JSON.stringify(o.value)}`).join('; ');
}

function setPath(o: Record<string, unknown>, path: string, value: unknown): void {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) o[head!] = value;
  else setPath((o[head!] = { ...((o[head!] as Record<string, unknown>) ?? {}) }) as Record<string, unknown>, rest.join('.'), value);
}

/** FullStory's id for a bridge id: stored first (a rerun finds it), then used by every later call. */
async function link(deps: ApplyDeps, id: string, upstreamId: string): Promise<void> {
  if (id === upstreamId) return;
  await deps.store.transaction((tx) => tx.links.link(id, upstreamId));
  deps.api.links.set(id, upstreamId);
}

/** Queues the roles and waits for the role-sync worker to deliver them (read back, within the budget). */
async function deliverRoles(roles: Map<string, string>, deps: ApplyDeps): Promise<number> {
  await deps.store.transaction((tx) => tx.roleSync.enqueue(roles));
  deps.kick();
  const started = Date.now();
  for (;;) {
    const { backlog, failing } = await deps.store.read((r) => r.roleSync.stats());
    const waited = Date.now() - started;
    // Done, out of time, or every change left failing for 30 s (its error is in the outbox and /readyz).
    if (backlog === 0 || waited > (deps.roleWaitMs ?? 600_000) || (failing >= backlog && waited > 30_000)) return backlog;
    await new Promise((r) => setTimeout(r, 200));
  }
}
