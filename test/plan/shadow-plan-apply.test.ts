import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import {
  G,
  GROUP_SCHEMA,
  IDP_TOKEN,
  oktaUser,
  PATCH_OP,
  databases,
  startTestBridge,
  U,
  dataEnv,
  dataPlace,
  type DataPlace,
  type TestBridge,
} from '../helpers/bridge.js';
import { runCli, startCli } from '../helpers/cli.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dbs = await databases();
const ROLES = { groups: { 'FS Admins': 'admin' } };

/** What an admin runs: the CLI with the server's environment. */
function envFor(sb: RunningSandbox, where: DataPlace, mode: 'shadow' | 'live') {
  const dir = mkdtempSync(join(tmpdir(), 'fsb-plan-cfg-'));
  const configFile = join(dir, 'bridge.yaml');
  writeFileSync(configFile, "roles:\n  groups:\n    'FS Admins': admin\n");
  return {
    CONFIG_FILE: configFile,
    FULLSTORY_SCIM_URL: sb.url,
    FULLSTORY_SCIM_TOKEN: sb.token,
    IDP_TOKEN,
    BRIDGE_MODE: mode,
    ...dataEnv(where),
  };
}

async function planJson(env: Record<string, string>) {
  const r = await runCli(['plan', '--format', 'json'], env, 60_000);
  expect([0, 2], r.stderr).toContain(r.code);
  return {
    code: r.code,
    plan: JSON.parse(r.stdout) as {
      creates: number;
      updates: number;
      deactivations: number;
      roleChanges: number;
      unmanaged: number;
      items: { action: string; userName: string }[];
    },
  };
}

