import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { G, GROUP_SCHEMA, oktaUser, PATCH_OP, databases, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

const dbs = await databases();

describe.each(dbs)('ETags (RFC 7644 §3.14) on %s', (db) => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ db });
  });
  afterAll(async () => t?.close());
  const rename = (id: string, displayName: string, ifMatch?: string) =>
    t.req(
      'PATCH',
      `${U}/${id}`,
      { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: displayName }] },
      ifMatch ? { 'if-match': ifMatch } : {},
    );

  it('meta.version is the ETag header; If-None-Match with it is 304, with another 200', async () => {
    const created = await t.req('POST', U, oktaUser('etag.get@example.com'));
    expect(created.headers.etag).toBe(created.body.meta.version);
    const got = await t.req('GET', `${U}/${created.body.id}`);
    expect(got.headers.etag).toBe('W/"1"');
    const same = await t.req('GET', `${U}/${created.body.id}`, undefined, { 'if-none-match': 'W/"1"' });
    expect([same.status, same.body]).toEqual([304, undefined]);
    expect((await t.req('GET', `${U}/${created.body.id}`, undefined, { 'if-none-match': 'W/"7"' })).status).toBe(200);
  });

  it('a change under a stale If-Match is 412 and changes nothing, in FullStory or the index; a current one goes through', async () => {
    const { id } = (await t.req('POST', U, oktaUser('etag.patch@example.com'))).body;
    const writes = t.sandbox.counters.writes();
    const stale = await rename(id, 'Stale', 'W/"5"');
    expect(stale.status).toBe(412);
    expect(stale.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect(t.sandbox.counters.writes()).toBe(writes);
    expect((await t.req('GET', `${U}/${id}`)).body.displayName).toBe('Test User');
    const fresh = await rename(id, 'Fresh', 'W/"1"');
    expect([fresh.status, fresh.headers.etag]).toEqual([200, 'W/"2"']);
    expect((await rename(id, 'Again', '"1"')).status).toBe(412);
    expect((await rename(id, 'Any', '*')).status).toBe(200);
    expect((await t.req('PUT', `${U}/${id}`, oktaUser('etag.patch@example.com'), { 'if-match': 'W/"1"' })).status).toBe(412);
    expect((await t.req('DELETE', `${U}/${id}`, undefined, { 'if-match': 'W/"1"' })).status).toBe(412);
    expect((await t.req('GET', `${U}/${id}`)).status).toBe(200);
  });

  it('groups too: a stale If-Match leaves the membership as it was', async () => {
    const member = (await t.req('POST', U, oktaUser('etag.member@example.com'))).body.id;
    const g = (await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'ETag Group', members: [] })).body;
    const add = { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: member }] }] };
    expect((await t.req('PATCH', `${G}/${g.id}`, add, { 'if-match': 'W/"9"' })).status).toBe(412);
    expect((await t.req('GET', `${G}/${g.id}`)).body.members ?? []).toEqual([]);
    expect((await t.req('PATCH', `${G}/${g.id}`, add, { 'if-match': g.meta.version })).status).toBe(200);
    expect((await t.req('GET', `${G}/${g.id}`)).body.members.map((m: { value: string }) => m.value)).toEqual([member]);
    expect((await t.req('DELETE', `${G}/${g.id}`, undefined, { 'if-match': g.meta.version })).status).toBe(412);
  });

  it('discovery says ETags are supported', async () => {
    expect((await t.req('GET', '/scim/v2/ServiceProviderConfig')).body.etag).toEqual({ supported: true });
  });
});
