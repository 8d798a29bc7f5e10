import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createBridge } from '../../src/bridge.js';
import { loadConfig } from '../../src/config/load.js';
import { startSandbox } from '../../src/sandbox/server.js';
import { oktaUser } from '../helpers/bridge.js';
import { freePort, runCli, startCli } from '../helpers/cli.js';

const children: { kill: (s?: NodeJS.Signals) => boolean }[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

describe('fullstory-scim-bridge CLI', () => {
  it('token prints a random token and the IDP_TOKENS entry holding its SHA-256', async () => {
    const r = await runCli(['token', '--name', 'okta']);
    expect(r.code).toBe(0);
    const token = /^token:\s+(\S+)$/m.exec(r.stdout)![1]!;
    const entry = /add {2}(\S+) {2}to IDP_TOKENS/.exec(r.stdout)![1]!;
    expect(entry).toBe(`okta:${createHash('sha256').update(token).digest('hex')}`);
    expect((await runCli(['token'])).stdout).not.toContain(token);
  });

  it('check exits 0 when FullStory is usable and non-zero with the plain reason when it is not', async () => {
    const sb = await startSandbox({ patch: { rateLimit: null } });
    try {
      const ok = await runCli(['check'], { FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: sb.token });
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/OK\s+capabilities: PATCH \/Users: yes/);
      const bad = await runCli(['check'], { FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: 'stale' });
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/FAIL\s+authenticate: FullStory refused the SCIM token \(401\)/);
      expect(bad.stdout + bad.stderr).not.toContain('stale');
      sb.set({ scimEnabled: false });
      const off = await runCli(['check'], { FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: sb.token });
      expect(off.code).toBe(1);
      expect(off.stdout).toMatch(/SCIM provisioning is not enabled/);
      const badPlan = await runCli(['check'], { FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: sb.token, FULLSTORY_PLAN: 'data-direct' });
      expect(badPlan.code).toBe(1);
      expect(badPlan.stdout).toMatch(/^FAIL {2}config: Invalid configuration:[\s\S]*roles\.default.*not offered by the FullStory data-direct plan/);
    } finally {
      await sb.close();
    }
  });

  it('check describes the strict FullStory as it is, one line a finding, and warns of a forced delivery it contradicts', async () => {
    const sb = await startSandbox({ profile: 'strict', patch: { rateLimit: null, maxPage: 20, roleGroups: 'preexisting' } });
    try {
      for (let i = 0; i < 25; i++) sb.state.createUser({ userName: `c${i}@x.com` });
      const env = { FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: sb.token };
      const auto = await runCli(['check'], env);
      expect(auto.code, auto.stdout + auto.stderr).toBe(0);
      const lines = auto.stdout.trim().split('\n');
      for (const finding of ['capabilities', 'discovery', 'group-filters', 'page-size', 'user-roles', 'role-groups', 'role-delivery']) {
        expect(
          lines.filter((l) => l.includes(` ${finding}: `)),
          finding,
        ).toHaveLength(1);
      }
      expect(auto.stdout).toMatch(/OK\s+group-filters: FullStory runs no filter on \/Groups/);
      expect(auto.stdout).toMatch(/OK\s+page-size: FullStory serves at most 20 resources a page/);
      expect(auto.stdout).toMatch(/OK\s+user-roles: FullStory shows no `roles` on its users/);
      expect(auto.stdout).toMatch(/OK\s+role-groups: FullStory already holds role groups: Admin \(/);
      expect(auto.stdout).toMatch(/OK\s+role-delivery: roles travel as role groups/);
      // Membership is all SCIM can show here: one line says how to confirm the role once in FullStory.
      expect(auto.stdout).toMatch(/^OK\s+role-verification: verification: membership; .*confirm once in FullStory \(Settings > People\)/m);
      const forced = await runCli(['check'], { ...env, ROLE_DELIVERY: 'roles-attribute' });
      expect(forced.code).toBe(0);
      expect(forced.stdout).toMatch(
        /WARN\s+role-delivery: roles.delivery is "roles-attribute", but FullStory shows no `roles`.*Set roles.delivery to "role-groups"/,
      );
      sb.set({ groups: 'none' });
      const noGroups = await runCli(['check'], { ...env, ROLE_DELIVERY: 'role-groups' });
      expect(noGroups.code).toBe(1);
      expect(noGroups.stdout).toMatch(/FAIL\s+role-delivery: roles.delivery is "role-groups" but FullStory has no \/Groups/);
    } finally {
      await sb.close();
    }
  });

  it('the standalone sandbox serves under /scim/v2 with the given token, profile and switches', async () => {
    const port = freePort();
    const run = startCli(['sandbox', '--port', String(port), '--profile', 'strict', '--token', 'T0k3n', '--scim-disabled'], {}, /sandbox .* at http/);
    children.push(run.child);
    await run.started;
    const res = await fetch(`http://127.0.0.1:${port}/scim/v2/Users`, { headers: { authorization: 'Bearer T0k3n' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'unauthenticated' });
    run.child.kill('SIGTERM');
  });

  it('the sandbox rate flags: --rate 0 means no limit, --rate N --burst M limits', async () => {
    const port = freePort();
    const run = startCli(['sandbox', '--port', String(port), '--token', 'T', '--rate', '1', '--burst', '2'], {}, /sandbox .* at http/);
    children.push(run.child);
    await run.started;
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`http://127.0.0.1:${port}/scim/v2/Users`, { headers: { authorization: 'Bearer T' } })).status);
    expect(statuses).toEqual([200, 200, 429]);
    run.child.kill('SIGTERM');
  });

  it('audit --since 1h --format jsonl|csv prints what IdPs changed, without secrets', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fsb-audit-'));
    const sb = await startSandbox({ patch: { rateLimit: null } });
    const idp = 'audit-test-idp-token-000000';
    const bridge = await createBridge(loadConfig({}, { fullstory: { url: sb.url, token: sb.token }, idp: { token: idp }, database: { dataDir } }), {
      logger: pino({ level: 'silent' }),
      sandbox: sb,
    });
    try {
      const auth = { authorization: `Bearer ${idp}`, 'content-type': 'application/scim+json', 'user-agent': 'Okta SCIM Client 1.0.0' };
      const created = await bridge.app.inject({
        method: 'POST',
        url: '/scim/v2/Users',
        headers: auth,
        payload: oktaUser('audited@okta.local', { password: 'pw-secret-123' }),
      });
      expect(created.statusCode).toBe(201);
      const dup = await bridge.app.inject({ method: 'POST', url: '/scim/v2/Users', headers: auth, payload: oktaUser('audited@okta.local') });
      expect(dup.statusCode).toBe(409);
    } finally {
      await bridge.close();
      await sb.close();
    }
    const jsonl = await runCli(['audit', '--since', '1h', '--format', 'jsonl'], { DATA_DIR: dataDir });
    expect(jsonl.code, jsonl.stderr).toBe(0);
    const rows = jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      token_name: 'IDP_TOKEN',
      user_agent: 'Okta SCIM Client 1.0.0',
      operation: 'POST /Users',
      resource_type: 'User',
      subject: 'audited@okta.local',
      outcome: 'success',
      status: 201,
      upstream_status: 201,
    });
    expect(rows[1]).toMatchObject({ outcome: 'failure', status: 409, detail: 'User already exists in the database.' });
    expect(jsonl.stdout).not.toContain(idp);
    expect(jsonl.stdout).not.toContain('pw-secret-123');
    const csv = await runCli(['audit', '--since', '1h', '--format', 'csv'], { DATA_DIR: dataDir });
    expect(csv.stdout.split(/\r?\n/)[0]).toBe(
      'at,token_name,user_agent,method,operation,resource_type,resource_id,subject,outcome,status,upstream_status,detail',
    );
    expect(csv.stdout.trim().split(/\r?\n/)).toHaveLength(3);
    const none = await runCli(['audit', '--since', '2099-01-01'], { DATA_DIR: dataDir });
    expect(none.stdout).toBe('');
  });
});

