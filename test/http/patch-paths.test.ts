import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, entraUser, PATCH_OP, databases, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

const dbs = await databases();
const profiles = [{ patchUsers: true }, { patchUsers: false }] as const;

describe.each(dbs)('PATCH paths of RFC 7644 §3.5.2 on %s', (db) => {
  let t: TestBridge;
  let id: string;
  const patch = (Operations: unknown[]) => t.req('PATCH', `${U}/${id}`, { schemas: [PATCH_OP], Operations });
  beforeAll(async () => {
    t = await startTestBridge({ db });
    id = (await t.req('POST', U, entraUser('paths@example.com', 'ext-paths'))).body.id;
  });
  afterAll(async () => t?.close());

  it("an extension's URN as the whole path: add and replace merge its attributes, remove takes it away", async () => {
    const added = await patch([{ op: 'add', path: ENTERPRISE, value: { costCenter: 'CC-1', department: 'Research' } }]);
    expect(added.status).toBe(200);
    expect(added.body[ENTERPRISE]).toMatchObject({ costCenter: 'CC-1', department: 'Research', employeeNumber: '701984' });
    const replaced = await patch([{ op: 'replace', path: ENTERPRISE, value: { manager: 'boss-2' } }]);
    expect(replaced.body[ENTERPRISE]).toMatchObject({ manager: { value: 'boss-2' }, costCenter: 'CC-1' });
    const removed = await patch([{ op: 'remove', path: ENTERPRISE }]);
    expect(removed.status).toBe(200);
    expect(removed.body).not.toHaveProperty(ENTERPRISE);
    expect(removed.body.schemas).not.toContain(ENTERPRISE);
    expect((await t.req('GET', `${U}/${id}`)).body).not.toHaveProperty(ENTERPRISE);
  });

  it('schemas, id and meta are read-only: 400 mutability, and nothing changes (not even the version)', async () => {
    const before = (await t.req('GET', `${U}/${id}`)).body;
    for (const path of ['schemas', 'id', 'meta']) {
      const res = await patch([{ op: 'replace', path, value: path === 'schemas' ? ['urn:x'] : 'x' }]);
      expect([path, res.status, res.body.scimType]).toEqual([path, 400, 'mutability']);
    }
    expect((await t.req('GET', `${U}/${id}`)).body.meta.version).toBe(before.meta.version);
  });
});

describe.each(profiles)('removing an attribute really removes it, FullStory PATCH support %o', (profile) => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ sandbox: { patchUsers: profile.patchUsers } });
  });
  afterAll(async () => t?.close());
  const remove = (id: string, path: string) => t.req('PATCH', `${U}/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path }] });

  it("removing active leaves no active in the IdP's view, which /Schemas defines as active, and FullStory keeps the teammate active", async () => {
    const id = (await t.req('POST', U, entraUser(`rm.active.${profile.patchUsers}@example.com`, `ext-rm-${profile.patchUsers}`))).body.id as string;
    const res = await remove(id, 'active');
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('active');
    expect((await t.req('GET', `${U}/${id}`)).body).not.toHaveProperty('active');
    expect(t.sandbox.state.users.get(id)?.active).toBe(true);
    const schema = (await t.req('GET', '/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User')).body;
    expect(schema.attributes.find((a: { name: string }) => a.name === 'active').description).toMatch(/Absent .* means active/);
  });

  it('removing active from a deactivated user reactivates it in FullStory; a deactivation in FullStory itself still shows', async () => {
    const id = (await t.req('POST', U, entraUser(`rm.inactive.${profile.patchUsers}@example.com`, `ext-rmi-${profile.patchUsers}`))).body.id as string;
    await t.req('PATCH', `${U}/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    expect(t.sandbox.state.users.get(id)?.active).toBe(false);
    expect((await remove(id, 'active')).body).not.toHaveProperty('active');
    expect(t.sandbox.state.users.get(id)?.active).toBe(true);
    t.sandbox.state.users.get(id)!.active = false;
    expect((await t.req('GET', `${U}/${id}`)).body.active).toBe(false);
  });

  it('removing an optional boolean or string attribute takes it out of the resource', async () => {
    const id = (await t.req('POST', U, { ...entraUser(`rm.title.${profile.patchUsers}@example.com`, `ext-rmt-${profile.patchUsers}`), title: 'Boss' })).body
      .id as string;
    const res = await remove(id, 'title');
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('title');
    expect((await t.req('GET', `${U}/${id}`)).body).not.toHaveProperty('title');
  });
});
