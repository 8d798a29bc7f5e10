import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/server.js';
import {
  eventually,
  G,
  GROUP_SCHEMA,
  IDP_TOKEN,
  oktaUser,
  PATCH_OP,
  databases,
  startTestBridge,
  U,
  dataEnv,
  dataPlace,
  type TestBridge,
} from '../helpers/bridge.js';
import { runCli } from '../helpers/cli.js';

const dbs = await databases();
const ROLES = { groups: { 'FS Admins': 'admin', Engineering: 'architect' } };

describe.each(dbs)('the deprovisioning guard on %s', (db) => {
  const open: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  async function guarded(max = 3) {
    const sb = await startSandbox({ patch: { rateLimit: null } });
    open.push(sb);
    Object.assign(sb.state.createUser({ userName: 'owner@corp.example' }), { role: 'admin' });
    const { where, remove } = await dataPlace(db);
    open.push({ close: remove });
    const t = await startTestBridge({ db, sharedSandbox: sb, ...where, config: { guard: { maxDeprovisions: max }, roles: ROLES } });
    open.push(t);
    const cfg = join(mkdtempSync(join(tmpdir(), 'fsb-guard-cfg-')), 'bridge.yaml');
    writeFileSync(cfg, "roles:\n  groups:\n    'FS Admins': admin\n    Engineering: architect\n");
    const env = {
      CONFIG_FILE: cfg,
      FULLSTORY_SCIM_URL: sb.url,
      FULLSTORY_SCIM_TOKEN: sb.token,
      IDP_TOKEN,
      GUARD_MAX_DEPROVISIONS: String(max),
      ...dataEnv(where),
    };
    return { sb, t, env, where };
  }
  const users = async (t: TestBridge, prefix: string, n: number) => {
    const out: { id: string; userName: string }[] = [];
    for (let i = 0; i < n; i++) out.push((await t.req('POST', U, oktaUser(`${prefix}${i}@okta.local`))).body);
    return out;
  };
  const deactivate = (t: TestBridge, id: string) =>
    t.req('PATCH', `${U}/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });

  it('holds the deactivation past the limit: 503 with Retry-After naming the guard, FullStory unchanged, shown in /readyz, metrics and audit; release applies it once and the IdP retry succeeds', async () => {
    const { sb, t, env } = await guarded(3);
    const list = await users(t, 'off', 4);
    for (const u of list.slice(0, 3)) expect((await deactivate(t, u.id)).status).toBe(200);
    const held = await deactivate(t, list[3]!.id);
    expect(held.status).toBe(503);
    expect(held.headers['retry-after']).toBeDefined();
    expect(held.body.detail).toMatch(/deprovisioning guard: 3 deactivations.*GUARD_MAX_DEPROVISIONS/);
    expect(sb.state.users.get(list[3]!.id)?.active).toBe(true);
    expect((await deactivate(t, list[3]!.id)).status).toBe(503);
    const ready = (await t.bridge.app.inject({ method: 'GET', url: '/readyz' })).json();
    expect(ready.guard.held).toBe(1);
    expect((await t.bridge.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/scim_bridge_guard_held_total\{kind="deactivate"\} 1\b/);
    await eventually(async () => (await t.sql<{ n: number }>("select count(*) as n from audit where outcome = 'held'"))[0]!.n == 1, 'the hold audited once');

    const holds = await runCli(['holds', '--format', 'json'], env, 30_000);
    const listed = JSON.parse(holds.stdout) as { id: string; userName: string; kind: string; tokenName: string }[];
    expect(listed).toEqual([expect.objectContaining({ userName: 'off3@okta.local', kind: 'deactivate', tokenName: 'IDP_TOKEN' })]);
    const released = await runCli(['release', '--all'], env, 30_000);
    expect(released.code, released.stderr).toBe(0);
    expect(sb.state.users.get(list[3]!.id)?.active).toBe(false);
    const writes = sb.counters.writes();
    const retry = await deactivate(t, list[3]!.id);
    expect([retry.status, retry.body.active]).toEqual([200, false]);
    expect(sb.counters.writes()).toBe(writes);
    expect(JSON.parse((await runCli(['holds', '--format', 'json'], env, 30_000)).stdout)).toEqual([]);
  }, 60_000);

  it('a held deletion, released, answers the IdP retry 204 without a second write', async () => {
    const { sb, t, env } = await guarded(1);
    const [a, b] = await users(t, 'del', 2);
    expect((await t.req('DELETE', `${U}/${a!.id}`)).status).toBe(204);
    expect((await t.req('DELETE', `${U}/${b!.id}`)).status).toBe(503);
    expect(sb.state.users.has(b!.id)).toBe(true);
    expect((await runCli(['release', '--all'], env, 30_000)).code).toBe(0);
    const writes = sb.counters.writes();
    expect((await t.req('DELETE', `${U}/${b!.id}`)).status).toBe(204);
    expect(sb.counters.writes()).toBe(writes);
  }, 60_000);

  it('a group push that removes more members than the limit demotes up to it and holds the rest; the membership change stands', async () => {
    const { sb, t } = await guarded(3);
    const list = await users(t, 'eng', 5);
    const g = (await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: list.map((u) => ({ value: u.id })) })).body;
    await eventually(() => list.every((u) => sb.roles().get(u.userName) === 'architect'), 'promotions');
    const res = await t.req('PATCH', `${G}/${g.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'remove', path: 'members', value: list.map((u) => ({ value: u.id })) }],
    });
    expect(res.status).toBe(200);
    expect((await t.req('GET', `${G}/${g.id}`)).body.members ?? []).toEqual([]);
    await eventually(() => list.filter((u) => sb.roles().get(u.userName) === 'standard').length === 3, 'three demotions');
    await t.bridge.core.worker.idle();
    expect(list.filter((u) => sb.roles().get(u.userName) === 'architect')).toHaveLength(2);
    expect((await t.bridge.deps.store.read((r) => r.guard.holds('held'))).map((h) => h.kind)).toEqual(['demote', 'demote']);
  });

  it('a change that would leave FullStory with no active admin is held even under the limit', async () => {
    const { sb, t } = await guarded(25);
    const [ada] = await users(t, 'admin', 1);
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: [{ value: ada!.id }] });
    await eventually(() => sb.roles().get(ada!.userName) === 'admin', 'promotion');
    // The owner is the other admin: ada may go.
    const owner = [...sb.state.users.values()].find((u) => u.userName === 'owner@corp.example')!;
    owner.active = false;
    const held = await deactivate(t, ada!.id);
    expect([held.status, held.body.detail]).toEqual([503, expect.stringMatching(/no active admin/)]);
    owner.active = true;
    await t.bridge.deps.store.transaction(async (tx) => {
      for (const h of await tx.guard.holds('held')) await tx.guard.decide(h.id, 'released', 'test');
    });
    expect((await deactivate(t, ada!.id)).status).toBe(200);
  });

  it('GUARD_MAX_DEPROVISIONS=0 lets every deactivation through', async () => {
    const { t } = await guarded(0);
    for (const u of await users(t, 'free', 5)) expect((await deactivate(t, u.id)).status).toBe(200);
  });

  if (db === 'postgres') {
    it('two replicas on one PostgreSQL share the count', async () => {
      const { sb, t, where } = await guarded(3);
      const other = await startTestBridge({ db, sharedSandbox: sb, pgSchema: where.pgSchema!, config: { guard: { maxDeprovisions: 3 }, roles: ROLES } });
      open.push(other);
      const list = await users(t, 'rep', 4);
      expect((await deactivate(t, list[0]!.id)).status).toBe(200);
      expect((await deactivate(other, list[1]!.id)).status).toBe(200);
      expect((await deactivate(t, list[2]!.id)).status).toBe(200);
      expect((await deactivate(other, list[3]!.id)).status).toBe(503);
    });
  }
});
