import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/server.js';
import { dataEnv, dataPlace, eventually, G, GROUP_SCHEMA, IDP_TOKEN, oktaUser, PATCH_OP, startTestBridge, U } from '../helpers/bridge.js';
import { runCli } from '../helpers/cli.js';

describe('release tells the truth about what FullStory did', () => {
  const open: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  it('a released demotion FullStory refuses exits 1 and says which and why, claiming no retry of its own', async () => {
    // FullStory is on the business plan, which has no architect role; the mapping demotes admins to architect.
    const sb = await startSandbox({ patch: { rateLimit: null, plan: 'business' } });
    open.push(sb);
    Object.assign(sb.state.createUser({ userName: 'owner@corp.example' }), { role: 'admin' });
    const { where, remove } = await dataPlace('sqlite');
    open.push({ close: remove });
    const roles = { groups: { Admins: 'admin', Engineering: 'architect' } };
    const t = await startTestBridge({ sharedSandbox: sb, ...where, config: { roles, guard: { maxDeprovisions: 1 } } });
    open.push(t);
    const ids = [];
    for (const n of ['rel-a', 'rel-b']) ids.push((await t.req('POST', U, oktaUser(`${n}@okta.local`))).body.id);
    const group = (await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Admins', members: ids.map((value) => ({ value })) })).body.id;
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: ids.map((value) => ({ value })) });
    await eventually(() => sb.roles().get('rel-b@okta.local') === 'admin', 'both admins');
    // Both leave Admins for Engineering's architect: one demotion is let through, the other held.
    expect((await t.req('PATCH', `${G}/${group}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'members', value: [] }] })).status).toBe(200);
    const [hold] = await t.bridge.deps.store.read((r) => r.guard.holds('held'));
    expect(hold?.kind).toBe('demote');
    await t.close();
    open.pop();

    const config = join(mkdtempSync(join(tmpdir(), 'fsb-rel-')), 'bridge.yaml');
    writeFileSync(config, 'roles:\n  groups:\n    Admins: admin\n    Engineering: architect\n');
    const env = { CONFIG_FILE: config, FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: sb.token, IDP_TOKEN, GUARD_MAX_DEPROVISIONS: '1', ...dataEnv(where) };
    const res = await runCli(['release', hold!.id], env, 90_000);
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stderr).toContain(`released ${hold!.id}, but FullStory did not take the role architect for ${hold!.userName}`);
    expect(res.stderr).toMatch(/not available on the business plan/);
    expect(res.stdout + res.stderr).not.toMatch(/will retry|retries it later/);
    expect(sb.roles().get(hold!.userName!)).toBe('admin');
  });
});
