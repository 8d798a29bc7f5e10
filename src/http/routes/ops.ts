import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/store.js';
import { deliveryFacts } from '../../fullstory/roles/modes.js';
import { describeCapabilities } from '../../fullstory/capabilities.js';
import { planMessage } from '../../fullstory/plan-word.js';

/** What /readyz says of the store: whether it answers, the guard's holds, the role-sync outbox. */
async function storeFacts(store: Store): Promise<{ storeOk: boolean; guard: Record<string, unknown>; roleSync: Record<string, unknown> }> {
  try {
    await store.ping();
    const held = await store.read((r) => r.guard.holds('held'));
    const approvals = held.filter((h) => h.kind === 'approval').length;
    const notices = await store.read((r) => r.notices.pending());
    const guard = {
      held: held.length,
      ...(approvals > 0 ? { awaitingApproval: approvals } : {}),
      ...(held.length > 0
        ? { oldestHeldAt: held[0]!.at, release: 'fullstory-scim-bridge holds; then release --all | ID... (approve) or reject ID... --reason TEXT' }
        : {}),
      // Word not yet taken by the webhook (NOTIFY_WEBHOOK_URL): the receiver is down or refusing.
      ...(notices.count > 0 ? { noticesPending: notices.count, oldestNoticeAt: notices.oldestAt } : {}),
    };
    const s = await store.read((r) => r.roleSync.stats());
    const roleSync = {
      backlog: s.backlog,
      failing: s.failing,
      oldestPendingAgeSeconds: s.oldestPendingAt ? Math.round((Date.now() - Date.parse(s.oldestPendingAt)) / 1000) : 0,
      ...(s.failing > 0 ? { lastError: (await store.read((r) => r.roleSync.failing(1)))[0]?.lastError ?? null } : {}),
    };
    return { storeOk: true, guard, roleSync };
  } catch {
    return { storeOk: false, guard: {}, roleSync: {} };
  }
}

/** For ops, at the root, no auth, out of the access log. */
export default async function opsRoutes(app: FastifyInstance) {
  const { store, readiness, metrics, roleDelivery, mode, pendingPlan, index } = app.deps;
  const quiet = { logLevel: 'silent' as const };

  app.get('/healthz', quiet, async (_req, reply) => reply.type('application/json').send('{"status":"ok"}'));

  app.get('/readyz', quiet, async (_req, reply) => {
    const { storeOk, guard, roleSync } = await storeFacts(store);
    const ready = storeOk && readiness.ok;
    const roles = roleDelivery();
    // Roles lagging is not a reason to pull IdP traffic (users still provision): 200, but said.
    const degraded = ready && (roles.health.degraded || roles.planWord !== undefined);
    const body = {
      status: !ready ? 'not ready' : degraded ? 'degraded' : 'ready',
      mode,
      ...(mode === 'shadow'
        ? {
            shadow:
              'SHADOW MODE: the IdP is answered and its changes recorded; nothing is written to FullStory (fullstory-scim-bridge plan shows what going live would change)',
          }
        : {}),
      ...(pendingPlan() > 0
        ? { planPending: `${pendingPlan()} users recorded in shadow mode are not in FullStory yet: run fullstory-scim-bridge plan, then apply` }
        : {}),
      guard,
      ...(roles.planWord ? { planMismatch: { ...roles.planWord, message: planMessage(roles.planWord) } } : {}),
      ...(roles.health.degraded
        ? {
            degraded: {
              reason: roles.health.reason,
              since: roles.health.since,
              failingUsers: roles.health.failingUsers,
              deliveredUsers: roles.health.deliveredUsers,
            },
          }
        : {}),
      store: storeOk ? 'ok' : 'unreachable',
      fullstory: readiness.ok ? 'ok' : (readiness.reason ?? 'not checked yet'),
      ...(readiness.ok ? {} : { fullstoryUnusableSince: readiness.since ?? null }),
      lastPreflightAt: readiness.checkedAt ?? null,
      capabilities: readiness.capabilities ? Object.fromEntries(describeCapabilities(readiness.capabilities).map((c) => [c.name, c.message])) : null,
      roleDelivery: deliveryFacts(roles.delivery),
      roleSync,
      index: index(),
      ...(readiness.extra ? await readiness.extra() : {}),
    };
    return reply
      .code(ready ? 200 : 503)
      .type('application/json')
      .send(JSON.stringify(body));
  });

  // Gauges read the bridge's state at scrape time (metrics/metrics.ts, fed by the core): nothing is set here.
  app.get('/metrics', quiet, async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.text()));
}
