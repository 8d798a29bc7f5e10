import { tokenInQuery } from './plugins/edge.js';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { CHANGE_METHODS } from './methods.js';

/**
 * One access-log line per request, when it completes (Fastify logs two): at info for
 * changes and for anything that failed, at debug for successful reads. IdPs read far more
 * than they write (an import pages through every user, Entra looks each user up on every
 * cycle); those reads are counted in the metrics, and at info two lines each cost a tenth
 * of a GET's CPU. Routes with logLevel "silent" (health, metrics) log nothing.
 */
export class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const status = reply.statusCode;
    const line = {
      method: req.method,
      url: tokenInQuery(req.url) ? `${req.url.split('?')[0]}?[redacted]` : req.url,
      statusCode: status,
      responseTimeMs: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else if (status >= 400 || CHANGE_METHODS.has(req.method)) reply.log.info(line, 'request completed');
    else reply.log.debug(line, 'request completed');
  }
}
