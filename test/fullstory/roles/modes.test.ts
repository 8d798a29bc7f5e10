import { afterEach, describe, expect, it } from 'vitest';
import { makePlan } from '../../../src/plan/plan.js';
import { databases, eventually, G, GROUP_SCHEMA, oktaUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../../helpers/bridge.js';

const dbs = await databases();

const ROLE_MAP = { 'FS Admins': 'admin', Engineering: 'architect', Analysts: 'explorer' };

let t: TestBridge | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const drained = (b: TestBridge) => eventually(async () => (await b.bridge.deps.store.read((r) => r.roleSync.stats())).backlog === 0, 'role sync to drain');

async function users(b: TestBridge, ...names: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const n of names) ids.push((await b.req('POST', U, oktaUser(n))).body.id);
  return ids;
}

/** Role writes FullStory received: user writes carrying `roles`, and every group write. */
const roleWritesSeen = (b: TestBridge) =>
  b.sandbox.counters.count({ method: 'PATCH', route: '/Users/:id' }) +
  b.sandbox.counters.count({ method: 'POST', route: '/Groups' }) +
  b.sandbox.counters.count({ method: 'PUT', route: '/Groups/:id' });

describe.each(dbs)('roles through SSO (roles.delivery sso), on %s', (db) => {
  it('no role reaches FullStory through SCIM; each change is on the record as due at the next sign-in; plan lists the role each user should get', async () => {
    const OPS = 'ops-token-for-the-sso-test-0123456789';
    t = await startTestBridge({ db, sandbox: { roleDelivery: 'sso' }, config: { roles: { delivery: 'sso', groups: ROLE_MAP }, ops: { token: OPS } } });
    const [ada, bob] = await users(t, 'ada@sso.test', 'bob@sso.test');
    const before = roleWritesSeen(t);
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: [{ value: ada }] });
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Analysts', members: [{ value: bob }] });
    await drained(t);
    expect(roleWritesSeen(t)).toBe(before);
    expect(t.sandbox.counters.count({ method: 'PUT', route: '/Users/:id' })).toBe(0);
    // FullStory's role is what SSO gives: unchanged until the user signs in with the IdP's attribute.
    expect(t.sandbox.roles().get('ada@sso.test')).toBe('standard');
    t.sandbox.state.signIn('ada@sso.test', 'admin');
    expect(t.sandbox.roles().get('ada@sso.test')).toBe('admin');

    await t.bridge.deps.audit.flush();
    const rows = await t.sql<{ operation: string; method: string; change: string; upstream_status: unknown; detail: string }>(
      "select * from audit where operation = 'roles.sso' order by at",
    );
    expect(rows.map((r) => r.change)).toEqual(expect.arrayContaining(['role → admin at next sign-in', 'role → explorer at next sign-in']));
    expect(rows.every((r) => r.method === 'BRIDGE' && r.upstream_status === null && r.detail.includes('verification: none'))).toBe(true);

    const ready = await t.bridge.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json().roleDelivery).toMatchObject({ mode: 'sso', verification: 'none' });
    expect(ready.json().roleDelivery.confirm).toMatch(/saml-roles/);

    const console = (await t.bridge.app.inject({ method: 'GET', url: '/console', headers: { authorization: `Bearer ${OPS}` } })).body;
    expect(console).toMatch(/<td>ada@sso.test<\/td><td>admin<\/td>/);
    expect(console).toMatch(/<th>verification<\/th><td>none: roles come through SSO/);

    const { api, capabilities, roles } = t.bridge.core.upstream;
    const plan = await makePlan({ store: t.bridge.core.store, api, delivery: roles.delivery, capabilities: capabilities(), isPending: () => false });
    expect(plan.roleChanges).toBe(0);
    expect(plan.nextSignIn).toEqual(
      expect.arrayContaining([
        { userId: ada, userName: 'ada@sso.test', role: 'admin' },
        { userId: bob, userName: 'bob@sso.test', role: 'explorer' },
      ]),
    );
  });

  it('the last-admin guard reads the bridge’s own record where SCIM shows no roles: an admin may go while another is on record, the last is held', async () => {
    t = await startTestBridge({
      db,
      sandbox: { roleDelivery: 'sso' },
      config: { roles: { delivery: 'sso', groups: ROLE_MAP }, guard: { maxDeprovisions: 100 } },
    });
    const [ada, bob] = await users(t, 'ada@sso.test', 'bob@sso.test');
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: [{ value: ada }, { value: bob }] });
    await drained(t);
    const deactivate = (id: string) => t!.req('PATCH', `${U}/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    expect((await deactivate(bob!)).status).toBe(200);
    expect((await deactivate(ada!)).status).toBe(503);
    expect(t.sandbox.state.users.get(ada!)!.active).toBe(true);
  });
});

describe.each(dbs)('groups passthrough (roles.delivery groups-passthrough), on %s', (db) => {
  const table = { 'FS Admins': 'admin', Engineering: 'architect', Analysts: 'explorer' } as const;

  it("the IdP's mapped groups are mirrored under their own names with exact members; FullStory's own table gives the roles", async () => {
    t = await startTestBridge({ db, sandbox: { groupRoles: table }, config: { roles: { delivery: 'groups-passthrough', groups: ROLE_MAP } } });
    const [ada, bob, cy] = await users(t, 'ada@pass.test', 'bob@pass.test', 'cy@pass.test');
    const eng = await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: [{ value: ada }, { value: bob }] });
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Unmapped Team', members: [{ value: cy }] });
    await drained(t);
    const mirrored = () => [...t!.sandbox.state.groups.values()].map((g) => [g.displayName, [...g.members].sort()] as const);
    expect(mirrored()).toEqual([['Engineering', [ada, bob].sort()]]);
    expect(t.sandbox.roles().get('ada@pass.test')).toBe('architect');
    // No `roles` on any user write: the table decides.
    expect(t.sandbox.counters.count({ method: 'PATCH', route: '/Users/:id' })).toBe(0);

    await t.req('PATCH', `${G}/${eng.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${bob}"]` }] });
    await drained(t);
    expect(mirrored()).toEqual([['Engineering', [ada]]]);
    expect(t.sandbox.roles().get('bob@pass.test')).toBe('standard');

    const ready = await t.bridge.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json().roleDelivery).toMatchObject({ mode: 'groups-passthrough', verification: 'membership' });
    await t.bridge.deps.audit.flush();
    const rows = await t.sql<{ operation: string; detail: string }>("select * from audit where operation = 'fullstory.groups.replace'");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.detail.includes('verification: membership'))).toBe(true);
  });

  it('a group FullStory already holds under the name (any case) is kept, never a second one made', async () => {
    t = await startTestBridge({ db, sandbox: { groupRoles: table }, config: { roles: { delivery: 'groups-passthrough', groups: ROLE_MAP } } });
    const existing = t.sandbox.state.createGroup({ displayName: 'fs admins', members: [] });
    const [ada] = await users(t, 'ada@pass.test');
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: [{ value: ada }] });
    await drained(t);
    expect([...t.sandbox.state.groups.values()].map((g) => [g.id, g.members])).toEqual([[existing.id, [ada]]]);
    expect(t.sandbox.roles().get('ada@pass.test')).toBe('admin');
  });
});

describe('the mode says what verifying a role can see', () => {
  it.each([
    ['roles-attribute', 'read-back', {}],
    ['role-groups', 'membership', { roleDelivery: 'role-groups' }],
  ] as const)('%s: /readyz verification is %s', async (delivery, verification, sandbox) => {
    t = await startTestBridge({ sandbox, config: { roles: { delivery, groups: ROLE_MAP } } });
    const ready = (await t.bridge.app.inject({ method: 'GET', url: '/readyz' })).json();
    expect(ready.roleDelivery).toMatchObject({ mode: delivery, verification });
    expect(ready.roleDelivery.confirm === null).toBe(verification === 'read-back');
  });
});
