import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import pg from 'pg';
import { eventually, G, oktaUser, PG_URL, postgresAvailable, startTestBridge, tempSchema, U, type TestBridge } from '../helpers/bridge.js';

const pgUp = await postgresAvailable();
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
async function bridge(opts: Parameters<typeof startTestBridge>[0]): Promise<TestBridge> {
  const t = await startTestBridge(opts);
  closers.push(() => t.close());
  return t;
}
async function sandbox(patch: Parameters<typeof startSandbox>[0] = {}): Promise<RunningSandbox> {
  const sb = await startSandbox(patch);
  closers.push(() => sb.close());
  return sb;
}

describe('the rate budget', () => {
  it('an IdP request that cannot get budget in time is answered 429 with Retry-After, not a hang', async () => {
    // The bridge spends half of FullStory's burst of 14: the preflight takes six of its seven
    // tokens; of these three requests, two must wait two seconds or more.
    const t = await bridge({ config: { fullstory: { ratePerSecond: 0.5, rateBurst: 14, idpWaitMs: 300, idpReserve: 0 } } });
    const sentBefore = t.sandbox.counters.count({ method: 'GET', route: '/Users' });
    const results = await Promise.all([1, 2, 3].map(() => t.req('GET', `${U}?count=1`)));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    // Answered instead of waited for: a 429's request never reached FullStory afterwards.
    expect(t.sandbox.counters.count({ method: 'GET', route: '/Users' }) - sentBefore).toBe(results.length - limited.length);
    for (const r of limited) {
      expect(r.headers['retry-after']).toMatch(/^\d+$/);
      expect(r.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' });
    }
  });

  it('IdP calls go ahead of background role sync', async () => {
    const t = await bridge({ config: { fullstory: { ratePerSecond: 40, rateBurst: 5, idpReserve: 3 }, roles: { groups: { Admins: 'admin' } } } });
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) ids.push(t.sandbox.state.createUser({ userName: `prio${i}@example.com` }).id);
    await t.bridge.deps.store.transaction((tx) =>
      tx.users.adopt(ids.map((id, i) => ({ id, resource: { userName: `prio${i}@example.com` }, role: 'standard' }))),
    );
    await t.req('POST', G, { displayName: 'Admins', members: ids.map((value) => ({ value })) });
    await eventually(async () => (await t.bridge.deps.store.read((r) => r.roleSync.stats())).backlog < 290, 'sync under way');
    const syncWrites = () => t.sandbox.counters.count({ method: 'PATCH', route: '/Users/:id' });
    const overtaken: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = syncWrites();
      const res = await t.req('GET', `${U}?count=1`);
      overtaken.push(syncWrites() - before);
      expect(res.status).toBe(200);
    }
    // With 290 role writes queued at 40/s (7 s of work) and eight sync lanes waiting, each IdP
    // call goes ahead of them: at most the one or two sync writes already granted land meanwhile.
    expect(Math.max(...overtaken)).toBeLessThanOrEqual(2);
    expect((await t.bridge.deps.store.read((r) => r.roleSync.stats())).backlog).toBeGreaterThan(100);
  });
});

/** Whether the shared budget in `schema` holds a pause that has not ended. */
async function pausedInStore(schema: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: number }>(
      'select count(*)::int as n from rate_budget where paused_until_ms > extract(epoch from clock_timestamp()) * 1000',
    );
    return rows[0]!.n > 0;
  } finally {
    await c.end();
  }
}

