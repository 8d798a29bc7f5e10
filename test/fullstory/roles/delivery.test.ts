import { afterEach, describe, expect, it } from 'vitest';
import { buildSandbox, startSandbox } from '../../../src/sandbox/server.js';
import { eventually, G, GROUP_SCHEMA, oktaUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../../helpers/bridge.js';

/** The role map of the README, which sets no delivery. */
const README_ROLES = { default: 'standard', groups: { 'FS Admins': 'admin', Engineering: 'architect', 'Support EU': 'explorer' } };

let open: TestBridge[] = [];
/** Sandboxes several bridges share: closed after the bridges. */
let shared: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const t of open) await t.close();
  for (const sb of shared) await sb.close();
  open = [];
  shared = [];
});
async function bridge(opts: Parameters<typeof startTestBridge>[0]) {
  const t = await startTestBridge(opts);
  open.push(t);
  return t;
}
async function users(t: TestBridge, names: string[]): Promise<string[]> {
  const ids = [];
  for (const n of names) {
    const res = await t.req('POST', U, oktaUser(`${n}@example.com`));
    expect(res.status).toBe(201);
    ids.push(res.body.id as string);
  }
  return ids;
}
const group = (t: TestBridge, displayName: string, ids: string[]) =>
  t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName, members: ids.map((value) => ({ value })) });

