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

  // Labelled children, kept: prom-client would otherwise hash the label set on every call.
  private readonly requestChildren = new Map<string, ReturnType<Metrics['requestChild']>>();
  private readonly upstreamChildren = new Map<string, ReturnType<Metrics['upstreamChild']>>();

  private requestChild(route: string, method: string, status: number, token: string | undefined) {
    return {
      count: this.requests.labels({ route, method, status: String(status) }),
      time: this.requestSeconds.labels({ route, method }),
      token: token ? this.tokenUse.labels({ token }) : undefined,
    };
  }

  private upstreamChild(operation: string, status: number) {
    return {
      count: this.upstreamCalls.labels({ operation, status: String(status) }),
      time: this.upstreamSeconds.labels({ operation }),
      retry: this.upstreamRetries.labels({ operation }),
    };
  }

  observeRequest(route: string, method: string, status: number, elapsedMs: number, token: string | undefined): void {
    const c = kept(this.requestChildren, `${route} ${method} ${status} ${token ?? ''}`, () => this.requestChild(route, method, status, token));
    c.count.inc();
    c.time.observe(elapsedMs / 1000);
    c.token?.inc();
  }

  observeUpstream(e: { operation: string; status: number; durationMs: number; retry: boolean }): void {
    const c = kept(this.upstreamChildren, `${e.operation} ${e.status}`, () => this.upstreamChild(e.operation, e.status));
    c.count.inc();
    c.time.observe(e.durationMs / 1000);
    if (e.retry) c.retry.inc();
  }
}

function kept<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    cache.set(key, value);
  }
  return value;
}
