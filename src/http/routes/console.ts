import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AlreadyDecided, rejectHold, releaseHold } from '../../provisioning/release.js';
import type { HoldRow } from '../../store/store.js';
import { ConsoleGate, formField, HTML, securityHeaders, type Operator } from '../console/gate.js';
import { confirmDecisionPage, consolePage, loginPage } from '../console/page.js';
import { COOKIE, SESSION_MS } from '../console/session.js';
import { auditQuery, gather } from '../console/view.js';
import { PassThrough } from 'node:stream';
import { reviewHeader, reviewRows } from '../../plan/access-review.js';
import { writeReview } from '../../plan/access-review-format.js';

/** What a redirect may ask the page to say: codes, never text from the URL. */
const NOTICES = new Map<string, string>([
  ['released', 'Released: the held change is being applied.'],
  ['not-held', 'That change is no longer held.'],
  ['release-failed', 'Could not release it: FullStory or the store refused; the log says why. It is still held.'],
  ['rejected', 'Rejected: the held change will not be applied.'],
  ['reject-failed', 'Could not reject it: the store refused; the log says why. It is still held.'],
  ['signed-out', 'Signed out: every console session of that ops token has ended.'],
]);

const quiet = { logLevel: 'warn' as const };
const disabled = (reply: FastifyReply) => reply.code(404).type('text/plain').send('The console is off: set OPS_TOKENS (or OPS_TOKEN) to open it.\n');
const refusedCsrf = (reply: FastifyReply) => reply.code(403).type('text/plain').send('Missing or wrong form token (CSRF).\n');

/**
 * The ops console: server-rendered HTML, no script, refreshing itself. Opened by an ops
 * token (OPS_TOKENS hashes or OPS_TOKEN), as `Authorization: Bearer` for scripts or
 * through the login form, which sets a signed session cookie. IdP tokens do not open it.
 * Who may come in, and what a wrong guess costs, is the gate's (console/gate.ts).
 */
export default async function consoleRoutes(app: FastifyInstance) {
  const gate = new ConsoleGate(app.deps);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', (req, reply, done) => {
    securityHeaders(req, reply);
    done();
  });

  /** The operator, or the answer already sent: disabled, throttled, or the login page (a wrong bearer counted). */
  const signedIn = async (req: FastifyRequest, reply: FastifyReply, prompt?: string): Promise<Operator | undefined> => {
    if (!gate.open) return void disabled(reply);
    if (gate.throttled(req, reply)) return undefined;
    const who = await gate.operator(req);
    if (who) return who;
    if (req.headers.authorization) await gate.failed(req, 'bearer');
    const status = req.headers.authorization || prompt ? 401 : 200;
    void reply
      .code(status)
      .type(HTML)
      .send(loginPage(req.headers.authorization ? 'That token does not open the console.' : prompt));
    return undefined;
  };

  app.get<{ Querystring: Record<string, string | undefined> }>('/console', quiet, async (req, reply) => {
    const who = await signedIn(req, reply);
    if (!who) return reply;
    const notice = await noticeFor(app, req.query.notice, req.query.hold);
    const view = await gather(app, who.name, gate.csrfFor(who), auditQuery(req.query), notice);
    return reply.type(HTML).header('cache-control', 'no-store').send(consolePage(view));
  });

  app.post('/console/login', quiet, async (req, reply) => {
    if (!gate.open) return disabled(reply);
    if (gate.throttled(req, reply)) return reply;
    const name = gate.login(formField(req.body, 'token'));
    if (!name) {
      await gate.failed(req, 'login form');
      return reply.code(401).type(HTML).send(loginPage('That token does not open the console.'));
    }
    const cookie = await gate.sessions.issue(name);
    return reply
      .header('set-cookie', `${COOKIE}=${encodeURIComponent(cookie)}; Max-Age=${SESSION_MS / 1000}; ${gate.cookieFlags(req)}`)
      .redirect('/console', 303);
  });

  app.post('/console/logout', quiet, async (req, reply) => {
    const who = await gate.operator(req);
    if (!who) return reply.code(401).type(HTML).send(loginPage('Not signed in.'));
    if (!gate.csrfOk(req, who)) return refusedCsrf(reply);
    await gate.sessions.end(who.name);
    app.deps.audit.console({ actor: `ops:${who.name}`, operation: 'console.logout', detail: 'every console session of this ops token ended' });
    return reply.header('set-cookie', `${COOKIE}=; Max-Age=0; ${gate.cookieFlags(req)}`).redirect('/console?notice=signed-out', 303);
  });

  releaseRoutes(app, gate, signedIn);
  reviewRoutes(app, signedIn);
}

