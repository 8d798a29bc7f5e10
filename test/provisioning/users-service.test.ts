import { afterEach, describe, expect, it } from 'vitest';
import { ScimError } from '../../src/scim/errors.js';
import type { OpContext } from '../../src/provisioning/users/types.js';
import { rules, type Rules } from '../helpers/scripted.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const user = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [USER], userName, active: true, ...extra });

let r: Rules | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ScimError);
  return err as ScimError;
};

describe('UsersService rules (in-memory store, scripted FullStory)', () => {
  it('a create FullStory refuses leaves nothing in the index, and the IdP hears FullStory’s status', async () => {
    r = await rules({ sandbox: { seatCap: 0 } });
    const err = await refusal(r.users.create(user('full@corp.test'), {}));
    expect(err.status).toBe(403);
    expect(await r.store.read((x) => x.users.findByUserName('full@corp.test'))).toBeUndefined();
  });

  it('a second create of one userName, in another case or width, is 409 uniqueness and costs FullStory nothing', async () => {
    r = await rules();
    await r.users.create(user('Ada@Corp.test'), {});
    const posts = () => r!.sandbox.counters.count({ method: 'POST', route: '/Users' });
    expect(posts()).toBe(1);
    const err = await refusal(r.users.create(user('ａｄａ@corp.test'), {}));
    expect([err.status, err.scimType]).toEqual([409, 'uniqueness']);
    expect(posts()).toBe(1);
  });

  it('every FullStory write of an operation is on its context, in order, with FullStory’s status', async () => {
    r = await rules();
    const ctx: OpContext = { writes: [] };
    const ada = await r.users.create(user('ada@corp.test'), ctx);
    await r.users.patch(ada.id, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] }, ctx);
    expect(ctx.writes!.map((w) => [w.operation, w.upstreamStatus, w.ok])).toEqual([
      ['users.create', 201, true],
      ['users.patch', 200, true],
    ]);
  });

  it('where FullStory has no DELETE, a delete deactivates the teammate and keeps a tombstone: reads then answer 404', async () => {
    r = await rules({ sandbox: { deleteUsers: false }, caps: { deleteUsers: false } });
    const ada = await r.users.create(user('ada@corp.test'), {});
    await r.users.delete(ada.id, {});
    expect(r.sandbox.state.users.get(ada.id)!.active).toBe(false);
    expect(r.sandbox.counters.count({ method: 'DELETE' })).toBe(0);
    expect((await refusal(r.users.get(ada.id))).status).toBe(404);
    expect((await r.store.read((x) => x.users.tombstones())).map((u) => u.id)).toEqual([ada.id]);
  });

  it('a replace FullStory refuses changes nothing in the index; one it accepts is read back as the IdP sent it', async () => {
    r = await rules();
    const ada = await r.users.create(user('ada@corp.test', { displayName: 'Ada' }), {});
    r.sandbox.set({ seatCap: 0 });
    await r.users.patch(ada.id, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] }, {});
    // Reactivating needs a seat FullStory no longer has.
    const err = await refusal(r.users.replace(ada.id, user('ada@corp.test', { displayName: 'Ada L' }), {}));
    expect(err.status).toBe(403);
    expect((await r.users.get(ada.id)).resource).toMatchObject({ displayName: 'Ada', active: false });
    r.sandbox.set({ seatCap: null });
    await r.users.replace(ada.id, user('ada@corp.test', { displayName: 'Ada L' }), {});
    expect((await r.users.get(ada.id)).resource).toMatchObject({ displayName: 'Ada L', active: true });
    expect(r.sandbox.state.users.get(ada.id)!.displayName).toBe('Ada L');
  });

  it('a role the mapping gives a new user is queued for the worker, which is woken', async () => {
    r = await rules({ roles: { default: 'explorer' } });
    const ada = await r.users.create(user('ada@corp.test'), {});
    expect(await r.store.read((x) => x.roleSync.stats())).toMatchObject({ backlog: 1 });
    expect((await r.store.read((x) => x.users.get(ada.id)))!.role).toBe('explorer');
    expect(r.kicks()).toBeGreaterThan(0);
  });
});