describe('IdP token rotation', () => {
  it('a token removed from the config file is refused at once after SIGHUP, without a restart', async () => {
    const { writeFileSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'fsb-rotate-'));
    const file = join(dir, 'bridge.yaml');
    const hash = (t: string) => createHash('sha256').update(t).digest('hex');
    const [oldToken, newToken] = ['old-idp-token-aaaaaaaaaaaa', 'new-idp-token-bbbbbbbbbbbb'];
    writeFileSync(file, `idp:\n  tokens:\n    - { name: old, sha256: ${hash(oldToken)} }\n    - { name: new, sha256: ${hash(newToken)} }\n`);
    const sb = await startSandbox({ patch: { rateLimit: null } });
    const port = freePort();
    const run = startCli(
      ['serve'],
      {
        CONFIG_FILE: file,
        FULLSTORY_SCIM_URL: sb.url,
        FULLSTORY_SCIM_TOKEN: sb.token,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        LOG_FORMAT: 'json',
      },
      /fullstory-scim-bridge listening/,
    );
    children.push(run.child);
    try {
      await run.started;
      const get = (token: string) =>
        fetch(`http://127.0.0.1:${port}/scim/v2/Users`, { headers: { authorization: `Bearer ${token}` } }).then(
          (r) => r.status,
          (e: Error & { cause?: { code?: string } }) => {
            throw new Error(`${e.cause?.code}: ${run.output()}`);
          },
        );
      expect([await get(oldToken), await get(newToken)]).toEqual([200, 200]);
      writeFileSync(file, `idp:\n  tokens:\n    - { name: new, sha256: ${hash(newToken)} }\n`);
      run.child.kill('SIGHUP');
      const deadline = Date.now() + 5000;
      while ((await get(oldToken)) !== 401 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect([await get(oldToken), await get(newToken)]).toEqual([401, 200]);
      expect(run.output()).toMatch(/IdP tokens reloaded/);
      expect(run.output()).not.toContain(oldToken);
    } finally {
      run.child.kill('SIGTERM');
      await sb.close();
    }
  });
});