/** The notice a redirect asked for, by code; a release names the hold as the store has it, never as the URL says. */
async function noticeFor(app: FastifyInstance, code: unknown, holdId: unknown): Promise<string | undefined> {
  if (code === 'released' && typeof holdId === 'string') {
    const hold = (await app.deps.store.read((r) => r.guard.holds('released'))).find((h) => h.id === holdId);
    if (hold) return `Released: ${hold.kind} of ${hold.userName ?? hold.userId}.`;
  }
  return NOTICES.get(String(code ?? ''));
}

type SignedIn = (req: FastifyRequest, reply: FastifyReply, prompt?: string) => Promise<Operator | undefined>;

/** Releasing or rejecting a held change: the GET asks first (a page saying what will happen), the POST does it. */
function releaseRoutes(app: FastifyInstance, gate: ConsoleGate, signedIn: SignedIn): void {
  const heldNow = async (id: string): Promise<HoldRow | undefined> => (await app.deps.store.read((r) => r.guard.holds('held'))).find((h) => h.id === id);
  for (const decision of ['release', 'reject'] as const) {
    const prompt = `Sign in to ${decision} a held change.`;
    app.get<{ Params: { id: string } }>(`/console/holds/:id/${decision}`, quiet, async (req, reply) => {
      const who = await signedIn(req, reply, prompt);
      if (!who) return reply;
      const hold = await heldNow(req.params.id);
      if (!hold) return reply.redirect('/console?notice=not-held', 303);
      return reply
        .type(HTML)
        .header('cache-control', 'no-store')
        .send(confirmDecisionPage(hold, gate.csrfFor(who), decision));
    });
    app.post<{ Params: { id: string } }>(`/console/holds/:id/${decision}`, quiet, async (req, reply) => {
      const who = await signedIn(req, reply, prompt);
      if (!who) return reply;
      if (!gate.csrfOk(req, who)) return refusedCsrf(reply);
      const hold = await heldNow(req.params.id);
      if (!hold) return reply.redirect('/console?notice=not-held', 303);
      return decision === 'release' ? release(app, req, reply, hold, who) : reject(app, req, reply, hold, who);
    });
  }
}

async function release(app: FastifyInstance, req: FastifyRequest, reply: FastifyReply, hold: HoldRow, who: Operator) {
  const { deps } = app;
  try {
    await releaseHold({ store: deps.store, users: deps.users, kick: deps.kick, audit: deps.audit }, hold, `ops:${who.name}`);
  } catch (err) {
    req.log.warn({ err, hold: hold.id }, 'release from the console failed');
    return reply.redirect('/console?notice=release-failed', 303);
  }
  return reply.redirect(`/console?notice=released&hold=${encodeURIComponent(hold.id)}`, 303);
}

async function reject(app: FastifyInstance, req: FastifyRequest, reply: FastifyReply, hold: HoldRow, who: Operator) {
  const reason = formField(req.body, 'reason')?.trim().slice(0, 500) || null;
  try {
    await rejectHold({ store: app.deps.store, audit: app.deps.audit }, hold, `ops:${who.name}`, reason);
  } catch (err) {
    if (err instanceof AlreadyDecided) return reply.redirect('/console?notice=not-held', 303);
    req.log.warn({ err, hold: hold.id }, 'reject from the console failed');
    return reply.redirect('/console?notice=reject-failed', 303);
  }
  return reply.redirect('/console?notice=rejected', 303);
}

/**
 * The access review in the console: the same table as `access-review`, as a printable page
 * or a CSV download, streamed while FullStory is read (the page has no refresh).
 */
function reviewRoutes(app: FastifyInstance, signedIn: SignedIn): void {
  const stream = async (req: FastifyRequest, reply: FastifyReply, format: 'html' | 'csv') => {
    const who = await signedIn(req, reply, 'Sign in to take an access review.');
    if (!who) return reply;
    const src = app.deps.review();
    const body = new PassThrough();
    writeReview(reviewRows(src), reviewHeader(src), format, body).then(
      () => body.end(),
      (err: unknown) => {
        req.log.warn({ err }, 'access review failed');
        body.destroy(err as Error);
      },
    );
    app.deps.audit.console({ actor: `ops:${who.name}`, operation: 'console.access-review', detail: `access review taken (${format})` });
    const named =
      format === 'csv' ? { 'content-disposition': `attachment; filename="fullstory-access-review-${new Date().toISOString().slice(0, 10)}.csv"` } : {};
    return reply
      .type(format === 'csv' ? 'text/csv; charset=utf-8' : HTML)
      .header('cache-control', 'no-store')
      .headers(named)
      .send(body);
  };
  app.get('/console/access-review', quiet, (req, reply) => stream(req, reply, 'html'));
  app.get('/console/access-review.csv', quiet, (req, reply) => stream(req, reply, 'csv'));
}
