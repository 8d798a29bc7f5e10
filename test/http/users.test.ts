import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, entraUser, IDP_TOKEN, oktaUser, PATCH_OP, databases, startTestBridge, U, USER_SCHEMA, type TestBridge } from '../helpers/bridge.js';

const dbs = await databases();

describe.each(dbs)('users on %s', (db) => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ db });
  });
  afterAll(async () => t?.close());

  const create = async (body: unknown) => {
    const res = await t.req('POST', U, body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };

  it("Okta's create sequence: an empty lookup is 200 with an empty list, then POST answers 201 with the whole user", async () => {
    const lookup = await t.req('GET', `${U}?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100`);
    expect(lookup.status).toBe(200);
    expect(lookup.body).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
    expect(lookup.headers['content-type']).toMatch(/^application\/scim\+json/);

    const res = await t.req('POST', U, oktaUser('test.user@okta.local'), { 'content-type': 'application/json', 'user-agent': 'Okta SCIM Client 1.0.0' });
    expect(res.status).toBe(201);
    expect(res.body.id).toEqual(expect.any(String));
    expect(res.body).toMatchObject({
      userName: 'test.user@okta.local',
      name: { givenName: 'Test', familyName: 'User' },
      locale: 'en-US',
      active: true,
      displayName: 'Test User',
    });
    expect(res.headers.location).toMatch(new RegExp(`^http://localhost(:80)?/scim/v2/Users/${res.body.id}$`));
    expect(res.body.meta.location).toBe(res.headers.location);
    // The id is FullStory's.
    expect(t.sandbox.state.users.has(res.body.id)).toBe(true);
  });

  it('a POST, PUT or PATCH answers as a GET would with the same attributes or excludedAttributes; Location and ETag stay when meta is left out', async () => {
    const created = await t.req('POST', `${U}?attributes=userName`, oktaUser('projected@okta.local'));
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['id', 'schemas', 'userName']);
    expect(created.headers.location).toMatch(new RegExp(`/Users/${created.body.id}$`));
    expect(created.headers.etag).toMatch(/^W\//);
    const id = created.body.id;
    const put = await t.req('PUT', `${U}/${id}?excludedAttributes=meta,emails`, { ...oktaUser('projected@okta.local'), displayName: 'Projected' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id, displayName: 'Projected' });
    expect(put.body).not.toHaveProperty('meta');
    expect(put.body).not.toHaveProperty('emails');
    expect(put.headers.etag).toMatch(/^W\//);
    const patched = await t.req('PATCH', `${U}/${id}?attributes=active`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] });
    expect(Object.keys(patched.body).sort()).toEqual(['active', 'id', 'schemas']);
    expect((await t.req('GET', `${U}/${id}`)).body).toMatchObject({ displayName: 'Projected', active: false });
  });

  it('locations follow the public address a trusted proxy forwards, and only then', async () => {
    const proxied = await startTestBridge({ db, config: { server: { trustProxy: true } } });
    try {
      const res = await proxied.req('POST', U, oktaUser('behind.proxy@okta.local'), { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'scim.example.com' });
      expect(res.headers.location).toBe(`https://scim.example.com/scim/v2/Users/${res.body.id}`);
    } finally {
      await proxied.close();
    }
    const direct = await t.req('POST', U, oktaUser('not.proxied@okta.local'), { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example.com' });
    expect(direct.headers.location).not.toContain('evil.example.com');
  });

  it('a password is accepted and never stored, returned or forwarded to FullStory', async () => {
    const body = await create(oktaUser('pw.user@okta.local', { password: 'S3cret-pw-never-seen' }));
    expect(JSON.stringify(body)).not.toContain('S3cret-pw-never-seen');
    const back = await t.req('GET', `${U}/${body.id}`);
    expect(JSON.stringify(back.body)).not.toContain('S3cret');
    expect(JSON.stringify(t.sandbox.state.users.get(body.id))).not.toContain('S3cret');
    expect(t.logs()).not.toContain('S3cret-pw-never-seen');
  });

  it('a duplicate userName (any case) is 409 uniqueness, and FullStory gets no second user', async () => {
    await create(oktaUser('dup@okta.local'));
    const before = t.sandbox.state.users.size;
    const res = await t.req('POST', U, oktaUser('DUP@okta.local'));
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '409',
      scimType: 'uniqueness',
      detail: 'User already exists in the database.',
    });
    expect(t.sandbox.state.users.size).toBe(before);
  });

  it('an unknown id is 404 with a SCIM Error', async () => {
    const res = await t.req('GET', `${U}/00000000-0000-0000-0000-000000000000`);
    expect(res.status).toBe(404);
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect(res.body.status).toBe('404');
  });

  it('filters: userName case-insensitively, externalId, emails.value, emails[type eq "work"].value, joined by and', async () => {
    const u = await create(entraUser('Filter.Me@Example.com', 'ext-filter-1'));
    const q = async (f: string) => (await t.req('GET', `${U}?filter=${encodeURIComponent(f)}`)).body;
    for (const f of [
      'userName eq "filter.me@example.com"',
      'externalId eq "ext-filter-1"',
      'emails.value eq "FILTER.ME@example.com"',
      'emails[type eq "work"].value eq "filter.me@example.com"',
      'userName eq "filter.me@example.com" and externalId eq "ext-filter-1"',
    ]) {
      const body = await q(f);
      expect(body.totalResults, f).toBe(1);
      expect(body.Resources[0].id, f).toBe(u.id);
    }
    expect((await q('emails[type eq "home"].value eq "filter.me@example.com"')).totalResults).toBe(0);
    expect((await q('externalId eq "EXT-FILTER-1"')).totalResults).toBe(0);
    // Entra's form with + for spaces.
    const plus = await t.req('GET', `${U}?filter=externalId+eq+%22ext-filter-1%22`);
    expect(plus.body.totalResults).toBe(1);
  });

  it('an email changed by the IdP finds the user under the new address only', async () => {
    const u = await create(entraUser('moving.mail@example.com', 'ext-moving-mail'));
    const byEmail = async (e: string) => (await t.req('GET', `${U}?filter=${encodeURIComponent(`emails.value eq "${e}"`)}`)).body.totalResults;
    expect(await byEmail('moving.mail@example.com')).toBe(1);
    const res = await t.req('PATCH', `${U}/${u.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'Replace', path: 'emails[type eq "work"].value', value: 'moved.mail@example.com' }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await byEmail('moved.mail@example.com')).toBe(1);
    expect(await byEmail('moving.mail@example.com')).toBe(0);
  });

  it('a malformed filter is 400 invalidFilter with a detail pointing at the problem, and an escaped quote is data', async () => {
    const bad = await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "a" and')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.scimType).toBe('invalidFilter');
    expect(bad.body.detail).toMatch(/needs an attribute at its end/);
    const quoted = await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "x\\" or 1=1 --"')}`);
    expect(quoted.status).toBe(200);
    expect(quoted.body.totalResults).toBe(0);
  });

  it('pagination: integer fields, a stable order, count capped at 100, a page past the end is 200 and empty', async () => {
    for (let i = 0; i < 5; i++) await create(oktaUser(`page${i}@okta.local`));
    const first = await t.req('GET', `${U}?startIndex=1&count=2`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ startIndex: 1, itemsPerPage: 2 });
    expect(Number.isInteger(first.body.totalResults)).toBe(true);
    const again = await t.req('GET', `${U}?startIndex=1&count=2`);
    expect(again.body.Resources.map((r: any) => r.id)).toEqual(first.body.Resources.map((r: any) => r.id));
    const second = await t.req('GET', `${U}?startIndex=3&count=2`);
    expect(second.body.Resources.map((r: any) => r.id)).not.toContain(first.body.Resources[0].id);
    const huge = await t.req('GET', `${U}?count=5000`);
    expect(huge.status).toBe(200);
    expect(huge.body.itemsPerPage).toBeLessThanOrEqual(100);
    const past = await t.req('GET', `${U}?startIndex=100000&count=10`);
    expect(past.status).toBe(200);
    expect(past.body).toMatchObject({ itemsPerPage: 0, Resources: [] });
  });

  it("Okta's PUT deactivation keeps the user, inactive, listed and readable", async () => {
    const u = await create(oktaUser('leaver@okta.local'));
    const got = (await t.req('GET', `${U}/${u.id}`)).body;
    const res = await t.req('PUT', `${U}/${u.id}`, { ...got, active: false });
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
    expect(t.sandbox.state.users.get(u.id)?.active).toBe(false);
    const listed = await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "leaver@okta.local"')}`);
    expect(listed.body.Resources[0].active).toBe(false);
    expect((await t.req('GET', `${U}/${u.id}`)).body.active).toBe(false);
  });

  it("Okta's pathless PATCH replace {active:false} deactivates", async () => {
    const u = await create(oktaUser('okta.patch@okta.local'));
    const res = await t.req('PATCH', `${U}/${u.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] });
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
    expect(t.sandbox.state.users.get(u.id)?.active).toBe(false);
  });

  it("Entra's create: nulls mean unset, the enterprise manager string is returned as {value}, values come back as sent", async () => {
    const res = await t.req('POST', U, entraUser('Test_User_ab6490ee@testuser.com', '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef'), {
      'content-type': 'application/scim+json; charset=utf-8',
    });
    expect(res.status).toBe(201);
    expect(res.body[ENTERPRISE]).toEqual({ manager: { value: '123456' }, employeeNumber: '701984', department: 'Tour Operations' });
    expect(res.body).not.toHaveProperty('addresses');
    expect(res.body).not.toHaveProperty('manager');
    expect(res.body.schemas).toEqual([USER_SCHEMA, ENTERPRISE]);
    expect(res.body.name).toEqual({ formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' });
    expect(res.body.roles).toEqual([]);
    const back = (await t.req('GET', `${U}/${res.body.id}`)).body;
    expect(back[ENTERPRISE]).toEqual(res.body[ENTERPRISE]);
    expect(back.externalId).toBe('0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef');
  });

  it("Entra's default PATCH dialect: capitalised ops, string booleans, filtered paths, URN paths, manager forms", async () => {
    const u = await create(entraUser('entra.patch@testuser.com', 'ext-entra-patch'));
    const patch = (Operations: unknown[]) => t.req('PATCH', `${U}/${u.id}`, { schemas: [PATCH_OP], Operations });

    let res = await patch([
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
      { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }]);
    expect(res.body.name.familyName).toBe('updatedFamilyName');
    expect(t.sandbox.state.users.get(u.id)?.emails?.[0]?.value).toBe('updatedEmail@microsoft.com');

    res = await patch([{ op: 'Add', path: 'nickName', value: 'Babs' }]);
    expect(res.body.nickName).toBe('Babs');
    res = await patch([{ op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: '42' }]);
    expect(res.body[ENTERPRISE].employeeNumber).toBe('42');
    expect(res.body[ENTERPRISE].department).toBe('Tour Operations');
    res = await patch([{ op: 'Add', path: 'manager', value: [{ $ref: 'http://example/Users/00aa', value: '00aa' }] }]);
    expect(res.body[ENTERPRISE].manager).toEqual({ $ref: 'http://example/Users/00aa', value: '00aa' });
    res = await patch([{ op: 'add', path: `${ENTERPRISE}:manager`, value: '2c2f6fb8' }]);
    expect(res.body[ENTERPRISE].manager).toEqual({ value: '2c2f6fb8' });
    res = await patch([{ op: 'Add', path: 'roles', value: [{ value: '{"id":"827f","value":"Admin","displayName":"Admin"}' }] }]);
    expect(res.body.roles).toEqual([{ value: '{"id":"827f","value":"Admin","displayName":"Admin"}' }]);
    // The IdP's roles are its own: FullStory's role is the bridge's to set.
    expect(t.sandbox.state.users.get(u.id)?.role).toBe('standard');

    res = await patch([{ op: 'Replace', path: 'active', value: 'False' }]);
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
    expect(t.sandbox.state.users.get(u.id)?.active).toBe(false);
    const back = (await t.req('GET', `${U}/${u.id}`)).body;
    expect(back).toMatchObject({ active: false, nickName: 'Babs', name: { familyName: 'updatedFamilyName' } });
  });

  it('a filtered email path on a user with no emails adds the email instead of failing noTarget', async () => {
    const u = await create({ schemas: [USER_SCHEMA], userName: 'no.emails@example.com' });
    const res = await t.req('PATCH', `${U}/${u.id}`, { Operations: [{ op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@example.com' }] });
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([{ type: 'work', value: 'new@example.com' }]);
  });

  it('the aadOptscim062020 dialect: pathless replace with dotted-path keys; the flag on the URL is ignored', async () => {
    const u = await create(entraUser('entra.flag@testuser.com', 'ext-flag'));
    const res = await t.req('PATCH', `${U}/${u.id}?aadOptscim062020`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'replace', path: 'active', value: false },
        { op: 'replace', value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', 'name.familyName': 'Unua', [`${ENTERPRISE}:employeeNumber`]: 'Aklq' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ active: false, displayName: 'Bjfe', name: { givenName: 'Kkom', familyName: 'Unua', formatted: 'givenName familyName' } });
    expect(res.body[ENTERPRISE]).toMatchObject({ employeeNumber: 'Aklq', department: 'Tour Operations' });
    expect(t.sandbox.state.users.get(u.id)).toMatchObject({ displayName: 'Bjfe', name: { givenName: 'Kkom', familyName: 'Unua' } });
  });

  it('a pathless replace of emails replaces them (it does not append)', async () => {
    const u = await create(oktaUser('emails.replace@okta.local'));
    const res = await t.req('PATCH', `${U}/${u.id}`, {
      Operations: [{ op: 'replace', value: { emails: [{ value: 'other@okta.local', type: 'work', primary: 'True' }] } }],
    });
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([{ value: 'other@okta.local', type: 'work', primary: true }]);
  });

  it('Microsoft\'s validator shapes: pathless active true, roles[primary eq "True"].value, emails[type eq "work"].primary', async () => {
    const u = await create(entraUser('validator@testuser.com', 'ext-validator'));
    let res = await t.req('PATCH', `${U}/${u.id}`, { Operations: [{ op: 'Replace', value: { active: 'True' } }] });
    expect(res.body.active).toBe(true);
    res = await t.req('PATCH', `${U}/${u.id}`, { Operations: [{ op: 'Add', path: 'roles[primary eq "True"].value', value: 'Reader' }] });
    expect(res.status).toBe(200);
    expect(res.body.roles).toEqual([{ primary: true, value: 'Reader' }]);
    res = await t.req('PATCH', `${U}/${u.id}`, { Operations: [{ op: 'Replace', path: 'emails[type eq "work"].primary', value: 'False' }] });
    expect(res.body.emails[0].primary).toBe(false);
  });

  it('a PATCH whose third operation fails applies nothing', async () => {
    const u = await create(oktaUser('atomic@okta.local'));
    const writes = t.sandbox.counters.writes();
    const res = await t.req('PATCH', `${U}/${u.id}`, {
      Operations: [
        { op: 'replace', path: 'displayName', value: 'Changed' },
        { op: 'replace', path: 'nickName', value: 'Nick' },
        { op: 'replace', path: 'meta.created', value: 'x' },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('mutability');
    expect(t.sandbox.counters.writes()).toBe(writes);
    const back = (await t.req('GET', `${U}/${u.id}`)).body;
    expect(back.displayName).toBe('Test User');
    expect(back).not.toHaveProperty('nickName');
  });

  it('attributes and excludedAttributes are honoured', async () => {
    const u = await create(entraUser('proj@testuser.com', 'ext-proj'));
    const only = (await t.req('GET', `${U}/${u.id}?attributes=userName,name.givenName`)).body;
    expect(Object.keys(only).sort()).toEqual(['id', 'name', 'schemas', 'userName']);
    expect(only.name).toEqual({ givenName: 'givenName' });
    const without = (await t.req('GET', `${U}/${u.id}?excludedAttributes=emails,${ENTERPRISE}`)).body;
    expect(without).not.toHaveProperty('emails');
    expect(without).not.toHaveProperty(ENTERPRISE);
    expect(without.userName).toBe('proj@testuser.com');
  });

  it('DELETE answers 204, then 404; FullStory no longer has the user', async () => {
    const u = await create(oktaUser('gone@okta.local'));
    expect((await t.req('DELETE', `${U}/${u.id}`)).status).toBe(204);
    expect(t.sandbox.state.users.has(u.id)).toBe(false);
    expect((await t.req('DELETE', `${U}/${u.id}`)).status).toBe(404);
    expect((await t.req('GET', `${U}/${u.id}`)).status).toBe(404);
    const again = await t.req('POST', U, oktaUser('gone@okta.local'));
    expect(again.status).toBe(201);
  });

  it('a user deleted in FullStory itself reads 404 and is no longer found by filters', async () => {
    const u = await create(oktaUser('deleted.upstream@okta.local'));
    t.sandbox.state.deleteUser(u.id);
    expect((await t.req('GET', `${U}/${u.id}`)).status).toBe(404);
    const found = await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "deleted.upstream@okta.local"')}`);
    expect(found.body.totalResults).toBe(0);
    expect((await t.req('POST', U, oktaUser('deleted.upstream@okta.local'))).status).toBe(201);
  });

  it('a userName freed by a deletion in FullStory itself can be created again at once', async () => {
    const u = await create(oktaUser('recreated@okta.local'));
    t.sandbox.state.deleteUser(u.id);
    const again = await t.req('POST', U, oktaUser('recreated@okta.local'));
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(u.id);
    expect((await t.req('GET', `${U}/${again.body.id}`)).status).toBe(200);
  });

  it('a missing or wrong IdP token is 401 with a SCIM Error, and no token reaches the log', async () => {
    const none = await t.req('GET', U, undefined, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
    const wrong = await t.req('GET', U, undefined, { authorization: 'Bearer not-the-token-at-all' });
    expect(wrong.status).toBe(401);
    const scheme = await t.req('GET', U, undefined, { authorization: `Basic ${IDP_TOKEN}` });
    expect(scheme.status).toBe(401);
    const logs = t.logs();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(IDP_TOKEN);
    expect(logs).not.toContain('not-the-token-at-all');
    expect(logs).not.toContain(t.sandbox.token);
  });
});
