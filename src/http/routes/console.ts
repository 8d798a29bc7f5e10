import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { matchToken } from '../plugins/auth.js';
import { clientAddress } from '../plugins/edge.js';
import { sha256 } from '../../lib/hash.js';
import { releaseHold } from '../../provisioning/release.js';
import { confirmReleasePage, consolePage, loginPage } from '../console/page.js';
import { auditQuery, gather } from '../console/view.js';
import { ConsoleSessions, COOKIE, cookieValue, SESSION_MS } from '../console/session.js';

const HTML = 'text/html; charset=utf-8';

/** A small urlencoded form reader: the console's forms have one or two short fields. */
function formField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'string') return undefined;
  const v = new URLSearchParams(body).get(name);
  return v ?? undefined;
}

/** What a redirect may ask the page to say: codes, never text from the URL. */
const NOTICES = new Map<string, string>([
  ['released', 'Released: the held change is being applied.'],
  ['not-held', 'That change is no longer held.'],
  ['release-failed', 'Could not release it: FullStory or the store refused; the log says why. It is still held.'],
  ['signed-out', 'Signed out: every console session of that ops token has ended.'],
]);

/** Headers on every console page: never framed (clickjacking), nothing sniffed or leaked, HTTPS kept once used. */
function securityHeaders(req: FastifyRequest, reply: FastifyReply): void {
  reply.header(
    'content-security-policy',
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  reply.header('x-frame-options', 'DENY');
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  if (req.protocol === 'https') reply.header('strict-transport-security', 'max-age=31536000');
}

/**
 * The ops console: server-rendered HTML, no script, refreshing itself. Opened by an ops
 * token (OPS_TOKENS hashes or OPS_TOKEN), as `Authorization: Bearer` for scripts or
 * through the login form, which sets a signed session cookie. IdP tokens do not open it.
 * Wrong tokens count against the same per-address throttle as the SCIM API's, and are audited.
 */
export default async function consoleRoutes(app: FastifyInstance) {
  const { deps } = app;
  const tokens = deps.opsTokens;
  const epochKey = (name: string) => `console.epoch:${name}`;
  const sessions = new ConsoleSessions(() => sha256(`console-session:${tokens.map((t) => `${t.name}:${t.sha256.toString('hex')}`).join(',')}`), {
    get: async (name) => Number((await deps.store.read((r) => r.kv.get(epochKey(name)))) ?? 0),
    bump: (name) => deps.store.transaction(async (tx) => tx.kv.set(epochKey(name), String(Number((await tx.kv.get(epochKey(name))) ?? 0) + 1))),
  });
  const quiet = { logLevel: 'warn' as const };

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', (req, reply, done) => {
    securityHeaders(req, reply);
    done();
  });

  /** A wrong ops token: counted per address (shared by replicas), measured, audited. */
  const failed = async (req: FastifyRequest, how: string): Promise<void> => {
    const address = clientAddress(req);
    deps.metrics.authFailure('console');
    await deps.authThrottle.fail(address).catch(() => undefined);
    deps.audit.refused({
      operation: 'console.login',
      address,
      userAgent: req.headers['user-agent'],
      method: req.method,
      status: 401,
      detail: `wrong ops token (${how})`,
    });
  };
  /** An address past the throttle is told to wait, whatever it sends. */
  const throttled = (req: FastifyRequest, reply: FastifyReply): boolean => {
    const wait = deps.authThrottle.retryAfter(clientAddress(req));
    if (wait === undefined) return false;
    deps.metrics.authFailure('throttled');
    void reply
      .code(429)
      .header('retry-after', String(wait))
      .type(HTML)
      .send(loginPage(`Too many wrong tokens from this address; try again in ${wait} s.`));
    return true;
  };

  /** The operator: a bearer ops token, or a session cookie. */
  const operator = async (req: FastifyRequest): Promise<{ name: string; cookie?: string } | undefined> => {
    const bearer = matchToken(req.headers.authorization, tokens);
    if (bearer) return { name: bearer };
    if (req.headers.authorization) return undefined;
    const cookie = cookieValue(req.headers.cookie, COOKIE);
    const name = await sessions.verify(cookie);
    return name && cookie ? { name, cookie } : undefined;
  };
  const disabled = (reply: FastifyReply) => reply.code(404).type('text/plain').send('The console is off: set OPS_TOKENS (or OPS_TOKEN) to open it.\n');
  const cookieFlags = (req: FastifyRequest) => `Path=/console; HttpOnly; SameSite=Strict${req.protocol === 'https' ? '; Secure' : ''}`;
  const csrfOk = (req: FastifyRequest, who: { cookie?: string }) => !who.cookie || sessions.checkCsrf(who.cookie, formField(req.body, 'csrf'));

  /** The notice a redirect asked for, by code; a release names the hold as the store has it, never as the URL says. */
  const noticeFor = async (code: unknown, holdId: unknown): Promise<string | undefined> => {
    if (code === 'released' && typeof holdId === 'string') {
      const hold = (await deps.store.read((r) => r.guard.holds('released'))).find((h) => h.id === holdId);
      if (hold) return `Released: ${hold.kind} of ${hold.userName ?? hold.userId}.`;
    }
    return NOTICES.get(String(code ?? ''));
  };

  app.get<{ Querystring: Record<string, string | undefined> }>('/console', quiet, async (req, reply) => {
    if (tokens.length === 0) return disabled(reply);
    if (throttled(req, reply)) return reply;
    const who = await operator(req);
    if (!who) {
      if (req.headers.authorization) await failed(req, 'bearer');
      return reply
        .code(req.headers.authorization ? 401 : 200)
        .type(HTML)
        .send(loginPage(req.headers.authorization ? 'That token does not open the console.' : undefined));
    }
    const notice = await noticeFor(req.query.notice, req.query.hold);
    const view = await gather(app, who.name, who.cookie ? sessions.csrf(who.cookie) : '', auditQuery(req.query), notice);
    return reply.type(HTML).header('cache-control', 'no-store').send(consolePage(view));
  });

  app.post('/console/login', quiet, async (req, reply) => {
    if (tokens.length === 0) return disabled(reply);
    if (throttled(req, reply)) return reply;
    const token = formField(req.body, 'token');
    const name = token ? matchToken(`Bearer ${token}`, tokens) : undefined;
    if (!name) {
      await failed(req, 'login form');
      return reply.code(401).type(HTML).send(loginPage('That token does not open the console.'));
    }
    const cookie = await sessions.issue(name);
    return reply.header('set-cookie', `${COOKIE}=${encodeURIComponent(cookie)}; Max-Age=${SESSION_MS / 1000}; ${cookieFlags(req)}`).redirect('/console', 303);
  });

  app.post('/console/logout', quiet, async (req, reply) => {
    const who = await operator(req);
    if (!who) return reply.code(401).type(HTML).send(loginPage('Not signed in.'));
    if (!csrfOk(req, who)) return reply.code(403).type('text/plain').send('Missing or wrong form token (CSRF).\n');
    await sessions.end(who.name);
    deps.audit.console({ actor: `ops:${who.name}`, operation: 'console.logout', detail: 'every console session of this ops token ended' });
    return reply.header('set-cookie', `${COOKIE}=; Max-Age=0; ${cookieFlags(req)}`).redirect('/console?notice=signed-out', 303);
  });

  app.get<{ Params: { id: string } }>('/console/holds/:id/release', quiet, async (req, reply) => {
    if (tokens.length === 0) return disabled(reply);
    if (throttled(req, reply)) return reply;
    const who = await operator(req);
    if (!who) return reply.code(401).type(HTML).send(loginPage('Sign in to release a held change.'));
    const hold = (await deps.store.read((r) => r.guard.holds('held'))).find((h) => h.id === req.params.id);
    if (!hold) return reply.redirect('/console?notice=not-held', 303);
    return reply
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(confirmReleasePage(hold, who.cookie ? sessions.csrf(who.cookie) : ''));
  });

  app.post<{ Params: { id: string } }>('/console/holds/:id/release', quiet, async (req, reply) => {
    if (throttled(req, reply)) return reply;
    const who = await operator(req);
    if (!who) {
      if (req.headers.authorization) await failed(req, 'bearer');
      return reply.code(401).type(HTML).send(loginPage('Sign in to release a held change.'));
    }
    // A cookie session must carry its form token; a bearer script has no cookie to forge.
    if (!csrfOk(req, who)) return reply.code(403).type('text/plain').send('Missing or wrong form token (CSRF).\n');
    const hold = (await deps.store.read((r) => r.guard.holds('held'))).find((h) => h.id === req.params.id);
    if (!hold) return reply.redirect('/console?notice=not-held', 303);
    try {
      await releaseHold({ store: deps.store, users: deps.users, kick: deps.kick, audit: deps.audit }, hold, `ops:${who.name}`);
    } catch (err) {
      req.log.warn({ err, hold: hold.id }, 'release from the console failed');
      return reply.redirect('/console?notice=release-failed', 303);
    }
    return reply.redirect(`/console?notice=released&hold=${encodeURIComponent(hold.id)}`, 303);
  });
}
