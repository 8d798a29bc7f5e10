import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import app from './app.js';
import { ConfigError } from './config/load.js';
import type { Config } from './config/schema.js';
import { FullStoryApi } from './fullstory/api.js';
import type { TokenSource } from './fullstory/budget.js';
import { bucketConfig, FullStoryClient, type ClientOptions } from './fullstory/client.js';
import { evidenceOf, preflight, type Capabilities, type PreflightResult } from './fullstory/preflight.js';
import { RoleChannel } from './fullstory/role-channel.js';
import { AccessLog } from './http/access-log.js';
import { lazyChildLogger } from './http/lazy-logger.js';
import { Metrics } from './http/metrics.js';
import { scimClientError } from './http/client-error.js';
import { sha256 } from './http/plugins/auth.js';
import type { AppDeps, Readiness } from './http/types.js';
import { reconcileAllRoles } from './provisioning/effective-roles.js';
import { GroupsService } from './provisioning/groups-service.js';
import { RolePolicy } from './provisioning/role-policy.js';
import { UsersService } from './provisioning/users-service.js';
import { startSandbox, type RunningSandbox } from './sandbox/server.js';
import { AuditWriter } from './audit/writer.js';
import { Store } from './store/store.js';
import { buildRoleSync } from './sync/role-sync.js';
import type { RoleSyncWorker } from './sync/worker.js';

export class PreflightError extends Error {
  override name = 'PreflightError';
  constructor(readonly result: PreflightResult) {
    super(result.checks.filter((c) => !c.ok).map((c) => c.message).join('\n'));
  }
}

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
  ],
  censor: '[redacted]',
};

export function makeLogger(config: Config): Logger {
  const pretty = config.log.format === 'pretty' || (config.log.format === 'auto' && process.stdout.isTTY === true);
  return pino({
    level: config.log.level,
    redact: REDACT,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } } } : {}),
  });
}

/** The FullStory client's settings from the config (the CLI's check uses them too). */
export function clientOptions(config: Config): Omit<ClientOptions, 'baseUrl' | 'token'> {
  const f = config.fullstory;
  return {
    connectTimeoutMs: f.connectTimeoutMs,
    timeoutMs: f.timeoutMs,
    ratePerSecond: f.ratePerSecond,
    rateBurst: f.rateBurst,
    idpWaitMs: f.idpWaitMs,
    idpReserve: f.idpReserve,
    circuitThreshold: f.circuitThreshold,
    circuitOpenMs: f.circuitOpenMs,
  };
}

const PLACEHOLDER_CAPS: Capabilities = {
  discovery: false,
  patchUsers: true,
  deleteUsers: true,
  groups: false,
  groupFilters: false,
  filters: new Set(['username']),
  maxPage: 100,
  roleGroups: new Map(),
  usersRoles: { shown: 0, absent: 0 },
};

