import { timingSafeEqual } from 'node:crypto';
import fastifyAuth from '@fastify/auth';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sha256 } from '../../lib/hash.js';
import { ScimError } from '../../scim/errors.js';
import { clientAddress } from './edge.js';

const MAX_TOKEN_LENGTH = 4096;

/**
 * The IdP's bearer token, checked against every configured hash in constant time: the
 * presented token is hashed first, so neither its length nor how much of it matches
 * changes the work done, and every stored hash is compared, match or not.
 */
export function matchToken(header: string | undefined, tokens: { name: string; sha256: Buffer<ArrayBufferLike> }[]): string | undefined {
  const m = header ? /^Bearer +(\S+) *$/i.exec(header) : null;
  const presented = sha256(m && m[1]!.length <= MAX_TOKEN_LENGTH ? m[1]! : '');
  let found: string | undefined;
  for (const t of tokens) {
    if (timingSafeEqual(presented, t.sha256) && m) found ??= t.name;
  }
  return found;
}

export default fp(async function auth(app: FastifyInstance) {
  await app.register(fastifyAuth);
  // Callback style: on every request, an async check would cost a promise.
  app.decorate('verifyIdpToken', (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    const name = matchToken(req.headers.authorization, app.deps.tokens);
    if (!name) return void refuse(app, req).then(() => done(new ScimError(401, 'A valid bearer token is required')), done);
    req.tokenName = name;
    app.deps.tokenLastUsed.set(name, Date.now());
    if (req.opCtx) req.opCtx.tokenName = name;
    done();
  });
});

/** A failed token check: counted per address (the throttle), by reason (metrics), audited once per burst. */
async function refuse(app: FastifyInstance, req: FastifyRequest): Promise<void> {
  const reason = req.headers.authorization ? 'invalid' : 'missing';
  app.deps.metrics.authFailure(reason);
  const address = clientAddress(req);
  const { first } = await app.deps.authThrottle.fail(address).catch(() => ({ first: false }));
  if (!first) return;
  app.deps.audit.refused({
    operation: 'auth.failure',
    address,
    userAgent: req.headers['user-agent'],
    method: req.method,
    status: 401,
    detail: `${reason} bearer token (first failure from this address this minute)`,
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    verifyIdpToken: (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;
  }
}
