import { describe, expect, it } from 'vitest';
import { FullStoryApi } from '../../../src/fullstory/api.js';
import type { ScimCaller } from '../../../src/fullstory/client.js';
import { RoleChannel } from '../../../src/fullstory/roles/channel.js';
import { RoleNotApplied } from '../../../src/fullstory/roles/delivery.js';
import { RoleGroupsDelivery } from '../../../src/fullstory/roles/groups.js';
import { GroupsPassthroughDelivery } from '../../../src/fullstory/roles/passthrough.js';
import type { FullStoryWrite } from '../../../src/fullstory/writes.js';
import { DEFAULT_CAPS, scriptedFullStory } from '../../helpers/scripted.js';

const locks = { withLock: <T>(_key: string, fn: () => Promise<T>) => fn() };

/** A FullStory whose group PUT keeps every member but the last one it was sent (when `lossy`). */
function fullStory(lossy: boolean) {
  const { sandbox, caller } = scriptedFullStory();
  const lossyCaller: ScimCaller = {
    call: ((method: string, path: string, options: { body?: { members?: unknown[] } }) => {
      if (lossy && method === 'PUT' && path.startsWith('/Groups/') && options.body?.members?.length)
        return caller.call(method, path, { ...options, body: { ...options.body, members: options.body.members.slice(0, -1) } } as never);
      return caller.call(method, path, options as never);
    }) as ScimCaller['call'],
  };
  const writes: FullStoryWrite[] = [];
  const api = new FullStoryApi(lossyCaller);
  const users = ['a', 'b'].map((n) => sandbox.state.createUser({ userName: `${n}@x.test` }).id);
  return { sandbox, api, writes, record: (w: FullStoryWrite) => void writes.push(w), users };
}

describe('a group is rewritten one way: read, PUT whole when it differs, one audit row, and what FullStory kept is checked', () => {
  it('role groups: a membership FullStory did not keep is not done', async () => {
    const fs = fullStory(true);
    const delivery = new RoleGroupsDelivery(fs.api, locks, () => DEFAULT_CAPS, new RoleChannel('role-groups'), fs.record);
    const results = await delivery.deliver(fs.users.map((userId) => ({ userId, role: 'admin' })));
    expect([...results.values()].every((e) => e instanceof RoleNotApplied)).toBe(true);
    expect(fs.writes.filter((w) => w.operation === 'groups.replace').map((w) => w.change)).toEqual(['+2 −0 members (role admin)']);
  });

  it('groups passthrough: the same, and a mirror that already matches costs no write', async () => {
    const fs = fullStory(true);
    const mirror = new GroupsPassthroughDelivery(
      fs.api,
      locks,
      () => DEFAULT_CAPS,
      async () => [{ displayName: 'Eng', members: fs.users }],
      fs.record,
    );
    const first = await mirror.deliver([{ userId: fs.users[0]!, role: 'architect' }]);
    expect(first.get(fs.users[0]!)).toBeInstanceOf(RoleNotApplied);

    const exact = fullStory(false);
    const ok = new GroupsPassthroughDelivery(
      exact.api,
      locks,
      () => DEFAULT_CAPS,
      async () => [{ displayName: 'Eng', members: exact.users }],
      exact.record,
    );
    expect((await ok.deliver([{ userId: exact.users[0]!, role: 'architect' }])).get(exact.users[0]!)).toBeNull();
    await ok.deliver([{ userId: exact.users[1]!, role: 'architect' }]);
    expect(exact.writes.map((w) => [w.operation, w.change])).toEqual([
      ['groups.create', 'created (mirror of the IdP group)'],
      ['groups.replace', '+2 −0 members (mirror)'],
    ]);
  });
});
