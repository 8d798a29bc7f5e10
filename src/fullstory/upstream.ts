import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { FullStoryApi } from './api.js';
import type { TokenSource } from './budget.js';
import { FullStoryClient, type CallObserver, type ClientOptions } from './client.js';
import { IdLinks } from './links.js';
import { ShadowApi, type DesiredUser } from './shadow-api.js';
import { evidenceOf, preflight, type Capabilities, type PreflightResult } from './preflight.js';
import { RoleChannel, type DeliverySetting } from './roles/channel.js';

/** Whether FullStory is usable, as the last preflight found it, and what it learned. */
export interface Readiness {
  ok: boolean;
  reason?: string;
  /** When FullStory stopped being usable (the first failed check of this spell). */
  since?: string;
  capabilities?: Capabilities;
  checkedAt?: string;
  /** Extra facts for /readyz (circuit, budget). */
  extra?: () => Promise<Record<string, unknown>>;
}

export class PreflightError extends Error {
  override name = 'PreflightError';
  constructor(readonly result: PreflightResult) {
    super(
      result.checks
        .filter((c) => !c.ok)
        .map((c) => c.message)
        .join('\n'),
    );
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

/** While FullStory is usable, the preflight runs again this often (it also runs at once after a 401 or 403). */
export const PREFLIGHT_PERIOD_MS = 5 * 60_000;
/** While it is not, again after 5 s, then twice as long each time up to this. */
const RECHECK_MAX_MS = 60_000;
/** A burst of 401s or 403s starts one preflight, not one each. */
const REFUSAL_DEBOUNCE_MS = 5_000;

/** The preflight alone, as `check` runs it: a client of its own, closed after. */
export async function checkFullStory(config: Config): Promise<PreflightResult> {
  const client = new FullStoryClient({ ...clientOptions(config), baseUrl: config.fullstory.url, token: config.fullstory.token ?? '' });
  try {
    return await preflight(client, { delivery: config.roles.delivery });
  } finally {
    await client.close();
  }
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
  private checking: Promise<PreflightResult | undefined> | undefined;
  private lastRefusalCheck = 0;
  private closed = false;

  constructor(private readonly opts: UpstreamOptions) {
    this.client = new FullStoryClient({
      ...clientOptions(opts.config),
      baseUrl: opts.url,
      token: opts.token,
      ...(opts.tokenSource ? { tokenSource: opts.tokenSource } : {}),
    });
    // A 401 or 403 on any call means the token or SCIM itself may be gone: ask at once, not at the next period.
    this.client.observer = (e) => {
      opts.observe(e);
      if ((e.status === 401 || e.status === 403) && !this.checking) this.onRefusal();
    };
    this.roles = new RoleChannel(opts.delivery, (choice, previous) =>
      opts.logger.info(
        { delivery: choice.delivery ?? 'undecided', previous: previous.delivery ?? 'undecided', why: choice.why },
        `role delivery: ${choice.delivery ?? 'undecided'}`,
      ),
    );
    const observe = (fs: Parameters<RoleChannel['observeUser']>[0]) => this.roles.observeUser(fs);
    const links = opts.links ?? new IdLinks();
    this.api =
      opts.config.bridge.mode === 'shadow' && opts.desired
        ? new ShadowApi(this.client, observe, links, opts.desired)
        : new FullStoryApi(this.client, observe, links);
    this.readiness = {
      ok: false,
      reason: 'preflight not run yet',
      extra: async () => ({ circuit: this.client.circuit.state, budgetWaiting: this.client.budget.waiting }),
    };
  }

  /** What the last preflight learned. */
  readonly capabilities = (): Capabilities => this.readiness.capabilities ?? PLACEHOLDER_CAPS;

  /**
   * Preflight, each finding logged. When FullStory is not usable: fail-fast throws a
   * PreflightError; degraded serves 503 with the reason and re-checks with backoff. Once
   * started, readiness follows FullStory: the preflight runs every PREFLIGHT_PERIOD_MS,
   * and at once after a 401 or 403 from FullStory, and readiness comes back by itself.
   */
  async start(policy: Config['startup']['policy']): Promise<void> {
    const pending = this.check();
    // The probes' own 401s and 403s are what this check is about: they start no second one.
    this.checking = pending.catch(() => undefined);
    const result = await pending.finally(() => (this.checking = undefined));
    for (const c of result.checks) this.opts.logger[c.ok ? (c.warn ? 'warn' : 'info') : 'error']({ check: c.name }, c.message);
    if (!result.ok && policy === 'fail-fast') throw new PreflightError(result);
    this.schedule(result.ok ? PREFLIGHT_PERIOD_MS : 5_000);
  }

  /** The next check: on the period while ready, with backoff while not. */
  private schedule(delay: number): void {
    if (this.closed) return;
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = setTimeout(() => void this.recheckNow(delay), delay);
    this.recheck.unref();
  }

  private async recheckNow(lastDelay: number): Promise<void> {
    const wasOk = this.readiness.ok;
    const r = await this.runCheck();
    if (r?.ok) {
      if (!wasOk) this.opts.logger.info('preflight passed; the bridge is ready');
      this.schedule(PREFLIGHT_PERIOD_MS);
    } else this.schedule(wasOk ? 5_000 : Math.min(lastDelay * 2, RECHECK_MAX_MS));
  }

  /** FullStory refused a call with 401 or 403: one preflight now (not one per refusal), which says why in plain words. */
  private onRefusal(): void {
    const now = Date.now();
    if (this.closed || now - this.lastRefusalCheck < REFUSAL_DEBOUNCE_MS) return;
    this.lastRefusalCheck = now;
    void this.recheckNow(5_000 / 2);
  }

  /** One preflight at a time; a failed one (FullStory down) leaves readiness as the check left it. */
  private runCheck(): Promise<PreflightResult | undefined> {
    this.checking ??= this.check()
      .catch(() => undefined)
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async check(): Promise<PreflightResult> {
    const result = await preflight(this.client, { delivery: this.opts.delivery });
    const r = this.readiness;
    const wasOk = r.ok;
    r.checkedAt = new Date().toISOString();
    r.ok = result.ok;
    if (result.capabilities) {
      r.capabilities = result.capabilities;
      this.roles.learn(evidenceOf(result.capabilities));
    }
    if (result.ok) {
      delete r.reason;
      delete r.since;
    } else {
      r.reason = result.checks
        .filter((c) => !c.ok)
        .map((c) => c.message)
        .join(' ');
      r.since ??= r.checkedAt;
      if (wasOk) this.opts.logger.error({ reason: r.reason }, 'FullStory is no longer usable: the IdP is answered 503 until a preflight passes again');
    }
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.recheck) clearTimeout(this.recheck);
    await this.client.close();
  }
}
