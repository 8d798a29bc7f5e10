import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/fullstory/errors.js';
import { planRefusal, PlanWord } from '../../src/fullstory/plan-word.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import { dataEnv, dataPlace, databases, eventually, G, GROUP_SCHEMA, oktaUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';
import { runCli } from '../helpers/cli.js';

const dbs = await databases();

const refused = (message: string) => new UpstreamError(400, message, 'http');

describe('planRefusal: FullStory saying its plan lacks a role', () => {
  it('names the plan and the role in the wordings FullStory may use, and nothing else counts', () => {
    expect(planRefusal(refused('Role "explorer" is not available on the business plan'))).toEqual({ reported: 'business', role: 'explorer' });
    expect(planRefusal(refused('role architect is not available on your Advanced plan'))).toEqual({ reported: 'business', role: 'architect' });
    expect(planRefusal(refused('Role "guest" is not available on the Data Direct plan'))).toEqual({ reported: 'data-direct', role: 'guest' });
    expect(planRefusal(refused('Role "explorer" is not allowed'))).toEqual({ reported: null, role: 'explorer' });
    expect(planRefusal(refused('"roles" must be written as ["standard"]'))).toBeUndefined();
    expect(planRefusal(new UpstreamError(503, 'Role "explorer" is not available on the business plan', 'http'))).toBeUndefined();
  });

  it('a word said under another configured plan is not restored; one under this plan blocks exactly the roles the reported plan lacks', async () => {
    const word = new PlanWord('enterprise');
    expect(word.restore({ configured: 'business', reported: 'business', role: 'explorer', detail: 'x', at: 'then' })).toBe(false);
    expect(await word.learn(refused('Role "explorer" is not available on the business plan'))).toBe(true);
    expect(['admin', 'architect', 'standard', 'explorer', 'guest'].map((r) => word.blocks(r) !== undefined)).toEqual([false, true, false, true, false]);
  });
});

describe.each(dbs)('a FullStory on another plan than configured, on %s', (db) => {
  let t: TestBridge | undefined;
  let sb: RunningSandbox | undefined;
  const removers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await t?.close();
    await sb?.close();
    for (const r of removers.splice(0)) await r();
  });

  it('stops asking after FullStory names its plan: blocked, counted, said by /readyz and check, and tried again once the configuration changes', async () => {
    const { where, remove } = await dataPlace(db);
    removers.push(remove);
    sb = await startSandbox({ patch: { plan: 'business', rateLimit: null } });
    const roles = { groups: { Analysts: 'explorer', 'FS Admins': 'admin' } };
    t = await startTestBridge({ db, sharedSandbox: sb, ...where, config: { roles } });
    const ids: string[] = [];
    for (const n of ['a', 'b', 'c', 'd']) ids.push((await t.req('POST', U, oktaUser(`${n}@plan.test`))).body.id);
    const analysts = await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Analysts', members: [{ value: ids[0] }, { value: ids[1] }] });
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: [{ value: ids[3] }] });
    const ready = async () => (await t!.bridge.app.inject({ method: 'GET', url: '/readyz' })).json();
    await eventually(async () => (await ready()).planMismatch !== undefined, 'the plan mismatch in /readyz');
    await t.bridge.core.worker.idle();
    const patches = () => sb!.counters.count({ method: 'PATCH', route: '/Users/:id', status: 400 });
    const spent = patches();
    // At most one refused write per lane in flight when the word came: never a retry storm.
    expect(spent).toBeGreaterThanOrEqual(1);
    expect(spent).toBeLessThanOrEqual(t.bridge.core.config.sync.concurrency);
    await t.req('PATCH', `${G}/${analysts.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: ids[2] }] }] });
    await t.bridge.core.worker.idle();
    expect(patches()).toBe(spent);
    // A role the plan has is delivered as ever.
    expect(sb.roles().get('d@plan.test')).toBe('admin');

    const body = await ready();
    expect(body.status).toBe('degraded');
    expect(body.planMismatch).toMatchObject({ configured: 'enterprise', reported: 'business', role: 'explorer' });
    expect(body.planMismatch.message).toMatch(/FULLSTORY_PLAN\) to business/);
    const outbox = await t.sql<{ user_id: string; last_error: string }>('select user_id, last_error from role_sync order by user_id');
    expect(outbox.map((r) => r.user_id).sort()).toEqual([ids[0], ids[1], ids[2]].sort());
    expect(outbox.every((r) => r.last_error.startsWith('blocked: fullstory.plan is "enterprise"'))).toBe(true);
    const metrics = (await t.bridge.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^scim_bridge_fullstory_plan_mismatch 1$/m);
    expect(metrics).toMatch(/^scim_bridge_role_changes_blocked_total [1-9]/m);

    const check = await runCli(['check'], { FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: sb.token, ...dataEnv(where) }, 30_000);
    expect(check.code, check.stdout).toBe(1);
    expect(check.stdout).toMatch(/^FAIL {2}plan: fullstory.plan is "enterprise", but FullStory said it is on the business plan/m);

    // The operator sets the plan and a mapping it can take: what was blocked is tried again, and the word is gone.
    await t.close();
    t = await startTestBridge({
      db,
      sharedSandbox: sb,
      ...where,
      config: { fullstory: { plan: 'business' }, roles: { groups: { Analysts: 'standard', 'FS Admins': 'admin' } } },
    });
    expect((await ready()).planMismatch).toBeUndefined();
    await eventually(async () => (await t!.bridge.deps.store.read((r) => r.roleSync.stats())).backlog === 0, 'the outbox to drain');
    expect((await runCli(['check'], { FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: sb.token, ...dataEnv(where) }, 30_000)).code).toBe(0);
  });
});
