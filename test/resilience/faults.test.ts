import { describe, expect, it } from 'vitest';
import { eventually, G, GROUP_SCHEMA, PATCH_OP, databases, startTestBridge, U, USER_SCHEMA, type Res, type TestBridge } from '../helpers/bridge.js';

const dbs = await databases();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An IdP as Okta and Entra behave: a failed request is sent again later; a 409 on a
 * create is followed by a lookup by userName, and the user found is linked.
 */
async function asIdp(t: TestBridge, method: string, url: string, body: unknown, userName?: string): Promise<Res> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const res = await t.req(method, url, body);
    if (res.status < 300) return res;
    if (res.status === 409 && userName) {
      const found = await t.req('GET', `${U}?filter=${encodeURIComponent(`userName eq ${JSON.stringify(userName)}`)}`);
      if (found.status === 200 && found.body.totalResults === 1) return { ...found, status: 201, body: found.body.Resources[0] };
    } else if (res.status < 500 && res.status !== 429) {
      throw new Error(`${method} ${url}: definitive ${res.status} ${JSON.stringify(res.body)}`);
    }
    await sleep(20 + Math.random() * 40);
  }
  throw new Error(`${method} ${url}: still failing after 60 attempts`);
}

// 20 % as FullStory's bad days look; 50 % so that failures get past the client's own retries often.
const runs = [...dbs.map((db) => [db, 0.2] as const), ['sqlite', 0.5] as const];

describe.each(runs)('under upstream 5xx and resets, on %s with a fail rate of %s', (db, failRate) => {
  it('every change acknowledged to the IdP is in FullStory at the end, and nothing else is', { timeout: 120_000 }, async () => {
    const t = await startTestBridge({
      db,
      config: { fullstory: { circuitThreshold: 8, circuitOpenMs: 150 }, roles: { groups: { Admins: 'admin' } } },
    });
    try {
      t.sandbox.set({ faults: { failRate, resetRate: 0.05 } });
      const acked = new Map<string, { id: string; displayName: string; active: boolean }>();
      const names = Array.from({ length: 24 }, (_, i) => `fault${i}-${db}-${failRate}@example.com`);
      // Six users at a time, each with its own sequence: create, three renames, then deactivate every other.
      for (let i = 0; i < names.length; i += 6) {
        await Promise.all(
          names.slice(i, i + 6).map(async (userName, j) => {
            const created = await asIdp(t, 'POST', U, { schemas: [USER_SCHEMA], userName, displayName: 'v0', active: true }, userName);
            const state = { id: created.body.id as string, displayName: 'v0', active: true };
            acked.set(userName, state);
            for (let v = 1; v <= 3; v++) {
              await asIdp(t, 'PATCH', `${U}/${state.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: `v${v}` }] });
              state.displayName = `v${v}`;
            }
            if ((i + j) % 2 === 0) {
              const current = (await asIdp(t, 'GET', `${U}/${state.id}`, undefined)).body;
              await asIdp(t, 'PUT', `${U}/${state.id}`, { ...current, active: false });
              state.active = false;
            }
          }),
        );
      }
      const admins = [...acked.values()].slice(0, 8).map((u) => u.id);
      await asIdp(t, 'POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Admins', members: admins.map((value) => ({ value })) });

      t.sandbox.set({ faults: { failRate: 0, resetRate: 0 } });
      await eventually(async () => (await t.bridge.deps.store.read((r) => r.roleSync.stats())).backlog === 0, 'role sync to drain', 60_000);

      const fullstory = [...t.sandbox.state.users.values()];
      // Nothing in FullStory that the IdP did not create, and no user twice.
      expect(fullstory.map((u) => u.userName).sort()).toEqual([...names].sort());
      for (const [userName, want] of acked) {
        const fs = fullstory.find((u) => u.userName === userName)!;
        expect({ id: fs.id, displayName: fs.displayName, active: fs.active }, userName).toEqual(want);
        expect(t.sandbox.state.roleOf(fs)).toBe(admins.includes(fs.id) ? 'admin' : 'standard');
        const back = (await t.req('GET', `${U}/${want.id}`)).body;
        expect({ displayName: back.displayName, active: back.active }).toEqual({ displayName: want.displayName, active: want.active });
      }
      // The faults were real: FullStory failed and dropped answers along the way.
      expect(t.sandbox.counters.count({ status: (s) => s >= 500 })).toBeGreaterThan(10);
    } finally {
      await t.close();
    }
  });
});
