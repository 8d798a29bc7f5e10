import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import { databases, dataEnv, dataPlace, G, GROUP_SCHEMA, IDP_TOKEN, oktaUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';
import { runCli } from '../helpers/cli.js';
import { releaseHold } from '../../src/provisioning/release.js';

const dbs = await databases();
const ROLES = { groups: { 'FS Admins': 'admin', Engineering: 'architect' } };

describe.each(dbs)('approvals and rejections on %s', (db) => {
  const open: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  /** A bridge with admin grants needing approval, over a FullStory whose owner is an admin the IdP never managed. */
  async function approving(guard: Record<string, unknown> = {}) {
    const sb = await startSandbox({ patch: { rateLimit: null } });
    open.push(sb);
    Object.assign(sb.state.createUser({ userName: 'owner@corp.example' }), { role: 'admin' });
    const { where, remove } = await dataPlace(db);
    open.push({ close: remove });
    const config = { guard: { approveRoles: ['admin'], ...guard }, roles: ROLES };
    const t = await startTestBridge({ db, sharedSandbox: sb, ...where, config });
    open.push(t);
    const cfg = join(mkdtempSync(join(tmpdir(), 'fsb-approve-cfg-')), 'bridge.yaml');
    writeFileSync(cfg, "roles:\n  groups:\n    'FS Admins': admin\n    Engineering: architect\n");
    const env = { CONFIG_FILE: cfg, FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: sb.token, IDP_TOKEN, ...dataEnv(where) };
    return { sb, t, env, where, config };
  }
  const user = async (t: TestBridge, name: string) => (await t.req('POST', U, oktaUser(name))).body as { id: string; userName: string };
  const admins = (t: TestBridge, members: { id: string }[]) =>
    t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: members.map((u) => ({ value: u.id })) });
  const membership = (t: TestBridge, groupId: string, op: 'add' | 'remove', u: { id: string }) =>
    t.req('PATCH', `${G}/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op, path: 'members', value: [{ value: u.id }] }] });
  const holds = (t: TestBridge, status: 'held' | 'rejected' | 'released' | 'withdrawn' = 'held') => t.bridge.deps.store.read((r) => r.guard.holds(status));
  const roleIn = (sb: RunningSandbox, userName: string) => sb.roles().get(userName);

  it('a grant of admin keeps its membership but waits: nothing reaches FullStory until release, and apply does not go round it', async () => {
    const { sb, t, env } = await approving();
    const ada = await user(t, 'ada@okta.local');
    const res = await admins(t, [ada]);
    expect(res.status).toBe(201);
    expect(res.body.members).toEqual([expect.objectContaining({ value: ada.id })]);
    await t.bridge.core.worker.idle();
    expect(roleIn(sb, ada.userName)).not.toBe('admin');
    const [hold] = await holds(t);
    expect(hold).toMatchObject({ kind: 'approval', role: 'admin', userName: ada.userName, tokenName: 'IDP_TOKEN', status: 'held' });
    expect(hold!.reason).toBe('a grant of the admin role (through "FS Admins") waits for an operator\'s approval (GUARD_APPROVE_ROLES)');
    // The SRE's view says a grant waits, and how to decide it.
    const ready = (await t.bridge.app.inject({ url: '/readyz' })).json();
    expect(ready.guard).toMatchObject({ held: 1, awaitingApproval: 1, release: expect.stringMatching(/reject ID/) });

    const listed = await runCli(['holds'], env);
    expect(listed.stdout).toMatch(new RegExp(`${hold!.id}.*approval.*ada@okta\\.local -> admin`));
    // plan shows the drift with the hold; apply and reconcile leave it to the operator.
    const plan = await runCli(['plan', '--format', 'json'], env, 60_000);
    const item = (JSON.parse(plan.stdout) as { items: { userName: string; action: string; hold?: { id: string } }[] }).items.find(
      (i) => i.userName === ada.userName && i.action === 'roleChange',
    );
    expect(item?.hold?.id).toBe(hold!.id);
    const apply = await runCli(['apply'], env, 60_000);
    expect(apply.stdout).toMatch(/kept ada@okta\.local \(roleChange\): held for an operator/);
    expect((await runCli(['reconcile'], env, 60_000)).stdout).toMatch(/left alone/);
    await t.bridge.core.worker.idle();
    expect(roleIn(sb, ada.userName)).not.toBe('admin');

    const released = await runCli(['release', hold!.id], env, 60_000);
    expect([released.code, released.stdout]).toEqual([0, expect.stringMatching(/released .*approval ada@okta\.local to admin, done in FullStory/)]);
    expect(roleIn(sb, ada.userName)).toBe('admin');
    expect((await holds(t, 'released'))[0]).toMatchObject({ id: hold!.id, decidedBy: 'cli:release' });
  });

  it('a rejected grant is never applied, is on the record with who and why, and the IdP re-pushing it changes nothing', async () => {
    const { sb, t, env } = await approving();
    const bob = await user(t, 'bob@okta.local');
    const g = (await admins(t, [bob])).body;
    const [hold] = await holds(t);
    const rejected = await runCli(['reject', hold!.id, '--reason', 'not on the admin list'], env);
    expect([rejected.code, rejected.stdout]).toEqual([0, expect.stringMatching(/rejected .*approval bob@okta\.local -> admin will not be applied/)]);
    expect((await holds(t, 'rejected'))[0]).toMatchObject({ id: hold!.id, decidedBy: 'cli:reject', decisionNote: 'not on the admin list' });
    const audit = await runCli(['audit', '--since', '1h'], env);
    expect(audit.stdout).toMatch(/guard\.reject.*rejected.*not on the admin list|not on the admin list.*guard\.reject/);

    // The IdP pushes the group again, whole and as a PATCH: still 2xx, still no admin, no second hold.
    expect((await t.req('PUT', `${G}/${g.id}`, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: [{ value: bob.id }] })).status).toBe(200);
    expect((await membership(t, g.id, 'add', bob)).status).toBe(200);
    await t.bridge.core.worker.idle();
    expect(roleIn(sb, bob.userName)).not.toBe('admin');
    expect(await holds(t)).toEqual([]);
    const plan = await runCli(['plan'], env, 60_000);
    expect(plan.stdout).toMatch(/bob@okta\.local.*rejected by cli:reject \(not on the admin list\)/);
    // The access review says why the drift stands, for the auditor.
    const review = await runCli(['access-review', '--format', 'jsonl'], env, 60_000);
    const row = review.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r.userName === bob.userName);
    expect(row).toMatchObject({
      mappedRole: 'admin',
      drift: true,
      decision: expect.stringMatching(/^approval to admin rejected by cli:reject at .*: not on the admin list$/),
    });

    // The IdP moves on (out of the group), then back: a new decision, held again.
    expect((await membership(t, g.id, 'remove', bob)).status).toBe(200);
    expect((await holds(t, 'withdrawn'))[0]).toMatchObject({ id: hold!.id, decidedBy: 'cli:reject' });
    expect((await membership(t, g.id, 'add', bob)).status).toBe(200);
    const again = await holds(t);
    expect(again.map((h) => [h.kind, h.userName])).toEqual([['approval', bob.userName]]);
    expect(again[0]!.id).not.toBe(hold!.id);
  });

  it('a rejected deactivation answers the IdP retry 409 (a final answer, not a 503 retried for ever) until the IdP changes the user', async () => {
    const { sb, t, env } = await approving({ maxDeprovisions: 1 });
    const [a, b] = [await user(t, 'dee@okta.local'), await user(t, 'eve@okta.local')];
    const deactivate = (id: string) => t.req('PATCH', `${U}/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    expect((await deactivate(a.id)).status).toBe(200);
    expect((await deactivate(b.id)).status).toBe(503);
    const [hold] = await holds(t);
    expect((await runCli(['reject', '--all', '--reason', 'eve is on leave, not gone'], env)).code).toBe(0);
    const retry = await deactivate(b.id);
    expect([retry.status, retry.body.detail]).toEqual([
      409,
      expect.stringMatching(new RegExp(`rejected this deactivation \\(hold ${hold!.id}, by cli:reject: eve is on leave`)),
    ]);
    expect(retry.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect(sb.state.users.get(b.id)?.active).toBe(true);
    // A release pressed on a page listed before the rejection applies nothing.
    const c = t.bridge.core;
    await expect(releaseHold({ store: c.store, users: c.users, kick: () => {}, audit: c.audit }, hold!, 'ops:late')).rejects.toThrow(/no longer held/);
    expect(sb.state.users.get(b.id)?.active).toBe(true);
    // The IdP changed the user since: the next deactivation is a new decision (the guard's count decides it).
    expect((await t.req('PATCH', `${U}/${b.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Eve E.' }] })).status).toBe(
      200,
    );
    expect((await deactivate(b.id)).status).toBe(503);
  });

  it('a group renamed into the admin mapping, and a mapping changed at start, make their grants wait too', async () => {
    const { sb, t, where, config } = await approving();
    const [gus, hal] = [await user(t, 'gus@okta.local'), await user(t, 'hal@okta.local')];
    const g = (await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Platform', members: [{ value: gus.id }] })).body;
    const renamed = await t.req('PATCH', `${G}/${g.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'fs admins' }] });
    expect(renamed.status).toBe(200);
    expect((await holds(t)).map((h) => [h.userName, h.kind, h.role])).toEqual([[gus.userName, 'approval', 'admin']]);
    // A group no mapping knows yet; then the bridge restarts with it mapped to admin.
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'SRE', members: [{ value: hal.id }] });
    await t.close();
    const mapped = { ...config, roles: { groups: { ...ROLES.groups, SRE: 'admin' } } };
    const again = await startTestBridge({ db, sharedSandbox: sb, ...where, config: mapped });
    open.push(again);
    await again.bridge.core.worker.idle();
    expect((await holds(again)).map((h) => [h.userName, h.kind, h.role]).sort()).toEqual([
      [gus.userName, 'approval', 'admin'],
      [hal.userName, 'approval', 'admin'],
    ]);
    expect([roleIn(sb, gus.userName), roleIn(sb, hal.userName)]).not.toContain('admin');
    // The hold made at start is on the record like any other.
    await again.bridge.core.audit.flush();
    const rows = await again.bridge.core.store.read((r) => r.audit.since('2000-01-01T00:00:00.000Z'));
    expect(rows.filter((a) => a.operation === 'guard.hold.approval').map((a) => a.subject)).toContain(hal.userName);
  });

  it('GUARD_APPROVE_ROLES empty turns approvals off: the grant goes straight through', async () => {
    const { sb, t } = await approving({ approveRoles: [] });
    const cy = await user(t, 'cy@okta.local');
    await admins(t, [cy]);
    await t.bridge.core.worker.idle();
    expect(roleIn(sb, cy.userName)).toBe('admin');
    expect(await holds(t)).toEqual([]);
  });

  it('a grant of a role not listed is not held', async () => {
    const { sb, t } = await approving();
    const di = await user(t, 'di@okta.local');
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: [{ value: di.id }] });
    await t.bridge.core.worker.idle();
    expect(roleIn(sb, di.userName)).toBe('architect');
    expect(await holds(t)).toEqual([]);
  });

  if (db === 'postgres') {
    it('two replicas share approvals: the other replica sees the hold, its re-push makes no second one, its release applies it once', async () => {
      const { sb, t, where, config } = await approving();
      const other = await startTestBridge({ db, sharedSandbox: sb, pgSchema: where.pgSchema!, config });
      open.push(other);
      const fay = await user(t, 'fay@okta.local');
      const g = (await admins(t, [fay])).body;
      expect((await membership(other, g.id, 'add', fay)).status).toBe(200);
      const seen = await holds(other);
      expect(seen.map((h) => h.userName)).toEqual([fay.userName]);
      const c = other.bridge.core;
      await releaseHold({ store: c.store, users: c.users, kick: () => c.worker.kick(), audit: c.audit }, seen[0]!, 'ops:test');
      await expect(
        releaseHold({ store: t.bridge.core.store, users: t.bridge.core.users, kick: () => {}, audit: t.bridge.core.audit }, seen[0]!, 'ops:late'),
      ).rejects.toThrow(/no longer held/);
      await c.worker.idle();
      expect(roleIn(sb, fay.userName)).toBe('admin');
    });
  }
});
