import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTombstoneOf } from '../../src/provisioning/entra-tombstone.js';
import { entraUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

const OBJECT_ID = '5a7c3e1f0b2d4c6e8f9a1b3c5d7e9f01';

describe("Entra's soft-delete name", () => {
  it.each([
    [`${OBJECT_ID}ada@contoso.com`, 'ada@contoso.com', true],
    [`${OBJECT_ID.toUpperCase()}Ada@Contoso.com`, 'ada@contoso.com', true],
    [`${OBJECT_ID}bob@contoso.com`, 'ada@contoso.com', false],
    [`${OBJECT_ID.slice(1)}ada@contoso.com`, 'ada@contoso.com', false],
    [`zz${OBJECT_ID.slice(2)}ada@contoso.com`, 'ada@contoso.com', false],
    ['ada@contoso.com', 'ada@contoso.com', false],
  ])('%s is a tombstone of %s: %s', (candidate, original, expected) => {
    expect(isTombstoneOf(candidate, original)).toBe(expected);
  });
});

describe.each(['default', 'strict'] as const)("Entra's soft delete and restore against the %s FullStory", (profile) => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ profile });
  });
  afterAll(async () => t?.close());

  const teammate = (id: string) => [...t.sandbox.state.users.values()].find((u) => u.id === id)!;
  const patch = (id: string, ...Operations: unknown[]) => t.req('PATCH', `${U}/${id}`, { schemas: [PATCH_OP], Operations });

  it('the rename arriving with active False deactivates the teammate and keeps its userName in FullStory; the restore reactivates the same teammate', async () => {
    const id = (await t.req('POST', U, entraUser('ada@contoso.com', 'ext-ada'))).body.id;
    const tombstone = `${OBJECT_ID}ada@contoso.com`;
    const deleted = await patch(id, { op: 'Replace', path: 'userName', value: tombstone }, { op: 'Replace', path: 'active', value: 'False' });
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body.userName).toBe(tombstone);
    expect([teammate(id).userName, teammate(id).active]).toEqual(['ada@contoso.com', false]);
    // The IdP reads back what it wrote.
    const read = await t.req('GET', `${U}/${id}`);
    expect([read.body.userName, read.body.active]).toEqual([tombstone, false]);
    const found = await t.req('GET', `${U}?filter=${encodeURIComponent(`userName eq "${tombstone}"`)}`);
    expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);

    const restored = await patch(id, { op: 'Replace', path: 'userName', value: 'ada@contoso.com' }, { op: 'Replace', path: 'active', value: 'True' });
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect([teammate(id).userName, teammate(id).active]).toEqual(['ada@contoso.com', true]);
    expect((await t.req('GET', `${U}/${id}`)).body.userName).toBe('ada@contoso.com');
    expect([...t.sandbox.state.users.values()].filter((u) => u.userName.toLowerCase() === 'ada@contoso.com')).toHaveLength(1);
  });

  it('the rename arriving before the deactivation is kept to the bridge too', async () => {
    const id = (await t.req('POST', U, entraUser('bea@contoso.com', 'ext-bea'))).body.id;
    expect((await patch(id, { op: 'Replace', path: 'userName', value: `${OBJECT_ID}bea@contoso.com` })).status).toBe(200);
    expect(teammate(id).userName).toBe('bea@contoso.com');
    expect((await patch(id, { op: 'Replace', path: 'active', value: 'False' })).status).toBe(200);
    expect([teammate(id).userName, teammate(id).active]).toEqual(['bea@contoso.com', false]);
  });

  it('any other userName change is applied as before', async () => {
    const id = (await t.req('POST', U, entraUser('cy@contoso.com', 'ext-cy'))).body.id;
    expect((await patch(id, { op: 'Replace', path: 'userName', value: 'cy.new@contoso.com' })).status).toBe(200);
    expect(teammate(id).userName).toBe('cy.new@contoso.com');
    expect((await patch(id, { op: 'Replace', path: 'userName', value: `${OBJECT_ID}someone@contoso.com` })).status).toBe(200);
    expect(teammate(id).userName).toBe(`${OBJECT_ID}someone@contoso.com`);
  });
});
