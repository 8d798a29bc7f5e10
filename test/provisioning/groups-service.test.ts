import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { GroupsService } from '../../src/provisioning/groups-service.js';
import { RolePolicy } from '../../src/provisioning/role-policy.js';
import { ScimError } from '../../src/scim/errors.js';
import { rules, type Rules } from '../helpers/scripted.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const MAPPING = { groups: { 'FS Admins': 'admin', Engineering: 'architect', Analysts: 'explorer' } };

let r: Rules | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

async function people(...names: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const n of names) ids.push((await r!.users.create({ schemas: [USER], userName: `${n}@corp.test` }, {})).id);
  return ids;
}
const roleOf = async (id: string) => (await r!.store.read((x) => x.users.get(id)))!.role;
const outbox = async () => (await r!.store.read((x) => x.roleSync.stats())).backlog;

describe('GroupsService rules (in-memory store; groups never reach FullStory)', () => {
  it('a member of two mapped groups holds the higher role; leaving it falls back to the next; FullStory is not called', async () => {
    r = await rules({ roles: MAPPING });
    const [ada] = await people('ada');
    const calls = r.sandbox.counters.count();
    const eng = await r.groups.create({ schemas: [GROUP], displayName: 'Engineering', members: [{ value: ada }] }, {});
    const admins = await r.groups.create({ schemas: [GROUP], displayName: 'FS Admins', members: [{ value: ada }] }, {});
    expect(await roleOf(ada!)).toBe('admin');
    await r.groups.patch(admins.id, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${ada}"]` }] }, {});
    expect(await roleOf(ada!)).toBe('architect');
    await r.groups.delete(eng.id, {});
    expect(await roleOf(ada!)).toBe('standard');
    expect(r.sandbox.counters.count()).toBe(calls);
  });

  it('a group mapped to no role queues nothing, whoever joins it', async () => {
    r = await rules({ roles: MAPPING });
    const ids = await people('a', 'b', 'c');
    const before = await outbox();
    await r.groups.create({ schemas: [GROUP], displayName: 'Book club', members: ids.map((value) => ({ value })) }, {});
    expect(await outbox()).toBe(before);
  });

  it('a rename into the mapping moves every member, a rename out of it moves them back', async () => {
    r = await rules({ roles: MAPPING });
    const [ada, bob] = await people('ada', 'bob');
    const g = await r.groups.create({ schemas: [GROUP], displayName: 'Data', members: [{ value: ada }, { value: bob }] }, {});
    await r.groups.patch(g.id, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'Analysts' }] }, {});
    expect([await roleOf(ada!), await roleOf(bob!)]).toEqual(['explorer', 'explorer']);
    await r.groups.patch(g.id, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'Data' }] }, {});
    expect([await roleOf(ada!), await roleOf(bob!)]).toEqual(['standard', 'standard']);
  });

  it('a member who is not a user is refused with nothing changed: no group, no role queued', async () => {
    r = await rules({ roles: MAPPING });
    const [ada] = await people('ada');
    const before = await outbox();
    const err = await r.groups
      .create({ schemas: [GROUP], displayName: 'FS Admins', members: [{ value: ada }, { value: 'no-such-user' }] }, {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScimError);
    expect((err as ScimError).status).toBe(400);
    expect(await r.store.read((x) => x.groups.all())).toEqual([]);
    expect(await outbox()).toBe(before);
    expect(await roleOf(ada!)).toBe('standard');
  });

  it('a PATCH answers with the members as they now are, even after another replica changed the group since this one last saw it', async () => {
    r = await rules({ roles: MAPPING });
    const [ada, bob, cy] = await people('ada', 'bob', 'cy');
    const other = new GroupsService({ store: r.store, policy: new RolePolicy(loadConfig({}, { roles: MAPPING }).roles), kick: () => {} });
    const add = (svc: GroupsService, id: string, value: string, display?: string) =>
      svc.patch(id, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value, ...(display ? { display } : {}) }] }] }, {});
    const g = await r.groups.create({ schemas: [GROUP], displayName: 'Book club', members: [] }, {});
    expect((await add(r.groups, g.id, ada!, 'Ada')).members).toEqual([ada]);
    expect((await add(other, g.id, bob!)).members).toEqual([ada, bob].sort());
    const third = await add(r.groups, g.id, cy!);
    expect(third.members).toEqual([ada, bob, cy].sort());
    expect(third.displays).toEqual(new Map([[ada, 'Ada']]));
    const fourth = await r.groups.patch(g.id, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${ada}"]` }] }, {});
    expect([fourth.members, fourth.displays, fourth.version]).toEqual([[bob, cy].sort(), new Map(), 5]);
    expect((await r.groups.get(g.id)).members).toEqual(fourth.members);
  });

  it('a second group of one name, in any case, is 409 uniqueness', async () => {
    r = await rules({ roles: MAPPING });
    await r.groups.create({ schemas: [GROUP], displayName: 'Engineering' }, {});
    const before = await outbox();
    const err = (await r.groups.create({ schemas: [GROUP], displayName: 'ENGINEERING' }, {}).catch((e: unknown) => e)) as ScimError;
    expect([err.status, err.scimType]).toEqual([409, 'uniqueness']);
    expect(await outbox()).toBe(before);
    expect((await r.store.read((x) => x.groups.all())).map((g) => g.displayName)).toEqual(['Engineering']);
  });
});
