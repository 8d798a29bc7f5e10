import { SANDBOX_BASE_PATH, type SandboxContext } from './context.js';
import { SbError } from './types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What FullStory's edge does before any resource: content types, counting, errors, then faults, auth, "SCIM enabled" and the rate limit. */
export function registerEdge(ctx: SandboxContext): void {
  for (const type of ['application/scim+json', 'application/json']) {
    ctx.app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, body === '' ? undefined : JSON.parse(body as string));
      } catch {
        done(new SbError(400, 'Malformed JSON', 'invalidSyntax'));
      }
    });
  }
  ctx.app.removeContentTypeParser(['text/plain']);

  ctx.app.addHook('onResponse', async (req, reply) => {
    ctx.counters.record(req.method, (req.routeOptions.url ?? req.url).replace(SANDBOX_BASE_PATH, '') || '/', reply.statusCode);
  });

  ctx.app.setErrorHandler((err, _req, reply) => {
    if (err instanceof SbError) return ctx.fail(reply, err.status, err.detail, err.scimType);
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status === 415) return ctx.fail(reply, 415, 'Content-Type must be application/scim+json or application/json');
    return ctx.fail(reply, status < 500 ? status : 500, status < 500 ? (err as Error).message : 'Internal error', status === 400 ? 'invalidSyntax' : undefined);
  });
  ctx.app.setNotFoundHandler((_req, reply) => ctx.fail(reply, 404, 'Not found'));

  // Faults, auth, "SCIM enabled", then the rate limit: the order FullStory's edge would apply them.
  ctx.app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith(SANDBOX_BASE_PATH)) return;
    const f = ctx.profile().faults;
    if (f.latencyMs > 0) await sleep(f.latencyMs);
    if (f.hangRate > 0 && Math.random() < f.hangRate) {
      await sleep(f.hangMs);
      req.raw.socket.destroy();
      return reply;
    }
    if (f.failRate > 0 && Math.random() < f.failRate) {
      const status = [500, 502, 503][Math.floor(Math.random() * 3)]!;
      return ctx.fail(reply, status, 'Upstream failure (sandbox fault)');
    }
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${ctx.token()}`) return ctx.fail(reply, 401, 'Invalid or missing token');
    ctx.counters.arrived(performance.now());
    if (!ctx.profile().scimEnabled) {
      return ctx.profile().scimDisabledStatus === 401
        ? ctx.fail(reply, 401, 'Invalid or missing token')
        : ctx.fail(reply, 403, 'SCIM provisioning is not enabled for this account');
    }
    const bucket = ctx.bucket();
    if (bucket) {
      const r = bucket.take();
      const limit = ctx.profile().rateLimit;
      if (limit?.headers) {
        reply.header('x-ratelimit-limit', String(limit.perSecond));
        reply.header('x-ratelimit-remaining', String(r.remaining));
      }
      if (!r.ok) {
        reply.header('retry-after', String(r.retryAfterS));
        return ctx.fail(reply, 429, 'Too many requests');
      }
    }
  });
}
