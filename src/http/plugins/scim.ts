import fp from 'fastify-plugin';
import { ifMatch } from '../etag.js';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { OpContext } from '../../provisioning/users-service.js';
import { SCIM_CONTENT_TYPE } from '../../scim/constants.js';
import { ScimError } from '../../scim/errors.js';
import { drain } from '../drain.js';
import { parseJsonBody } from '../json-body.js';

/**
 * SCIM on the wire: the two content types IdPs send (Entra adds a charset), answers in
 * application/scim+json, and every failure as an RFC 7644 §3.12 Error: right status,
 * right scimType, no stack trace, nothing secret.
 */
export default fp(async function scim(app: FastifyInstance) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/scim+json', 'application/json'], { parseAs: 'buffer' }, (req, body, done) => {
    try {
      done(null, parseJsonBody(req, body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  // Callback style, as every hook on the request path: an async hook costs a promise per request.
  app.addHook('onRequest', (req, _reply, done) => {
    // No prototype: nothing inherited can stand in for a field the request never set.
    req.opCtx = Object.create(null) as OpContext;
    // If-Match (RFC 7644 §3.14): the service checks it against the version it reads, before it writes.
    if (req.headers['if-match'] !== undefined) {
      const precondition = ifMatch(req);
      if (precondition) req.opCtx.precondition = precondition;
    }
    done();
  });

  app.setErrorHandler((err: FastifyError | ScimError, req, reply) => {
    let scim: ScimError;
    if (err instanceof ScimError) scim = err;
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') scim = new ScimError(415, 'Content-Type must be application/scim+json or application/json');
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') scim = new ScimError(413, `The request body is larger than ${app.initialConfig.bodyLimit} bytes`);
    else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') scim = new ScimError(400, 'The request body is empty', 'invalidSyntax');
    else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) scim = new ScimError(err.statusCode, err.message.slice(0, 200));
    else {
      req.log.error({ err }, 'unexpected error');
      scim = new ScimError(500, 'Internal error; the request was not applied');
    }
    if (req.opCtx) req.opCtx.error = scim.detail;
    if (scim.retryAfter !== undefined) reply.header('retry-after', String(Math.ceil(scim.retryAfter)));
    if (scim.status === 401) reply.header('www-authenticate', 'Bearer realm="fullstory-scim-bridge"');
    if (scim.status >= 500) req.log.warn({ status: scim.status, detail: scim.detail }, 'request failed');
    const send = () => reply.code(scim.status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(scim.toJSON()));
    // A body too large is read to its end (within a bound) before the answer, so its sender can read it.
    if (scim.status === 413) return drain(req.raw).then(() => send().header('connection', 'close'));
    return send();
  });

  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .type(SCIM_CONTENT_TYPE)
      .send(JSON.stringify(new ScimError(404, `No endpoint ${req.method} ${req.url.split('?')[0]}`).toJSON())),
  );
});
