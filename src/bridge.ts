import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { AuditLog } from './audit/log.js';
import { ConfigError } from './config/load.js';
import type { Config } from './config/schema.js';
import type { TokenSource } from './fullstory/budget.js';
import { bucketConfig, type FullStoryClient } from './fullstory/client.js';
import type { FullStoryApi } from './fullstory/api.js';
import { IdLinks } from './fullstory/links.js';
import type { Capabilities } from './fullstory/preflight.js';
import type { Delivery } from './fullstory/role-channel.js';
import type { DesiredUser } from './fullstory/shadow-api.js';
import { FullStoryUpstream } from './fullstory/upstream.js';
import { Metrics } from './http/metrics.js';
import { buildServer, closeServer } from './server.js';
import type { Server as TlsServer } from 'node:tls';
import { TlsReloader } from './http/tls.js';
import { AuthThrottle } from './http/auth-throttle.js';
import type { AppDeps } from './http/types.js';
import { Closers } from './lib/closers.js';
import { sha256 } from './lib/hash.js';
import { reconcileAllRoles } from './provisioning/effective-roles.js';
import { DeprovisionGuard } from './provisioning/guard.js';
import { LastAdmin } from './provisioning/last-admin.js';
import { IndexRefresh } from './provisioning/index-refresh.js';
import { isActive, toUpstream } from './provisioning/user-mapping.js';
import { GroupsService } from './provisioning/groups-service.js';
import { RolePolicy } from './provisioning/role-policy.js';
import { UsersService } from './provisioning/users-service.js';
import type { RunningSandbox } from './sandbox/server.js';
import { Store, type HoldRow } from './store/store.js';
import { IDENTITY_TWINS_KEY } from './store/rekey.js';
import { planDefaultRole } from './config/roles.js';
import { buildRoleSync } from './sync/role-sync.js';
import type { RoleSyncWorker } from './sync/worker.js';

export { clientOptions, PreflightError } from './fullstory/upstream.js';

export interface BridgeOptions {
  logger?: Logger;
  /** A sandbox to use instead of starting one (tests share theirs). */
  sandbox?: RunningSandbox;
  /** PostgreSQL schema (tests). */
  pgSchema?: string;
  startWorker?: boolean;
}

export interface Bridge {
  app: FastifyInstance;
  deps: AppDeps;
  worker: RoleSyncWorker;
  client: FullStoryClient;
  /** FullStory as the bridge talks to it, for the CLI's plan, apply and release. */
  engine: {
    api: FullStoryApi;
    capabilities: () => Capabilities;
    delivery: () => Delivery | undefined;
    lastAdmin: LastAdmin;
    bodyRoles: (role: string | null) => unknown[] | undefined;
  };
  /** Set in demo mode: the in-process FullStory sandbox and the IdP token made for it. */
  demo?: { sandbox: RunningSandbox; idpToken?: string };
  /** Takes the IdP tokens of a freshly loaded config; a removed token is refused from now on. */
  reloadTokens(config: Config): string[];
  /** Re-reads TLS_CERT_FILE/TLS_KEY_FILE and serves them to new connections (false without TLS, or when the new pair is bad). */
  reloadTls(why: string): boolean;
  /**
   * Stops accepting, lets in-flight requests and the worker's batch finish (its unstarted
   * claims go back to the outbox), flushes the audit log, then closes FullStory's pool
   * and the store. Bounded by server.shutdownGraceMs: past it, open connections are cut.
   */
  close(): Promise<void>;
}

/** The configured IdP tokens as (name, SHA-256) pairs. */
export function idpTokens(config: Config): AppDeps['tokens'] {
  const tokens: AppDeps['tokens'] = config.idp.tokens.map((t) => ({ name: t.name, sha256: Buffer.from(t.sha256, 'hex') }));
  if (config.idp.token) tokens.push({ name: 'IDP_TOKEN', sha256: sha256(config.idp.token) });
  return tokens;
}

/** The console's tokens: OPS_TOKENS hashes and OPS_TOKEN, never the IdP's. */
export function opsTokens(config: Config): AppDeps['opsTokens'] {
  const tokens: AppDeps['opsTokens'] = config.ops.tokens.map((t) => ({ name: t.name, sha256: Buffer.from(t.sha256, 'hex') }));
  if (config.ops.token) tokens.push({ name: 'OPS_TOKEN', sha256: sha256(config.ops.token) });
  return tokens;
}

