import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { recomputeRoles } from '../../src/provisioning/effective-roles.js';
import { RolePolicy } from '../../src/provisioning/role-policy.js';
import type { Store } from '../../src/store/store.js';
import pg from 'pg';
import { eventually, PG_URL, postgresAvailable, tempPgStore } from '../helpers/bridge.js';

/** Backends of this database waiting for a lock, as pg_stat_activity shows them. */
async function waitingOnLocks(): Promise<number> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const r = await client.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
    return (r.rows[0] as { n: number }).n;
  } finally {
    await client.end();
  }
}

const pgUp = await postgresAvailable();

/** Needs PostgreSQL: the interleaving below is only possible with concurrent transactions. */
describe.skipIf(!pgUp)('effective roles under concurrent transactions (PostgreSQL)', () => {
  let store: Store;
  let close: (() => Promise<void>) | undefined;
  const policy = new RolePolicy(loadConfig({}, { roles: { groups: { Admins: 'admin', Eng: 'architect' } } }).roles);

  beforeAll(async () => {
    ({ store, close } = await tempPgStore());
  });
  afterAll(async () => close?.());

  it('a role computed while another group change is uncommitted is not stale after both commit', async () => {
    await store.transaction(async (tx) => {
      await tx.users.insert({ id: 'u1', resource: { userName: 'u1@example.com' }, role: 'architect' });
      await tx.groups.insert('admins', { displayName: 'Admins', externalId: null, role: 'admin', roleRank: 0, extra: {} });
      await tx.groups.insert('eng', { displayName: 'Eng', externalId: null, role: 'architect', roleRank: 1, extra: {} });
      await tx.groups.addMembers('eng', ['u1']);
    });

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let firstComputed!: () => void;
    const computed = new Promise<void>((r) => (firstComputed = r));
    // Transaction 1 makes u1 an admin and stays open.
    const t1 = store.transaction(async (tx) => {
      await tx.groups.addMembers('admins', ['u1']);
      await recomputeRoles(tx, policy, ['u1']);
      firstComputed();
      await gate;
    });
    await computed;
    // Transaction 2 removes u1 from Eng meanwhile, on another connection.
    const t2 = store.transaction(async (tx) => {
      await tx.groups.removeMembers('eng', ['u1']);
      await recomputeRoles(tx, policy, ['u1']);
    });
    // Transaction 2 is blocked on transaction 1's row lock (PostgreSQL says so), not merely slow.
    await eventually(async () => (await waitingOnLocks()) > 0, 'transaction 2 to wait on a lock');
    release();
    await Promise.all([t1, t2]);
    expect((await store.read((r) => r.users.get('u1')))?.role).toBe('admin');
    const [queued] = await store.transaction((tx) => tx.roleSync.claim('w', 10, 60_000));
    expect(queued?.desiredRole).toBe('admin');
  });
});