describe('role delivery is verified, not assumed', () => {
  it('a FullStory that accepts `roles` and drops it is caught: failing with the cause and fix, degraded, audited', async () => {
    // Forced the wrong way round: FullStory carries roles in groups and drops `roles` (#20).
    const t = await bridge({ profile: 'strict', config: { roles: { ...README_ROLES, delivery: 'roles-attribute' } } });
    const ids = await users(t, ['drop.a', 'drop.b', 'drop.c', 'drop.d']);
    expect((await group(t, 'FS Admins', ids)).status).toBe(201);
    const failing = (await eventually(async () => {
      const rows = await t.bridge.deps.store.read((r) => r.roleSync.failing());
      return rows.length === 4 ? rows : undefined;
    }, 'four failing role changes'))!;
    expect(failing[0]!.lastError).toBe('FullStory ignored `roles`: it carries roles in groups; set `roles.delivery: role-groups` or leave it on auto.');
    expect([...t.sandbox.roles().values()]).not.toContain('admin');

    const ready = (await t.bridge.app.inject({ url: '/readyz' })).json();
    expect(ready).toMatchObject({
      status: 'degraded',
      degraded: { reason: failing[0]!.lastError, failingUsers: 4 },
      roleSync: { failing: 4, lastError: failing[0]!.lastError },
    });
    expect(Date.parse(ready.degraded.since)).toBeLessThanOrEqual(Date.now());
    expect((await t.bridge.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    const metrics = (await t.bridge.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/^scim_bridge_role_sync_failing 4$/m);
    expect(metrics).toMatch(/^scim_bridge_role_delivery_degraded 1$/m);
    await t.bridge.deps.audit.flush();
    const audit = await t.bridge.deps.store.read((r) => r.audit.since('1970-01-01T00:00:00Z'));
    // One row per write the worker sent: FullStory accepted it (200) and the read-back did not show the role.
    const rows = audit.filter((a) => a.token_name === 'role-sync' && a.change === 'role → admin');
    expect([...new Set(rows.map((r) => r.resource_id))].sort()).toEqual([...ids].sort());
    for (const r of rows)
      expect(r).toMatchObject({
        operation: 'fullstory.users.replace',
        outcome: 'failure',
        upstream_status: 200,
        detail: expect.stringMatching(/^FullStory ignored `roles`/),
      });
    // Named by userName, not only by id.
    expect(rows.every((r) => r.subject?.endsWith('@example.com'))).toBe(true);
  });

  it('on auto, the same FullStory is recognised and roles land as role groups, with no `roles` ever sent', async () => {
    const t = await bridge({ profile: 'strict', sandbox: { rolesWhereGroups: 'refuse' }, config: { roles: README_ROLES } });
    const ids = await users(t, ['auto.a', 'auto.b']);
    await group(t, 'Engineering', ids);
    await eventually(() => ['auto.a', 'auto.b'].every((n) => t.sandbox.roles().get(`${n}@example.com`) === 'architect'), 'architects');
    // Preflight's filter probes aside, FullStory refused nothing: no write carried `roles`.
    for (const method of ['POST', 'PUT', 'PATCH']) expect(t.sandbox.counters.count({ method, status: 400 }), method).toBe(0);
    expect((await t.bridge.app.inject({ url: '/readyz' })).json()).toMatchObject({ status: 'ready', roleDelivery: { mode: 'role-groups' } });
  });

  it('on auto, a FullStory that shows roles nowhere until a write proves them dropped switches to role groups and delivers', async () => {
    // No user to look at at startup, and the worker's own first read is what decides.
    const t = await bridge({ profile: 'strict', config: { roles: { ...README_ROLES, default: 'unchanged' } } });
    expect(t.bridge.deps.roleDelivery().delivery.delivery).toBeUndefined();
    const [id] = await users(t, ['late.a']);
    await group(t, 'FS Admins', [id!]);
    await eventually(() => t.sandbox.roles().get('late.a@example.com') === 'admin', 'admin');
  });
});

describe('role groups read back', () => {
  it('a FullStory that shows roles only when a user is read by id is found out after the first role-group write, and the role lands in roles', async () => {
    // Roles in `roles`, role groups there too (#24), and `roles` left out of every answer but a GET by id.
    const sb = buildSandbox({ patch: { rateLimit: null, roleGroups: 'preexisting' } });
    sb.app.addHook('onSend', async (req, _reply, payload) => {
      if ((req.method === 'GET' && /\/Users\/[^/?]+$/.test(req.url)) || typeof payload !== 'string' || !payload.includes('"roles"')) return payload;
      const body = JSON.parse(payload) as { Resources?: Record<string, unknown>[]; roles?: unknown };
      for (const u of body.Resources ?? [body]) delete u.roles;
      return JSON.stringify(body);
    });
    const address = await sb.app.listen({ port: 0, host: '127.0.0.1' });
    const sandbox = Object.assign(sb, { url: `${address}/scim/v2`, close: () => sb.app.close() });
    shared.push(sandbox);
    const t = await bridge({ sharedSandbox: sandbox, config: { roles: README_ROLES } });
    expect(t.bridge.deps.roleDelivery().delivery.delivery).toBe('role-groups');
    const [id] = await users(t, ['shown.later']);
    await group(t, 'FS Admins', [id!]);
    await eventually(() => sandbox.roles().get('shown.later@example.com') === 'admin', 'admin, in roles');
    expect(t.bridge.deps.roleDelivery().delivery).toMatchObject({ delivery: 'roles-attribute', why: expect.stringMatching(/shows `roles` on its users/) });
  });
});

describe('role groups without group filters', () => {
  it('a role group deleted in FullStory is found again (here: made again) after the 404, and the role lands', async () => {
    const t = await bridge({ profile: 'strict', sandbox: { roleGroups: 'preexisting' }, config: { roles: README_ROLES } });
    const [a, b] = await users(t, ['gone.a', 'gone.b']);
    const admins = (await group(t, 'FS Admins', [a!])).body.id;
    await eventually(() => t.sandbox.roles().get('gone.a@example.com') === 'admin', 'first admin');
    const adminGroup = [...t.sandbox.state.groups.values()].find((g) => g.displayName === 'Admin')!;
    t.sandbox.state.groups.delete(adminGroup.id);
    await t.req('PATCH', `${G}/${admins}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: b }] }] });
    await eventually(() => t.sandbox.roles().get('gone.b@example.com') === 'admin', 'second admin after the 404');
    expect([...t.sandbox.state.groups.values()].filter((g) => g.displayName === 'Admin')).toHaveLength(1);
    expect(t.sandbox.counters.count({ method: 'GET', route: '/Groups/:id', status: 404 })).toBeGreaterThan(0);
  });

  it('two bridges racing to make the same role group make it once (a 409 is resolved by listing)', async () => {
    const sandbox = await startSandbox({ profile: 'strict', patch: { rateLimit: null } });
    shared.push(sandbox);
    const [one, two] = [
      await bridge({ sharedSandbox: sandbox, config: { roles: README_ROLES } }),
      await bridge({ sharedSandbox: sandbox, config: { roles: README_ROLES } }),
    ];
    const [a] = await users(one, ['race.a']);
    const [b] = await users(two, ['race.b']);
    await Promise.all([group(one, 'FS Admins', [a!]), group(two, 'FS Admins', [b!])]);
    await eventually(() => sandbox.roles().get('race.a@example.com') === 'admin' && sandbox.roles().get('race.b@example.com') === 'admin', 'both admins');
    expect([...sandbox.state.groups.values()].filter((g) => g.displayName === 'Admin')).toHaveLength(1);
    // New users hold the default role by being in no role group: no Standard group is needed, and never two.
    expect([...sandbox.state.groups.values()].filter((g) => g.displayName === 'Standard').length).toBeLessThanOrEqual(1);
  });
});

describe('FullStory PUT as a whole replace (#23)', () => {
  it('an IdP profile update never resets the role of a teammate the bridge does not manage', async () => {
    const t = await bridge({ sandbox: { putUsers: 'replace', patchUsers: false }, config: { roles: README_ROLES } });
    const veteran = t.sandbox.state.createUser({ userName: 'veteran@example.com', roles: [{ value: 'admin' }] });
    const found = await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "veteran@example.com"')}`);
    expect(found.body.Resources[0].id).toBe(veteran.id);
    expect((await t.req('PUT', `${U}/${veteran.id}`, oktaUser('veteran@example.com', { displayName: 'V' }))).status).toBe(200);
    const patched = await t.req('PATCH', `${U}/${veteran.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    expect(patched.body.active).toBe(false);
    expect(t.sandbox.roles().get('veteran@example.com')).toBe('admin');
    expect(t.sandbox.state.users.get(veteran.id)!.displayName).toBe('V');
  });
});

describe('paging through a FullStory whose largest page is smaller (#22)', () => {
  it('count=100 from a FullStory cutting pages to 20 is one full, consistent page, and the next starts after it', async () => {
    const t = await bridge({ sandbox: { maxPage: 20 } });
    for (let i = 0; i < 130; i++) t.sandbox.state.createUser({ userName: `page${String(i).padStart(3, '0')}@example.com` });
    const first = (await t.req('GET', `${U}?startIndex=1&count=100`)).body;
    expect(first).toMatchObject({ totalResults: 130, startIndex: 1, itemsPerPage: 100 });
    const second = (await t.req('GET', `${U}?startIndex=101&count=100`)).body;
    expect(second).toMatchObject({ totalResults: 130, startIndex: 101, itemsPerPage: 30 });
    const ids = [...first.Resources, ...second.Resources].map((r: { id: string }) => r.id);
    expect(new Set(ids).size).toBe(130);
    expect(ids).toEqual([...t.sandbox.state.users.keys()]);
  });
});
