import type { Logger } from 'pino';
import { AuditLog } from './audit/log.js';
import { planDefaultRole } from './config/roles.js';
import type { Config } from './config/schema.js';
import {
  fullstoryTarget,
  idLinks,
  desiredUser,
  onHeld,
  openStore,
  reconcileOnStart,
  reportIdentityTwins,
  restorePlanWord,
  sayMode,
  sharedBudget,
  watchState,
  corePlan,
} from './core-steps.js';
import type { IdLinks } from './fullstory/links.js';
import { FullStoryUpstream } from './fullstory/upstream.js';
import { Metrics } from './metrics/metrics.js';
import { Closers } from './lib/closers.js';
import { makeLogger } from './logging.js';
import { GroupsService } from './provisioning/groups-service.js';
import { DeprovisionGuard } from './provisioning/guard.js';
import { IndexRefresh } from './provisioning/index-refresh.js';
import { LastAdmin, recordedAdmins } from './provisioning/last-admin.js';
import { RolePolicy } from './provisioning/role-policy.js';
import { UsersService } from './provisioning/users-service.js';
import type { RunningSandbox } from './sandbox/server.js';
import type { Store } from './store/store.js';
import type { DeliveryHealth } from './sync/health.js';
import { buildRoleSync } from './sync/role-sync.js';
import type { RoleSyncWorker } from './sync/worker.js';
import type { PlanWord } from './fullstory/plan-word.js';
import { lastPlan, ScheduledPlan } from './plan/scheduled.js';
import { Notifier } from './notify/notifier.js';
import { Webhook } from './notify/webhook.js';
import { conditions } from './notify/conditions.js';

export interface CoreOptions {
  logger?: Logger;
  /** A sandbox to use instead of starting one (tests share theirs). */
  sandbox?: RunningSandbox;
  /** PostgreSQL schema (tests). */
  pgSchema?: string;
}

/**
 * The bridge without HTTP: what the server and every CLI verb that touches FullStory or
 * the store share. Its worker is built, not started; its closers close in reverse.
 */
export interface Core {
  config: Config;
  logger: Logger;
  store: Store;
  metrics: Metrics;
  upstream: FullStoryUpstream;
  links: IdLinks;
  audit: AuditLog;
  policy: RolePolicy;
  guard: DeprovisionGuard;
  lastAdmin: LastAdmin;
  index: IndexRefresh;
  users: UsersService;
  groups: GroupsService;
  worker: RoleSyncWorker;
  health: DeliveryHealth;
  /** What FullStory said about its plan, where it contradicted fullstory.plan. */
  planWord: PlanWord;
  /** `plan` on a period (PLAN_INTERVAL_MINUTES), built here and started by the server only. */
  scheduledPlan: ScheduledPlan;
  /** Word for a person (NOTIFY_WEBHOOK_URL), where one is set; started by the server only. */
  notifier?: Notifier;
  /** Demo mode: the in-process FullStory sandbox. */
  sandbox?: RunningSandbox;
  closers: Closers;
  close(): Promise<void>;
}

/** Builds the core from its config, step by step; whatever a failing step leaves open is closed again. */
export async function createCore(config: Config, opts: CoreOptions = {}): Promise<Core> {
  const logger = opts.logger ?? makeLogger(config);
  const closers = new Closers();
  try {
    const target = await fullstoryTarget(config, opts.sandbox, logger, closers);
    const store = closers.push(await openStore(config, opts.pgSchema ?? config.database.schema), (s) => s.close());
    await reportIdentityTwins(store, logger);
    const metrics = new Metrics();
    const policy = new RolePolicy(config.roles, config.guard.approveRoles);
    const links = await idLinks(store, closers);
    const upstream = closers.push(
      new FullStoryUpstream({
        config,
        url: target.url,
        token: target.token,
        delivery: policy.delivery,
        logger,
        tokenSource: sharedBudget(store, config),
        observe: (e) => metrics.observeUpstream(e),
        links,
        desired: (id) => desiredUser(store, id),
      }),
      (u) => u.close(),
    );
    sayMode(config, links, logger);
    await upstream.start(config.startup.policy);
    const audit = closers.push(new AuditLog(store, config.audit, logger), (a) => a.close());
    // A mapping change's grants that wait for approval are on the record like any other hold.
    await reconcileOnStart(store, policy, logger, config.guard, (hold) => onHeld(hold, { metrics, audit, logger }));
    await audit.startRetention();
    const planWord = await restorePlanWord(store, config.fullstory.plan, logger);
    const f = { config, logger, closers, store, metrics, policy, upstream, audit, planWord };
    const { worker, health, guard, index, lastAdmin, users, groups, scheduledPlan } = buildServices(f);
    const notifier = buildNotifier(f, health);
    const core = {
      config,
      logger,
      store,
      metrics,
      upstream,
      links,
      audit,
      policy,
      guard,
      lastAdmin,
      index,
      users,
      groups,
      worker,
      health,
      planWord,
      scheduledPlan,
      closers,
    };
    return { ...core, ...(notifier ? { notifier } : {}), ...(target.sandbox ? { sandbox: target.sandbox } : {}), close: () => closers.closeAll() };
  } catch (err) {
    await closers.closeAll().catch((e: unknown) => logger.error({ err: e }, 'closing after a failed start failed too'));
    throw err;
  }
}

