import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * One access-log line per request, when it completes (instead of Fastify's two): at info
 * for changes and for anything that failed, at debug for successful reads. IdPs read far
 * more than they write (an import pages through every user, Entra looks each user up on
 * every cycle); those reads are counted in the metrics, and at info two lines each cost a
 * tenth of a GET's CPU. Routes with logLevel "silent" (health, metrics) log nothing.
 */
export default fp(async function accessLog(app: FastifyInstance) {
  app.addHook('onResponse', (req, reply, done) => {
    const status = reply.statusCode;
    const line = { method: req.method, url: req.url, statusCode: status, responseTimeMs: Math.round(reply.elapsedTime * 10) / 10 };
    if (status >= 400 || WRITES.has(req.method)) req.log.info(line, 'request completed');
    else req.log.debug(line, 'request completed');
    done();
  });
});
