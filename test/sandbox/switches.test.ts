import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE, flagName, parseGroupRoles, parseSwitch, STRICT_PROFILE, SWITCHES } from '../../src/sandbox/profile.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import { freePort, startCli } from '../helpers/cli.js';

let sb: RunningSandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${sb!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${sb!.token}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
const filter = (f: string) => `filter=${encodeURIComponent(f)}`;

describe('the sandbox switches #10, #13 and #20-#25', () => {
  it('#13 strict runs no filter on Groups; the default filters them by displayName', async () => {
    sb = await startSandbox({ profile: 'strict', patch: { rateLimit: null } });
    await call('POST', '/Groups', { displayName: 'Admin' });
    const strict = await call('GET', `/Groups?${filter('displayName eq "Admin"')}`);
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe('filters are not supported on groups');
    expect((await call('GET', '/Groups')).body.totalResults).toBe(1);
    sb.set({ filters: 'standard' });
    expect((await call('GET', `/Groups?${filter('displayName eq "admin"')}`)).body.totalResults).toBe(1);
  });

  it('#20 with role groups, `roles` on a user is dropped by default and refused when asked', async () => {
    sb = await startSandbox({ profile: 'strict', patch: { rateLimit: null } });
    const dropped = await call('POST', '/Users', { userName: 'd@x.com', roles: [{ value: 'admin' }] });
    expect(dropped.status).toBe(201);
    expect(dropped.body.roles).toBeUndefined();
    expect(sb.roles().get('d@x.com')).toBe('standard');
    sb.set({ rolesWhereGroups: 'refuse' });
    const refused = await call('POST', '/Users', { userName: 'r@x.com', roles: [{ value: 'admin' }] });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('invalid_argument');
    expect((await call('POST', '/Users', { userName: 'r@x.com' })).status).toBe(201);
  });

  it.each([
    ['value-lower', [{ value: 'architect' }], [{ value: 'Architect', primary: true }]],
    ['value-capitalised', [{ value: 'Architect', primary: true }], [{ value: 'architect' }]],
    ['strings', ['architect'], [{ value: 'architect' }]],
  ] as const)('#21 %s: its own form is read back as written, another form is refused', async (roleForm, own, other) => {
    sb = await startSandbox({ patch: { rateLimit: null, roleForm } });
    const u = await call('POST', '/Users', { userName: 'f@x.com', roles: own });
    expect(u.status).toBe(201);
    expect(u.body.roles).toEqual(own);
    expect((await call('GET', `/Users/${u.body.id}`)).body.roles).toEqual(own);
    const wrong = await call('PUT', `/Users/${u.body.id}`, { userName: 'f@x.com', roles: other });
    expect(wrong.status).toBe(400);
    expect(wrong.body.scimType).toBe('invalidValue');
    expect(sb.roles().get('f@x.com')).toBe('architect');
  });

  it('#10 sso: `roles` is dropped, groups are plain, and the role is what SSO gave at the last sign-in', async () => {
    sb = await startSandbox({ patch: { rateLimit: null, roleDelivery: 'sso' } });
    const u = await call('POST', '/Users', { userName: 's@x.com', roles: [{ value: 'admin' }] });
    expect(u.status).toBe(201);
    expect(u.body.roles).toBeUndefined();
    await call('POST', '/Groups', { displayName: 'Admin', members: [{ value: u.body.id }] });
    expect(sb.roles().get('s@x.com')).toBe('standard');
    sb.state.signIn('s@x.com', 'architect');
    expect(sb.roles().get('s@x.com')).toBe('architect');
    expect((await call('GET', `/Users/${u.body.id}`)).body.roles).toBeUndefined();
  });

  it("#25 FullStory's own table from pushed group names to roles: members of a listed group (any case) hold its highest role", async () => {
    sb = await startSandbox({ patch: { rateLimit: null, roleDelivery: 'sso', groupRoles: { 'Eng Admins': 'admin', Analysts: 'explorer' } } });
    const a = (await call('POST', '/Users', { userName: 'a@x.com' })).body.id;
    const b = (await call('POST', '/Users', { userName: 'b@x.com' })).body.id;
    await call('POST', '/Groups', { displayName: 'analysts', members: [{ value: a }, { value: b }] });
    await call('POST', '/Groups', { displayName: 'Eng Admins', members: [{ value: a }] });
    expect([sb.roles().get('a@x.com'), sb.roles().get('b@x.com')]).toEqual(['admin', 'explorer']);
    // Reads show membership only: nothing on the user says the role.
    expect((await call('GET', `/Users/${a}`)).body.roles).toBeUndefined();
    expect(parseGroupRoles('Eng Admins=admin, Analysts = Explorer')).toEqual({ value: { 'Eng Admins': 'admin', Analysts: 'explorer' } });
    expect(parseGroupRoles('Eng Admins=owner')).toHaveProperty('error');
    expect(parseGroupRoles('off')).toEqual({ value: null });
  });

  it('#22 a count above the largest page is cut to it; totalResults stays true; discovery says so', async () => {
    sb = await startSandbox({ patch: { rateLimit: null, maxPage: 20 } });
    for (let i = 0; i < 45; i++) sb.state.createUser({ userName: `p${i}@x.com` });
    const page = await call('GET', '/Users?startIndex=1&count=100');
    expect(page.body).toMatchObject({ totalResults: 45, itemsPerPage: 20, startIndex: 1 });
    expect((await call('GET', '/Users?startIndex=41&count=100')).body.itemsPerPage).toBe(5);
    expect((await call('GET', '/ServiceProviderConfig')).body.filter.maxResults).toBe(20);
  });

  it('#23 a merging PUT keeps absent attributes and the role; a replacing PUT resets both', async () => {
    sb = await startSandbox({ patch: { rateLimit: null } });
    const u = (await call('POST', '/Users', { userName: 'm@x.com', displayName: 'M', roles: [{ value: 'admin' }] })).body;
    const merged = await call('PUT', `/Users/${u.id}`, { userName: 'm@x.com' });
    expect(merged.body).toMatchObject({ displayName: 'M', roles: [{ value: 'admin' }] });
    expect((await call('PUT', `/Users/${u.id}`, { userName: 'm@x.com', displayName: null })).body.displayName).toBeUndefined();
    sb.set({ putUsers: 'replace' });
    await call('PUT', `/Users/${u.id}`, { userName: 'm@x.com', displayName: 'M' });
    const replaced = await call('PUT', `/Users/${u.id}`, { userName: 'm@x.com' });
    expect(replaced.body.displayName).toBeUndefined();
    expect(replaced.body.roles).toEqual([{ value: 'standard' }]);
  });

  it("#24 preexisting role groups are there under FullStory's ids, one per role of the plan; a second POST of a name is 409", async () => {
    sb = await startSandbox({ profile: 'strict', patch: { rateLimit: null, roleGroups: 'preexisting', plan: 'business' } });
    const groups = (await call('GET', '/Groups')).body.Resources.map((g: { displayName: string }) => g.displayName).sort();
    expect(groups).toEqual(['Admin', 'Guest', 'Standard']);
    const again = await call('POST', '/Groups', { displayName: 'admin' });
    expect(again.status).toBe(409);
    sb.set({ roleGroups: 'on-demand', plan: 'enterprise' });
    expect((await call('GET', '/Groups')).body.totalResults).toBe(3);
  });

  it('every switch has one default and a value list that holds it; the strict profile differs only in the marked column', () => {
    for (const [key, { values }] of Object.entries(SWITCHES)) {
      const d = DEFAULT_PROFILE[key as keyof typeof SWITCHES];
      if (Array.isArray(values)) expect(values, key).toContain(d);
      else expect(d === null || typeof d === 'number', key).toBe(true);
    }
    const differs = Object.keys(SWITCHES).filter((k) => DEFAULT_PROFILE[k as keyof typeof SWITCHES] !== STRICT_PROFILE[k as keyof typeof SWITCHES]);
    expect(differs.sort()).toEqual([
      'deleteUsers',
      'discovery',
      'errorStyle',
      'filters',
      'patchUsers',
      'roleDelivery',
      'scimDisabledStatus',
      'storesExternalId',
    ]);
    expect(parseSwitch('maxPage', '0')).toHaveProperty('error');
    expect(parseSwitch('roleForm', 'upper')).toEqual({ error: '--role-form is one of value-lower, value-capitalised, strings' });
    expect(parseSwitch('seatCap', 'off')).toEqual({ value: null });
  });

  it('the sandbox command takes a flag per switch', async () => {
    const port = freePort();
    const flags = [
      '--profile',
      'strict',
      '--max-page',
      '20',
      '--role-groups',
      'preexisting',
      '--roles-where-groups',
      'refuse',
      '--put-users',
      'replace',
      '--role-form',
      'strings',
      '--filters',
      'standard',
      '--group-roles',
      'Eng Admins=admin',
    ];
    const cli = startCli(['sandbox', '--port', String(port), '--token', 'tok-123', ...flags], {}, /token: tok-123/);
    try {
      await cli.started;
      const set = await fetch(`http://127.0.0.1:${port}/_sandbox/set`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(await set.json()).toMatchObject({
        maxPage: 20,
        roleGroups: 'preexisting',
        rolesWhereGroups: 'refuse',
        putUsers: 'replace',
        roleForm: 'strings',
        filters: 'standard',
        roleDelivery: 'role-groups',
        groupRoles: { 'Eng Admins': 'admin' },
      });
      expect(Object.keys(SWITCHES).map(flagName)).toContain('roles-where-groups');
    } finally {
      cli.child.kill('SIGTERM');
    }
  });
});