/** What the services are built on: the store, FullStory, the audit log and the metrics. */
interface Foundation {
  config: Config;
  logger: Logger;
  closers: Closers;
  store: Store;
  metrics: Metrics;
  policy: RolePolicy;
  upstream: FullStoryUpstream;
  audit: AuditLog;
  planWord: PlanWord;
}

/** The rules and the background work: the role-sync worker, the guard, the index refresh, the services, the scheduled plan. */
function buildServices({ config, logger, closers, store, metrics, policy, upstream, audit, planWord }: Foundation) {
  const { worker, health } = buildRoleSync({
    config,
    store,
    api: upstream.api,
    capabilities: upstream.capabilities,
    channel: upstream.roles,
    logger: logger.child({ component: 'role-sync' }),
    record: (write) => audit.write({ actor: 'role-sync', write }),
    onApplied: (ok, failed) => metrics.roleSyncOutcomes(ok, failed),
    planWord,
    onBlocked: (n) => metrics.blocked(n),
  });
  watchState(metrics, { store, upstream, health, planWord });
  // Stopped before the audit log flushes and the store closes (closers run in reverse).
  closers.push(worker, (w) => w.stop());
  const kick = () => worker.kick();
  const guard = new DeprovisionGuard(store, config.guard, (hold) => onHeld(hold, { metrics, audit, logger }));
  const freshnessMs = config.index.freshnessSeconds * 1000;
  const index = closers.push(new IndexRefresh({ store, api: upstream.api, logger: logger.child({ component: 'index' }), freshnessMs }), (i) => i.stop());
  const lastAdmin = new LastAdmin({
    api: upstream.api,
    capabilities: upstream.capabilities,
    delivery: () => upstream.roles.delivery,
    recordedAdmins: (leaving) => recordedAdmins(store, leaving),
  });
  const users = new UsersService({
    store,
    api: upstream.api,
    capabilities: upstream.capabilities,
    policy,
    roles: upstream.roles,
    kick,
    mode: config.bridge.mode,
    guard,
    lastAdmin,
    index,
    newUserRole: planDefaultRole(config.fullstory.plan),
  });
  const groups = new GroupsService({ store, policy, kick, guard, lastAdmin });
  const scheduledPlan = closers.push(
    new ScheduledPlan({
      store,
      intervalMs: config.plan.intervalMinutes * 60_000,
      plan: () => corePlan({ store, upstream }),
      logger: logger.child({ component: 'scheduled-plan' }),
    }),
    (p) => p.stop(),
  );
  return { worker, health, guard, index, lastAdmin, users, groups, scheduledPlan };
}

/** The notices outbox and its sender, where NOTIFY_WEBHOOK_URL is set. */
function buildNotifier({ config, logger, closers, store, metrics, upstream }: Foundation, health: DeliveryHealth): Notifier | undefined {
  const url = config.notify.webhookUrl;
  if (!url) return undefined;
  const sources = { delivery: () => health.verdict(), fullstory: () => upstream.readiness, lastPlan: () => lastPlan(store) };
  const notifier = new Notifier({
    store,
    webhook: new Webhook(url),
    conditions: () => conditions(sources),
    pollMs: config.notify.pollSeconds * 1000,
    logger: logger.child({ component: 'notify' }),
    onOutcome: (event, outcome) => metrics.notice(event, outcome),
  });
  return closers.push(notifier, (n) => n.stop());
}