describe.each(dbs)('shadow mode, plan and apply on %s', (db) => {
  const open: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  async function shadowBridge() {
    const sb = await startSandbox({ patch: { rateLimit: null } });
    open.push(sb);
    const owner = Object.assign(sb.state.createUser({ userName: 'owner@corp.example' }), { role: 'admin' });
    const veteran = sb.state.createUser({ userName: 'veteran@okta.local' });
    const { where, remove } = await dataPlace(db);
    open.push({ close: remove });
    const t = await startTestBridge({ db, sharedSandbox: sb, ...where, config: { bridge: { mode: 'shadow' }, roles: ROLES } });
    open.push(t);
    return { sb, t, owner, veteran, where };
  }

  /** Okta's first push against the shadow bridge: two new users, the veteran found and deactivated, an admin group. */
  async function firstPush(t: TestBridge) {
    const ada = (await t.req('POST', U, oktaUser('ada@okta.local'))).body;
    const bob = (await t.req('POST', U, oktaUser('bob@okta.local'))).body;
    const dup = await t.req('POST', U, oktaUser('veteran@okta.local'));
    const found = (await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "veteran@okta.local"')}`)).body.Resources[0];
    const off = await t.req('PATCH', `${U}/${found.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    const group = await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: [{ value: ada.id }] });
    return { ada, bob, dup, found, off, group };
  }

  it('a shadow run answers the IdP as live would and writes nothing to FullStory; discovery and /readyz say shadow', async () => {
    const { sb, t, veteran } = await shadowBridge();
    const before = sb.counters.writes();
    const { ada, dup, found, off, group } = await firstPush(t);
    expect([ada.userName, dup.status, found.id, off.status, off.body.active, group.status]).toEqual(['ada@okta.local', 409, veteran.id, 200, false, 201]);
    expect((await t.req('GET', `${U}/${ada.id}`)).body.userName).toBe('ada@okta.local');
    expect((await t.req('GET', U)).body.totalResults).toBeGreaterThanOrEqual(2);
    expect(sb.counters.writes()).toBe(before);
    expect(sb.state.users.get(veteran.id)?.active).toBe(true);
    expect([...sb.state.users.values()].some((u) => u.userName === 'ada@okta.local')).toBe(false);
    const ready = (await t.bridge.app.inject({ method: 'GET', url: '/readyz' })).json();
    expect(ready.mode).toBe('shadow');
    expect(ready.shadow).toMatch(/nothing is written to FullStory/);
    const spc = (await t.req('GET', '/scim/v2/ResourceTypes/User')).body;
    expect(spc.description).toMatch(/SHADOW MODE/);
  });

  it('plan lists what going live changes (unmanaged users left alone); apply does exactly that, then plan exits 0; shadow ids stay valid live', async () => {
    const { sb, t, owner, veteran, where } = await shadowBridge();
    const { ada, bob } = await firstPush(t);
    const env = envFor(sb, where, 'shadow');
    const first = await planJson(env);
    expect(first.code).toBe(2);
    expect({ creates: first.plan.creates, updates: first.plan.updates, deactivations: first.plan.deactivations, roleChanges: first.plan.roleChanges }).toEqual({
      creates: 2,
      updates: 0,
      deactivations: 1,
      roleChanges: 0,
    });
    expect(first.plan.items).toContainEqual(expect.objectContaining({ action: 'unmanaged', userName: 'owner@corp.example' }));
    // The console's drift line reads the last plan's counts from the store.
    expect(JSON.parse((await t.bridge.deps.store.read((r) => r.kv.get('plan.last')))!)).toMatchObject({ creates: 2, deactivations: 1 });
    const text = await runCli(['plan'], env, 60_000);
    expect(text.stdout).toMatch(/2 to create, 0 to update, 1 to deactivate, 0 role changes; 1 unmanaged/);
    expect(text.stdout).toMatch(/deactivate\s+veteran@okta\.local: the IdP deactivated this user/);
    // Each new user's line says the role it will get.
    expect(text.stdout).toMatch(/create\s+ada@okta\.local: .*\(role admin, active\)/);
    expect(text.stdout).toMatch(/create\s+bob@okta\.local: .*\(role standard, active\)/);

    const writes = sb.counters.writes();
    const applied = await runCli(['apply'], env, 60_000);
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    const byName = (n: string) => [...sb.state.users.values()].filter((u) => u.userName === n);
    expect(byName('ada@okta.local')).toHaveLength(1);
    expect(byName('bob@okta.local')).toHaveLength(1);
    expect(sb.state.users.get(veteran.id)?.active).toBe(false);
    expect(sb.state.users.get(owner.id)?.active).toBe(true);
    expect(sb.roles().get('ada@okta.local')).toBe('admin');
    // Two creates, one deactivation, and the role: nothing else was written.
    expect(sb.counters.writes() - writes).toBeLessThanOrEqual(4);
    expect((await planJson(env)).code).toBe(0);

    // Live after shadow: the ids the IdP was given still name its users.
    await t.close();
    open.pop();
    const live = await startTestBridge({ db, sharedSandbox: sb, ...where, config: { roles: ROLES } });
    open.push(live);
    expect((await live.req('GET', `${U}/${bob.id}`)).body.userName).toBe('bob@okta.local');
    const renamed = await live.req('PATCH', `${U}/${bob.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Bob B' }] });
    expect(renamed.status).toBe(200);
    expect(byName('bob@okta.local')[0]?.displayName).toBe('Bob B');
    expect(renamed.body.id).toBe(bob.id);
    expect(ada.id).not.toBe(byName('ada@okta.local')[0]?.id);
  }, 120_000);

  it('going live after shadow applies nothing by itself and says a plan is pending; reads of pending users answer from the index', async () => {
    const { sb, t, where } = await shadowBridge();
    const { ada } = await firstPush(t);
    await t.close();
    open.pop();
    const writes = sb.counters.writes();
    const live = await startTestBridge({ db, sharedSandbox: sb, ...where, config: { roles: ROLES } });
    open.push(live);
    // The worker has looked at everything there is to do, and did nothing.
    await live.bridge.core.worker.idle();
    expect(sb.counters.writes()).toBe(writes);
    expect(live.logs()).toMatch(/a plan is pending/);
    expect((await live.bridge.app.inject({ method: 'GET', url: '/readyz' })).json().planPending).toMatch(/run fullstory-scim-bridge plan/);
    expect((await live.req('GET', `${U}/${ada.id}`)).body.userName).toBe('ada@okta.local');
    const change = await live.req('PATCH', `${U}/${ada.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'A' }] });
    expect([change.status, change.body.detail]).toEqual([503, expect.stringMatching(/a plan is pending/)]);
  });

  it('an apply killed halfway, run again, finishes without creating anyone twice', async () => {
    const { sb, t, where } = await shadowBridge();
    for (let i = 0; i < 12; i++) await t.req('POST', U, oktaUser(`batch${i}@okta.local`));
    const env = { ...envFor(sb, where, 'shadow'), FULLSTORY_RATE_PER_SECOND: '4', FULLSTORY_RATE_BURST: '2' };
    const run = startCli(['apply'], env, /\d+\/\d+ create/, 60_000);
    run.started.catch(() => {});
    await run.started;
    run.child.kill('SIGKILL');
    await new Promise((r) => run.child.once('close', r));
    const made = [...sb.state.users.values()].filter((u) => u.userName.startsWith('batch')).length;
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThan(12);
    const again = await runCli(['apply'], { ...env, FULLSTORY_RATE_PER_SECOND: '1000', FULLSTORY_RATE_BURST: '100' }, 60_000);
    expect(again.code, again.stderr).toBe(0);
    const names = [...sb.state.users.values()].filter((u) => u.userName.startsWith('batch')).map((u) => u.userName);
    expect(names.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `batch${i}@okta.local`).sort());
    expect((await planJson(env)).code).toBe(0);
  }, 120_000);

  it('drift in live mode: a role and a status changed in FullStory show in plan with both values, and apply repairs them', async () => {
    const sb = await startSandbox({ patch: { rateLimit: null } });
    open.push(sb);
    Object.assign(sb.state.createUser({ userName: 'owner@corp.example' }), { role: 'admin' });
    const { where, remove } = await dataPlace(db);
    open.push({ close: remove });
    const t = await startTestBridge({ db, sharedSandbox: sb, ...where, config: { roles: ROLES } });
    open.push(t);
    const ada = (await t.req('POST', U, oktaUser('ada@okta.local'))).body;
    const cy = (await t.req('POST', U, oktaUser('cy@okta.local'))).body;
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: [{ value: ada.id }] });
    for (let i = 0; i < 100 && sb.roles().get('ada@okta.local') !== 'admin'; i++) await new Promise((r) => setTimeout(r, 50));
    const env = envFor(sb, where, 'live');
    expect((await planJson(env)).code).toBe(0);
    sb.state.users.get(ada.id)!.role = 'guest';
    sb.state.users.get(cy.id)!.active = false;
    const drift = await planJson(env);
    expect(drift.code).toBe(2);
    expect(drift.plan.items).toContainEqual(
      expect.objectContaining({ action: 'roleChange', userName: 'ada@okta.local', actual: { role: 'guest' }, desired: { role: 'admin' } }),
    );
    expect(drift.plan.items).toContainEqual(
      expect.objectContaining({ action: 'update', userName: 'cy@okta.local', actual: { active: false }, desired: { active: true } }),
    );
    expect((await runCli(['apply'], env, 60_000)).code).toBe(0);
    expect(sb.roles().get('ada@okta.local')).toBe('admin');
    expect(sb.state.users.get(cy.id)?.active).toBe(true);
    expect((await planJson(env)).code).toBe(0);
  }, 120_000);
});
