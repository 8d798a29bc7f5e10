import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import type { AuditTable } from '../../src/store/schema.js';
import {
  dataEnv,
  dataPlace,
  eventually,
  G,
  GROUP_SCHEMA,
  IDP_TOKEN,
  oktaUser,
  PATCH_OP,
  databases,
  startTestBridge,
  U,
  type DataPlace,
  type TestBridge,
} from '../helpers/bridge.js';
import { runCli } from '../helpers/cli.js';

const dbs = await databases();
const ROLES = { groups: { Admins: 'admin', Engineering: 'architect' } };

/**
 * Every write request FullStory received, whatever it answered, but preflight's probe of
 * DELETE (an id nobody has, answered 404 at each start): it changes nothing.
 */
const writesSeen = (sb: RunningSandbox) =>
  ['POST', 'PUT', 'PATCH', 'DELETE'].reduce((n, method) => n + sb.counters.count({ method }), 0) - sb.counters.count({ method: 'DELETE', status: 404 });

function cliEnv(sb: RunningSandbox, where: DataPlace, extra: Record<string, string> = {}) {
  const configFile = join(mkdtempSync(join(tmpdir(), 'fsb-day-cfg-')), 'bridge.yaml');
  writeFileSync(configFile, 'roles:\n  groups:\n    Admins: admin\n    Engineering: architect\n');
  return {
    CONFIG_FILE: configFile,
    FULLSTORY_SCIM_URL: sb.url,
    FULLSTORY_SCIM_TOKEN: sb.token,
    IDP_TOKEN,
    GUARD_MAX_DEPROVISIONS: '2',
    ...dataEnv(where),
    ...extra,
  };
}

describe.each(dbs)('the audit log tells the whole day, on %s', (db) => {
  const open: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  it('every write FullStory received is one audit row, whichever path sent it (IdP, role-sync, cli:apply, cli:release), and nothing else claims a FullStory status', async () => {
    const sb = await startSandbox({ patch: { rateLimit: null } });
    open.push(sb);
    // A real org: an admin the IdP never managed.
    Object.assign(sb.state.createUser({ userName: 'owner@corp.example' }), { role: 'admin' });
    const { where, remove } = await dataPlace(db);
    open.push({ close: remove });
    const start = (mode: 'live' | 'shadow') =>
      startTestBridge({ db, sharedSandbox: sb, ...where, config: { bridge: { mode }, roles: ROLES, guard: { maxDeprovisions: 2 } } });

    // Morning: shadow mode records two users and writes nothing; apply makes them.
    const shadow = await start('shadow');
    for (const name of ['early', 'bird']) expect((await shadow.req('POST', U, oktaUser(`${name}@okta.local`))).status).toBe(201);
    await shadow.close();
    expect(writesSeen(sb)).toBe(0);
    const applied = await runCli(['apply'], cliEnv(sb, where), 60_000);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);

    // The day, live.
    const t: TestBridge = await start('live');
    open.push(t);
    const ids: Record<string, string> = {};
    for (const name of ['ada', 'bob', 'cy', 'dee', 'eve']) ids[name] = (await t.req('POST', U, oktaUser(`${name}@okta.local`))).body.id;
    expect(
      (await t.req('PATCH', `${U}/${ids.bob}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Bob B' }] })).status,
    ).toBe(200);
    expect((await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: [{ value: ids.bob }, { value: ids.cy }] })).status).toBe(
      201,
    );
    expect((await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Admins', members: [{ value: ids.ada }] })).status).toBe(201);
    await eventually(() => sb.roles().get('ada@okta.local') === 'admin' && sb.roles().get('cy@okta.local') === 'architect', 'the roles delivered');
    const deactivate = (id: string) => t.req('PATCH', `${U}/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    expect((await deactivate(ids.dee!)).status).toBe(200);
    expect((await deactivate(ids.eve!)).status).toBe(200);
    // The third deactivation in the window is held; the IdP's retry is held too, and writes nothing.
    expect((await deactivate(ids.bob!)).status).toBe(503);
    expect((await deactivate(ids.bob!)).status).toBe(503);
    // A refused change writes nothing either.
    expect((await t.req('POST', U, oktaUser('ada@okta.local'))).status).toBe(409);
    await t.bridge.deps.audit.flush();
    const released = await runCli(['release', '--all'], cliEnv(sb, where), 60_000);
    expect(released.code, released.stdout + released.stderr).toBe(0);
    expect(sb.state.users.get(ids.bob!)?.active).toBe(false);
    expect((await deactivate(ids.bob!)).status).toBe(200);
    await t.bridge.deps.audit.flush();

    const rows = (await t.sql<AuditTable>('select * from audit order by at, id')).map((r) => ({
      ...r,
      upstream_status: r.upstream_status === null ? null : Number(r.upstream_status),
    }));
    const writes = rows.filter((r) => r.upstream_status !== null);
    // One to one with what FullStory received, whoever sent it.
    expect(writes).toHaveLength(writesSeen(sb));
    expect(new Set(writes.map((w) => w.token_name))).toEqual(new Set(['IDP_TOKEN', 'role-sync', 'cli:apply', 'cli:release']));
    expect(
      writes
        .filter((w) => w.token_name === 'cli:apply')
        .map((w) => `${w.subject} ${w.operation} ${w.upstream_status}`)
        .sort(),
    ).toEqual(['bird@okta.local fullstory.users.create 201', 'early@okta.local fullstory.users.create 201']);
    // Role grants are on the record, by userName, with what changed.
    expect(
      writes
        .filter((w) => w.token_name === 'role-sync' && w.outcome === 'success')
        .map((w) => `${w.subject} ${w.change}`)
        .sort(),
    ).toEqual(expect.arrayContaining(['ada@okta.local role → admin', 'bob@okta.local role → architect', 'cy@okta.local role → architect']));
    // bob's history ends where FullStory is: deactivated, by the release.
    const bob = rows.filter((r) => r.subject === 'bob@okta.local');
    expect(bob.map((r) => [r.token_name, r.operation, r.outcome])).toEqual(
      expect.arrayContaining([
        ['IDP_TOKEN', 'guard.hold.deactivate', 'held'],
        ['cli:release', 'guard.release', 'success'],
      ]),
    );
    expect(bob.find((r) => r.operation === 'guard.release')).toMatchObject({ upstream_status: 200, change: 'active true → false' });
    // The morning's shadow rows claim no FullStory status.
    const shadowRows = rows.filter((r) => r.outcome === 'shadow');
    expect(shadowRows.map((r) => r.subject).sort()).toEqual(['bird@okta.local', 'early@okta.local']);
    expect(shadowRows.every((r) => r.upstream_status === null)).toBe(true);
    // The refusal and the held retry are on the record without a FullStory status.
    expect(rows.find((r) => r.status === 409)).toMatchObject({ outcome: 'failure', upstream_status: null });
  });
});
