import type { Logger } from 'pino';
import type { AuditLog } from './audit/log.js';
import { ConfigError } from './config/load.js';
import type { Config } from './config/schema.js';
import type { TokenSource } from './fullstory/budget.js';
import { bucketConfig } from './fullstory/client.js';
import { IdLinks } from './fullstory/links.js';
import type { DesiredUser } from './fullstory/shadow-api.js';
import type { Metrics } from './metrics/metrics.js';
import type { Closers } from './lib/closers.js';
import { reconcileAllRoles } from './provisioning/effective-roles.js';
import type { RolePolicy } from './provisioning/role-policy.js';
import { isActive, toUpstream } from './provisioning/user-mapping.js';
import type { RunningSandbox } from './sandbox/server.js';
import { IDENTITY_TWINS_KEY } from './store/rekey.js';
import { Store, type HoldRow } from './store/store.js';
import type { Plan as FullStoryPlan } from './config/roles.js';
import { LAST_PLAN_KEY, makePlan, type Plan } from './plan/plan.js';
import type { PlanSummary } from './plan/scheduled.js';
import type { ReviewSource } from './plan/access-review.js';
import type { FullStoryUpstream } from './fullstory/upstream.js';
import type { DeliveryHealth } from './sync/health.js';
import { PLAN_WORD_KEY, planMessage, PlanWord, type PlanWordFacts } from './fullstory/plan-word.js';

/**
 * The steps `createCore` takes, each small enough to read alone: where FullStory is, the
 * store, the shared budget, the id links, the startup role reconcile, what a hold does.
 */

export interface FullStoryTarget {
  url: string;
  token: string;
  /** Demo mode: the in-process sandbox, started here or handed in by a test. */
  sandbox?: RunningSandbox;
}

/**
 * FullStory's URL and token; without a token (never in production, unless asked for),
 * the built-in sandbox's, loaded only then so production never carries it.
 */
export async function fullstoryTarget(config: Config, given: RunningSandbox | undefined, logger: Logger, closers: Closers): Promise<FullStoryTarget> {
  if (config.fullstory.token) return { url: config.fullstory.url, token: config.fullstory.token };
  if (config.nodeEnv === 'production' && !config.sandbox.allowInProduction) {
    throw new ConfigError(
      'FULLSTORY_SCIM_TOKEN is required when NODE_ENV=production; the bridge never falls back to the sandbox in production (FULLSTORY_SANDBOX=true asks for it explicitly, for a demo).',
    );
  }
  const sandbox = given ?? closers.push(await (await import('./sandbox/server.js')).startSandbox({ profile: config.sandbox.profile }), (s) => s.close());
  logger.warn(
    { sandbox: sandbox.url, profile: config.sandbox.profile },
    'DEMO MODE: no FULLSTORY_SCIM_TOKEN, so users go to the built-in FullStory SANDBOX (in memory), not to FullStory',
  );
  return { url: sandbox.url, token: sandbox.token, sandbox };
}

/** The store the config names (the CLI's audit and holds open it alone). */
export function openStore(config: Config, pgSchema: string | undefined = config.database.schema): Promise<Store> {
  return Store.open({ url: config.database.url, dataDir: config.database.dataDir, ...(pgSchema ? { pgSchema } : {}) });
}

/** Users that migration 0006 found to be one person under two spellings: kept apart, and said at every start until settled. */
export async function reportIdentityTwins(store: Store, logger: Logger): Promise<void> {
  const twins = await store.read((r) => r.kv.get(IDENTITY_TWINS_KEY));
  if (!twins || twins === '[]') return;
  logger.warn(
    { twins: JSON.parse(twins) as unknown },
    'users whose userNames differ only in Unicode form or width were made before the bridge folded them: each pair is one person with two FullStory teammates. Remove one in the IdP; the other keeps its access',
  );
}

/** Replicas on one PostgreSQL share FullStory's budget there; one SQLite replica keeps it in memory. */
export function sharedBudget(store: Store, config: Config): TokenSource | undefined {
  const shared = store.rateBudget;
  if (!shared) return undefined;
  const bucket = bucketConfig(config.fullstory);
  return { acquire: (n, priority) => shared.acquire('fullstory', n, priority, bucket), pause: (s) => shared.pause('fullstory', s) };
}

/** Shadow-made ids and FullStory's, read at start and every 15 s (apply, or another replica, adds them). */
export async function idLinks(store: Store, closers: Closers): Promise<IdLinks> {
  const links = new IdLinks(() => store.read((r) => r.links.all()));
  await links.refresh();
  const timer = setInterval(() => void links.refresh().catch(() => {}), 15_000).unref();
  closers.push(timer, (t) => clearInterval(t));
  return links;
}

/** The index's copy of a user as FullStory would hold it: what shadow-mode reads answer. */
export async function desiredUser(store: Store, id: string): Promise<DesiredUser | undefined> {
  const row = await store.read((r) => r.users.get(id));
  if (!row || row.deleted) return undefined;
  return { id, upstream: { ...toUpstream(row.resource), active: isActive(row.resource) }, createdAt: row.createdAt, updatedAt: row.updatedAt };
}

/** What the mode and the links say at start: shadow, or a plan pending after it. */
export function sayMode(config: Config, links: IdLinks, logger: Logger): void {
  if (config.bridge.mode === 'shadow') {
    logger.warn(
      'SHADOW MODE: the IdP is answered and its changes recorded; nothing is written to FullStory. `fullstory-scim-bridge plan` shows what going live would change.',
    );
  } else if (links.pendingCount > 0) {
    logger.warn(
      { users: links.pendingCount },
      'a plan is pending: users recorded in shadow mode are not in FullStory yet; run `fullstory-scim-bridge plan`, then `apply` (nothing is applied by itself)',
    );
  }
}

