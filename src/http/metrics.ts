import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The bridge's Prometheus metrics, on a registry of its own (one per app instance). */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'scim_bridge_requests_total',
    help: 'IdP requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'scim_bridge_request_duration_seconds',
    help: 'IdP request latency',
    labelNames: ['route', 'method'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly tokenUse = new Counter({
    name: 'scim_bridge_idp_token_requests_total',
    help: 'IdP requests by the name of the token used (never its value)',
    labelNames: ['token'],
    registers: [this.registry],
  });
  readonly upstreamCalls = new Counter({
    name: 'scim_bridge_upstream_calls_total',
    help: 'Calls to FullStory by operation and status (0: no answer)',
    labelNames: ['operation', 'status'],
    registers: [this.registry],
  });
  readonly upstreamRetries = new Counter({
    name: 'scim_bridge_upstream_retries_total',
    help: 'Calls to FullStory that were retries',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  readonly upstreamSeconds = new Histogram({
    name: 'scim_bridge_upstream_duration_seconds',
    help: 'FullStory call latency',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [this.registry],
  });
  readonly roleSyncBacklog = new Gauge({ name: 'scim_bridge_role_sync_backlog', help: 'Role changes not yet in FullStory', registers: [this.registry] });
  readonly roleSyncFailing = new Gauge({ name: 'scim_bridge_role_sync_failing', help: 'Role changes that failed at least once', registers: [this.registry] });
  readonly roleSyncApplied = new Counter({
    name: 'scim_bridge_role_sync_applied_total',
    help: 'Role changes applied to FullStory, by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  // Labelled children, kept: prom-client would otherwise hash the label set on every request.
  private readonly children = new Map<string, { count: () => void; time: (s: number) => void; token?: () => void }>();

  observeRequest(route: string, method: string, status: number, elapsedMs: number, token: string | undefined): void {
    const key = `${route} ${method} ${status} ${token ?? ''}`;
    let c = this.children.get(key);
    if (!c) {
      const counter = this.requests.labels({ route, method, status: String(status) });
      const histogram = this.requestSeconds.labels({ route, method });
      const tokens = token ? this.tokenUse.labels({ token }) : undefined;
      c = { count: () => counter.inc(), time: (s) => histogram.observe(s), ...(tokens ? { token: () => tokens.inc() } : {}) };
      this.children.set(key, c);
    }
    c.count();
    c.time(elapsedMs / 1000);
    c.token?.();
  }

  private readonly upstreamChildren = new Map<string, { count: () => void; time: (s: number) => void; retry: () => void }>();

  observeUpstream(e: { operation: string; status: number; durationMs: number; retry: boolean }): void {
    const key = `${e.operation} ${e.status}`;
    let c = this.upstreamChildren.get(key);
    if (!c) {
      const counter = this.upstreamCalls.labels({ operation: e.operation, status: String(e.status) });
      const histogram = this.upstreamSeconds.labels({ operation: e.operation });
      const retries = this.upstreamRetries.labels({ operation: e.operation });
      c = { count: () => counter.inc(), time: (s) => histogram.observe(s), retry: () => retries.inc() };
      this.upstreamChildren.set(key, c);
    }
    c.count();
    c.time(e.durationMs / 1000);
    if (e.retry) c.retry();
  }
}
