import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import { CHANGE_METHODS } from './http/methods.js';
import authPlugin from './http/plugins/auth.js';
import edgePlugin from './http/plugins/edge.js';
import scimPlugin from './http/plugins/scim.js';
import { BASE_PATH } from './http/present.js';
import discoveryRoutes from './http/routes/discovery.js';
import groupsRoutes from './http/routes/groups.js';
import consoleRoutes from './http/routes/console.js';
import opsRoutes from './http/routes/ops.js';
import searchRoutes from './http/routes/search.js';
import usersRoutes from './http/routes/users.js';
import type { AppDeps } from './http/types.js';
import { SCIM_CONTENT_TYPE } from './scim/constants.js';
import { ScimError } from './scim/errors.js';

/** The bridge as a Fastify plugin: cross-cutting plugins, then thin routes. */
export default async function app(fastify: FastifyInstance, opts: { deps: AppDeps }) {
  const { deps } = opts;
  fastify.decorate('deps', deps);
  await fastify.register(scimPlugin);
  await fastify.register(authPlugin);
  await fastify.register(opsRoutes);
  await fastify.register(consoleRoutes);

  await fastify.register(
    async (scim) => {
      // The edge and the token check are this context's hooks, not a prefix test on the raw
      // URL: they run on every route below and on this context's 404s, however spelled.
      await scim.register(edgePlugin);
      scim.addHook('onRequest', scim.auth([scim.verifyIdpToken]));
      scim.setNotFoundHandler((req, reply) =>
        reply
          .code(404)
          .type(SCIM_CONTENT_TYPE)
          .send(JSON.stringify(new ScimError(404, `No endpoint ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`).toJSON())),
      );
      // Degraded start: the IdP is told plainly, with a time to come back, instead of half-working.
      // The route as routed, not the raw URL: `?x=/ServiceProviderConfig` must not walk past it.
      scim.addHook('preHandler', (req, _reply, done) => {
        if (!deps.readiness.ok && req.routeOptions.url !== `${BASE_PATH}/ServiceProviderConfig`) {
          return done(new ScimError(503, `The bridge cannot reach a usable FullStory: ${deps.readiness.reason ?? 'not checked yet'}`, undefined, 60));
        }
        done();
      });
      // One onResponse hook per route, knowing its route: request.routeOptions builds a new
      // object on every read. Callback style: a read pays for no promise; audit rows are
      // written in batches.
      scim.addHook('onRoute', (route) => {
        const url = route.url ?? route.path;
        const observe: onResponseHookHandler = (req, reply, done) => {
          deps.metrics.observeRequest(url, req.method, reply.statusCode, reply.elapsedTime, req.tokenName);
          // A search is a read that travels as POST: it changes nothing to audit.
          if (CHANGE_METHODS.has(req.method) && req.tokenName && !url.endsWith('/.search')) audit(deps, req, reply, url);
          // FullStory's refusal passed on as a 4xx: counted, since the 5xx alert cannot see it.
          const last = req.opCtx?.writes?.at(-1);
          if (last && !last.ok && last.upstreamStatus && last.upstreamStatus >= 400 && last.upstreamStatus < 500 && reply.statusCode < 500)
            deps.metrics.refused(last.upstreamStatus);
          // @fastify/auth pools its per-request state and keeps the last request it checked
          // until the pool hands it out again: without this, a 100,000-member PUT's parsed
          // body (about 10 MB) stayed alive after the answer (docs/benchmarks.md).
          req.body = undefined;
          done();
        };
        route.onResponse = [...(Array.isArray(route.onResponse) ? route.onResponse : route.onResponse ? [route.onResponse] : []), observe];
      });
      await scim.register(discoveryRoutes);
      await scim.register(usersRoutes);
      await scim.register(groupsRoutes);
      await scim.register(searchRoutes);
    },
    { prefix: BASE_PATH },
  );
}

/** The facts of one change an IdP asked for, with the FullStory writes it made; the audit log shapes and redacts the rows. */
function audit(deps: AppDeps, req: FastifyRequest, reply: FastifyReply, route: string): void {
  const ctx = req.opCtx;
  deps.audit.request({
    actor: req.tokenName!,
    userAgent: req.headers['user-agent'],
    method: req.method,
    route: route.replace(BASE_PATH, ''),
    resourceId: (req.params as { id?: string } | undefined)?.id ?? req.resourceId ?? null,
    subject: ctx?.subject,
    status: reply.statusCode,
    detail: ctx?.error ?? ctx?.note,
    writes: ctx?.writes ?? [],
    shadow: deps.mode === 'shadow',
    held: ctx?.held === true,
  });
}
