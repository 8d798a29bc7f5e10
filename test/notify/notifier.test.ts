import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { startSandbox } from '../../src/sandbox/server.js';
import { databases, dataPlace, eventually, G, GROUP_SCHEMA, IDP_TOKEN, oktaUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

const dbs = await databases();
const ROLES = { groups: { 'FS Admins': 'admin' } };

/** A webhook receiver that answers 500 while `failing`, keeping every notice it took (2xx) and every try. */
async function receiver() {
  const taken: Record<string, unknown>[] = [];
  const tries: string[] = [];
  const state = { failing: false, hanging: false };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      tries.push(body);
      // Never answers: the sender's own timeout ends it.
      if (state.hanging) return;
      if (state.failing) {
        res.writeHead(500).end();
        return;
      }
      taken.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/hooks/T000/B000/SECRETPART`;
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  /** The receiver restarted: down (connections refused) until it listens again on the same port. */
  const reopen = () => new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url, taken, tries, state, close, reopen };
}

describe.each(dbs)('notices for a person on %s', (db) => {
  const open: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  async function setup() {
    const hook = await receiver();
    open.push(hook);
    const sb = await startSandbox({ patch: { rateLimit: null } });
    open.push(sb);
    Object.assign(sb.state.createUser({ userName: 'owner@corp.example' }), { role: 'admin' });
    const { where, remove } = await dataPlace(db);
    open.push({ close: remove });
    const config = { guard: { approveRoles: ['admin'] }, roles: ROLES, notify: { webhookUrl: hook.url, pollSeconds: 0.05 } };
    const start = async () => {
      const t = await startTestBridge({ db, sharedSandbox: sb, ...where, config });
      open.push(t);
      return t;
    };
    return { hook, sb, start, where, config };
  }
  const grantAdmin = async (t: TestBridge, userName: string) => {
    const u = (await t.req('POST', U, oktaUser(userName))).body as { id: string };
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: `FS Admins`, members: [{ value: u.id }] });
    return u;
  };
  const heldNotices = (hook: Awaited<ReturnType<typeof receiver>>) => hook.taken.filter((n) => n.event === 'held');
  const metric = async (t: TestBridge, labels: string) =>
    Number(new RegExp(`^scim_bridge_notifications_total\\{${labels}\\} (\\S+)$`, 'm').exec((await t.bridge.app.inject({ url: '/metrics' })).body)?.[1] ?? 0);

  it('a held grant is told once, with a text Slack and Teams show as is, naming the user and never a token; a failing receiver gets it once it recovers', async () => {
    const { hook, start } = await setup();
    const t = await start();
    hook.state.failing = true;
    await grantAdmin(t, 'ada@okta.local');
    await eventually(() => hook.tries.length >= 2, 'two failed tries');
    expect(hook.taken).toEqual([]);
    expect((await t.bridge.app.inject({ url: '/readyz' })).json().guard).toMatchObject({ noticesPending: 1 });
    hook.state.failing = false;
    await eventually(() => heldNotices(hook).length > 0, 'the notice');
    const [n] = heldNotices(hook);
    expect(n!.text).toMatch(
      /approval needed to make ada@okta\.local admin in FullStory \(asked through IdP token IDP_TOKEN; a grant of the admin role \(through "FS Admins"\).*release /,
    );
    expect(n).toMatchObject({ event: 'held', id: expect.any(String), hold: { kind: 'approval', userName: 'ada@okta.local', role: 'admin' } });
    await t.bridge.core.notifier!.tick();
    expect(heldNotices(hook)).toHaveLength(1);
    for (const body of hook.tries) expect(body).not.toContain(IDP_TOKEN);
    expect(await metric(t, 'event="held",outcome="sent"')).toBe(1);
    expect(await metric(t, 'event="held",outcome="failed"')).toBeGreaterThanOrEqual(2);
    // The failure is logged without the webhook's URL (its path is a secret).
    expect(t.logs()).toMatch(/notification not delivered/);
    expect(t.logs()).not.toContain('SECRETPART');
  });

  it('a receiver that never answers holds no IdP request: provisioning goes on while a notice is in flight', async () => {
    const { hook, sb, start } = await setup();
    const t = await start();
    hook.state.hanging = true;
    await grantAdmin(t, 'hang@okta.local');
    await eventually(() => hook.tries.length === 1, 'the notice in flight');
    for (let i = 0; i < 5; i++) {
      const u = await t.req('POST', U, oktaUser(`meanwhile${i}@okta.local`));
      expect(u.status).toBe(201);
      expect((await t.req('PATCH', `${U}/${u.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] })).status).toBe(
        200,
      );
    }
    expect([...sb.state.users.values()].filter((u) => u.userName.startsWith('meanwhile') && u.active === false)).toHaveLength(5);
    // Still in flight: nothing above waited for it.
    expect(hook.tries).toHaveLength(1);
    expect(hook.taken).toEqual([]);
  });

  it('a receiver restarted mid-way (connections refused meanwhile) gets the notice once when it is back', async () => {
    const { hook, start } = await setup();
    const t = await start();
    await hook.close();
    await grantAdmin(t, 'down@okta.local');
    await eventually(async () => (await metric(t, 'event="held",outcome="failed"')) >= 2, 'tries refused');
    expect(t.logs()).toMatch(/the webhook could not be reached: ECONNREFUSED/);
    await hook.reopen();
    await eventually(() => heldNotices(hook).length === 1, 'the notice once back');
    await t.bridge.core.notifier!.tick();
    expect(heldNotices(hook)).toHaveLength(1);
  });

  it('a notice survives a restart: written while the receiver was down, sent once by the next process', async () => {
    const { hook, start } = await setup();
    const first = await start();
    hook.state.failing = true;
    await grantAdmin(first, 'bo@okta.local');
    await eventually(() => hook.tries.length >= 1, 'a failed try');
    await first.close();
    hook.state.failing = false;
    const second = await start();
    await eventually(() => heldNotices(hook).length === 1, 'the notice after the restart');
    await second.bridge.core.notifier!.tick();
    expect(heldNotices(hook).map((n) => (n.hold as { userName: string }).userName)).toEqual(['bo@okta.local']);
  });

  it('FullStory refusing the bridge, and accepting it again, are each told once', async () => {
    const { hook, sb, start } = await setup();
    const t = await start();
    const token = sb.token;
    sb.rotateToken();
    await t.req('GET', `${U}?count=1`);
    await eventually(() => hook.taken.some((n) => n.event === 'fullstory-refused'), 'the refusal notice', 20_000);
    sb.token = token;
    await eventually(() => hook.taken.some((n) => n.event === 'fullstory-accepted'), 'the recovery notice', 20_000);
    await t.bridge.core.notifier!.tick();
    expect(hook.taken.filter((n) => String(n.event).startsWith('fullstory-')).map((n) => n.event)).toEqual(['fullstory-refused', 'fullstory-accepted']);
    const refused = hook.taken.find((n) => n.event === 'fullstory-refused')!;
    expect(refused.text).toMatch(/FullStory refuses the bridge: .*token/i);
    expect(JSON.stringify(refused)).not.toContain(token);
  });

  if (db === 'postgres') {
    it('two replicas send each notice once: one per hold, one per state change', async () => {
      const { hook, sb, start, where, config } = await setup();
      const a = await start();
      const b = await startTestBridge({ db, sharedSandbox: sb, pgSchema: where.pgSchema!, config });
      open.push(b);
      const first = await grantAdmin(a, 'r1@okta.local');
      const group = (await a.req('GET', `${G}?filter=${encodeURIComponent('displayName eq "FS Admins"')}`)).body.Resources[0].id as string;
      for (const [t, name] of [
        [b, 'r2@okta.local'],
        [a, 'r3@okta.local'],
      ] as const) {
        const u = (await t.req('POST', U, oktaUser(name))).body as { id: string };
        await t.req('PATCH', `${G}/${group}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: u.id }] }] });
      }
      expect(first.id).toBeDefined();
      await eventually(() => heldNotices(hook).length === 3, 'three notices');
      await Promise.all([a.bridge.core.notifier!.tick(), b.bridge.core.notifier!.tick()]);
      expect(new Set(heldNotices(hook).map((n) => n.id)).size).toBe(3);
      expect(heldNotices(hook)).toHaveLength(3);
      sb.rotateToken();
      await Promise.all([a.req('GET', `${U}?count=1`), b.req('GET', `${U}?count=1`)]);
      await eventually(() => a.bridge.core.upstream.readiness.ok === false && b.bridge.core.upstream.readiness.ok === false, 'both replicas to see it');
      await Promise.all([a.bridge.core.notifier!.tick(), b.bridge.core.notifier!.tick()]);
      await eventually(() => hook.taken.some((n) => n.event === 'fullstory-refused'), 'the refusal');
      await Promise.all([a.bridge.core.notifier!.tick(), b.bridge.core.notifier!.tick()]);
      expect(hook.taken.filter((n) => n.event === 'fullstory-refused')).toHaveLength(1);
    });
  }
});

describe('the webhook setting refuses what would send word where it should not go', () => {
  const refused = (env: Record<string, string>) => {
    try {
      loadConfig(env, {});
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('plain http off this machine, credentials in the URL, a host off the allowlist, or no URL at all: refused by name, the URL never repeated', () => {
    const secret = 'XyZsecretPath123';
    for (const url of [`http://hooks.slack.com/services/${secret}`, `https://user:pw@hooks.slack.com/${secret}`, `not a url ${secret}`]) {
      const msg = refused({ NOTIFY_WEBHOOK_URL: url });
      expect(msg).toMatch(/notify\.webhookUrl/);
      expect(msg).not.toContain(secret);
    }
    const off = refused({ NOTIFY_WEBHOOK_URL: `https://evil.example/${secret}`, NOTIFY_ALLOWED_HOSTS: 'hooks.slack.com, outlook.office.com' });
    expect(off).toMatch(/evil\.example is not in NOTIFY_ALLOWED_HOSTS/);
    expect(off).not.toContain(secret);
    expect(loadConfig({ NOTIFY_WEBHOOK_URL: `https://HOOKS.slack.com/${secret}`, NOTIFY_ALLOWED_HOSTS: 'hooks.slack.com' }, {}).notify.webhookUrl).toContain(
      secret,
    );
    expect(loadConfig({ NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9/x' }, {}).notify.webhookUrl).toBe('http://127.0.0.1:9/x');
    expect(loadConfig({}, {}).notify).toEqual({ allowedHosts: [], pollSeconds: 5 });
    // From a secret file (Kubernetes, Docker), trailing newline trimmed; both at once is refused.
    const file = join(mkdtempSync(join(tmpdir(), 'fsb-hook-')), 'url');
    writeFileSync(file, `https://hooks.slack.com/services/${secret}\n`);
    expect(loadConfig({ NOTIFY_WEBHOOK_URL_FILE: file }, {}).notify.webhookUrl).toBe(`https://hooks.slack.com/services/${secret}`);
    expect(refused({ NOTIFY_WEBHOOK_URL_FILE: file, NOTIFY_WEBHOOK_URL: 'https://x.example/' })).toMatch(/both set/);
  });
});

describe('the notifier on its own (an in-memory store, a receiver in the test)', () => {
  it('a hold waiting over a day is told again, once; a state that starts well says nothing; drift appearing is told once', async () => {
    const { Store } = await import('../../src/store/store.js');
    const { Notifier } = await import('../../src/notify/notifier.js');
    const { conditions } = await import('../../src/notify/conditions.js');
    const pino = (await import('pino')).default;
    const store = await Store.open({ dataDir: ':memory:' });
    const sent: Record<string, unknown>[] = [];
    let clock = Date.now();
    let plan: { at: string; creates: number; updates: number; deactivations: number; roleChanges: number; unmanaged: number } | undefined;
    type Verdict = import('../../src/sync/health.js').DeliveryVerdict;
    let delivery: Verdict = { degraded: false };
    const n = new Notifier({
      store,
      webhook: { post: async (b) => void sent.push(JSON.parse(b) as Record<string, unknown>), close: async () => {} },
      conditions: () => conditions({ delivery: () => delivery, fullstory: () => ({ ok: true }), lastPlan: async () => plan }),
      pollMs: 50,
      logger: pino({ level: 'silent' }),
      onOutcome: () => {},
      now: () => clock,
    });
    try {
      await store.transaction((tx) =>
        tx.guard.hold({ userId: 'u1', userName: 'old@x.com', kind: 'deactivate', role: null, tokenName: 'okta', reason: 'the count was reached' }),
      );
      plan = { at: new Date().toISOString(), creates: 0, updates: 0, deactivations: 0, roleChanges: 0, unmanaged: 4 };
      await n.tick();
      expect(sent.map((s) => s.event)).toEqual(['held']);
      clock += 25 * 3_600_000;
      plan = { ...plan, roleChanges: 2 };
      await n.tick();
      await n.tick();
      expect(sent.map((s) => s.event)).toEqual(['held', 'hold-aged', 'drift']);
      expect(sent[1]!.text).toMatch(/waited over a day: deactivate old@x\.com/);
      expect(sent[2]!.text).toMatch(/found drift .*2 role changes/);
      delivery = { degraded: true, reason: 'FullStory ignored the role', since: new Date().toISOString(), failingUsers: 7, deliveredUsers: 1 };
      await n.tick();
      await n.tick();
      delivery = { degraded: false };
      await n.tick();
      expect(sent.slice(3).map((s) => s.event)).toEqual(['delivery-degraded', 'delivery-recovered']);
      expect(sent[3]).toMatchObject({
        failingUsers: 7,
        text: expect.stringMatching(/role delivery to FullStory is degraded .*FullStory ignored the role \(7 users failing/),
      });
    } finally {
      await n.stop();
      await store.close();
    }
  });
});
