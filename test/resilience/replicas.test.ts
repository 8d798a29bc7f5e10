import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/server.js';
import { Store } from '../../src/store/store.js';
import { eventually, G, GROUP_SCHEMA, IDP_TOKEN, PATCH_OP, PG_URL, postgresAvailable, startTestBridge, tempSchema, USER_SCHEMA, U } from '../helpers/bridge.js';
import { freePort, startCli } from '../helpers/cli.js';

const pgUp = await postgresAvailable();
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** Needs PostgreSQL: several replicas share one database. */
describe.skipIf(!pgUp)('several replicas on one PostgreSQL', () => {
  it('two replicas given interleaved PATCHes to one group end in the serial result', async () => {
    const sb = await startSandbox({ patch: { rateLimit: null } });
    closers.push(() => sb.close());
    const { schema, drop } = await tempSchema();
    closers.push(drop);
    const config = { roles: { groups: { Admins: 'admin' } } };
    const a = await startTestBridge({ db: 'postgres', pgSchema: schema, sharedSandbox: sb, config });
    closers.push(() => a.close());
    const b = await startTestBridge({ db: 'postgres', pgSchema: schema, sharedSandbox: sb, config });
    closers.push(() => b.close());

    const users: string[] = [];
    for (let i = 0; i < 24; i++) users.push((await (i % 2 ? a : b).req('POST', U, { schemas: [USER_SCHEMA], userName: `replica${i}@example.com` })).body.id);
    const group = (await a.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Admins' })).body.id;
    const patch = (via: typeof a, Operations: unknown[]) =>
      via.req('PATCH', `${G}/${group}`, { schemas: [PATCH_OP], Operations }).then((r) => expect(r.status).toBe(200));
    // Per member, serial: add on one replica, then (for every third) remove on the other; members interleave freely.
    await Promise.all(
      users.map(async (u, i) => {
        const [first, second] = i % 2 ? [a, b] : [b, a];
        await patch(first, [{ op: 'Add', path: 'members', value: [{ value: u }] }]);
        await patch(second, [{ op: 'replace', value: { id: group, displayName: 'Admins' } }]);
        if (i % 3 === 0) await patch(second, [{ op: 'Remove', path: 'members', value: [{ value: u }] }]);
      }),
    );
    const expected = users.filter((_, i) => i % 3 !== 0).sort();
    const members = (await b.req('GET', `${G}/${group}`)).body.members.map((m: { value: string }) => m.value).sort();
    expect(members).toEqual(expected);
    await eventually(async () => (await a.bridge.deps.store.read((r) => r.roleSync.stats())).backlog === 0, 'role sync to drain');
    const roles = sb.roles();
    users.forEach((u, i) => expect(roles.get(`replica${i}@example.com`), u).toBe(i % 3 === 0 ? 'standard' : 'admin'));
  });

  it('40 concurrent creates on one replica all complete (no connection-pool deadlock)', async () => {
    const t = await startTestBridge({ db: 'postgres' });
    closers.push(() => t.close());
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => t.req('POST', U, { schemas: [USER_SCHEMA], userName: `burst${i}@example.com` })));
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(201));
  });

  it('two replicas patching different attributes of one user at once lose neither change', async () => {
    const sb = await startSandbox({ patch: { rateLimit: null, faults: { latencyMs: 3 } } });
    closers.push(() => sb.close());
    const { schema, drop } = await tempSchema();
    closers.push(drop);
    const a = await startTestBridge({ db: 'postgres', pgSchema: schema, sharedSandbox: sb });
    closers.push(() => a.close());
    const b = await startTestBridge({ db: 'postgres', pgSchema: schema, sharedSandbox: sb });
    closers.push(() => b.close());
    const id = (await a.req('POST', U, { schemas: [USER_SCHEMA], userName: 'contended@example.com' })).body.id;
    for (let round = 0; round < 10; round++) {
      const [ra, rb] = await Promise.all([
        a.req('PATCH', `${U}/${id}`, { Operations: [{ op: 'Replace', path: 'displayName', value: `A-${round}` }] }),
        b.req('PATCH', `${U}/${id}`, { Operations: [{ op: 'Replace', path: 'title', value: `B-${round}` }] }),
      ]);
      expect([ra.status, rb.status]).toEqual([200, 200]);
    }
    const back = (await b.req('GET', `${U}/${id}`)).body;
    expect({ displayName: back.displayName, title: back.title }).toEqual({ displayName: 'A-9', title: 'B-9' });
    expect(sb.state.users.get(id)?.displayName).toBe('A-9');
  });

  it(
    'a replica SIGKILLed in the middle of a 10,000-member role sync: the others finish it and FullStory ends exactly at the desired roles',
    { timeout: 180_000 },
    async () => {
      const sb = await startSandbox({ patch: { rateLimit: null, faults: { latencyMs: 2 } } });
      closers.push(() => sb.close());
      const { schema, drop } = await tempSchema();
      closers.push(drop);
      const dir = mkdtempSync(join(tmpdir(), 'fsb-replicas-'));
      const configFile = join(dir, 'bridge.yaml');
      writeFileSync(configFile, 'roles:\n  groups:\n    Admins: admin\n');

      // 10,000 teammates in FullStory and in the shared index.
      const store = await Store.open({ url: PG_URL, dataDir: ':memory:', pgSchema: schema });
      closers.push(() => store.close());
      const ids = Array.from({ length: 10_000 }, (_, i) => sb.state.createUser({ userName: `bulk${i}@example.com` }).id);
      await store.transaction((tx) => tx.users.adopt(ids.map((id, i) => ({ id, resource: { userName: `bulk${i}@example.com` }, role: 'standard' }))));

      const env = (port: number) => ({
        DATABASE_URL: PG_URL,
        DATABASE_SCHEMA: schema,
        FULLSTORY_SCIM_URL: sb.url,
        FULLSTORY_SCIM_TOKEN: sb.token,
        FULLSTORY_RATE_PER_SECOND: '100000',
        FULLSTORY_RATE_BURST: '100000',
        IDP_TOKEN,
        CONFIG_FILE: configFile,
        PORT: String(port),
        HOST: '127.0.0.1',
        SYNC_CLAIM_TTL_MS: '2000',
        SYNC_POLL_MS: '200',
        LOG_LEVEL: 'warn',
        // 10,000 grants of admin here are the load, not a decision to ask for.
        GUARD_APPROVE_ROLES: '',
      });
      const ports = [0, 1, 2].map(() => freePort());
      const replicas = ports.map((port) => startCli(['serve'], env(port), /never printed at LOG_LEVEL=warn/, 120_000));
      for (const r of replicas) {
        r.started.catch(() => undefined);
        closers.push(() => void r.child.kill('SIGKILL'));
      }
      await eventually(
        async () =>
          (
            await Promise.all(
              ports.map((p) =>
                fetch(`http://127.0.0.1:${p}/readyz`).then(
                  (r) => r.status,
                  () => 0,
                ),
              ),
            )
          ).every((s) => s === 200),
        'replicas ready',
        30_000,
      );

      const started = performance.now();
      const res = await fetch(`http://127.0.0.1:${ports[0]}/scim/v2/Groups?excludedAttributes=members`, {
        method: 'POST',
        headers: { authorization: `Bearer ${IDP_TOKEN}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: [GROUP_SCHEMA], displayName: 'Admins', members: ids.map((value) => ({ value })) }),
      });
      expect(res.status).toBe(201);
      const answeredMs = performance.now() - started;

      const admins = () => [...sb.roles().values()].filter((r) => r === 'admin').length;
      await eventually(() => admins() >= 1500, 'sync under way', 60_000);
      replicas[0]!.child.kill('SIGKILL');
      const killedAt = admins();
      await eventually(async () => (await store.read((r) => r.roleSync.stats())).backlog === 0, 'the others to finish', 120_000);
      const totalMs = performance.now() - started;
      console.info(
        `[replicas] 10,000-member group: answered in ${answeredMs.toFixed(0)} ms; replica killed at ${killedAt} applied; all applied in ${(totalMs / 1000).toFixed(1)} s`,
      );

      expect(killedAt).toBeLessThan(10_000);
      const roles = sb.roles();
      const wrong = [...roles].filter(([name, role]) => name.startsWith('bulk') && role !== 'admin');
      expect(wrong).toEqual([]);
      // Exactly the desired roles, and no write lost to the dead replica: at most its claimed batch was sent twice.
      const writes = sb.counters.count({ method: 'PATCH', route: '/Users/:id', status: 200 });
      expect(writes).toBeGreaterThanOrEqual(10_000);
      expect(writes).toBeLessThan(10_000 + 64);
    },
  );
});
