import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, entraUser, G, GROUP_SCHEMA, oktaUser, PATCH_OP, databases, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';
import { eventually } from '../helpers/bridge.js';

const dbs = await databases();

/**
 * The strict sandbox: no PATCH, no DELETE, no externalId, userName-only filters, no
 * discovery, FullStory-style errors, roles as group membership. The IdP must not notice.
 */
describe.each(dbs)('against the strict FullStory profile on %s', (db) => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ db, profile: 'strict', config: { roles: { delivery: 'role-groups', groups: { 'FS Admins': 'admin' } } } });
  });
  afterAll(async () => t?.close());

  it('the preflight learned what is missing', () => {
    const caps = t.bridge.deps.readiness.capabilities!;
    expect(caps).toMatchObject({ discovery: false, patchUsers: false, deleteUsers: false, groups: true });
    expect([...caps.filters]).toEqual(['username']);
  });

  it('an externalId lookup finds the user although FullStory does not keep externalId (Entra would duplicate otherwise)', async () => {
    const created = await t.req('POST', U, entraUser('strict.ext@testuser.com', 'ext-strict-1'));
    expect(created.status).toBe(201);
    expect(t.sandbox.state.users.get(created.body.id)?.externalId).toBeUndefined();
    const found = await t.req('GET', `${U}?filter=${encodeURIComponent('externalId eq "ext-strict-1"')}`);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0]).toMatchObject({ id: created.body.id, externalId: 'ext-strict-1' });
    const byEmail = await t.req('GET', `${U}?filter=${encodeURIComponent('emails[type eq "work"].value eq "strict.ext@testuser.com"')}`);
    expect(byEmail.body.totalResults).toBe(1);
  });

  it('PATCH becomes read, apply, PUT: FullStory sees a GET and a PUT, never a PATCH', async () => {
    const u = (await t.req('POST', U, entraUser('strict.patch@testuser.com', 'ext-strict-2'))).body;
    t.sandbox.counters.reset();
    const res = await t.req('PATCH', `${U}/${u.id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'Replace', path: 'name.givenName', value: 'Ann' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ active: false, name: { givenName: 'Ann' }, externalId: 'ext-strict-2' });
    expect(res.body[ENTERPRISE].manager).toEqual({ value: '123456' });
    expect(t.sandbox.counters.count({ method: 'PATCH' })).toBe(0);
    expect(t.sandbox.counters.count({ method: 'PUT', route: '/Users/:id', status: 200 })).toBe(1);
    expect(t.sandbox.state.users.get(u.id)).toMatchObject({ active: false, name: { givenName: 'Ann' } });
  });

  it('DELETE becomes deactivation: 204, FullStory keeps the user inactive, the IdP reads 404, and the audit says so', async () => {
    const u = (await t.req('POST', U, oktaUser('strict.delete@okta.local'))).body;
    const res = await t.req('DELETE', `${U}/${u.id}`);
    expect(res.status).toBe(204);
    expect(t.sandbox.state.users.get(u.id)?.active).toBe(false);
    expect((await t.req('GET', `${U}/${u.id}`)).status).toBe(404);
    expect((await t.req('DELETE', `${U}/${u.id}`)).status).toBe(404);
    const list = await t.req('GET', `${U}?count=100`);
    expect(list.body.Resources.map((r: any) => r.id)).not.toContain(u.id);
    await t.bridge.deps.audit.flush();
    const audit = await t.bridge.deps.store.read((r) => r.audit.since('1970-01-01T00:00:00Z'));
    expect(audit.find((a) => a.method === 'DELETE' && a.resource_id === u.id)?.detail).toMatch(/deactivated instead/);
    // Re-created by the IdP later: the same FullStory user is reactivated, not duplicated.
    const again = await t.req('POST', U, oktaUser('strict.delete@okta.local'));
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(u.id);
    expect(t.sandbox.state.users.get(u.id)?.active).toBe(true);
    // ...and is the IdP's again: read by id and found by its userName.
    expect((await t.req('GET', `${U}/${u.id}`)).status).toBe(200);
    const found = await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "strict.delete@okta.local"')}`);
    expect(found.body.Resources.map((r: any) => r.id)).toEqual([u.id]);
  });

  it('a user the IdP deleted (kept only as deactivated) cannot be made a group member', async () => {
    const gone = (await t.req('POST', U, oktaUser('strict.gone@okta.local'))).body;
    const kept = (await t.req('POST', U, oktaUser('strict.kept@okta.local'))).body;
    expect((await t.req('DELETE', `${U}/${gone.id}`)).status).toBe(204);
    const g = (await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'No Ghosts', members: [{ value: kept.id }] })).body;
    const res = await t.req('PATCH', `${G}/${g.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: gone.id }] }] });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
    expect((await t.req('GET', `${G}/${g.id}`)).body.members.map((m: { value: string }) => m.value)).toEqual([kept.id]);
    expect((await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Ghost Town', members: [{ value: gone.id }] })).status).toBe(400);
  });

  it('FullStory-style errors still reach the IdP as SCIM errors (a duplicate is 409 uniqueness)', async () => {
    t.sandbox.state.createUser({ userName: 'made.in.fullstory@example.com' });
    const res = await t.req('POST', U, oktaUser('made.in.fullstory@example.com'));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness' });
  });

  it('a teammate who existed in FullStory before the bridge is found by userName, not duplicated', async () => {
    const pre = t.sandbox.state.createUser({ userName: 'old.timer@example.com', displayName: 'Old Timer' });
    const found = await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "OLD.TIMER@example.com"')}`);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].id).toBe(pre.id);
  });

  it('roles travel as membership of the FullStory role groups', async () => {
    const u = (await t.req('POST', U, oktaUser('strict.admin@okta.local'))).body;
    const g = await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: [{ value: u.id }] });
    expect(g.status).toBe(201);
    await eventually(() => t.sandbox.roles().get('strict.admin@okta.local') === 'admin', 'admin via role group');
    // The create's default (standard) and the push's admin may go in two batches: let both finish.
    const drained = () => eventually(async () => (await t.bridge.deps.store.read((r) => r.roleSync.stats())).backlog === 0, 'role sync to drain');
    await drained();
    const adminGroup = [...t.sandbox.state.groups.values()].find((x) => x.displayName === 'Admin');
    expect(adminGroup?.members).toContain(u.id);
    await t.req('PATCH', `${G}/${g.body.id}`, { Operations: [{ op: 'remove', path: `members[value eq "${u.id}"]` }] });
    // Leaving Admin already reads as standard (no role group); wait for the move to finish.
    const memberships = () => [...t.sandbox.state.groups.values()].filter((x) => x.members.includes(u.id)).map((x) => x.displayName);
    await drained();
    expect(memberships()).toEqual(['Standard']);
    expect(t.sandbox.roles().get('strict.admin@okta.local')).toBe('standard');
  });
});
