import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, entraUser, PATCH_OP, postgresAvailable, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

const dbs = (await postgresAvailable()) ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);

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
