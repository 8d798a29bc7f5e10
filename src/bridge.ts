import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { AuditLog } from './audit/log.js';
import { ConfigError } from './config/load.js';
import type { Config } from './config/schema.js';
import type { TokenSource } from './fullstory/budget.js';
import { bucketConfig, type FullStoryClient } from './fullstory/client.js';
import { FullStoryUpstream } from './fullstory/upstream.js';
import { Metrics } from './http/metrics.js';
import { buildServer, closeServer } from './server.js';
import type { AppDeps } from './http/types.js';
import { Closers } from './lib/closers.js';
import { sha256 } from './lib/hash.js';
import { reconcileAllRoles } from './provisioning/effective-roles.js';
import { GroupsService } from './provisioning/groups-service.js';
import { RolePolicy } from './provisioning/role-policy.js';
import { UsersService } from './provisioning/users-service.js';
import type { RunningSandbox } from './sandbox/server.js';
import { Store } from './store/store.js';
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
  /** Set in demo mode: the in-process FullStory sandbox and the IdP token made for it. */
  demo?: { sandbox: RunningSandbox; idpToken?: string };
  /** Takes the IdP tokens of a freshly loaded config; a removed token is refused from now on. */
  reloadTokens(config: Config): string[];
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

/** Log redaction: no bearer token or secret reaches a log line, whatever logs it. */
export const REDACT = {
  paths: ['req.headers.authorization', 'headers.authorization', 'authorization', '*.authorization', 'token', '*.token', 'password', '*.password', 'config.fullstory.token', 'config.idp.token'],
  censor: '[redacted]',
};

/** The bridge's logger: JSON lines to stdout (pretty on a terminal), or to `destination` (tests). */
export function makeLogger(config: Config, destination?: pino.DestinationStream): Logger {
  const pretty = !destination && (config.log.format === 'pretty' || (config.log.format === 'auto' && process.stdout.isTTY === true));
  const options = { level: config.log.level, redact: REDACT, ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } } } : {}) };
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
    const metrics = new Metrics();
    const policy = new RolePolicy(config.roles);
    const upstream = closers.push(
      new FullStoryUpstream({ config, ...target, delivery: policy.delivery, logger, tokenSource: sharedBudget(store, config), observe: (e) => metrics.observeUpstream(e) }),
      (u) => u.close(),
    );
    await upstream.start(config.startup.policy);
    await reconcileOnStart(store, policy, logger);
    const audit = closers.push(new AuditLog(store, config.audit, logger), (a) => a.close());
    await audit.startRetention();
    const { worker, health } = buildRoleSync({ config, store, api: upstream.api, capabilities: upstream.capabilities, channel: upstream.roles, logger: logger.child({ component: 'role-sync' }), audit: (e) => audit.add(e), onApplied: (ok, failed) => metrics.roleSyncOutcomes(ok, failed) });
    const kick = () => worker.kick();
    const deps: AppDeps = {
      config,
      store,
      metrics,
      audit,
      tokens,
      readiness: upstream.readiness,
      roleDelivery: () => ({ delivery: upstream.roles.choice, health: health.verdict() }),
      users: new UsersService({ store, api: upstream.api, capabilities: upstream.capabilities, policy, roles: upstream.roles, kick }),
      groups: new GroupsService({ store, policy, kick }),
      ...(target.demo ? { banner: `DEMO: backed by the built-in FullStory sandbox (${config.sandbox.profile} profile), not by FullStory.` } : {}),
    };
    const app = await buildServer(config, logger, deps);
    closers.push(app, (a) => Promise.all([closeServer(a, config.server.shutdownGraceMs), worker.stop()]).then(() => undefined));
    if (opts.startWorker !== false) worker.start();
    return { app, deps, worker, client: upstream.client, ...(target.demo ? { demo: target.demo } : {}), reloadTokens: (next) => reload(tokens, next), close: () => closers.closeAll() };
  } catch (err) {
    await closers.closeAll().catch((e: unknown) => logger.error({ err: e }, 'closing after a failed start failed too'));
    throw err;
  }
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
  logger.warn({ sandbox: sandbox.url, profile: config.sandbox.profile }, 'DEMO MODE: no FULLSTORY_SCIM_TOKEN, so users go to the built-in FullStory SANDBOX (in memory), not to FullStory');
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

function openStore(config: Config, opts: BridgeOptions): Promise<Store> {
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
async function reconcileOnStart(store: Store, policy: RolePolicy, logger: Logger): Promise<void> {
  const changed = await store.transaction((tx) => reconcileAllRoles(tx, policy));
  if (changed > 0) logger.info({ users: changed }, 'role mapping changed: role updates queued');
}

/** In place: the auth plugin reads this array on every request. */
function reload(tokens: AppDeps['tokens'], next: Config): string[] {
  const fresh = idpTokens(next);
  if (fresh.length === 0) throw new ConfigError('The reloaded config has no IdP token; keeping the current ones.');
  tokens.splice(0, tokens.length, ...fresh);
  return fresh.map((t) => t.name);
}
