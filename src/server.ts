import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import app from './app.js';
import type { Config } from './config/schema.js';
import { AccessLog } from './http/access-log.js';
import { scimClientError } from './http/client-error.js';
import { lazyChildLogger } from './http/lazy-logger.js';
import { readTls, TLS_VERSIONS } from './http/tls.js';
import type { AppDeps } from './http/types.js';
import { SCIM_CONTENT_TYPE } from './scim/constants.js';
import { ScimError } from './scim/errors.js';

/** The bridge's Fastify server, ready to listen. */
export async function buildServer(config: Config, logger: Logger, deps: AppDeps): Promise<FastifyInstance> {
  const tls = readTls(config.server.tls);
  // HTTPS and HTTP servers differ only in the server underneath; the routes are the same.
  const fastify = Fastify({
    ...(tls ? { https: { ...tls, ...TLS_VERSIONS } } : {}),
    loggerInstance: logger as unknown as FastifyBaseLogger,
    logController: new AccessLog(),
    childLoggerFactory: lazyChildLogger,
    bodyLimit: config.server.bodyLimitBytes,
    requestTimeout: config.server.requestTimeoutMs,
    // `/Users/` is `/Users` (some SCIM clients add the slash).
    routerOptions: { maxParamLength: 512, ignoreTrailingSlash: true },
    return503OnClosing: true,
    trustProxy: config.server.trustProxy,
    clientErrorHandler: scimClientError,
    // A URL the router cannot decode (`/scim/v2/Users/%ff`): a SCIM Error, not Fastify's own body.
    frameworkErrors: (_err, _req, reply: FastifyReply) => {
      void reply
        .code(400)
        .type(SCIM_CONTENT_TYPE)
        .send(JSON.stringify(new ScimError(400, 'The URL is not validly percent-encoded', 'invalidSyntax').toJSON()));
    },
  }) as unknown as FastifyInstance;
  try {
    await fastify.register(app, { deps });
    await fastify.ready();
  } catch (err) {
    await fastify.close();
    throw err;
  }
  return fastify;
}

/**
 * Stops accepting and lets in-flight requests finish, within `graceMs`: past it, open
 * connections are cut.
 */
export async function closeServer(fastify: FastifyInstance, graceMs: number): Promise<void> {
  const server = fastify.server;
  // Keep-alive connections that finish their request after close() began would
  // otherwise be held open for keepAliveTimeout: close each as it goes idle.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
  try {
    await fastify.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(deadline);
  }
}