const MAPPING_KEY = 'roles.mapping';

/**
 * Every user's role again, when the role mapping differs from the one the store last
 * reconciled with: otherwise each change already recomputed whom it touched, and reading
 * every user at each start (100,000 of them) would only cost memory and time. Announced
 * before anything is queued, so a typo that moves every role is seen while it can be stopped.
 */
export async function reconcileOnStart(
  store: Store,
  policy: RolePolicy,
  logger: Logger,
  guard: Config['guard'],
  onHeld?: (hold: HoldRow) => void,
): Promise<void> {
  const announce = (changes: number, demotions: number) => {
    const over = guard.maxDeprovisions > 0 && demotions > guard.maxDeprovisions;
    const text = `role mapping changed: ${changes} users' roles will change (${demotions} demotions)`;
    if (over) {
      logger.warn(
        { changes, demotions, guardMaxDeprovisions: guard.maxDeprovisions },
        `${text}, more than GUARD_MAX_DEPROVISIONS allows in a window; if the mapping is not what you meant, stop the bridge and fix it now`,
      );
    } else logger.info({ changes, demotions }, text);
  };
  await store.transaction(async (tx) => {
    if ((await tx.kv.get(MAPPING_KEY)) === policy.fingerprint) return;
    await reconcileAllRoles(tx, policy, { announce, ...(onHeld ? { onHeld } : {}) });
    await tx.kv.set(MAPPING_KEY, policy.fingerprint);
  });
}

/** A held change is counted, logged and audited once, when first held. */
export function onHeld(hold: HoldRow, { metrics, audit, logger }: { metrics: Metrics; audit: AuditLog; logger: Logger }): void {
  metrics.held(hold.kind);
  logger.warn({ hold: hold.id, kind: hold.kind, userId: hold.userId, reason: hold.reason }, 'deprovisioning guard held a change');
  audit.hold({ actor: null, hold, action: 'held' });
}

/**
 * FullStory's word on its plan, as a replica or an earlier run recorded it. Said under the
 * plan still configured, it stands (and is said at start); said under another, the
 * configuration changed since, so the changes it blocked are queued again and it is dropped.
 */
export async function restorePlanWord(store: Store, configured: FullStoryPlan, logger: Logger): Promise<PlanWord> {
  const word = new PlanWord(configured, (facts) => store.transaction((tx) => tx.kv.set(PLAN_WORD_KEY, JSON.stringify(facts))));
  const text = await store.read((r) => r.kv.get(PLAN_WORD_KEY));
  const facts = text ? (JSON.parse(text) as PlanWordFacts) : undefined;
  if (word.restore(facts)) {
    logger.error(planMessage(facts!));
    return word;
  }
  if (!facts) return word;
  const blocked = (await store.read((r) => r.roleSync.failing(1_000_000))).filter((i) => i.lastError?.startsWith('blocked:'));
  await store.transaction(async (tx) => {
    if (blocked.length > 0) await tx.roleSync.enqueue(new Map(blocked.map((i) => [i.userId, i.desiredRole])));
    await tx.kv.set(PLAN_WORD_KEY, '');
  });
  logger.info(
    { requeued: blocked.length },
    `fullstory.plan changed since FullStory's word on its plan: ${blocked.length} blocked role changes are tried again`,
  );
  return word;
}

/** What the gauges read when Prometheus scrapes: the outbox, the holds, FullStory's readiness and circuit, delivery health, the plan word. */
export function watchState(metrics: Metrics, c: { store: Store; upstream: FullStoryUpstream; health: DeliveryHealth; planWord: PlanWord }): void {
  metrics.watch({
    snapshot: async () => {
      const [roleSync, holds, plan] = await c.store.read(
        async (r) => [await r.roleSync.stats(), (await r.guard.holds('held')).length, await r.kv.get(LAST_PLAN_KEY)] as const,
      );
      const extra = c.upstream.readiness.extra ? await c.upstream.readiness.extra() : {};
      return {
        roleSync,
        holds,
        circuit: String(extra.circuit ?? 'closed'),
        deliveryDegraded: c.health.verdict().degraded,
        fullstoryOk: c.upstream.readiness.ok,
        planMismatch: c.planWord.word !== undefined,
        ...(plan ? { plan: JSON.parse(plan) as PlanSummary } : {}),
      };
    },
  });
}

/** The plan of a core: the index against FullStory, read within the budget. */
export function corePlan(c: { store: Store; upstream: FullStoryUpstream }): Promise<Plan> {
  const { api, capabilities, roles } = c.upstream;
  return makePlan({ store: c.store, api, delivery: roles.delivery, capabilities: capabilities(), isPending: (id) => api.links.isPending(id) });
}

/** What an access review reads, from a core (the CLI's and the console's). */
export function reviewSource(
  c: { store: Store; upstream: FullStoryUpstream; policy: RolePolicy; config: Config },
  progress?: ReviewSource['progress'],
): ReviewSource {
  const { api, capabilities, roles } = c.upstream;
  return {
    store: c.store,
    api,
    policy: c.policy,
    delivery: roles.delivery,
    capabilities: capabilities(),
    fullstoryUrl: c.config.fullstory.url,
    ...(progress ? { progress } : {}),
  };
}
