import { afterEach, describe, expect, it } from 'vitest';
import { LAST_PLAN_KEY } from '../../src/plan/plan.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import { databases, oktaUser, startTestBridge, tempSchema, U, type TestBridge } from '../helpers/bridge.js';

const dbs = await databases();
const TEN_MINUTES = { plan: { intervalMinutes: 10 } };

const bridges: TestBridge[] = [];
let sb: RunningSandbox | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const b of bridges.splice(0)) await b.close();
  await sb?.close();
  for (const c of cleanups.splice(0)) await c();
});

/** A plan over an empty-ish FullStory reads /Users once a run: runs are counted by those reads. */
const listings = () => sb!.counters.count({ method: 'GET', route: '/Users' });
/** Makes the last plan a period old, as time would. */
const age = (t: TestBridge) =>
  t.bridge.core.store.transaction(async (tx) => {
    const last = JSON.parse((await tx.kv.get(LAST_PLAN_KEY))!) as { at: string };
    await tx.kv.set(LAST_PLAN_KEY, JSON.stringify({ ...last, at: new Date(Date.now() - 11 * 60_000).toISOString() }));
  });

describe.each(dbs)('the scheduled plan (PLAN_INTERVAL_MINUTES), on %s', (db) => {
  it('runs at start and then once a period between all replicas, applying nothing', async () => {
    sb = await startSandbox({ patch: { rateLimit: null } });
    const shared = db === 'postgres' ? await tempSchema() : undefined;
    if (shared) cleanups.push(shared.drop);
    const replica = () => startTestBridge({ db, sharedSandbox: sb, ...(shared ? { pgSchema: shared.schema } : {}), config: TEN_MINUTES });
    const replicas = [await replica(), ...(shared ? [await replica()] : [])];
    bridges.push(...replicas);
    const a = replicas[0]!;
    // Each started its schedule, whose first look runs the plan unless another replica just did.
    await Promise.all(replicas.map((r) => r.bridge.core.scheduledPlan.tick()));
    const afterFirst = listings();
    // Not due yet: nobody reads FullStory again.
    await Promise.all(replicas.map((r) => r.bridge.core.scheduledPlan.tick()));
    expect(listings()).toBe(afterFirst);
    await age(a);
    await Promise.all(replicas.map((r) => r.bridge.core.scheduledPlan.tick()));
    expect(listings()).toBe(afterFirst + 1);
    expect(sb.counters.writes()).toBe(0);
  });

  it('records its counts, says drift once when it appears, and shows it in the metrics', async () => {
    sb = await startSandbox({ patch: { rateLimit: null } });
    const t = await startTestBridge({ db, sharedSandbox: sb, config: TEN_MINUTES });
    bridges.push(t);
    const ada = (await t.req('POST', U, oktaUser('ada@plan.test', { displayName: 'Ada' }))).body.id as string;
    await t.bridge.core.scheduledPlan.tick();
    // Someone changes her name in FullStory, behind the IdP's back.
    sb.state.users.get(ada)!.displayName = 'Ada (edited in FullStory)';
    for (let i = 0; i < 2; i++) {
      await age(t);
      await t.bridge.core.scheduledPlan.tick();
    }
    expect(t.logs().match(/the scheduled plan found drift: 1 changes/g)).toHaveLength(1);
    const last = JSON.parse((await t.bridge.core.store.read((r) => r.kv.get(LAST_PLAN_KEY)))!) as Record<string, unknown>;
    expect(last).toMatchObject({ updates: 1, scheduled: true });
    const metrics = (await t.bridge.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics.split('\n').filter((l) => l.startsWith('scim_bridge_plan_drift'))).toEqual(['scim_bridge_plan_drift 1']);
    expect(sb.state.users.get(ada)!.displayName).toBe('Ada (edited in FullStory)');
  });
});