/** Builds the bridge from its config: store, FullStory client, preflight, services, worker, HTTP. */
export async function createBridge(config: Config, opts: BridgeOptions = {}): Promise<Bridge> {
  const logger = opts.logger ?? makeLogger(config);
  const production = config.nodeEnv === 'production';

  let demo: Bridge['demo'];
  let fullstoryUrl = config.fullstory.url;
  let fullstoryToken = config.fullstory.token;
  if (!fullstoryToken) {
    if (production && !config.sandbox.allowInProduction) {
      throw new ConfigError(
        'FULLSTORY_SCIM_TOKEN is required when NODE_ENV=production; the bridge never falls back to the sandbox in production (FULLSTORY_SANDBOX=true asks for it explicitly, for a demo).',
      );
    }
    const sandbox = opts.sandbox ?? (await startSandbox({ profile: config.sandbox.profile }));
    demo = { sandbox };
    fullstoryUrl = sandbox.url;
    fullstoryToken = sandbox.token;
    logger.warn(
      { sandbox: sandbox.url, profile: config.sandbox.profile },
      'DEMO MODE: no FULLSTORY_SCIM_TOKEN, so users go to the built-in FullStory SANDBOX (in memory), not to FullStory',
    );
  }

  const tokens = idpTokens(config);
  if (tokens.length === 0) {
    if (!demo) throw new ConfigError('No IdP token is configured: set IDP_TOKENS (name:sha256hex,...) or IDP_TOKEN. `fullstory-scim-bridge token` makes one.');
    const token = `demo-${randomBytes(24).toString('base64url')}`;
    demo!.idpToken = token;
    tokens.push({ name: 'demo', sha256: sha256(token) });
  }

  const pgSchema = opts.pgSchema ?? config.database.schema;
  const store = await Store.open({ url: config.database.url, dataDir: config.database.dataDir, ...(pgSchema ? { pgSchema } : {}) });
  const metrics = new Metrics();
  const bucket = bucketConfig(config.fullstory);
  // Several replicas share PostgreSQL, so they share one budget there; SQLite means one replica.
  const shared = store.rateBudget;
  const tokenSource: TokenSource | undefined = shared && { acquire: (n, priority) => shared.acquire('fullstory', n, priority, bucket), pause: (s) => shared.pause('fullstory', s) };
  const client = new FullStoryClient({
    ...clientOptions(config),
    baseUrl: fullstoryUrl,
    token: fullstoryToken,
    ...(tokenSource ? { tokenSource } : {}),
  });
  client.observer = (e) => metrics.observeUpstream(e);
  const policy = new RolePolicy(config.roles);
  const roles = new RoleChannel(policy.delivery, (choice, previous) =>
    logger.info({ delivery: choice.delivery ?? 'undecided', previous: previous.delivery ?? 'undecided', why: choice.why }, `role delivery: ${choice.delivery ?? 'undecided'}`),
  );
  const api = new FullStoryApi(client, (fs) => roles.observeUser(fs));
  const readiness: Readiness = {
    ok: false,
    reason: 'preflight not run yet',
    extra: async () => ({ circuit: client.circuit.state, budgetWaiting: client.budget.waiting }),
  };
  // What the last preflight learned; until one has, the common case, and the IdP is told 503 anyway.
  const caps = () => readiness.capabilities ?? PLACEHOLDER_CAPS;

  const runPreflight = async () => {
    const result = await preflight(client, { delivery: policy.delivery });
    readiness.checkedAt = new Date().toISOString();
    readiness.ok = result.ok;
    if (result.capabilities) {
      readiness.capabilities = result.capabilities;
      roles.learn(evidenceOf(result.capabilities));
    }
    if (result.ok) delete readiness.reason;
    else readiness.reason = result.checks.filter((c) => !c.ok).map((c) => c.message).join(' ');
    return result;
  };

  const cleanup = async () => {
    await client.close();
    await store.close();
    if (demo && !opts.sandbox) await demo.sandbox.close();
  };

  let recheck: NodeJS.Timeout | undefined;
  try {
    const result = await runPreflight();
    for (const c of result.checks) logger[c.ok ? (c.warn ? 'warn' : 'info') : 'error']({ check: c.name }, c.message);
    if (!result.ok) {
      if (config.startup.policy === 'fail-fast') throw new PreflightError(result);
      // Degraded: serve 503 with the reason, re-check with backoff until FullStory is usable.
      let delay = 5_000;
      const again = async () => {
        const r = await runPreflight().catch(() => undefined);
        if (r?.ok) logger.info('preflight passed; the bridge is ready');
        else recheck = setTimeout(again, (delay = Math.min(delay * 2, 300_000)));
      };
      recheck = setTimeout(again, delay);
    }
    await store.transaction((tx) => reconcileAllRoles(tx, policy)).then((n) => n > 0 && logger.info({ users: n }, 'role mapping changed: role updates queued'));
  } catch (err) {
    await cleanup();
    throw err;
  }

  const auditWriter = new AuditWriter((rows) => store.transaction((tx) => tx.audit.recordMany(rows)), (err) => logger.error({ err }, 'audit write failed'));
  const { worker, health } = buildRoleSync({
    config,
    store,
    api,
    capabilities: caps,
    channel: roles,
    logger: logger.child({ component: 'role-sync' }),
    audit: (entry) => auditWriter.add(entry),
    onApplied: (ok, failed) => {
      metrics.roleSyncApplied.inc({ outcome: 'applied' }, ok);
      if (failed) metrics.roleSyncApplied.inc({ outcome: 'failed' }, failed);
    },
  });
  readiness.roles = () => ({ delivery: roles.choice, health: health.verdict() });
  const kick = () => worker.kick();

  const deps: AppDeps = {
    config,
    store,
    metrics,
    audit: auditWriter,
    tokens,
    readiness,
    users: new UsersService({ store, api, capabilities: caps, policy, roles, kick }),
    groups: new GroupsService({ store, policy, kick }),
    ...(demo ? { banner: `DEMO: backed by the built-in FullStory sandbox (${config.sandbox.profile} profile), not by FullStory.` } : {}),
  };

  // Audit retention: prune now and every six hours.
  const prune = () =>
    store
      .transaction((tx) => tx.audit.prune(new Date(Date.now() - config.audit.retentionDays * 86_400_000).toISOString()))
      .then((n) => n > 0 && logger.info({ rows: n }, 'audit rows past retention pruned'))
      .catch((err: unknown) => logger.warn({ err }, 'audit pruning failed'));
  await prune();
  const pruneTimer = setInterval(prune, 6 * 3_600_000).unref();

  const fastify: FastifyInstance = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    logController: new AccessLog(),
    childLoggerFactory: lazyChildLogger,
    bodyLimit: config.server.bodyLimitBytes,
    requestTimeout: config.server.requestTimeoutMs,
    routerOptions: { maxParamLength: 512 },
    return503OnClosing: true,
    trustProxy: config.server.trustProxy,
    clientErrorHandler: scimClientError,
  });
  await fastify.register(app, { deps });
  await fastify.ready();
  if (opts.startWorker !== false) worker.start();

  return {
    app: fastify,
    deps,
    worker,
    client,
    ...(demo ? { demo } : {}),
    reloadTokens(next: Config) {
      const fresh = idpTokens(next);
      if (fresh.length === 0) throw new ConfigError('The reloaded config has no IdP token; keeping the current ones.');
      // In place: the auth plugin reads this array on every request.
      tokens.splice(0, tokens.length, ...fresh);
      return fresh.map((t) => t.name);
    },
    /**
     * Stops accepting, lets in-flight requests finish, then the worker's batch (its
     * unstarted claims go back to the outbox), then closes FullStory's pool and the store.
     * Bounded by server.shutdownGraceMs: past it, open connections are cut.
     */
    async close() {
      if (recheck) clearTimeout(recheck);
      clearInterval(pruneTimer);
      const server = fastify.server;
      // Keep-alive connections that finish their request after close() began would
      // otherwise be held open for keepAliveTimeout: close each as it goes idle.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const deadline = setTimeout(() => server.closeAllConnections(), config.server.shutdownGraceMs);
      try {
        await Promise.all([fastify.close(), worker.stop()]);
      } finally {
        clearInterval(sweep);
        clearTimeout(deadline);
      }
      await auditWriter.flush();
      await cleanup();
    },
  };
}
