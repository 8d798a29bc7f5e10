import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UniquenessConflict, VersionConflict } from '../../src/store/errors.js';
import { Store, type ReadRepos, type Repos } from '../../src/store/store.js';
import type { UserResource } from '../../src/scim/user.js';
import { postgresAvailable, tempPgStore } from '../helpers/bridge.js';

/**
 * Every repository method, through the store's own interface, on each implementation:
 * a SQLite file (reads on the reader connection, writes in the group commit), SQLite in
 * memory (reads joining the writer's group) and PostgreSQL. Reads are asked through both
 * read() and transaction(), which on SQLite run different statements on different
 * connections, and must agree.
 */
const kinds = ['sqlite-file', 'sqlite-memory', ...((await postgresAvailable()) ? ['postgres'] : [])] as const;

async function open(kind: (typeof kinds)[number]): Promise<{ store: Store; close: () => Promise<void> }> {
  if (kind === 'postgres') return tempPgStore();
  const dir = kind === 'sqlite-file' ? mkdtempSync(join(tmpdir(), 'fsb-contract-')) : ':memory:';
  const store = await Store.open({ dataDir: dir });
  return {
    store,
    close: async () => {
      await store.close();
      if (dir !== ':memory:') rmSync(dir, { recursive: true, force: true });
    },
  };
}

const user = (userName: string, extra: Partial<UserResource> = {}): UserResource => ({ userName, active: true, ...extra }) as UserResource;
const group = (displayName: string, role: string | null = null, roleRank: number | null = null) => ({
  displayName,
  externalId: null,
  role,
  roleRank,
  extra: {},
});