/** Log redaction: no bearer token or secret reaches a log line, whatever logs it. */
export const REDACT = {
  paths: [
    'req.headers.authorization',
    'headers.authorization',
    'authorization',
    '*.authorization',
    'token',
    '*.token',
    'password',
    '*.password',
    'config.fullstory.token',
    'config.idp.token',
    'config.ops.token',
  ],
  censor: '[redacted]',
};

/** The bridge's logger: JSON lines to stdout (pretty on a terminal), or to `destination` (tests). */
export function makeLogger(config: Config, destination?: pino.DestinationStream): Logger {
  const pretty = !destination && (config.log.format === 'pretty' || (config.log.format === 'auto' && process.stdout.isTTY === true));
  const options = {
    level: config.log.level,
    redact: REDACT,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Builds the bridge from its config, step by step; whatever a failing step leaves open is closed again. */
export async function createBridge(config: Config, opts: BridgeOptions = {}): Promise<Bridge> {
  const logger = opts.logger ?? makeLogger(config);
  const closers = new Closers();
  try {
    const target = await fullstoryTarget(config, opts, logger, closers);
    const tokens = idpTokensOrDemo(config, target.demo);
    const store = closers.push(await openStore(config, opts), (s) => s.close());
    await reportIdentityTwins(store, logger);
    const metrics = new Metrics();
    const policy = new RolePolicy(config.roles);
    const links = await idLinks(store, closers);
    const upstream = closers.push(
      new FullStoryUpstream({
        config,
        ...target,
        delivery: policy.delivery,
        logger,
        tokenSource: sharedBudget(store, config),
        observe: (e) => metrics.observeUpstream(e),
        links,
        desired: (id) => desiredUser(store, id),
      }),
      (u) => u.close(),
    );
    if (config.bridge.mode === 'shadow')
      logger.warn(
        'SHADOW MODE: the IdP is answered and its changes recorded; nothing is written to FullStory. `fullstory-scim-bridge plan` shows what going live would change.',
      );
    else if (links.pendingCount > 0)
      logger.warn(
        { users: links.pendingCount },
        'a plan is pending: users recorded in shadow mode are not in FullStory yet; run `fullstory-scim-bridge plan`, then `apply` (nothing is applied by itself)',
      );
    await upstream.start(config.startup.policy);
    await reconcileOnStart(store, policy, logger, config.guard);
    const audit = closers.push(new AuditLog(store, config.audit, logger), (a) => a.close());
    await audit.startRetention();
    const { worker, health } = buildRoleSync({
      config,
      store,
      api: upstream.api,
      capabilities: upstream.capabilities,
      channel: upstream.roles,
      logger: logger.child({ component: 'role-sync' }),
      record: (write) => audit.write({ actor: 'role-sync', write }),
      onApplied: (ok, failed) => metrics.roleSyncOutcomes(ok, failed),
    });
    const kick = () => worker.kick();
    const guard = new DeprovisionGuard(store, config.guard, (hold) => onHeld(hold, { metrics, audit, logger }));
    const index = closers.push(
      new IndexRefresh({ store, api: upstream.api, logger: logger.child({ component: 'index' }), freshnessMs: config.index.freshnessSeconds * 1000 }),
      (i) => i.stop(),
    );
    const lastAdmin = new LastAdmin({ api: upstream.api, capabilities: upstream.capabilities, delivery: () => upstream.roles.delivery });
    const authThrottle = closers.push(new AuthThrottle(config.idp.authFailureLimit, store.authFailures), (t) => t.stop());
    authThrottle.start();
    const deps: AppDeps = {
      config,
      store,
      authThrottle,
      opsTokens: opsTokens(config),
      kick,
      metrics,
      audit,
      tokens,
      tokenLastUsed: new Map(),
      readiness: upstream.readiness,
      roleDelivery: () => ({ delivery: upstream.roles.choice, health: health.verdict() }),
      users: new UsersService({
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
      }),
      groups: new GroupsService({ store, policy, kick, guard, lastAdmin }),
      mode: config.bridge.mode,
      pendingPlan: () => links.pendingCount,
      index: () => index.status(),
      ...banner(config, target),
    };
    const app = await buildServer(config, logger, deps);
    closers.push(app, (a) => Promise.all([closeServer(a, config.server.shutdownGraceMs), worker.stop()]).then(() => undefined));
    const tls = config.server.tls.certFile
      ? closers.push(new TlsReloader(app.server as unknown as TlsServer, config.server.tls, logger), (r) => r.close())
      : undefined;
    tls?.watch();
    if (opts.startWorker !== false) worker.start();
    // The import runs behind IdP calls; until it finishes, lookups ask FullStory as before.
    if (config.bridge.mode === 'live' && upstream.readiness.ok) index.start();
    const engine = {
      api: upstream.api,
      capabilities: upstream.capabilities,
      delivery: () => upstream.roles.delivery,
      lastAdmin,
      bodyRoles: (role: string | null) => upstream.roles.bodyRoles(role),
    };
    return {
      app,
      deps,
      worker,
      client: upstream.client,
      engine,
      ...(target.demo ? { demo: target.demo } : {}),
      reloadTokens: (next) => reload(tokens, next, deps.opsTokens),
      reloadTls: (why) => tls?.reload(why) ?? false,
      close: () => closers.closeAll(),
    };
  } catch (err) {
    await closers.closeAll().catch((e: unknown) => logger.error({ err: e }, 'closing after a failed start failed too'));
    throw err;
  }
}

function banner(config: Config, target: FullStoryTarget): { banner?: string } {
  const parts = [
    ...(config.bridge.mode === 'shadow' ? ['SHADOW MODE: changes are recorded, nothing is written to FullStory.'] : []),
    ...(target.demo ? [`DEMO: backed by the built-in FullStory sandbox (${config.sandbox.profile} profile), not by FullStory.`] : []),
  ];
  return parts.length > 0 ? { banner: parts.join(' ') } : {};
}

/** Shadow-made ids and FullStory's, read at start and every 15 s (apply, or another replica, adds them). */
async function idLinks(store: Store, closers: Closers): Promise<IdLinks> {
  const links = new IdLinks(() => store.read((r) => r.links.all()));
  await links.refresh();
  const timer = setInterval(() => void links.refresh().catch(() => {}), 15_000).unref();
  closers.push(timer, (t) => clearInterval(t));
  return links;
}

/** The index's copy of a user as FullStory would hold it: what shadow-mode reads answer. */
async function desiredUser(store: Store, id: string): Promise<DesiredUser | undefined> {
  const row = await store.read((r) => r.users.get(id));
  if (!row || row.deleted) return undefined;
  return { id, upstream: { ...toUpstream(row.resource), active: isActive(row.resource) }, createdAt: row.createdAt, updatedAt: row.updatedAt };
}

/** A held change is counted, logged and audited once, when first held. */
function onHeld(hold: HoldRow, { metrics, audit, logger }: { metrics: Metrics; audit: AuditLog; logger: Logger }): void {
  metrics.guardHeld.inc({ kind: hold.kind });
  logger.warn({ hold: hold.id, kind: hold.kind, userId: hold.userId, reason: hold.reason }, 'deprovisioning guard held a change');
  audit.hold({ actor: null, hold, action: 'held' });
}

interface FullStoryTarget {
  url: string;
  token: string;
  demo?: { sandbox: RunningSandbox; idpToken?: string };
}

/**
 * FullStory's URL and token; without a token (never in production, unless asked for),
 * the built-in sandbox's, loaded only then so production never carries it.
 */
async function fullstoryTarget(config: Config, opts: BridgeOptions, logger: Logger, closers: Closers): Promise<FullStoryTarget> {
  if (config.fullstory.token) return { url: config.fullstory.url, token: config.fullstory.token };
  if (config.nodeEnv === 'production' && !config.sandbox.allowInProduction) {
    throw new ConfigError(
      'FULLSTORY_SCIM_TOKEN is required when NODE_ENV=production; the bridge never falls back to the sandbox in production (FULLSTORY_SANDBOX=true asks for it explicitly, for a demo).',
    );
  }
  const sandbox = opts.sandbox ?? closers.push(await (await import('./sandbox/server.js')).startSandbox({ profile: config.sandbox.profile }), (s) => s.close());
  logger.warn(
    { sandbox: sandbox.url, profile: config.sandbox.profile },
    'DEMO MODE: no FULLSTORY_SCIM_TOKEN, so users go to the built-in FullStory SANDBOX (in memory), not to FullStory',
  );
  return { url: sandbox.url, token: sandbox.token, demo: { sandbox } };
}

/** The configured IdP tokens; in demo mode with none, one made up and shown in the banner. */
function idpTokensOrDemo(config: Config, demo: FullStoryTarget['demo']): AppDeps['tokens'] {
  const tokens = idpTokens(config);
  if (tokens.length > 0) return tokens;
  if (!demo) throw new ConfigError('No IdP token is configured: set IDP_TOKENS (name:sha256hex,...) or IDP_TOKEN. `fullstory-scim-bridge token` makes one.');
  demo.idpToken = `demo-${randomBytes(24).toString('base64url')}`;
  return [{ name: 'demo', sha256: sha256(demo.idpToken) }];
}

/** The store the config names (the CLI's audit, reconcile and holds open it without a bridge). */
export function openStore(config: Config, opts: Pick<BridgeOptions, 'pgSchema'> = {}): Promise<Store> {
  const pgSchema = opts.pgSchema ?? config.database.schema;
  return Store.open({ url: config.database.url, dataDir: config.database.dataDir, ...(pgSchema ? { pgSchema } : {}) });
}

/** Replicas on one PostgreSQL share FullStory's budget there; one SQLite replica keeps it in memory. */
function sharedBudget(store: Store, config: Config): TokenSource | undefined {
  const shared = store.rateBudget;
  if (!shared) return undefined;
  const bucket = bucketConfig(config.fullstory);
  return { acquire: (n, priority) => shared.acquire('fullstory', n, priority, bucket), pause: (s) => shared.pause('fullstory', s) };
}

/** After a restart or a mapping change: every group's role from its name, every user's role again. */
/**
 * Every user's role again, when the role mapping differs from the one the store last
 * reconciled with: otherwise each change already recomputed whom it touched, and reading
 * every user at each start (100,000 of them) would only cost memory and time.
 */
async function reconcileOnStart(store: Store, policy: RolePolicy, logger: Logger, guard: Config['guard']): Promise<void> {
  // Said before the changes are queued: a mapping typo that moves every role is seen while it can still be stopped.
  const announce = (changes: number, demotions: number) => {
    const over = guard.maxDeprovisions > 0 && demotions > guard.maxDeprovisions;
    const text = `role mapping changed: ${changes} users' roles will change (${demotions} demotions)`;
    if (over)
      logger.warn(
        { changes, demotions, guardMaxDeprovisions: guard.maxDeprovisions },
        `${text}, more than GUARD_MAX_DEPROVISIONS allows in a window; if the mapping is not what you meant, stop the bridge and fix it now`,
      );
    else logger.info({ changes, demotions }, text);
  };
  await store.transaction(async (tx) => {
    if ((await tx.kv.get(MAPPING_KEY)) === policy.fingerprint) return 0;
    const n = await reconcileAllRoles(tx, policy, announce);
    await tx.kv.set(MAPPING_KEY, policy.fingerprint);
    return n;
  });
}
const MAPPING_KEY = 'roles.mapping';

/** Users that migration 0006 found to be one person under two spellings: kept apart, and said at every start until settled. */
async function reportIdentityTwins(store: Store, logger: Logger): Promise<void> {
  const twins = await store.read((r) => r.kv.get(IDENTITY_TWINS_KEY));
  if (!twins || twins === '[]') return;
  logger.warn(
    { twins: JSON.parse(twins) as unknown },
    'users whose userNames differ only in Unicode form or width were made before the bridge folded them: each pair is one person with two FullStory teammates. Remove one in the IdP; the other keeps its access',
  );
}

/** In place: the auth plugin reads this array on every request. */
function reload(tokens: AppDeps['tokens'], next: Config, ops: AppDeps['opsTokens']): string[] {
  const fresh = idpTokens(next);
  if (fresh.length === 0) throw new ConfigError('The reloaded config has no IdP token; keeping the current ones.');
  tokens.splice(0, tokens.length, ...fresh);
  // The console's tokens too (a changed set also ends every console session).
  ops.splice(0, ops.length, ...opsTokens(next));
  return fresh.map((t) => t.name);
}
