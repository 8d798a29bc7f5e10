import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityProblem, identityText } from '../../src/lib/identity-text.js';
import { ENTERPRISE, G, GROUP_SCHEMA, PATCH_OP, databases, startTestBridge, U, USER_SCHEMA, type TestBridge } from '../helpers/bridge.js';

const dbs = await databases();

/** Text an IdP may send: any Unicode but NUL (refused by design), short enough to store. */
const text = (max = 30) => fc.string({ unit: 'grapheme', maxLength: max }).filter((s) => !s.includes('\u0000'));
/** Text that names a person (an email): nothing invisible in it (refused by design, test/security). */
const personText = (max = 20) => text(max).filter((s) => identityProblem(s) === undefined);

const userArb = fc.record(
  {
    name: fc.record({ givenName: text(), familyName: text(), formatted: text() }, { requiredKeys: [] }),
    displayName: text(),
    nickName: text(),
    title: text(),
    locale: fc.constantFrom('en-US', 'de-DE', 'fr'),
    active: fc.boolean(),
    externalId: text(20),
    emails: fc.array(fc.record({ value: personText(), type: fc.constantFrom('work', 'home', 'other'), primary: fc.boolean() }), { maxLength: 3 }),
    [ENTERPRISE]: fc.record({ employeeNumber: text(10), department: text(), manager: fc.record({ value: text(10) }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

describe.each(dbs)('properties on %s', (db) => {
  let t: TestBridge;
  let seq = 0;
  beforeAll(async () => {
    t = await startTestBridge({ db });
  });
  afterAll(async () => t?.close());

  it('a user read back equals what was written', async () => {
    await fc.assert(
      fc.asyncProperty(userArb, async (attrs) => {
        const userName = `prop${seq++}-${db}@example.com`;
        const body = { schemas: [USER_SCHEMA], userName, ...attrs };
        const created = await t.req('POST', U, body);
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const { schemas: _s, id, meta: _m, ...back } = (await t.req('GET', `${U}/${created.body.id}`)).body;
        expect(id).toBe(created.body.id);
        // Exactly as sent (emails in NFC, trimmed: one person, one spelling); an unsent `active` stays absent (which /Schemas defines as active).
        const emails = attrs.emails?.map((e) => ({ ...e, value: identityText(e.value) }));
        expect(back).toEqual({ userName, ...attrs, ...(emails ? { emails } : {}) });
      }),
      { numRuns: 60 },
    );
  });

  it("a group's members equal the serial application of its PATCHes", async () => {
    const pool: string[] = [];
    for (let i = 0; i < 6; i++) pool.push((await t.req('POST', U, { schemas: [USER_SCHEMA], userName: `member${i}-${db}@example.com` })).body.id);
    const subset = fc.subarray(pool, { minLength: 0 });
    const opArb = fc.oneof(
      subset.map((ids) => ({ kind: 'add' as const, ids, op: { op: 'Add', path: 'members', value: ids.map((value) => ({ value })) } })),
      subset.map((ids) => ({ kind: 'remove' as const, ids, op: { op: 'Remove', path: 'members', value: ids.map((value) => ({ value })) } })),
      subset.map((ids) => ({ kind: 'replace' as const, ids, op: { op: 'replace', path: 'members', value: ids.map((value) => ({ value, display: 'x' })) } })),
      fc.constantFrom(...pool).map((id) => ({ kind: 'remove' as const, ids: [id], op: { op: 'remove', path: `members[value eq "${id}"]` } })),
      fc.constant({ kind: 'clear' as const, ids: [] as string[], op: { op: 'remove', path: 'members' } }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }), async (patches) => {
        const id = (await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: `prop-group-${seq++}` })).body.id;
        const model = new Set<string>();
        for (const ops of patches) {
          const res = await t.req('PATCH', `${G}/${id}`, { schemas: [PATCH_OP], Operations: ops.map((o) => o.op) });
          expect(res.status).toBe(200);
          for (const o of ops) {
            if (o.kind === 'add') o.ids.forEach((u) => model.add(u));
            if (o.kind === 'remove') o.ids.forEach((u) => model.delete(u));
            if (o.kind === 'replace') {
              model.clear();
              o.ids.forEach((u) => model.add(u));
            }
            if (o.kind === 'clear') model.clear();
          }
        }
        const members = ((await t.req('GET', `${G}/${id}`)).body.members ?? []).map((m: any) => m.value).sort();
        expect(members).toEqual([...model].sort());
      }),
      { numRuns: 40 },
    );
  });

  it('random requests never get a 5xx; a 4xx is a SCIM Error with status and detail and changes nothing', async () => {
    const target = (await t.req('POST', U, { schemas: [USER_SCHEMA], userName: `fuzz-target-${db}@example.com` })).body.id;
    const group = (await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: `fuzz-group-${db}` })).body.id;
    const paths = fc.oneof(
      fc.constantFrom(
        'active',
        'userName',
        'name.givenName',
        'emails[type eq "work"].value',
        'members',
        'members[value eq "x"]',
        'displayName',
        `${ENTERPRISE}:manager`,
        'id',
        'meta',
        'roles[primary eq "True"].value',
      ),
      fc.string({ maxLength: 40 }),
    );
    const patchOp = fc.record(
      { op: fc.constantFrom('add', 'Replace', 'remove', 'copy', ''), path: fc.option(paths, { nil: undefined }), value: fc.jsonValue({ maxDepth: 3 }) },
      { requiredKeys: ['op'] },
    );
    const request = fc.oneof(
      fc.record({ method: fc.constant('POST'), url: fc.constant(U), body: fc.jsonValue({ maxDepth: 4 }) }),
      fc.record({ method: fc.constant('POST'), url: fc.constant(G), body: fc.jsonValue({ maxDepth: 4 }) }),
      fc.record({ method: fc.constant('PUT'), url: fc.constant(`${U}/${target}`), body: fc.jsonValue({ maxDepth: 4 }) }),
      fc.record({ method: fc.constant('PATCH'), url: fc.constant(`${U}/${target}`), body: fc.record({ Operations: fc.array(patchOp, { maxLength: 4 }) }) }),
      fc.record({ method: fc.constant('PATCH'), url: fc.constant(`${G}/${group}`), body: fc.record({ Operations: fc.array(patchOp, { maxLength: 4 }) }) }),
      fc.record({
        method: fc.constant('GET'),
        url: fc.string({ maxLength: 60 }).map((f) => `${U}?filter=${encodeURIComponent(f)}`),
        body: fc.constant(undefined),
      }),
      fc.record({
        method: fc.constant('GET'),
        url: fc.string({ maxLength: 60 }).map((f) => `${G}?filter=${encodeURIComponent(f)}&startIndex=${encodeURIComponent(f)}`),
        body: fc.constant(undefined),
      }),
      fc.record({
        method: fc.constantFrom('GET', 'DELETE'),
        url: fc.string({ minLength: 1, maxLength: 40 }).map((id) => `${U}/${encodeURIComponent(id)}`),
        body: fc.constant(undefined),
      }),
    );
    const state = async () => ({
      user: (await t.bridge.deps.store.read((r) => r.users.get(target)))?.resource,
      members: await t.bridge.deps.store.read((r) => r.groups.members(group)),
      group: (await t.bridge.deps.store.read((r) => r.groups.get(group)))?.displayName,
      fullstory: t.sandbox.counters.writes(),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ method, url, body }) => {
        const before = await state();
        const res = await t.req(method, url, body === undefined ? undefined : body);
        expect(res.status, `${method} ${url} ${JSON.stringify(body)?.slice(0, 200)} -> ${JSON.stringify(res.body)}`).toBeLessThan(500);
        if (res.status >= 400) {
          expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(res.status), detail: expect.any(String) });
          if (method !== 'GET') expect(await state()).toEqual(before);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  });
});
