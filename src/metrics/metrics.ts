import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CounterTally, HistogramTally, kept, type TimeTally } from './tally.js';
import { VERSION } from '../lib/version.js';
import type { RoleSyncStats } from '../store/store.js';

interface RequestChild {
  count: { n: number };
  time: TimeTally;
  token: { n: number } | undefined;
}

interface UpstreamChild {
  count: { n: number };
  time: TimeTally;
  retry: { n: number };
}

/** The bridge's state as the gauges show it, read once per scrape. */
export interface State {
  roleSync: RoleSyncStats;
  holds: number;
  circuit: string;
  deliveryDegraded: boolean;
  fullstoryOk: boolean;
  planMismatch: boolean;
  /** The last plan's counts, by whoever ran it. */
  plan?: { at: string; creates: number; updates: number; deactivations: number; roleChanges: number };
}

/** Where the state is read from (the core supplies it). */
export interface StateSources {
  snapshot(): Promise<State>;
}

/** The bridge's Prometheus metrics, on a registry of its own (one per app instance). */
export class Metrics {
  readonly registry = new Registry();
  // Counted on the request path in plain numbers (see tally.ts), published when scraped.
  private readonly requestCounts = new CounterTally();
  private readonly tokenCounts = new CounterTally();
  private readonly upstreamCounts = new CounterTally();
  private readonly retryCounts = new CounterTally();
  private readonly requestSeconds = new HistogramTally(
    'scim_bridge_request_duration_seconds',
    'IdP request latency',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  private readonly upstreamSeconds = new HistogramTally(
    'scim_bridge_upstream_duration_seconds',
    'FullStory call latency',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
  );

  readonly authFailures = new Counter({
    name: 'scim_bridge_auth_failures_total',
    help: 'Requests refused at the edge, by reason: missing or invalid token, throttled address, address outside the allowlist, token in the URL',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  authFailure(reason: 'missing' | 'invalid' | 'throttled' | 'address' | 'query-token' | 'console'): void {
    this.authFailures.inc({ reason });
  }

  private readonly guardHeld = new Counter({
    name: 'scim_bridge_guard_held_total',
    help: 'Deactivations, deletions and demotions the deprovisioning guard held, by kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  /** An IdP change answered 4xx because FullStory refused it (its status passed on): the 5xx alert never sees these. */
  private readonly refusedByFullStory = new Counter({
    name: 'scim_bridge_idp_refused_by_fullstory_total',
    help: 'IdP changes answered 4xx because FullStory refused the write, by FullStory status',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly roleSyncApplied = new Counter({
    name: 'scim_bridge_role_sync_applied_total',
    help: 'Role changes applied to FullStory, by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  private readonly roleChangesBlocked = new Counter({
    name: 'scim_bridge_role_changes_blocked_total',
    help: 'Role changes not sent because FullStory said its plan lacks the role (held as blocked until the configuration changes)',
    registers: [this.registry],
  });

  private readonly notifications = new Counter({
    name: 'scim_bridge_notifications_total',
    help: 'Notices for a person (NOTIFY_WEBHOOK_URL), by event and outcome: sent, failed (retried later), expired (given up after 7 days)',
    labelNames: ['event', 'outcome'],
    registers: [this.registry],
  });

  /** One notice's try at the webhook. */
  notice(event: string, outcome: 'sent' | 'failed' | 'expired'): void {
    this.notifications.inc({ event, outcome });
  }

  /** A change the deprovisioning guard held. */
  held(kind: string): void {
    this.guardHeld.inc({ kind });
  }

  /** An IdP change answered 4xx because FullStory refused it. */
  refused(upstreamStatus: number): void {
    this.refusedByFullStory.inc({ status: String(upstreamStatus) });
  }

  /** Role changes not sent because FullStory said its plan lacks the role. */
  blocked(n: number): void {
    this.roleChangesBlocked.inc(n);
  }

  /**
   * The bridge's state, read when Prometheus scrapes (never pushed): what the gauges show.
   * Events are counted through the methods above; there is no third way in.
   */
  watch(sources: StateSources): void {
    this.sources = sources;
  }

  private sources: StateSources | undefined;

  /** The exposition text, state read first; a store that fails leaves its gauges as they were (readiness says why). */
  async text(): Promise<string> {
    await this.sources
      ?.snapshot()
      .then((state) => (this.state = state))
      .catch(() => undefined);
    return this.registry.metrics();
  }

  private state: State | undefined;

  /** One batch of the role-sync worker: how many changes FullStory took, and how many failed. */
  roleSyncOutcomes(applied: number, failed: number): void {
    this.roleSyncApplied.inc({ outcome: 'applied' }, applied);
    if (failed) this.roleSyncApplied.inc({ outcome: 'failed' }, failed);
  }

  constructor() {
    new Gauge({
      name: 'scim_bridge_build_info',
      help: 'The running build: its version and Node.js (always 1)',
      labelNames: ['version', 'node'],
      registers: [this.registry],
    }).set({ version: VERSION, node: process.version }, 1);
    const counter = (name: string, help: string, labelNames: string[], tally: CounterTally) =>
      new Counter({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          tally.publish(this);
        },
      });
    counter('scim_bridge_requests_total', 'IdP requests by route, method and status', ['route', 'method', 'status'], this.requestCounts);
    this.registry.registerMetric(this.requestSeconds.asMetric());
    counter('scim_bridge_idp_token_requests_total', 'IdP requests by the name of the token used (never its value)', ['token'], this.tokenCounts);
    counter('scim_bridge_upstream_calls_total', 'Calls to FullStory by operation and status (0: no answer)', ['operation', 'status'], this.upstreamCounts);
    counter('scim_bridge_upstream_retries_total', 'Calls to FullStory that were retries', ['operation'], this.retryCounts);
    this.registry.registerMetric(this.upstreamSeconds.asMetric());
    collectDefaultMetrics({ register: this.registry });
    this.stateGauges();
  }

  /** Gauges of state, each read from the last snapshot when scraped. */
  private stateGauges(): void {
    const current = () => this.state;
    const gauge = (name: string, help: string, value: (s: State) => number) => {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const state = current();
          if (state) this.set(value(state));
        },
      });
    };
    gauge('scim_bridge_role_sync_backlog', 'Role changes not yet in FullStory', (s) => s.roleSync.backlog);
    gauge('scim_bridge_role_sync_failing', 'Role changes that failed at least once', (s) => s.roleSync.failing);
    gauge('scim_bridge_role_sync_oldest_pending_seconds', 'Age of the oldest role change not yet in FullStory (0 when none)', (s) =>
      s.roleSync.oldestPendingAt ? Math.max(0, (Date.now() - Date.parse(s.roleSync.oldestPendingAt)) / 1000) : 0,
    );
    gauge('scim_bridge_circuit_open', '1 while the circuit to FullStory is open (calls paused) or half-open, else 0', (s) => (s.circuit !== 'closed' ? 1 : 0));
    gauge('scim_bridge_role_delivery_degraded', '1 while role delivery fails for most users (FullStory refuses or ignores roles), else 0', (s) =>
      s.deliveryDegraded ? 1 : 0,
    );
    gauge('scim_bridge_fullstory_unusable', '1 while the last FullStory preflight failed (the IdP is answered 503), else 0', (s) => (s.fullstoryOk ? 0 : 1));
    gauge('scim_bridge_guard_holds', 'Changes held by the deprovisioning guard, not yet released', (s) => s.holds);
    gauge('scim_bridge_plan_drift', 'Changes the last plan (scheduled or run by hand) found FullStory needs to be what the IdP wants; 0 before any', (s) =>
      s.plan ? s.plan.creates + s.plan.updates + s.plan.deactivations + s.plan.roleChanges : 0,
    );
    gauge('scim_bridge_plan_last_run_timestamp_seconds', 'When the last plan ran (Unix seconds); 0 before any', (s) =>
      s.plan ? Date.parse(s.plan.at) / 1000 : 0,
    );
    gauge(
      'scim_bridge_fullstory_plan_mismatch',
      '1 while FullStory has said it is on another plan than fullstory.plan (or lacks a mapped role), else 0',
      (s) => (s.planMismatch ? 1 : 0),
    );
  }

  private readonly requestChildren = new Map<string, RequestChild>();
  private readonly upstreamChildren = new Map<string, UpstreamChild>();

  private requestChild(route: string, method: string, status: number, token: string | undefined): RequestChild {
    return {
      count: this.requestCounts.child(`${route} ${method} ${status}`, () => ({ route, method, status: String(status) })),
      time: this.requestSeconds.child(`${route} ${method}`, () => ({ route, method })),
      token: token ? this.tokenCounts.child(token, () => ({ token })) : undefined,
    };
  }

  private upstreamChild(operation: string, status: number): UpstreamChild {
    return {
      count: this.upstreamCounts.child(`${operation} ${status}`, () => ({ operation, status: String(status) })),
      time: this.upstreamSeconds.child(operation, () => ({ operation })),
      retry: this.retryCounts.child(operation, () => ({ operation })),
    };
  }

  observeRequest(route: string, method: string, status: number, elapsedMs: number, token: string | undefined): void {
    const c = kept(this.requestChildren, `${route} ${method} ${status} ${token ?? ''}`, () => this.requestChild(route, method, status, token));
    c.count.n++;
    c.time.observe(elapsedMs / 1000);
    if (c.token) c.token.n++;
  }

  /** FullStory calls per second over the last minute, for the console's view of the rate budget. */
  private readonly lastMinute = new Array<number>(60).fill(0);
  private lastSecond = 0;

  /** FullStory calls made in the last 60 seconds. */
  upstreamCallsLastMinute(): number {
    this.rollTo(Math.floor(Date.now() / 1000));
    return this.lastMinute.reduce((a, b) => a + b, 0);
  }

  private rollTo(second: number): void {
    for (let s = Math.max(this.lastSecond + 1, second - 59); s <= second; s++) this.lastMinute[s % 60] = 0;
    this.lastSecond = Math.max(this.lastSecond, second);
  }

  observeUpstream(e: { operation: string; status: number; durationMs: number; retry: boolean }): void {
    const second = Math.floor(Date.now() / 1000);
    this.rollTo(second);
    this.lastMinute[second % 60]!++;
    const c = kept(this.upstreamChildren, `${e.operation} ${e.status}`, () => this.upstreamChild(e.operation, e.status));
    c.count.n++;
    c.time.observe(e.durationMs / 1000);
    if (e.retry) c.retry.n++;
  }
}
