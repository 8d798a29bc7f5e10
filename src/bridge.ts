import type { FastifyInstance } from 'fastify';
import type { Server as TlsServer } from 'node:tls';
import type { Config } from './config/schema.js';
import { createCore, type Core, type CoreOptions } from './core.js';
import { reviewSource } from './core-steps.js';
import { AuthThrottle } from './http/auth-throttle.js';
import { TlsReloader } from './http/tls.js';
import type { AppDeps } from './http/types.js';
import type { RunningSandbox } from './sandbox/server.js';
import { buildServer, closeServer } from './server.js';
import { idpTokensOrDemo, opsTokens, reloadTokens } from './tokens.js';

export interface BridgeOptions extends CoreOptions {
  startWorker?: boolean;
}

/** The core with its HTTP face: the server an IdP, ops and Prometheus talk to. */
export interface Bridge {
  core: Core;
  app: FastifyInstance;
  deps: AppDeps;
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

/** The HTTP layer's view of the core: what it is given, nothing of how it was built. */
function appDeps(core: Core, tokens: AppDeps['tokens'], banner: string | undefined): AppDeps {
  const { config, store, upstream, worker, health, links, index } = core;
  const authThrottle = core.closers.push(new AuthThrottle(config.idp.authFailureLimit, store.authFailures), (t) => t.stop());
  authThrottle.start();
  return {
    config,
    store,
    authThrottle,
    opsTokens: opsTokens(config),
    kick: () => worker.kick(),
    metrics: core.metrics,
    audit: core.audit,
    tokens,
    tokenLastUsed: new Map(),
    readiness: upstream.readiness,
    roleDelivery: () => ({ delivery: upstream.roles.choice, health: health.verdict(), planWord: core.planWord.word }),
    users: core.users,
    groups: core.groups,
    mode: config.bridge.mode,
    pendingPlan: () => links.pendingCount,
    index: () => index.status(),
    review: () => reviewSource(core),
    ...(banner ? { banner } : {}),
  };
}

function bannerOf(config: Config, demo: boolean): string | undefined {
  const parts = [
    ...(config.bridge.mode === 'shadow' ? ['SHADOW MODE: changes are recorded, nothing is written to FullStory.'] : []),
    ...(demo ? [`DEMO: backed by the built-in FullStory sandbox (${config.sandbox.profile} profile), not by FullStory.`] : []),
  ];
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** createBridge = the core + HTTP: tokens, the server (TLS reloaded when its files change), then the worker and the index. */
export async function createBridge(config: Config, opts: BridgeOptions = {}): Promise<Bridge> {
  // Before anything starts: no IdP token outside demo mode (no FullStory token) is a plain startup error.
  const { tokens, demoToken } = idpTokensOrDemo(config, !config.fullstory.token);
  const core = await createCore(config, opts);
  try {
    const deps = appDeps(core, tokens, bannerOf(config, core.sandbox !== undefined));
    const app = await buildServer(config, core.logger, deps);
    // The server and the worker stop together; the core's closers then flush and close the rest.
    core.closers.push(app, (a) => Promise.all([closeServer(a, config.server.shutdownGraceMs), core.worker.stop()]).then(() => undefined));
    const tls = config.server.tls.certFile
      ? core.closers.push(new TlsReloader(app.server as unknown as TlsServer, config.server.tls, core.logger), (r) => r.close())
      : undefined;
    tls?.watch();
    if (opts.startWorker !== false) core.worker.start();
    // The import runs behind IdP calls; until it finishes, lookups ask FullStory as before.
    if (config.bridge.mode === 'live' && core.upstream.readiness.ok) core.index.start();
    if (config.bridge.mode === 'live') core.scheduledPlan.start();
    core.notifier?.start();
    return {
      core,
      app,
      deps,
      ...(core.sandbox ? { demo: { sandbox: core.sandbox, ...(demoToken ? { idpToken: demoToken } : {}) } } : {}),
      reloadTokens: (next) => reloadTokens(tokens, deps.opsTokens, next),
      reloadTls: (why) => tls?.reload(why) ?? false,
      close: () => core.close(),
    };
  } catch (err) {
    await core.close().catch((e: unknown) => core.logger.error({ err: e }, 'closing after a failed start failed too'));
    throw err;
  }
}
