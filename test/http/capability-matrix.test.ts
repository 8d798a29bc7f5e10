import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfilePatch } from '../../src/sandbox/profile.js';
import { entraUser, eventually, G, GROUP_SCHEMA, oktaUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';
import { pairwise, type Combo } from '../helpers/pairwise.js';

/**
 * The user, group and role flows against FullStorys that differ in every switch the
 * bridge adapts to, with a role map that sets no `delivery`: the bridge must find out.
 * A full product is 3,328 FullStorys; this is a pairwise covering set of them (every
 * two values of two switches that can meet, meet in at least one), checked below.
 */
const SWITCHES = {
  errorStyle: ['scim', 'fullstory'],
  storesExternalId: [true, false],
  patchUsers: [true, false],
  deleteUsers: [true, false],
  roleDelivery: ['roles-attribute', 'role-groups'],
  groups: ['get-post-put', 'none'],
  filters: ['standard', 'userName-only'],
  discovery: [true, false],
  maxPage: [100, 20],
  putUsers: ['merge', 'replace'],
  rolesWhereGroups: ['drop', 'refuse', 'n/a'],
  roleForm: ['value-lower', 'value-capitalised', 'strings', 'n/a'],
  roleGroups: ['on-demand', 'preexisting', 'n/a'],
} as const;

/** Switches that mean nothing in a FullStory are 'n/a' there, so no pair is counted twice. */
function possible(c: Combo): boolean {
  const groupsCarryRoles = c.roleDelivery === 'role-groups';
  if (groupsCarryRoles && c.groups === 'none') return false; // not a FullStory: roles would go nowhere
  if ((c.rolesWhereGroups === 'n/a') === groupsCarryRoles) return false;
  if ((c.roleForm === 'n/a') !== groupsCarryRoles) return false;
  return (c.roleGroups === 'n/a') === (c.groups === 'none');
}

const { combos, uncovered } = pairwise(SWITCHES, possible);

const ROLE_MAP = { groups: { 'FS Admins': 'admin', Engineering: 'architect', 'Support EU': 'explorer' } };

function profileOf(c: Combo): ProfilePatch {
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (v !== 'n/a') patch[k] = v;
  return patch as ProfilePatch;
}

const label = (c: Combo) =>
  Object.entries(c)
    .filter(([, v]) => v !== 'n/a')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');

it(`the ${combos.length} FullStorys cover every pair of switch values that can meet`, () => {
  expect(uncovered(combos)).toEqual([]);
  expect(combos.length).toBeLessThan(20);
});

describe.each(combos.map((c) => [label(c), c] as const))('against a FullStory with %s', (_name, combo) => {
  let t: TestBridge;
  const roleOf = (userName: string) => t.sandbox.roles().get(userName.toLowerCase());
  const settled = () =>
    eventually(async () => {
      const s = await t.bridge.deps.store.read((r) => r.roleSync.stats());
      return s.backlog === 0;
    }, 'role sync to drain');
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestBridge({ profile: 'default', sandbox: profileOf(combo), config: { roles: ROLE_MAP } });
  });
  afterAll(async () => t?.close());

  it('Okta: a lookup that misses, a create, a duplicate refused as uniqueness, a profile update by PUT', async () => {
    const miss = await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "okta.one@example.com"')}&startIndex=1&count=100`);
    expect(miss.body).toMatchObject({ totalResults: 0, Resources: [] });
    const created = await t.req('POST', U, oktaUser('okta.one@example.com'));
    expect(created.status).toBe(201);
    ids.okta = created.body.id;
    const dup = await t.req('POST', U, oktaUser('okta.one@example.com'));
    expect([dup.status, dup.body.scimType]).toEqual([409, 'uniqueness']);
    const put = await t.req('PUT', `${U}/${ids.okta}`, oktaUser('okta.one@example.com', { name: { givenName: 'Okta', familyName: 'One' } }));
    expect(put.status).toBe(200);
    expect((await t.req('GET', `${U}/${ids.okta}`)).body.name).toMatchObject({ givenName: 'Okta', familyName: 'One' });
  });

  it('Entra: found by externalId, soft-deleted with "False" and back, found by email', async () => {
    const created = await t.req('POST', U, entraUser('entra.one@example.com', 'ext-entra-1'));
    expect(created.status).toBe(201);
    ids.entra = created.body.id;
    const byExt = await t.req('GET', `${U}?filter=${encodeURIComponent('externalId eq "ext-entra-1"')}`);
    expect(byExt.body.Resources.map((r: { id: string }) => r.id)).toEqual([ids.entra]);
    const off = await t.req('PATCH', `${U}/${ids.entra}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    expect([off.status, off.body.active]).toEqual([200, false]);
    expect(t.sandbox.state.users.get(ids.entra!)!.active).toBe(false);
    const on = await t.req('PATCH', `${U}/${ids.entra}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] });
    expect(on.body.active).toBe(true);
    const byEmail = await t.req('GET', `${U}?filter=${encodeURIComponent('emails[type eq "work"].value eq "entra.one@example.com"')}`);
    expect(byEmail.body.totalResults).toBe(1);
  });

  it('roles land: a mapped group, precedence, removal, and a profile PUT never resets a role', async () => {
    const eng = await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: [{ value: ids.okta }, { value: ids.entra }] });
    expect(eng.status).toBe(201);
    ids.eng = eng.body.id;
    const admins = await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: [{ value: ids.entra }] });
    ids.admins = admins.body.id;
    await eventually(() => roleOf('okta.one@example.com') === 'architect' && roleOf('entra.one@example.com') === 'admin', 'architect and admin in FullStory');
    // A whole-replace PUT without `roles` would make the user Standard.
    await t.req('PUT', `${U}/${ids.okta}`, oktaUser('okta.one@example.com', { displayName: 'Okta One' }));
    await t.req('PATCH', `${U}/${ids.entra}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Entra One' }] });
    expect([roleOf('okta.one@example.com'), roleOf('entra.one@example.com')]).toEqual(['architect', 'admin']);
    await t.req('PATCH', `${G}/${ids.admins}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${ids.entra}"]` }] });
    await eventually(() => roleOf('entra.one@example.com') === 'architect', 'entra back to architect');
  });

  it('a deleted group downgrades its members to the default', async () => {
    expect((await t.req('DELETE', `${G}/${ids.eng}`)).status).toBe(204);
    await eventually(() => roleOf('okta.one@example.com') === 'standard' && roleOf('entra.one@example.com') === 'standard', 'both back to standard');
  });

  it('40 parallel member PATCHes to one mapped group: every member lands', async () => {
    const members: string[] = [];
    for (let i = 0; i < 40; i++) members.push((await t.req('POST', U, oktaUser(`par${i}@example.com`))).body.id);
    const support = await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Support EU', members: [] });
    const answers = await Promise.all(
      members.map((id) =>
        t.req('PATCH', `${G}/${support.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }] }),
      ),
    );
    expect(answers.every((a) => a.status === 200 || a.status === 204)).toBe(true);
    await eventually(() => members.every((_, i) => roleOf(`par${i}@example.com`) === 'explorer'), 'all 40 explorers', 20_000);
    await settled();
    expect((await t.bridge.deps.store.read((r) => r.roleSync.stats())).failing).toBe(0);
  });

  it('an import pages through every user once, with a consistent ListResponse', async () => {
    const seen: string[] = [];
    let total = -1;
    for (let start = 1; ;) {
      const page = (await t.req('GET', `${U}?startIndex=${start}&count=30`)).body;
      expect(page.itemsPerPage).toBe(page.Resources.length);
      expect(page.startIndex).toBe(start);
      total = page.totalResults;
      seen.push(...page.Resources.map((r: { id: string }) => r.id));
      if (page.Resources.length === 0 || start + page.itemsPerPage > total) break;
      expect(page.itemsPerPage).toBe(30);
      start += page.itemsPerPage;
    }
    expect(total).toBe(t.sandbox.state.users.size);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(total);
  });

  it('a delete answers 204 and the user is gone for the IdP', async () => {
    expect((await t.req('DELETE', `${U}/${ids.okta}`)).status).toBe(204);
    expect((await t.req('GET', `${U}/${ids.okta}`)).status).toBe(404);
  });

  it('/readyz is ready and names the delivery FullStory really uses', async () => {
    const ready = await t.bridge.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', roleDelivery: { mode: combo.roleDelivery } });
  });
});
