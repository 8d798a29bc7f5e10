import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { recomputeRoles } from '../../src/provisioning/effective-roles.js';
import { RolePolicy } from '../../src/provisioning/role-policy.js';
import { Store } from '../../src/store/store.js';

const policy = new RolePolicy(loadConfig({}, { roles: { groups: { Admins: 'admin' } } }).roles);

describe('recomputeRoles over more users than one read takes', () => {
  let store: Store;
  const n = 12_000;
  const id = (i: number) => `u${String(i).padStart(5, '0')}`;
  beforeAll(async () => {
    store = await Store.open({ dataDir: ':memory:' });
    await store.transaction(async (tx) => {
      // Every third user was adopted from FullStory (role null): not the bridge's unless in a mapped group.
      for (let i = 0; i < n; i++)
        await tx.users.insert({ id: id(i), resource: { userName: `${id(i)}@example.com` } as never, role: i % 3 === 0 ? null : 'standard' });
      await tx.groups.insert('admins', { displayName: 'Admins', externalId: null, role: 'admin', roleRank: 0, extra: {} });
      await tx.groups.addMembers(
        'admins',
        Array.from({ length: n / 2 }, (_, k) => id(2 * k)),
      );
    });
  });
  afterAll(async () => store?.close());

  it('every user gets the role its groups give, each change once in the outbox, whatever slice the user falls in', async () => {
    const everyone = Array.from({ length: n }, (_, i) => id(n - 1 - i));
    const changed = await store.transaction((tx) => recomputeRoles(tx, policy, everyone));
    expect(changed).toBe(n / 2);
    const roles = await store.read((r) => r.users.rolesOf(everyone));
    for (let i = 0; i < n; i++) expect(roles.get(id(i)), id(i)).toBe(i % 2 === 0 ? 'admin' : i % 3 === 0 ? null : 'standard');
    expect((await store.read((r) => r.roleSync.stats())).backlog).toBe(n / 2);
    expect(await store.transaction((tx) => recomputeRoles(tx, policy, everyone))).toBe(0);
  });
});