describe.skipIf(!pgUp)('one budget across replicas (PostgreSQL)', () => {
  it('a 429 makes every replica wait for its Retry-After', async () => {
    const sb = await sandbox({ patch: { rateLimit: null } });
    const { schema, drop } = await tempSchema();
    closers.push(drop);
    const cfg = { config: { fullstory: { ratePerSecond: 100, rateBurst: 100, idpWaitMs: 10_000 } } };
    const a = await bridge({ db: 'postgres', pgSchema: schema, sharedSandbox: sb, ...cfg });
    const b = await bridge({ db: 'postgres', pgSchema: schema, sharedSandbox: sb, ...cfg });
    // FullStory now allows one request every two seconds, and its bucket is empty.
    sb.set({ rateLimit: { perSecond: 0.5, burst: 1, headers: false } });
    await fetch(`${sb.url}/Users?count=1`, { headers: { authorization: `Bearer ${sb.token}` } });
    sb.counters.reset();
    const first = a.req('GET', `${U}?count=1`);
    await eventually(() => sb.counters.count({ status: 429 }) === 1, 'replica A to meet a 429');
    // The pause is A's to write once its 429 is read: B is asked only once it stands in the shared budget.
    await eventually(() => pausedInStore(schema), 'the pause in the shared budget');
    const pausedAt = performance.now();
    const second = b.req('GET', `${U}?count=1`);
    const [ra, rb] = await Promise.all([first, second]);
    expect([ra.status, rb.status]).toEqual([200, 200]);
    // Nothing reached FullStory during the pause its 429 asked for (Retry-After: 2), from either replica.
    const [rejected, next] = sb.counters.arrivalTimes();
    expect(next! - rejected!).toBeGreaterThan(1900);
    expect(performance.now() - pausedAt).toBeGreaterThan(1500);
  });

  it('across replicas FullStory never sees more than the budget allows in any second', async () => {
    const sb = await sandbox({ patch: { rateLimit: null } });
    const { schema, drop } = await tempSchema();
    closers.push(drop);
    const cfg = { config: { fullstory: { ratePerSecond: 10, rateBurst: 3, idpWaitMs: 20_000, idpReserve: 0 } } };
    const a = await bridge({ db: 'postgres', pgSchema: schema, sharedSandbox: sb, ...cfg });
    const b = await bridge({ db: 'postgres', pgSchema: schema, sharedSandbox: sb, ...cfg });
    // Both replicas' start-up calls done (preflight, the worker's first round) before counting.
    for (const t of [a, b]) {
      await eventually(async () => (await t.bridge.app.inject({ url: '/readyz' })).statusCode === 200, 'the replica to be ready');
      await t.bridge.core.worker.idle();
    }
    sb.counters.reset();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).req('GET', `${U}?count=1`)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    // burst 3 + 10 per second, one more for timing at the window's edge.
    expect(sb.counters.busiestWindow(1000)).toBeLessThanOrEqual(14);
    expect(sb.counters.count({ status: 200 })).toBe(30);
  });
});

describe('the circuit breaker', () => {
  it('stops calling a FullStory that keeps failing, shows it in /readyz, and closes again once FullStory recovers', async () => {
    const t = await bridge({ config: { fullstory: { circuitThreshold: 3, circuitOpenMs: 800 } } });
    t.sandbox.set({ faults: { failRate: 1 } });
    for (let i = 0; i < 3; i++) expect((await t.req('GET', `${U}?count=1`)).status).toBeGreaterThanOrEqual(500);
    const reached = t.sandbox.counters.count();
    const res = await t.req('GET', `${U}?count=1`);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.body.detail).toMatch(/FullStory has been failing/);
    expect(t.sandbox.counters.count()).toBe(reached);
    expect((await t.bridge.app.inject({ url: '/readyz' })).json().circuit).toBe('open');
    t.sandbox.set({ faults: { failRate: 0 } });
    // Answered 503 without a call until the open period ends; then the trial call goes through.
    await eventually(async () => (await t.req('GET', `${U}?count=1`)).status === 200, 'the circuit to let a trial call through', 5000);
    expect((await t.bridge.app.inject({ url: '/readyz' })).json().circuit).toBe('closed');
    expect((await t.req('POST', U, oktaUser('after.recovery@okta.local'))).status).toBe(201);
  });
});
