import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases, startTestBridge, type TestBridge } from '../helpers/bridge.js';

const OPS = 'ops-token-for-the-console-security-tests';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const dbs = await databases();

// On PostgreSQL the throttle's count and the session epoch are the ones replicas share.
describe.each(dbs)('the console is at least as hard to guess into as the SCIM API, on %s', (db) => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ db, config: { ops: { token: OPS }, idp: { authFailureLimit: 3 } } });
  });
  afterAll(async () => t?.close());

  const inject = (o: { method?: 'GET' | 'POST'; url?: string; from?: string; headers?: Record<string, string>; payload?: string }) =>
    t.bridge.app.inject({
      method: o.method ?? 'GET',
      url: o.url ?? '/console',
      remoteAddress: o.from ?? '127.0.2.1',
      headers: o.headers ?? {},
      ...(o.payload !== undefined ? { payload: o.payload } : {}),
    });
  const login = (from: string, token = OPS) =>
    inject({ method: 'POST', url: '/console/login', from, headers: FORM, payload: `token=${encodeURIComponent(token)}` });
  const signIn = async (from: string) => {
    const res = await login(from);
    expect(res.statusCode).toBe(303);
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    const page = (await inject({ from, headers: { cookie } })).body;
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    return { cookie, csrf };
  };

  it('wrong tokens at the login form count against the per-address throttle: past the limit even the right token waits (429), and each failure is audited', async () => {
    for (let i = 0; i < 3; i++) expect((await login('127.0.2.10', `guess-${i}`)).statusCode).toBe(401);
    const right = await login('127.0.2.10');
    expect(right.statusCode).toBe(429);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    expect(right.headers['set-cookie']).toBeUndefined();
    // Another address is not held.
    expect((await login('127.0.2.11')).statusCode).toBe(303);
    await t.bridge.deps.audit.flush();
    const rows = await t.sql<{ operation: string; subject: string; outcome: string }>(
      "select operation, subject, outcome from audit where operation = 'console.login'",
    );
    expect(rows.filter((r) => r.subject === '127.0.2.10' && r.outcome === 'refused')).toHaveLength(3);
  });

  it('wrong bearer tokens on GET /console count against the same throttle', async () => {
    for (let i = 0; i < 3; i++) expect((await inject({ from: '127.0.2.20', headers: { authorization: `Bearer guess-${i}` } })).statusCode).toBe(401);
    expect((await inject({ from: '127.0.2.20', headers: { authorization: `Bearer ${OPS}` } })).statusCode).toBe(429);
  });

  it('sign-out is CSRF-checked and ends the session on the server: the old cookie opens nothing afterwards', async () => {
    const { cookie, csrf } = await signIn('127.0.2.30');
    const forged = await inject({ method: 'POST', url: '/console/logout', from: '127.0.2.30', headers: { cookie, ...FORM }, payload: 'csrf=forged' });
    expect(forged.statusCode).toBe(403);
    expect((await inject({ from: '127.0.2.30', headers: { cookie } })).body).toContain('signed in as');
    const out = await inject({
      method: 'POST',
      url: '/console/logout',
      from: '127.0.2.30',
      headers: { cookie, ...FORM },
      payload: `csrf=${encodeURIComponent(csrf)}`,
    });
    expect(out.statusCode).toBe(303);
    // A client that kept the cookie (or a thief who copied it) is signed out too.
    const after = await inject({ from: '127.0.2.30', headers: { cookie } });
    expect(after.body).not.toContain('signed in as');
    expect(after.body).toContain('name="token"');
  });

  it.each([
    ['the login page', {}],
    ['a refused bearer', { authorization: 'Bearer nope' }],
  ])('%s is never framed and says so in CSP and X-Frame-Options', async (_name, headers) => {
    const res = await inject({ from: '127.0.2.40', headers });
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    // Plain HTTP here: HSTS only where TLS is on.
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('a signed-in page shows no words chosen by whoever wrote the link', async () => {
    const { cookie } = await signIn('127.0.2.50');
    const page = (
      await inject({ url: `/console?notice=${encodeURIComponent('Urgent: paste your ops token at evil.example')}`, from: '127.0.2.50', headers: { cookie } })
    ).body;
    expect(page).not.toContain('evil.example');
    const known = (await inject({ url: '/console?notice=not-held', from: '127.0.2.50', headers: { cookie } })).body;
    expect(known).toContain('That change is no longer held.');
    const forgedHold = (await inject({ url: '/console?notice=released&hold=%3Cb%3Eevil', from: '127.0.2.50', headers: { cookie } })).body;
    expect(forgedHold).not.toContain('evil');
  });
});
