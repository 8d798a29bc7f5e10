import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { FullStoryApi } from './api.js';
import type { TokenSource } from './budget.js';
import { FullStoryClient, type CallObserver, type ClientOptions } from './client.js';
import { IdLinks } from './links.js';
import { ShadowApi, type DesiredUser } from './shadow-api.js';
import { evidenceOf, preflight, type Capabilities, type PreflightResult } from './preflight.js';
import { RoleChannel, type DeliverySetting } from './role-channel.js';

/** Whether FullStory is usable, as the last preflight found it, and what it learned. */
export interface Readiness {
  ok: boolean;
  reason?: string;
  capabilities?: Capabilities;
  checkedAt?: string;
  /** Extra facts for /readyz (circuit, budget). */
  extra?: () => Promise<Record<string, unknown>>;
}

export class PreflightError extends Error {
  override name = 'PreflightError';
  constructor(readonly result: PreflightResult) {
    super(result.checks.filter((c) => !c.ok).map((c) => c.message).join('\n'));
  }
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

/** Until a preflight has run: the common case (and the IdP is answered 503 meanwhile anyway). */
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

export interface UpstreamOptions {
  config: Config;
  /** FullStory's base URL and token (the sandbox's in demo mode). */
  url: string;
  token: string;
  delivery: DeliverySetting;
  logger: Logger;
  /** The rate budget replicas share, where they do. */
  tokenSource?: TokenSource | undefined;
  observe: CallObserver;
  /** Bridge ids made in shadow mode and FullStory's for each (an empty set by default). */
  links?: IdLinks;
  /** In shadow mode: the index's copy of a user, which reads answer from. */
  desired?: (id: string) => Promise<DesiredUser | undefined>;
}

/**
 * FullStory as the bridge knows it: the one client, preflight at start and re-checks
 * while it fails, what it supports, and how it carries roles (the role channel, fed by
 * every user FullStory returns).
 */
export class FullStoryUpstream {
  readonly client: FullStoryClient;
  readonly api: FullStoryApi;
  readonly roles: RoleChannel;
  readonly readiness: Readiness;
  private recheck: NodeJS.Timeout | undefined;

  constructor(private readonly opts: UpstreamOptions) {
    this.client = new FullStoryClient({ ...clientOptions(opts.config), baseUrl: opts.url, token: opts.token, ...(opts.tokenSource ? { tokenSource: opts.tokenSource } : {}) });
    this.client.observer = opts.observe;
    this.roles = new RoleChannel(opts.delivery, (choice, previous) =>
      opts.logger.info({ delivery: choice.delivery ?? 'undecided', previous: previous.delivery ?? 'undecided', why: choice.why }, `role delivery: ${choice.delivery ?? 'undecided'}`),
    );
    const observe = (fs: Parameters<RoleChannel['observeUser']>[0]) => this.roles.observeUser(fs);
    const links = opts.links ?? new IdLinks();
    this.api =
      opts.config.bridge.mode === 'shadow' && opts.desired ? new ShadowApi(this.client, observe, links, opts.desired) : new FullStoryApi(this.client, observe, links);
    this.readiness = { ok: false, reason: 'preflight not run yet', extra: async () => ({ circuit: this.client.circuit.state, budgetWaiting: this.client.budget.waiting }) };
  }

  /** What the last preflight learned. */
  readonly capabilities = (): Capabilities => this.readiness.capabilities ?? PLACEHOLDER_CAPS;

  /**
   * Preflight, each finding logged. When FullStory is not usable: fail-fast throws a
   * PreflightError; degraded serves 503 with the reason and re-checks with backoff.
   */
  async start(policy: Config['startup']['policy']): Promise<void> {
    const result = await this.check();
    for (const c of result.checks) this.opts.logger[c.ok ? (c.warn ? 'warn' : 'info') : 'error']({ check: c.name }, c.message);
    if (result.ok) return;
    if (policy === 'fail-fast') throw new PreflightError(result);
    let delay = 5_000;
    const again = async () => {
      const r = await this.check().catch(() => undefined);
      if (r?.ok) this.opts.logger.info('preflight passed; the bridge is ready');
      else this.recheck = setTimeout(again, (delay = Math.min(delay * 2, 300_000)));
    };
    this.recheck = setTimeout(again, delay);
  }

  private async check(): Promise<PreflightResult> {
    const result = await preflight(this.client, { delivery: this.opts.delivery });
    const r = this.readiness;
    r.checkedAt = new Date().toISOString();
    r.ok = result.ok;
    if (result.capabilities) {
      r.capabilities = result.capabilities;
      this.roles.learn(evidenceOf(result.capabilities));
    }
    if (result.ok) delete r.reason;
    else r.reason = result.checks.filter((c) => !c.ok).map((c) => c.message).join(' ');
    return result;
  }

  async close(): Promise<void> {
    if (this.recheck) clearTimeout(this.recheck);
    await this.client.close();
  }
}