describe('reconcile', () => {
  it('finds a role changed in FullStory behind the mapping, queues the fix, and the running bridge applies it', async () => {
    const { writeFileSync } = await import('node:fs');
    const dataDir = mkdtempSync(join(tmpdir(), 'fsb-reconcile-'));
    const configFile = join(dataDir, 'bridge.yaml');
    writeFileSync(configFile, 'roles:\n  groups:\n    Admins: admin\n');
    const sb = await startSandbox({ patch: { rateLimit: null } });
    const idp = 'reconcile-idp-token-00000000';
    const bridge = await createBridge(
      loadConfig(
        { CONFIG_FILE: configFile },
        { fullstory: { url: sb.url, token: sb.token }, idp: { token: idp }, database: { dataDir }, sync: { pollMs: 100 }, guard: { approveRoles: [] } },
      ),
      { logger: pino({ level: 'silent' }), sandbox: sb },
    );
    const env = { CONFIG_FILE: configFile, DATA_DIR: dataDir, FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: sb.token };
    try {
      const auth = { authorization: `Bearer ${idp}`, 'content-type': 'application/scim+json' };
      const user = (await bridge.app.inject({ method: 'POST', url: '/scim/v2/Users', headers: auth, payload: oktaUser('drifter@okta.local') })).json();
      await bridge.app.inject({ method: 'POST', url: '/scim/v2/Groups', headers: auth, payload: { displayName: 'Admins', members: [{ value: user.id }] } });
      const roleOf = () => sb.roles().get('drifter@okta.local');
      for (let i = 0; i < 100 && roleOf() !== 'admin'; i++) await new Promise((r) => setTimeout(r, 50));
      expect(roleOf()).toBe('admin');

      sb.state.users.get(user.id)!.role = 'guest'; // an admin demoted them in FullStory's UI
      const dry = await runCli(['reconcile', '--dry-run'], env);
      expect(dry.code, dry.stderr).toBe(1);
      expect(dry.stdout).toMatch(/1 hold a role other than the mapping's/);
      expect(dry.stdout).toMatch(/drifter@okta\.local: FullStory has guest, mapping wants admin/);
      expect(roleOf()).toBe('guest');

      const fix = await runCli(['reconcile'], env);
      expect(fix.stdout).toMatch(/queued 1 role changes/);
      for (let i = 0; i < 100 && roleOf() !== 'admin'; i++) await new Promise((r) => setTimeout(r, 50));
      expect(roleOf()).toBe('admin');
      const clean = await runCli(['reconcile', '--dry-run'], env);
      expect(clean.code).toBe(0);
      expect(clean.stdout).toMatch(/0 hold a role other/);
    } finally {
      await bridge.close();
      await sb.close();
    }
  });
});