describe.each(kinds)('the store contract on %s', (kind) => {
  let store: Store;
  let close: () => Promise<void>;
  const tx = <T>(fn: (t: Repos) => Promise<T>) => store.transaction(fn);
  /** The same read through read() and through a transaction: both answers, which must agree. */
  const both = async <T>(fn: (r: ReadRepos) => Promise<T>): Promise<T> => {
    const [a, b] = [await store.read(fn), await store.transaction(fn)];
    expect(a).toEqual(b);
    return a;
  };

  beforeAll(async () => {
    ({ store, close } = await open(kind));
    await tx(async (t) => {
      await t.users.insert({
        id: 'u1',
        resource: user('Ada@Example.com', { externalId: 'ext-1', emails: [{ value: 'Ada@Example.com', type: 'Work' }] }),
        role: 'admin',
        createdAt: '2026-01-01T00:00:00.000Z',
      });
      await t.users.insert({
        id: 'u2',
        resource: user('bob@example.com', { active: false, emails: [{ value: 'bob@home.org', type: 'home' }] }),
        role: null,
        createdAt: '2026-01-02T00:00:00.000Z',
      });
      await t.users.insert({ id: 'u3', resource: user('cy@example.com'), role: 'standard', createdAt: '2026-01-03T00:00:00.000Z' });
    });
  });
  afterAll(async () => close?.());

  describe('users', () => {
    it('get, findByUserName (any case) and getMany return the row as written', async () => {
      const row = await both((r) => r.users.get('u1'));
      expect(row).toMatchObject({
        id: 'u1',
        userName: 'Ada@Example.com',
        externalId: 'ext-1',
        active: true,
        role: 'admin',
        version: 1,
        deleted: false,
        createdAt: '2026-01-01T00:00:00.000Z',
      });
      expect(row!.resource.emails).toEqual([{ value: 'Ada@Example.com', type: 'Work' }]);
      expect((await both((r) => r.users.findByUserName('ADA@example.COM')))?.id).toBe('u1');
      expect(await both((r) => r.users.get('nobody'))).toBeUndefined();
      expect((await both((r) => r.users.getMany(['u3', 'u1', 'nobody']))).map((u) => u.id).sort()).toEqual(['u1', 'u3']);
    });

    it('rolesOf, existingIds and liveIds see live users only', async () => {
      expect(await both((r) => r.users.rolesOf(['u1', 'u2', 'zz']))).toEqual(
        new Map([
          ['u1', 'admin'],
          ['u2', null],
        ]),
      );
      expect(await both((r) => r.users.existingIds(['u1', 'u2', 'zz']))).toEqual(new Set(['u1', 'u2']));
      expect((await tx((t) => t.users.liveIds())).sort()).toEqual(['u1', 'u2', 'u3']);
      const first = await both((r) => r.users.page(undefined, 2));
      expect(first.map((u) => u.id)).toEqual(['u1', 'u2']);
      expect((await both((r) => r.users.page('u2', 2))).map((u) => u.id)).toEqual(['u3']);
    });

    it("the live users' count (an import page's total) follows every commit, though read on every page", async () => {
      const total = () => both(async (r) => (await r.users.query([], 0, 0)).total);
      const before = await total();
      expect(await total()).toBe(before);
      await tx((t) => t.users.insert({ id: 'count-1', resource: user('count-1@example.com'), role: null }));
      expect(await total()).toBe(before + 1);
      await tx((t) => t.users.delete('count-1', false));
      expect(await total()).toBe(before);
    });

    it('query answers each index key, and their conjunction, in creation order with a true total', async () => {
      const ids = async (terms: { key: string; value: string | boolean; type?: string }[], offset = 0, limit = 10) => {
        const res = await both((r) => r.users.query(terms as never, offset, limit));
        return { ids: res.rows.map((u) => u.id), total: res.total };
      };
      expect(await ids([{ key: 'userName', value: 'ada@example.com' }])).toEqual({ ids: ['u1'], total: 1 });
      expect(await ids([{ key: 'externalId', value: 'ext-1' }])).toEqual({ ids: ['u1'], total: 1 });
      expect(await ids([{ key: 'externalId', value: 'EXT-1' }])).toEqual({ ids: [], total: 0 });
      expect(await ids([{ key: 'emails.value', value: 'ADA@example.com' }])).toEqual({ ids: ['u1'], total: 1 });
      expect(await ids([{ key: 'emails.value', value: 'bob@home.org', type: 'HOME' }])).toEqual({ ids: ['u2'], total: 1 });
      expect(await ids([{ key: 'emails.value', value: 'bob@home.org', type: 'work' }])).toEqual({ ids: [], total: 0 });
      expect(await ids([{ key: 'active', value: false }])).toEqual({ ids: ['u2'], total: 1 });
      expect(await ids([{ key: 'active', value: 'true' }])).toEqual({ ids: ['u1', 'u3'], total: 2 });
      expect(
        await ids([
          { key: 'id', value: 'u3' },
          { key: 'active', value: true },
        ]),
      ).toEqual({ ids: ['u3'], total: 1 });
      expect(await ids([{ key: 'active', value: true }], 1, 1)).toEqual({ ids: ['u3'], total: 2 });
      expect(await ids([{ key: 'active', value: true }], 0, 0)).toEqual({ ids: [], total: 2 });
    });

    it('a taken id or userName is a UniquenessConflict, and changes nothing', async () => {
      await expect(tx((t) => t.users.insert({ id: 'u9', resource: user('ADA@example.com'), role: null }))).rejects.toBeInstanceOf(UniquenessConflict);
      await expect(tx((t) => t.users.insert({ id: 'u1', resource: user('new@example.com'), role: null }))).rejects.toBeInstanceOf(UniquenessConflict);
      await expect(tx((t) => t.users.update('u3', user('bob@example.com')))).rejects.toBeInstanceOf(UniquenessConflict);
      expect(await both((r) => r.users.get('u9'))).toBeUndefined();
      expect((await both((r) => r.users.get('u3')))!.userName).toBe('cy@example.com');
    });

    it('update bumps the version, refuses a stale one as a VersionConflict, and re-indexes emails', async () => {
      await tx((t) => t.users.update('u3', user('cy@example.com', { emails: [{ value: 'cy@new.org' }] }), 1));
      await expect(tx((t) => t.users.update('u3', user('cy@example.com', { displayName: 'stale' }), 1))).rejects.toBeInstanceOf(VersionConflict);
      const row = await both((r) => r.users.get('u3'));
      expect([row!.version, row!.resource.displayName]).toEqual([2, undefined]);
      expect((await both((r) => r.users.query([{ key: 'emails.value', value: 'cy@new.org' }] as never, 0, 5))).total).toBe(1);
      const previous = row!.resource;
      await tx((t) => t.users.update('u3', { ...previous, displayName: 'Cy' }, undefined, previous));
      expect((await both((r) => r.users.get('u3')))!.resource.displayName).toBe('Cy');
      expect((await both((r) => r.users.query([{ key: 'emails.value', value: 'cy@new.org' }] as never, 0, 5))).total).toBe(1);
    });

    it('adopt indexes new users with their emails and leaves an existing row alone', async () => {
      await tx((t) =>
        t.users.adopt([
          { id: 'u1', resource: user('changed@example.com'), role: 'guest' },
          { id: 'a1', resource: user('adopted@example.com', { emails: [{ value: 'adopted@example.com' }] }), role: null },
        ]),
      );
      expect((await both((r) => r.users.get('u1')))!.userName).toBe('Ada@Example.com');
      expect((await both((r) => r.users.query([{ key: 'emails.value', value: 'adopted@example.com' }] as never, 0, 5))).rows.map((u) => u.id)).toEqual(['a1']);
    });

    it('setRoles writes each role; lockForUpdate holds rows without changing them', async () => {
      await tx(async (t) => {
        await t.users.lockForUpdate(['u3', 'a1']);
        await t.users.setRoles(
          new Map([
            ['u3', 'explorer'],
            ['a1', 'guest'],
          ]),
        );
      });
      expect(await both((r) => r.users.rolesOf(['u3', 'a1']))).toEqual(
        new Map([
          ['u3', 'explorer'],
          ['a1', 'guest'],
        ]),
      );
    });
  });

  describe('groups', () => {
    it('insert, get, getForUpdate, all, and a taken name (any case) is a UniquenessConflict', async () => {
      const created = await tx((t) => t.groups.insert('g1', group('Admins', 'admin', 0)));
      await tx((t) => t.groups.insert('g2', { ...group('Eng', 'architect', 1), externalId: 'x-eng', extra: { note: 'n' } }));
      await tx((t) => t.groups.insert('g3', group('Plain')));
      const g = await both((r) => r.groups.get('g2'));
      expect(g).toMatchObject({ id: 'g2', displayName: 'Eng', externalId: 'x-eng', role: 'architect', roleRank: 1, extra: { note: 'n' }, version: 1 });
      expect((await both((r) => r.groups.get('g1')))!.createdAt).toBe(created);
      expect(await tx((t) => t.groups.getForUpdate('g2'))).toEqual(g);
      expect((await both((r) => r.groups.all())).map((x) => x.id).sort()).toEqual(['g1', 'g2', 'g3']);
      await expect(tx((t) => t.groups.insert('g4', group('ADMINS')))).rejects.toBeInstanceOf(UniquenessConflict);
      await expect(tx((t) => t.groups.update('g3', group('eng')))).rejects.toBeInstanceOf(UniquenessConflict);
    });

    it('members: add is idempotent, remove, among, of, and the best rank per user', async () => {
      await tx(async (t) => {
        await t.groups.addMembers('g1', ['u1', 'u3']);
        await t.groups.addMembers('g1', ['u1']);
        await t.groups.addMembers('g2', ['u1', 'u2', 'u3']);
        await t.groups.removeMembers('g2', ['u3', 'nobody']);
      });
      expect(await both((r) => r.groups.members('g1'))).toEqual(['u1', 'u3']);
      expect(await both((r) => r.groups.membersUpTo('g1', 2))).toEqual({ members: ['u1', 'u3'], displays: new Map() });
      expect(await both((r) => r.groups.membersUpTo('g1', 1))).toBeUndefined();
      expect(await both((r) => r.groups.membersUpTo('g3', 5))).toEqual({ members: [], displays: new Map() });
      expect(await tx((t) => t.groups.membersAmong('g2', ['u1', 'u3', 'zz']))).toEqual(new Set(['u1']));
      expect(await both((r) => r.groups.membersOf(['g1', 'g2', 'g3']))).toEqual(
        new Map([
          ['g1', ['u1', 'u3']],
          ['g2', ['u1', 'u2']],
          ['g3', []],
        ]),
      );
      expect(await both((r) => r.groups.bestRanks(['u1', 'u2', 'u3', 'a1']))).toEqual(
        new Map([
          ['u1', 0],
          ['u2', 1],
          ['u3', 0],
        ]),
      );
    });

    it('setDisplays names members only; a member removed and added again has lost its display', async () => {
      await tx((t) =>
        t.groups.setDisplays(
          'g1',
          new Map([
            ['u1', 'Ann'],
            ['u2', 'not a member'],
          ]),
        ),
      );
      expect(await both((r) => r.groups.displaysOf(['g1', 'g2']))).toEqual(
        new Map([
          ['g1', new Map([['u1', 'Ann']])],
          ['g2', new Map()],
        ]),
      );
      expect(await both((r) => r.groups.membersUpTo('g1', 10))).toEqual({ members: ['u1', 'u3'], displays: new Map([['u1', 'Ann']]) });
      await tx(async (t) => {
        await t.groups.removeMembers('g1', ['u1']);
        await t.groups.addMembers('g1', ['u1']);
      });
      expect(await both((r) => r.groups.displaysOf(['g1']))).toEqual(new Map([['g1', new Map()]]));
    });

    it('query by displayName (any case), externalId and member, paged with a true total', async () => {
      const q = (terms: { key: string; value: string }[], offset = 0, limit = 10) =>
        both((r) => r.groups.query(terms as never, offset, limit)).then((x) => ({ ids: x.rows.map((g) => g.id), total: x.total }));
      expect(await q([{ key: 'displayName', value: 'admins' }])).toEqual({ ids: ['g1'], total: 1 });
      expect(await q([{ key: 'externalId', value: 'x-eng' }])).toEqual({ ids: ['g2'], total: 1 });
      expect(await q([{ key: 'members.value', value: 'u1' }])).toEqual({ ids: ['g1', 'g2'], total: 2 });
      expect(await q([{ key: 'members.value', value: 'u1' }], 1, 1)).toEqual({ ids: ['g2'], total: 2 });
      expect(await q([{ key: 'id', value: 'g3' }])).toEqual({ ids: ['g3'], total: 1 });
    });

    it('update, setRole and touch bump what they should; delete takes the memberships along', async () => {
      await tx((t) => t.groups.update('g3', { ...group('Plainer'), extra: { a: 1 } }));
      await tx((t) => t.groups.touch('g3'));
      await tx((t) => t.groups.setRole('g3', 'guest', 4));
      expect(await both((r) => r.groups.get('g3'))).toMatchObject({ displayName: 'Plainer', extra: { a: 1 }, role: 'guest', roleRank: 4, version: 3 });
      await tx((t) => t.groups.addMembers('g3', ['u2']));
      await tx((t) => t.groups.delete('g3'));
      expect(await both((r) => r.groups.get('g3'))).toBeUndefined();
      expect(await both((r) => r.groups.query([{ key: 'members.value', value: 'u2' }] as never, 0, 10))).toMatchObject({ total: 1 });
    });

    it('deleting a user drops its memberships and outbox row; a tombstone keeps the row as deleted', async () => {
      await tx(async (t) => {
        await t.roleSync.enqueue(new Map([['u2', 'guest']]));
        await t.users.delete('u2', true);
      });
      expect(await both((r) => r.users.get('u2'))).toMatchObject({ deleted: true, role: null });
      expect(await both((r) => r.users.existingIds(['u2']))).toEqual(new Set());
      expect(await both((r) => r.groups.members('g2'))).toEqual(['u1']);
      expect((await both((r) => r.roleSync.stats())).backlog).toBe(0);
      await expect(tx((t) => t.users.update('u2', user('bob@example.com'), 1))).rejects.toBeInstanceOf(VersionConflict);
      await tx((t) => t.users.delete('a1', false));
      expect(await both((r) => r.users.get('a1'))).toBeUndefined();
      expect((await both((r) => r.users.query([{ key: 'emails.value', value: 'adopted@example.com' }] as never, 0, 5))).total).toBe(0);
    });
  });

  describe('role-sync outbox', () => {
    it('enqueue: the latest desired role wins and bumps seq; claim takes due rows once', async () => {
      await tx((t) =>
        t.roleSync.enqueue(
          new Map([
            ['u1', 'architect'],
            ['u3', 'guest'],
          ]),
        ),
      );
      await tx((t) => t.roleSync.enqueue(new Map([['u1', 'admin']])));
      const claimed = await tx((t) => t.roleSync.claim('w1', 10, 60_000));
      expect(claimed.map((i) => [i.userId, i.desiredRole, i.seq, i.attempts]).sort()).toEqual([
        ['u1', 'admin', 2, 0],
        ['u3', 'guest', 1, 0],
      ]);
      expect(await tx((t) => t.roleSync.claim('w2', 10, 60_000))).toEqual([]);
      expect(await both((r) => r.roleSync.stats())).toMatchObject({ backlog: 2, failing: 0 });
    });

    it('fail records the error and the next attempt; failing lists it; release hands claims back', async () => {
      const [u1, u3] = [
        { userId: 'u1', desiredRole: 'admin', seq: 2, attempts: 0, lastError: null },
        { userId: 'u3', desiredRole: 'guest', seq: 1, attempts: 0, lastError: null },
      ];
      await tx((t) => t.roleSync.fail('w1', u1, 'FullStory 500: no', new Date(Date.now() - 1000)));
      expect(await both((r) => r.roleSync.failing())).toEqual([{ userId: 'u1', desiredRole: 'admin', seq: 2, attempts: 1, lastError: 'FullStory 500: no' }]);
      expect(await both((r) => r.roleSync.stats())).toMatchObject({ backlog: 2, failing: 1 });
      await tx((t) => t.roleSync.release('w1'));
      expect((await tx((t) => t.roleSync.claim('w3', 10, 60_000))).map((i) => i.userId).sort()).toEqual(['u1', 'u3']);
      await tx((t) => t.roleSync.enqueue(new Map([['u3', 'explorer']])));
      await tx((t) => t.roleSync.complete('w3', u3)); // an older seq: the newer desired role stays
      await tx((t) => t.roleSync.complete('w3', { ...u1, attempts: 1 }));
      expect((await both((r) => r.roleSync.stats())).backlog).toBe(1);
      expect((await tx((t) => t.roleSync.claim('w4', 10, 60_000))).map((i) => [i.userId, i.desiredRole])).toEqual([['u3', 'explorer']]);
    });

    it('a claim whose TTL ran out is claimed again', async () => {
      await tx((t) => t.roleSync.enqueue(new Map([['u1', 'guest']])));
      expect(await tx((t) => t.roleSync.claim('short', 10, 1_000))).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 1_100));
      // u3 is still held by w4's 60-second claim.
      expect((await tx((t) => t.roleSync.claim('next', 10, 60_000))).map((i) => i.userId)).toEqual(['u1']);
    });
  });

  describe('audit', () => {
    it('recordMany, since in time order, prune before a time', async () => {
      const row = (at: string, detail: string) => ({
        at,
        token_name: 'okta',
        user_agent: null,
        method: 'POST',
        operation: 'POST /Users',
        resource_type: 'User',
        resource_id: null,
        subject: null,
        outcome: 'success',
        status: 201,
        upstream_status: 201,
        detail,
      });
      await tx((t) => t.audit.recordMany([row('2026-02-01T00:00:00.000Z', 'b'), row('2026-01-01T00:00:00.000Z', 'a'), row('2026-03-01T00:00:00.000Z', 'c')]));
      expect((await both((r) => r.audit.since('2026-01-15T00:00:00.000Z'))).map((a) => a.detail)).toEqual(['b', 'c']);
      expect(await tx((t) => t.audit.prune('2026-02-15T00:00:00.000Z'))).toBe(2);
      expect((await both((r) => r.audit.since('1970-01-01T00:00:00.000Z'))).map((a) => a.detail)).toEqual(['c']);
    });

    it("lastChanges: each user's latest successful change and who made it; reads and failures do not count", async () => {
      const row = (at: string, id: string, by: string, method = 'PATCH', outcome = 'success') => ({
        at,
        token_name: by,
        user_agent: null,
        method,
        operation: `${method} /Users/:id`,
        resource_type: 'User',
        resource_id: id,
        subject: null,
        outcome,
        status: 200,
        upstream_status: 200,
        detail: null,
      });
      await tx((t) =>
        t.audit.recordMany([
          row('2026-05-01T00:00:00.000Z', 'la1', 'okta'),
          row('2026-05-03T00:00:00.000Z', 'la1', 'cli:apply'),
          row('2026-05-04T00:00:00.000Z', 'la1', 'okta', 'GET'),
          row('2026-05-05T00:00:00.000Z', 'la1', 'okta', 'PATCH', 'failure'),
          row('2026-05-02T00:00:00.000Z', 'la2', 'entra'),
        ]),
      );
      // Folded when asked, from where the last fold ended: nothing is known before.
      expect(await both((r) => r.audit.lastChanges(['la1']))).toEqual(new Map());
      expect(await tx((t) => t.audit.foldLastChanges('', 1000))).toBe('2026-05-05T00:00:00.000Z');
      expect(await tx((t) => t.audit.foldLastChanges('2026-05-05T00:00:00.000Z', 1000))).toBeUndefined();
      expect(await both((r) => r.audit.lastChanges(['la1', 'la2', 'la3']))).toEqual(
        new Map([
          ['la1', { at: '2026-05-03T00:00:00.000Z', by: 'cli:apply' }],
          ['la2', { at: '2026-05-02T00:00:00.000Z', by: 'entra' }],
        ]),
      );
      expect(await both((r) => r.audit.lastChanges([]))).toEqual(new Map());
      // A fold of a few rows takes every row sharing the last one's time, so the next starts after it.
      const tie = '2026-05-06T00:00:00.000Z';
      await tx((t) => t.audit.recordMany([row(tie, 'la1', 'a'), row(tie, 'la2', 'b'), row(tie, 'la3', 'c')]));
      expect(await tx((t) => t.audit.foldLastChanges('2026-05-05T00:00:00.000Z', 2))).toBe(tie);
      expect((await both((r) => r.audit.lastChanges(['la1', 'la2', 'la3']))).size).toBe(3);
      // Pruned past retention with the rows it came from: the review says no more than the log.
      await tx((t) => t.audit.prune('2026-05-06T12:00:00.000Z'));
      expect(await both((r) => r.audit.lastChanges(['la1', 'la2']))).toEqual(new Map());
    });
  });

  describe('holds and their decisions', () => {
    it('a hold is decided once: released, rejected (who, why) or withdrawn; a rejection withdrawn keeps who rejected it', async () => {
      const h = await tx((t) => t.guard.hold({ userId: 'u3', userName: 'cy@example.com', kind: 'approval', role: 'admin', tokenName: 'okta', reason: 'r' }));
      expect(h).toMatchObject({ status: 'held', decidedAt: null, decidedBy: null, decisionNote: null });
      expect(await tx((t) => t.guard.decide(h.id, 'rejected', 'cli:reject', 'no'))).toBe(true);
      expect(await tx((t) => t.guard.decide(h.id, 'released', 'ops:late'))).toBe(false);
      const rejected = await both((r) => r.guard.heldFor('u3', 'approval', 'rejected'));
      expect(rejected).toMatchObject({ id: h.id, status: 'rejected', decidedBy: 'cli:reject', decisionNote: 'no', releasedAt: null });
      expect(await tx((t) => t.guard.decide(h.id, 'withdrawn', 'idp', 'moved on'))).toBe(true);
      expect(await both((r) => r.guard.heldFor('u3', 'approval', 'withdrawn'))).toMatchObject({ decidedBy: 'cli:reject', decisionNote: 'no' });
      const other = await tx((t) => t.guard.hold({ userId: 'u1', userName: null, kind: 'deactivate', role: null, tokenName: null, reason: 'r' }));
      expect(await tx((t) => t.guard.decide(other.id, 'released', 'cli:release'))).toBe(true);
      expect(await both((r) => r.guard.heldFor('u1', 'deactivate', 'released'))).toMatchObject({ decidedBy: 'cli:release', releasedAt: expect.any(String) });
    });
  });

  describe('notices outbox', () => {
    it('one notice per key; a claim takes due notices once; a failure waits for its retry; expiry drops old ones and names the unsent', async () => {
      expect(await tx((t) => t.notices.add({ key: 'held:1', event: 'held', body: '{"a":1}' }))).toBe(true);
      expect(await tx((t) => t.notices.add({ key: 'held:1', event: 'held', body: '{"a":2}' }))).toBe(false);
      expect(await tx((t) => t.notices.add({ key: 'drift:1', event: 'drift', body: '{}' }))).toBe(true);
      expect(await both((r) => r.notices.pending())).toMatchObject({ count: 2 });
      const claimed = (await tx((t) => t.notices.claim(10, 60_000))).sort((a, b) => (a.key < b.key ? 1 : -1));
      expect(claimed.map((n) => [n.key, n.body, n.attempts])).toEqual([
        ['held:1', '{"a":1}', 0],
        ['drift:1', '{}', 0],
      ]);
      expect(await tx((t) => t.notices.claim(10, 60_000))).toEqual([]);
      await tx((t) => t.notices.sent(claimed[0]!.id));
      await tx((t) => t.notices.failed(claimed[1]!.id, 'HTTP 500', new Date(Date.now() + 60_000)));
      expect(await tx((t) => t.notices.claim(10, 60_000))).toEqual([]);
      await tx((t) => t.notices.failed(claimed[1]!.id, 'HTTP 500', new Date(Date.now() - 1)));
      expect((await tx((t) => t.notices.claim(10, 60_000))).map((n) => [n.key, n.attempts])).toEqual([['drift:1', 2]]);
      expect(await both((r) => r.notices.pending())).toMatchObject({ count: 1 });
      expect(await tx((t) => t.notices.expire(new Date(Date.now() + 1_000).toISOString()))).toEqual(['drift']);
      expect(await both((r) => r.notices.pending())).toEqual({ count: 0, oldestAt: null });
    });
  });
});
