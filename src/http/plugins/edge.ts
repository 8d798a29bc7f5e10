import { BlockList, isIPv6 } from 'node:net';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ScimError } from '../../scim/errors.js';

/** Query parameters that carry credentials in some clients: refused, never logged. */
const TOKEN_PARAMS = new Set(['access_token', 'token', 'bearer', 'bearer_token', 'api_key', 'apikey', 'auth', 'authorization', 'id_token']);

/** Parses IDP_ALLOWED_CIDRS into a BlockList (Node's own matcher, IPv4 and IPv6); empty: undefined (any). */
export function allowList(cidrs: readonly string[]): BlockList | undefined {
  if (cidrs.length === 0) return undefined;
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const type = isIPv6(addr!) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr!, type);
    else list.addSubnet(addr!, Number(bits), type);
  }
  return list;
}

/** `::ffff:127.0.0.2` (an IPv4 client on a dual-stack socket) is 127.0.0.2. */
export function clientAddress(req: FastifyRequest): string {
  return req.ip.startsWith('::ffff:') ? req.ip.slice(7) : req.ip;
}

function allowed(list: BlockList, address: string): boolean {
  return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}

/** Whether a URL carries a credential in its query string. */
export function tokenInQuery(url: string): boolean {
  const q = url.indexOf('?');
  if (q < 0) return false;
  for (const key of new URLSearchParams(url.slice(q + 1)).keys()) if (TOKEN_PARAMS.has(key.toLowerCase())) return true;
  return false;
}

/**
 * The edge of /scim/v2, before any token is looked at: a token in the URL is refused,
 * an address outside IDP_ALLOWED_CIDRS is refused (and audited), and an address that
 * failed too many token checks waits out its window. Registered inside the SCIM routes'
 * own context (app.ts), so it runs on whatever the router routes there, however the
 * path was spelled (`/%73cim/v2/Users` is routed, so it is checked), and on that
 * context's 404s.
 */
export default fp(async function edge(app: FastifyInstance) {
  const { deps } = app;
  const list = allowList(deps.config.idp.allowedCidrs);
  app.addHook('onRequest', (req, reply, done) => {
    if (tokenInQuery(req.url)) {
      deps.metrics.authFailure('query-token');
      return done(new ScimError(400, 'Credentials are accepted only in the Authorization header, never in the URL', 'invalidSyntax'));
    }
    const address = clientAddress(req);
    if (list && !allowed(list, address)) {
      deps.metrics.authFailure('address');
      deps.audit.refused({
        operation: 'auth.address',
        address,
        userAgent: req.headers['user-agent'],
        method: req.method,
        status: 403,
        detail: 'client address outside IDP_ALLOWED_CIDRS',
      });
      return done(new ScimError(403, 'This client address may not call the bridge (IDP_ALLOWED_CIDRS)'));
    }
    const wait = deps.authThrottle.retryAfter(address);
    if (wait !== undefined) {
      deps.metrics.authFailure('throttled');
      reply.header('retry-after', String(wait));
      return done(new ScimError(429, 'Too many failed token checks from this address; wait and try again', undefined, wait));
    }
    done();
  });
});
