import { existsSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, G, GROUP_SCHEMA, IDP_TOKEN, oktaUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

const OPS = 'ops-token-0123456789abcdef';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT = new URL('../../test-results/console/', import.meta.url);

describe('the ops console over HTTP', () => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ config: { ops: { token: OPS }, guard: { maxDeprovisions: 1 } } });
  });
  afterAll(async () => t?.close());
  const get = (headers: Record<string, string> = {}, url = '/console') => t.bridge.app.inject({ method: 'GET', url, headers });
  /** Through the login form, as an operator would: the session cookie. */
  const signIn = async () => {
    const login = await t.bridge.app.inject({
      method: 'POST',
      url: '/console/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${OPS}`,
    });
    return String(login.headers['set-cookie']).split(';')[0]!;
  };

  it('opens with an ops token as Bearer; an IdP token or a wrong one is refused, and the console is never the SCIM API', async () => {
    const page = await get({ authorization: `Bearer ${OPS}` });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toMatch(/id="readiness"><span class="ok">ready/);
    expect(page.body).toMatch(/<meta http-equiv="refresh" content="15">/);
    expect(page.body).not.toMatch(/<script/);
    for (const wrong of [IDP_TOKEN, 'not-a-token-at-all-000']) {
      const res = await get({ authorization: `Bearer ${wrong}` });
      expect(res.statusCode).toBe(401);
      expect(res.body).not.toMatch(/id="readiness"/);
    }
    expect((await t.req('GET', U, undefined, { authorization: `Bearer ${OPS}` })).status).toBe(401);
  });

  it('the login form sets a signed session cookie; a forged or missing form token cannot release a hold', async () => {
    const login = await t.bridge.app.inject({
      method: 'POST',
      url: '/console/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${OPS}`,
    });
    expect(login.statusCode).toBe(303);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect(String(login.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    const page = await get({ cookie });
    expect(page.body).toMatch(/signed in as <b>OPS_TOKEN<\/b>/);
    expect((await get({ cookie: `${cookie.slice(0, -3)}abc` })).body).not.toMatch(/signed in as/);

    const [a, b] = [(await t.req('POST', U, oktaUser('console-a@okta.local'))).body, (await t.req('POST', U, oktaUser('console-b@okta.local'))).body];
    for (const u of [a, b]) await t.req('PATCH', `${U}/${u.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    const hold = (await t.bridge.deps.store.read((r) => r.guard.holds('held')))[0]!;
    expect(hold.userName).toBe('console-b@okta.local');
    expect((await get({ cookie })).body).toContain('console-b@okta.local');
    const forged = await t.bridge.app.inject({
      method: 'POST',
      url: `/console/holds/${hold.id}/release`,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'csrf=forged',
    });
    expect(forged.statusCode).toBe(403);
    expect(t.sandbox.state.users.get(b.id)?.active).toBe(true);
    const csrf = /name="csrf" value="([^"]+)"/.exec((await get({ cookie })).body)![1]!;
    const released = await t.bridge.app.inject({
      method: 'POST',
      url: `/console/holds/${hold.id}/release`,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `csrf=${encodeURIComponent(csrf)}`,
    });
    expect(released.statusCode).toBe(303);
    expect(t.sandbox.state.users.get(b.id)?.active).toBe(false);
    expect((await get({ cookie }, String(released.headers.location))).body).toMatch(/Released: deactivate of console-b@okta\.local/);
  });

  it('a release asks first: its own page says what will happen, and only its button (with the form token) does it', async () => {
    const cookie = await signIn();
    const c = (await t.req('POST', U, oktaUser('console-c@okta.local'))).body;
    await t.req('PATCH', `${U}/${c.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    const hold = (await t.bridge.deps.store.read((r) => r.guard.holds('held'))).find((h) => h.userId === c.id)!;
    const page = (await get({ cookie })).body;
    expect(page).toContain(`href="/console/holds/${hold.id}/release">Release…</a>`);
    const confirm = await get({ cookie }, `/console/holds/${hold.id}/release`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('This will <b>deactivate console-c@okta.local</b> in FullStory now.');
    // Looking at the confirmation changed nothing.
    expect(t.sandbox.state.users.get(c.id)?.active).toBe(true);
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.body)![1]!;
    const done = await t.bridge.app.inject({
      method: 'POST',
      url: `/console/holds/${hold.id}/release`,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `csrf=${encodeURIComponent(csrf)}`,
    });
    expect(done.statusCode).toBe(303);
    expect(t.sandbox.state.users.get(c.id)?.active).toBe(false);
  });

  it('a reject asks first, needs the form token, and records who rejected it and why; the change is never applied', async () => {
    const cookie = await signIn();
    const d = (await t.req('POST', U, oktaUser('console-d@okta.local'))).body;
    await t.req('PATCH', `${U}/${d.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    const hold = (await t.bridge.deps.store.read((r) => r.guard.holds('held'))).find((h) => h.userId === d.id)!;
    expect((await get({ cookie })).body).toContain(`href="/console/holds/${hold.id}/reject">Reject…</a>`);
    const confirm = await get({ cookie }, `/console/holds/${hold.id}/reject`);
    expect(confirm.body).toContain('This will <b>never deactivate console-d@okta.local</b>');
    const post = (payload: string, url = `/console/holds/${hold.id}/reject`) =>
      t.bridge.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      });
    expect((await post('csrf=forged&reason=x')).statusCode).toBe(403);
    expect((await t.bridge.deps.store.read((r) => r.guard.holds('held'))).some((h) => h.id === hold.id)).toBe(true);
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.body)![1]!;
    // An id spelt as a path, encoded, or as an object key reaches no hold (303 not held, or no such route) and decides nothing.
    for (const id of ['..%2F..%2Fconsole', '%2e%2e', '__proto__', encodeURIComponent(hold.id.toUpperCase())]) {
      const r = await post(`csrf=${encodeURIComponent(csrf)}`, `/console/holds/${id}/reject`);
      expect([303, 404]).toContain(r.statusCode);
      if (r.statusCode === 303) expect(r.headers.location).toBe('/console?notice=not-held');
    }
    expect((await t.bridge.deps.store.read((r) => r.guard.holds('held'))).some((h) => h.id === hold.id)).toBe(true);
    const done = await post(`csrf=${encodeURIComponent(csrf)}&reason=${encodeURIComponent('<b>still employed</b>')}`);
    expect([done.statusCode, done.headers.location]).toEqual([303, '/console?notice=rejected']);
    const rejected = (await t.bridge.deps.store.read((r) => r.guard.holds('rejected'))).find((h) => h.id === hold.id);
    expect(rejected).toMatchObject({ decidedBy: 'ops:OPS_TOKEN', decisionNote: '<b>still employed</b>' });
    expect(t.sandbox.state.users.get(d.id)?.active).toBe(true);
    // The console keeps it in view, escaped: who, when, why; and the audit filter finds it.
    const page = (await get({ cookie })).body;
    expect(page).toMatch(
      /<table id="rejected">.*<td>console-d@okta\.local<\/td><td>deactivate<\/td><td>ops:OPS_TOKEN<\/td><td>&lt;b&gt;still employed&lt;\/b&gt;<\/td>/s,
    );
    await t.bridge.deps.audit.flush();
    expect((await get({ cookie }, '/console?outcome=rejected')).body).toMatch(/<td>ops:OPS_TOKEN<\/td><td>guard\.reject<\/td><td>console-d@okta\.local<\/td>/);
    // A second press (another tab) finds nothing held.
    expect((await post(`csrf=${encodeURIComponent(csrf)}`)).headers.location).toBe('/console?notice=not-held');
  });

  it('shows what on-call asks first: the worst state, the version and uptime, the mapping, the guard window, when each IdP token was last used', async () => {
    const page = (await get({ authorization: `Bearer ${OPS}` })).body;
    expect(page).toMatch(/<p id="overall" class="(ok|warn|bad)" role="status">/);
    expect(page).toMatch(/id="version">version \d+\.\d+\.\d+, up \d+ min/);
    expect(page).toMatch(/<tr><th>in no mapped group<\/th><td>standard<\/td><\/tr>/);
    expect(page).toMatch(/id="guard-window"[^>]*>\d+ of 1 deactivations, deletions and demotions used in the last 60 minutes/);
    expect(page).toMatch(/<td>IDP_TOKEN<\/td><td class="">\d{4}-\d\d-\d\dT/);
  });

  it('audit events filter by outcome and time, and page', async () => {
    await t.req('POST', U, oktaUser('dup@okta.local'));
    await t.req('POST', U, oktaUser('dup@okta.local'));
    await t.bridge.deps.audit.flush();
    const failures = (await get({ authorization: `Bearer ${OPS}` }, '/console?outcome=failure&hours=1')).body;
    const table = failures.slice(failures.indexOf('id="audit"'), failures.indexOf('id="audit-pages"'));
    expect(table).toContain('dup@okta.local');
    expect(table).not.toMatch(/<td>success<\/td>/);
    const all = (await get({ authorization: `Bearer ${OPS}` }, '/console?hours=1')).body;
    const total = Number(/(\d+) events; page 1 of/.exec(all)![1]);
    expect(total).toBeGreaterThan(0);
    const beyond = (await get({ authorization: `Bearer ${OPS}` }, `/console?hours=1&page=${Math.ceil(total / 50) + 1}`)).body;
    expect(beyond).toContain('no events');
  });

  it('audit events can be searched by user', async () => {
    await t.req('POST', U, oktaUser('needle@okta.local'));
    await eventually(async () => (await get({ authorization: `Bearer ${OPS}` }, '/console?user=needle')).body.includes('needle@okta.local'), 'the audit row');
    const found = (await get({ authorization: `Bearer ${OPS}` }, '/console?user=needle')).body;
    const table = found.slice(found.indexOf('id="audit"'));
    expect(table).toContain('needle@okta.local');
    expect(table).not.toContain('console-a@okta.local');
  });
});

describe.skipIf(!existsSync(CHROMIUM))(
  `the ops console in headless Chromium (${existsSync(CHROMIUM) ? CHROMIUM : 'skipped: no Chromium at ' + CHROMIUM})`,
  () => {
    let t: TestBridge;
    let base: string;
    beforeAll(async () => {
      // A FullStory that refuses roles on users: the role sync fails, and the console says why.
      t = await startTestBridge({
        sandbox: { roleDelivery: 'role-groups', rolesWhereGroups: 'refuse', groups: 'none' },
        config: { ops: { token: OPS }, roles: { groups: { Admins: 'admin' }, delivery: 'roles-attribute' } },
      });
      base = await t.bridge.app.listen({ port: 0, host: '127.0.0.1' });
    });
    afterAll(async () => t?.close());

    it('renders after a login through the form, shows a failing role sync with its error, refuses a wrong token; a screenshot is kept', async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      try {
        const u = (await t.req('POST', U, oktaUser('fails@okta.local'))).body;
        await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Admins', members: [{ value: u.id }] });
        await eventually(async () => (await t.bridge.deps.store.read((r) => r.roleSync.stats())).failing > 0, 'a failing role change');

        const page = await browser.newPage({ javaScriptEnabled: false });
        await page.goto(`${base}/console`);
        await page.fill('input[name=token]', 'wrong-token-000000000000');
        await page.click('button[type=submit]');
        expect(await page.textContent('[role=alert]')).toMatch(/does not open the console/);

        await page.fill('input[name=token]', OPS);
        await page.click('button[type=submit]');
        await page.waitForSelector('#failing');
        expect(await page.textContent('#readiness')).toMatch(/ready/);
        const failing = await page.textContent('#failing');
        // Named by userName, not by id; and the first line says the worst of it.
        expect(failing).toContain('fails@okta.local');
        expect(failing).not.toContain(u.id);
        expect(await page.textContent('#overall')).toMatch(/role changes? failing|role delivery degraded/);
        expect(await page.getAttribute('#overall', 'class')).toMatch(/warn|bad/);
        expect(await page.textContent('#mapping')).toMatch(/Admins\s*admin/);
        expect(failing).toMatch(/admin/);
        expect(failing).toMatch(/refus|not accepted|roles/i);
        mkdirSync(OUT, { recursive: true });
        await page.screenshot({ path: new URL('console.png', OUT).pathname, fullPage: true });
        expect(existsSync(new URL('console.png', OUT))).toBe(true);
      } finally {
        await browser.close();
      }
    }, 60_000);
  },
);
