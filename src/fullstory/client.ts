import { setTimeout as sleep } from 'node:timers/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { LocalTokenSource, RateBudget, type Priority, type TokenSource } from './budget.js';
import { CircuitBreaker } from './circuit.js';
import { parseRetryAfter, parseUpstreamError, UpstreamError } from './errors.js';

export interface ClientOptions {
  baseUrl: string;
  token: string;
  connectTimeoutMs: number;
  timeoutMs: number;
  ratePerSecond: number;
  rateBurst: number;
  idpWaitMs: number;
  /** Tokens background sync leaves to IdP calls. */
  idpReserve?: number;
  circuitThreshold?: number;
  circuitOpenMs?: number;
  connections?: number;
  /** Shared by replicas (PostgreSQL); this process's own bucket by default. */
  tokenSource?: TokenSource;
}

export interface CallOptions {
  body?: unknown;
  priority?: Priority;
  /** Safe to send twice (GET, PUT, DELETE, replace-only PATCH); POST is not. */
  idempotent?: boolean;
  /** Label for metrics: "users.get", "users.create", ... */
  operation: string;
  /** How long this call may wait for budget; IdP calls default to idpWaitMs, sync to forever. */
  maxWaitMs?: number;
}

export interface UpstreamResponse<T = unknown> {
  status: number;
  body: T;
}

export type CallObserver = (event: { operation: string; status: number; durationMs: number; retry: boolean }) => void;

const RETRY_LIMIT = 3;

/**
 * The bucket the bridge spends from: FullStory's rate, but at most half its burst at
 * once, so requests that reach FullStory bunched closer than they were sent (network
 * and event-loop jitter) still fit in its bucket instead of drawing a 429 and a pause.
 */
export function bucketConfig(opts: Pick<ClientOptions, 'ratePerSecond' | 'rateBurst' | 'idpReserve'>) {
  const burst = Math.max(1, Math.floor(opts.rateBurst / 2));
  return { perSecond: opts.ratePerSecond, burst, reserve: Math.min(opts.idpReserve ?? 0, burst - 1) };
}

/** undici's names for "no answer came", as opposed to FullStory answering. */
function networkError(err: unknown): UpstreamError {
  const e = err as { code?: string; message?: string };
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new UpstreamError(0, 'FullStory did not answer in time', 'timeout');
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) return new UpstreamError(0, 'Connecting to FullStory timed out', 'timeout');
  const code = e.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new UpstreamError(0, `FullStory's host name could not be resolved (${code})`, 'network');
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') || /secure TLS connection/.test(e.message ?? '')) {
    return new UpstreamError(0, `TLS to FullStory failed (${code})`, 'network');
  }
  return new UpstreamError(0, `Network error talking to FullStory (${code || e.message || 'unknown'})`, 'network');
}

/**
 * Every call to FullStory goes through here: one pool, one rate budget, timeouts on
 * connect, headers and body, retries only where a second send cannot duplicate.
 */
/** What FullStoryApi needs of a client: one call. Tests pass a FullStory without sockets (test/helpers/scripted.ts). */
export type ScimCaller = Pick<FullStoryClient, 'call'>;

export class FullStoryClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  readonly budget: RateBudget;
  readonly circuit: CircuitBreaker;
  observer: CallObserver | undefined;
  /** Built once: the same on every call, with and without a body. */
  private readonly headers: Record<string, string>;
  private readonly bodyHeaders: Record<string, string>;

  constructor(private readonly opts: ClientOptions) {
    const url = new URL(opts.baseUrl);
    this.basePath = url.pathname.replace(/\/$/, '');
    this.pool = new Pool(url.origin, {
      connections: opts.connections ?? 64,
      connectTimeout: opts.connectTimeoutMs,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      keepAliveTimeout: 10_000,
    });
    this.budget = new RateBudget(opts.tokenSource ?? new LocalTokenSource(bucketConfig(opts)), opts.ratePerSecond);
    this.circuit = new CircuitBreaker(opts.circuitThreshold ?? 5, opts.circuitOpenMs ?? 15_000);
    this.headers = { authorization: `Bearer ${opts.token}`, accept: 'application/scim+json, application/json', 'user-agent': 'fullstory-scim-bridge' };
    this.bodyHeaders = { ...this.headers, 'content-type': 'application/scim+json' };
  }

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  async call<T = unknown>(method: string, path: string, options: CallOptions): Promise<UpstreamResponse<T>> {
    const priority = options.priority ?? 'idp';
    const maxWait = options.maxWaitMs ?? (priority === 'idp' ? this.opts.idpWaitMs : Number.POSITIVE_INFINITY);
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      this.circuit.before();
      if (!this.budget.tryTake(priority)) {
        try {
          await this.budget.take(priority, Math.max(0, maxWait - (performance.now() - started)));
        } catch (err) {
          this.circuit.cancelTrial(); // no call went out
          throw err;
        }
      }
      const t0 = performance.now();
      let result: UpstreamResponse<T> | UpstreamError;
      try {
        result = await this.send<T>(method, path, options.body);
      } catch (err) {
        result = err instanceof UpstreamError ? err : networkError(err);
      }
      if (result instanceof UpstreamError && (result.status === 0 || result.status >= 500)) this.circuit.failure();
      else this.circuit.success();
      this.observer?.({ operation: options.operation, status: result.status, durationMs: performance.now() - t0, retry: attempt > 0 });
      if (!(result instanceof UpstreamError)) return result;

      const elapsed = performance.now() - started;
      const canRetry = attempt < RETRY_LIMIT && (result.status === 429 || (options.idempotent === true && result.transient));
      if (result.status === 429) await this.budget.pause(result.retryAfter ?? 1);
      if (!canRetry) throw result;
      const backoff = result.status === 429 ? 0 : Math.min(2_000, 100 * 2 ** attempt) * (0.5 + Math.random());
      if (elapsed + backoff + (result.retryAfter ?? 0) * 1000 > maxWait) throw result;
      await sleep(backoff);
    }
  }

  private async send<T>(method: string, path: string, body: unknown): Promise<UpstreamResponse<T>> {
    const res = await exchange(this.pool, {
      method: method as Dispatcher.HttpMethod,
      path: `${this.basePath}${path}`,
      headers: body !== undefined ? this.bodyHeaders : this.headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    let parsed: unknown;
    if (res.text) {
      try {
        parsed = JSON.parse(res.text);
      } catch {
        parsed = undefined;
      }
    }
    if (res.statusCode >= 400) {
      const { detail, scimType } = parseUpstreamError(res.statusCode, parsed);
      throw new UpstreamError(res.statusCode, detail, 'http', scimType, parseRetryAfter(res.headers['retry-after']));
    }
    return { status: res.statusCode, body: parsed as T };
  }

  async close(): Promise<void> {
    this.budget.close();
    await this.pool.close();
  }
}

/**
 * One exchange through undici's dispatch API, the body gathered into one string: the
 * answers are small JSON documents, and request() builds a stream per response, a cost
 * a GET does not need (docs/benchmarks.md). Exported for the bench's pass-through.
 */
export function exchange(pool: Pool, options: Dispatcher.DispatchOptions): Promise<{ statusCode: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    pool.dispatch(options, {
      // Its presence tells undici this handler speaks the v7 controller API.
      onRequestStart() {},
      onResponseStart(_controller, code, responseHeaders) {
        statusCode = code;
        headers = responseHeaders;
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        resolve({ statusCode, headers, text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8') });
      },
      onResponseError(_controller, err) {
        reject(err);
      },
    });
  });
}
