import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/server.js';
import { eventually, entraUser, oktaUser, PATCH_OP, databases, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

const dbs = await databases();
const profiles = ['default', 'strict'] as const;
const N = 20;
const q = (f: string) => `${U}?filter=${encodeURIComponent(f)}`;

/** FullStory calls of every kind the sandbox answered (reads included). */
const calls = (t: TestBridge) => t.sandbox.counters.count();

describe.each(dbs.flatMap((db) => profiles.map((profile) => [db, profile] as const)))(
  'near one FullStory call per IdP change on %s, %s profile',
  (db, profile) => {
    const open: TestBridge[] = [];
    afterEach(async () => {
      for (const t of open.splice(0)) await t.close();
    });
    async function bridge(freshnessSeconds = 600) {
      const t = await startTestBridge({ db, profile, config: { index: { freshnessSeconds } } });
      open.push(t);
      await eventually(() => t.logs().includes('index refreshed from FullStory'), 'the startup import');
      return t;
    }

    it('Okta: create (lookup that misses, POST), profile update (GET by id, PUT), deactivate: at most 1.1 calls per change, reads cost none', async () => {
      const t = await bridge();
      const before = calls(t);
      const ids: string[] = [];
      for (let i = 0; i < N; i++) {
        const name = `okta${i}@okta.local`;
        expect((await t.req('GET', q(`userName eq "${name}"`))).body.totalResults).toBe(0);
        const created = await t.req('POST', U, oktaUser(name));
        expect(created.status).toBe(201);
        ids.push(created.body.id);
      }
      for (const id of ids) {
        const got = await t.req('GET', `${U}/${id}`);
        expect(got.status).toBe(200);
        const put = await t.req('PUT', `${U}/${id}`, { ...got.body, displayName: 'Renamed' });
        expect([put.status, put.body.displayName]).toEqual([200, 'Renamed']);
      }
      // Nothing was left undone for the calls saved: every new user holds the default role.
      await eventually(async () => (await t.bridge.deps.store.read((r) => r.roleSync.stats())).backlog === 0, 'no role change pending');
      for (let i = 0; i < N; i++) expect(t.sandbox.roles().get(`okta${i}@okta.local`)).toBe('standard');
      for (const id of ids)
        expect((await t.req('PATCH', `${U}/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] })).status).toBe(200);
      const perChange = (calls(t) - before) / (3 * N);
      expect(perChange).toBeLessThanOrEqual(1.1);
      // Everything FullStory was told is what it holds.
      for (const id of ids) expect(t.sandbox.state.users.get(id)).toMatchObject({ displayName: 'Renamed', active: false });
    });

    it('Entra: create (lookup, POST), update (lookup, PATCH), soft delete: at most 1.1 calls per change; a no-op PUT costs none', async () => {
      const t = await bridge();
      const before = calls(t);
      for (let i = 0; i < N; i++) {
        const name = `entra${i}@testuser.com`;
        expect((await t.req('GET', q(`userName eq "${name}"`))).body.totalResults).toBe(0);
        expect((await t.req('POST', U, entraUser(name, `ext-${i}`))).status).toBe(201);
        const found = (await t.req('GET', q(`externalId eq "ext-${i}"`))).body.Resources[0];
        expect(
          (await t.req('PATCH', `${U}/${found.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: `E ${i}` }] })).status,
        ).toBe(200);
        expect(
          (await t.req('PATCH', `${U}/${found.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] })).status,
        ).toBe(200);
      }
      expect((calls(t) - before) / (3 * N)).toBeLessThanOrEqual(1.1);
      const one = (await t.req('GET', q('externalId eq "ext-0"'))).body.Resources[0];
      const still = calls(t);
      expect((await t.req('PUT', `${U}/${one.id}`, one)).status).toBe(200);
      expect(calls(t)).toBe(still);
    });

    it('an import paged from the fresh index sees every user once, read in order or not, and costs FullStory nothing', async () => {
      const sandbox = await startSandbox({ profile, patch: { rateLimit: null } });
      for (let i = 0; i < 250; i++) sandbox.state.createUser({ userName: `imp${i}@okta.local` });
      const t = await startTestBridge({ db, profile, sharedSandbox: sandbox, config: { index: { freshnessSeconds: 600 } } });
      open.push(t, { close: () => sandbox.close() } as TestBridge);
      await eventually(() => t.logs().includes('index refreshed from FullStory'), 'the startup import');
      const before = calls(t);
      const page = async (start: number) => (await t.req('GET', `${U}?startIndex=${start}&count=100`)).body;
      const inOrder = [await page(1), await page(101), await page(201)];
      expect(inOrder.map((p) => p.totalResults)).toEqual([250, 250, 250]);
      const ids = inOrder.flatMap((p) => p.Resources.map((u: { id: string }) => u.id));
      expect(new Set(ids).size).toBe(250);
      const outOfOrder = [await page(201), await page(1), await page(101)];
      expect(outOfOrder.flatMap((p) => p.Resources.map((u: { id: string }) => u.id)).sort()).toEqual([...ids].sort());
      expect((await page(201)).Resources.map((u: { id: string }) => u.id)).toEqual(ids.slice(200));
      expect(calls(t)).toBe(before);
    });

    it('a user made in FullStory is found after the refresh, or at once when the IdP creates it (409, adopted), and never duplicated; a change made in FullStory shows within the freshness', async () => {
      const t = await bridge(2);
      const made = t.sandbox.state.createUser({ userName: 'made.in.fs@okta.local' });
      const dup = await t.req('POST', U, oktaUser('made.in.fs@okta.local'));
      expect(dup.status).toBe(409);
      expect((await t.req('GET', q('userName eq "made.in.fs@okta.local"'))).body.Resources.map((u: { id: string }) => u.id)).toEqual([made.id]);
      const later = t.sandbox.state.createUser({ userName: 'later@okta.local' });
      await eventually(async () => (await t.req('GET', q('userName eq "later@okta.local"'))).body.totalResults === 1, 'the refresh to adopt it', 10_000);
      t.sandbox.state.users.get(later.id)!.displayName = 'Changed in FullStory';
      await eventually(async () => (await t.req('GET', `${U}/${later.id}`)).body.displayName === 'Changed in FullStory', 'the change to show', 10_000);
      expect([...t.sandbox.state.users.values()].filter((u) => u.userName === 'made.in.fs@okta.local')).toHaveLength(1);
    });
  },
);

describe('the index in /readyz', () => {
  it('says the index is complete, and since when, once the startup import is done; never while the refresh is off', async () => {
    const off = await startTestBridge({ config: { index: { freshnessSeconds: 0 } } });
    const on = await startTestBridge({ config: { index: { freshnessSeconds: 600 } } });
    try {
      const readyz = async (t: TestBridge) => JSON.parse((await t.bridge.app.inject({ method: 'GET', url: '/readyz' })).body).index;
      await eventually(() => on.logs().includes('index refreshed from FullStory'), 'the startup import');
      const shown = await readyz(on);
      expect(shown.complete).toBe(true);
      expect(Date.now() - Date.parse(shown.refreshedAt)).toBeLessThan(60_000);
      expect(await readyz(off)).toEqual({ complete: false, refreshedAt: null });
    } finally {
      await off.close();
      await on.close();
    }
  });
});
