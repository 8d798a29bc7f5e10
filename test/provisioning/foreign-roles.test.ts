import { afterEach, describe, expect, it } from 'vitest';
import { makePlan } from '../../src/plan/plan.js';
import { databases, eventually, G, GROUP_SCHEMA, oktaUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

const dbs = await databases();

describe.each(dbs)('roles the bridge does not know are left alone, on %s', (db) => {
  let t: TestBridge | undefined;
  afterEach(async () => t?.close());

  it('an Umbrella Admin is never demoted or counted as drift; plan lists them unmanaged with the role FullStory shows', async () => {
    // FullStory's own admin, whom the IdP never managed, is there from the start.
    t = await startTestBridge({ db, sandbox: { putUsers: 'replace' }, config: { roles: { groups: { Engineering: 'architect' } } } });
    const owner = t.sandbox.state.createUser({ userName: 'owner@corp.test' });
    owner.foreignRole = 'Umbrella Admin';
    const ada = (await t.req('POST', U, oktaUser('ada@corp.test'))).body.id as string;
    const eng = await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: [{ value: ada }] });
    await eventually(() => t!.sandbox.roles().get('ada@corp.test') === 'architect', 'architect in FullStory');
    // An admin makes her an Umbrella Admin in FullStory; the IdP reads her (as Okta does before an update).
    t.sandbox.state.users.get(ada)!.foreignRole = 'Umbrella Admin';
    expect((await t.req('GET', `${U}/${ada}`)).status).toBe(200);

    await t.req('PATCH', `${G}/${eng.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${ada}"]` }] });
    await t.bridge.core.worker.idle();
    // A profile PUT, where FullStory's PUT replaces the whole user, sends her role back as FullStory shows it.
    expect((await t.req('PUT', `${U}/${ada}`, oktaUser('ada@corp.test', { displayName: 'Ada L' }))).status).toBe(200);
    expect(t.sandbox.roles().get('ada@corp.test')).toBe('Umbrella Admin');
    expect(t.sandbox.roles().get('owner@corp.test')).toBe('Umbrella Admin');

    await t.bridge.deps.audit.flush();
    const rows = await t.sql<{ operation: string; detail: string }>("select * from audit where operation = 'roles.left-alone'");
    expect(rows.map((r) => r.detail)).toEqual([expect.stringContaining('"Umbrella Admin", which the bridge does not manage')]);

    const { api, capabilities, roles } = t.bridge.core.upstream;
    const plan = await makePlan({ store: t.bridge.core.store, api, delivery: roles.delivery, capabilities: capabilities(), isPending: () => false });
    expect(plan.roleChanges).toBe(0);
    const unmanaged = plan.items.filter((i) => i.action === 'unmanaged').map((i) => [i.userName, i.actual?.role]);
    expect(unmanaged.sort()).toEqual([
      ['ada@corp.test', 'Umbrella Admin'],
      ['owner@corp.test', 'Umbrella Admin'],
    ]);
  });
});
