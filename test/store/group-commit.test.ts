import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VersionConflict } from '../../src/store/errors.js';
import { toUserRow } from '../../src/store/rows.js';
import { Store } from '../../src/store/store.js';

/**
 * SQLite commits transactions that queue together in one commit, each in its own savepoint;
 * the request path reads committed state from a second connection.
 */
describe('SQLite: group commit on the writer, request-path reads on the reader', () => {
  let dir: string;
  let store: Store;
  let other: SQLite.Database;
  const user = (id: string) => ({ id, resource: { userName: `${id}@example.com` }, role: null });
  const idsInFile = () => (other.prepare('SELECT id FROM users ORDER BY id').all() as { id: string }[]).map((r) => r.id);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fsb-gc-'));
    store = await Store.open({ dataDir: dir });
    other = new SQLite(join(dir, 'bridge.sqlite'), { readonly: true });
  });
  afterEach(async () => {
    other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a transaction that fails is undone alone; the ones committed beside it keep their writes', async () => {
    const results = await Promise.allSettled([
      store.transaction((tx) => tx.users.insert(user('a'))),
      store.transaction(async (tx) => {
        await tx.users.insert(user('b'));
        throw new Error('refused after writing');
      }),
      // A unique violation inside the group fails that transaction only.
      store.transaction((tx) => tx.users.insert(user('a'))),
      store.transaction((tx) => tx.users.insert(user('c'))),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(idsInFile()).toEqual(['a', 'c']);
  });

  it('a transaction that fails with nothing queued beside it leaves nothing behind', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.users.insert(user('lone'));
        throw new Error('refused after writing');
      }),
    ).rejects.toThrow('refused after writing');
    await store.transaction((tx) => tx.users.insert(user('next')));
    expect(idsInFile()).toEqual(['next']);
  });

  it('a transaction reported done is already visible to another connection (durably committed)', async () => {
    const seen: string[][] = [];
    await Promise.all(
      ['x', 'y', 'z'].map((id) =>
        store
          .transaction((tx) => tx.users.insert(user(id)))
          .then(() => {
            seen.push(idsInFile());
          }),
      ),
    );
    for (const [i, ids] of seen.entries()) expect(ids.length, `after the ${i + 1}th was reported done`).toBeGreaterThanOrEqual(i + 1);
    expect(idsInFile()).toEqual(['x', 'y', 'z']);
  });

  it('concurrent read-modify-writes of one row lose nothing', async () => {
    await store.transaction((tx) => tx.users.insert(user('counter')));
    await Promise.all(
      Array.from({ length: 50 }, () =>
        store.transaction(async (tx) => {
          const row = await tx.users.get('counter');
          const n = Number(row!.resource.displayName ?? 0);
          await tx.users.update('counter', { ...row!.resource, displayName: String(n + 1) }, row!.version, row!.resource);
        }),
      ),
    );
    expect((await store.read((r) => r.users.get('counter')))!.resource.displayName).toBe('50');
  });

  it('a request-path read sees only committed writes, and does not wait for a group in progress', async () => {
    await store.transaction((tx) => tx.users.insert(user('before')));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const wrote = new Promise<void>((r) => (inserted = r));
    const writing = store.transaction(async (tx) => {
      await tx.users.insert({ id: 'pending', resource: { userName: 'Pending@Example.com' }, role: null });
      inserted();
      await held;
    });
    await wrote;
    // The group is open with 'pending' written and not committed.
    const during = await Promise.race([
      store.read(async (r) => ({
        byId: await r.users.get('pending'),
        byName: await r.users.findByUserName('pending@example.com'),
        filtered: await r.users.query([{ key: 'userName', value: 'PENDING@example.com' }], 0, 10),
        old: await r.users.get('before'),
      })),
      new Promise<'waited'>((r) => setTimeout(() => r('waited'), 1000)),
    ]);
    expect(during).not.toBe('waited');
    expect(during).toMatchObject({ byId: undefined, byName: undefined, filtered: { rows: [], total: 0 }, old: { id: 'before' } });
    release();
    await writing;
    const after = await store.read(async (r) => ({
      byId: await r.users.get('pending'),
      filtered: await r.users.query([{ key: 'userName', value: 'PENDING@example.com' }], 0, 10),
    }));
    expect(after.byId?.userName).toBe('Pending@Example.com');
    expect(after.filtered.rows.map((u) => u.id)).toEqual(['pending']);
  });

  it('a user the IdP deleted (kept as a tombstone) is found by id but not by a userName filter', async () => {
    await store.transaction((tx) => tx.users.insert(user('gone')));
    await store.transaction((tx) => tx.users.delete('gone', true));
    const seen = await store.read(async (r) => ({
      byId: await r.users.get('gone'),
      filtered: await r.users.query([{ key: 'userName', value: 'gone@example.com' }], 0, 10),
    }));
    expect(seen.byId?.deleted).toBe(true);
    expect(seen.filtered).toEqual({ rows: [], total: 0 });
  });

  it('a user row reads back exactly as a transaction wrote it, and a write against a stale version changes nothing', async () => {
    const resource = { userName: 'Row.Trip@Example.com', externalId: 'ext-7', active: false, emails: [{ value: 'row.trip@example.com', type: 'work' }] };
    await store.transaction((tx) => tx.users.insert({ id: 'trip', resource, role: 'architect', createdAt: '2026-01-02T03:04:05.000Z' }));
    const written = await store.read((r) => r.users.get('trip'));
    expect(written).toMatchObject({
      id: 'trip',
      userName: 'Row.Trip@Example.com',
      externalId: 'ext-7',
      active: false,
      role: 'architect',
      resource,
      createdAt: '2026-01-02T03:04:05.000Z',
      version: 1,
      deleted: false,
    });
    const { externalId: _dropped, ...rest } = resource;
    const renamed = { ...rest, userName: 'Renamed@Example.com', active: true };
    await store.transaction((tx) => tx.users.update('trip', renamed, 1, resource));
    await expect(store.transaction((tx) => tx.users.update('trip', resource, 1, renamed))).rejects.toBeInstanceOf(VersionConflict);
    const after = await store.read(async (r) => ({ row: await r.users.get('trip'), byName: await r.users.findByUserName('renamed@example.com') }));
    expect(after.row).toMatchObject({ userName: 'Renamed@Example.com', externalId: null, active: true, role: 'architect', version: 2 });
    expect(after.byName?.id).toBe('trip');
  });

  it('a lookup made after a commit sees it, even when an earlier lookup in the same turn began a read snapshot', async () => {
    const committing = store.transaction((tx) => tx.users.insert(user('late')));
    // The group has not run yet: this lookup opens the turn's snapshot, without 'late'.
    const before = store.read((r) => r.users.get('late'));
    await committing;
    const after = await store.read((r) => r.users.get('late'));
    expect(await before).toBeUndefined();
    expect(after?.id).toBe('late');
  });

  it('a user read again after its change commits reads as changed, though the first read was kept', async () => {
    await store.transaction((tx) => tx.users.insert(user('kept')));
    const first = await store.read((r) => r.users.get('kept'));
    expect(await store.read((r) => r.users.get('kept'))).toBe(first);
    await store.transaction((tx) => tx.users.update('kept', { userName: 'Kept.Renamed@example.com' }, first!.version));
    // Same turn as the commit's answer: the writer's commit itself dropped the kept row.
    const after = await store.read((r) => r.users.get('kept'));
    expect(after).toMatchObject({ userName: 'Kept.Renamed@example.com', version: first!.version + 1 });
  });

  it('a user read after its change commits is exactly the row the database holds', async () => {
    await store.transaction((tx) => tx.users.insert(user('through')));
    const first = await store.read((r) => r.users.get('through'));
    await store.transaction((tx) => tx.users.update('through', { userName: 'Through@example.com', active: false }, first!.version));
    const kept = await store.read((r) => r.users.get('through'));
    const inFile = other.prepare("SELECT * FROM users WHERE id = 'through'").get() as Record<string, unknown>;
    expect(kept).toEqual({ ...toUserRow(inFile as never) });
    expect(kept).toMatchObject({ userName: 'Through@example.com', active: false, version: 2 });
    // Writes that return no row drop the kept one: the next read asks the database.
    await store.transaction((tx) => tx.users.setRoles(new Map([['through', 'admin']])));
    expect((await store.read((r) => r.users.get('through')))?.role).toBe('admin');
    await store.transaction((tx) => tx.users.delete('through', true));
    expect((await store.read((r) => r.users.get('through')))?.deleted).toBe(true);
  });

  it('a transaction that changes more users than are kept still leaves none of them read as before', async () => {
    const ids = Array.from({ length: 2_100 }, (_, i) => `many${String(i).padStart(4, '0')}`);
    await store.transaction(async (tx) => {
      for (const id of ids) await tx.users.insert(user(id));
    });
    const first = await store.read((r) => r.users.get('many0000'));
    await store.transaction(async (tx) => {
      await tx.users.update('many0000', { userName: 'many-renamed@example.com' }, first!.version);
      await tx.users.setRoles(new Map(ids.map((id) => [id, 'explorer'])));
    });
    const after = await store.read(async (r) => ({ first: await r.users.get('many0000'), last: await r.users.get(ids.at(-1)!) }));
    expect(after.first).toMatchObject({ userName: 'many-renamed@example.com', role: 'explorer', version: 2 });
    expect(after.last?.role).toBe('explorer');
  });

  it('a change undone beside committed ones is never read: its user reads as the database holds it', async () => {
    for (const id of ['undone', 'done']) await store.transaction((tx) => tx.users.insert(user(id)));
    const before = await store.read((r) => r.users.get('undone'));
    const undone = store.transaction(async (tx) => {
      await tx.users.update('undone', { userName: 'undone-renamed@example.com' }, 1);
      throw new Error('refused after writing');
    });
    const done = store.transaction((tx) => tx.users.update('done', { userName: 'done-renamed@example.com' }, 1));
    await expect(undone).rejects.toThrow('refused after writing');
    await done;
    const after = await store.read(async (r) => ({ undone: await r.users.get('undone'), done: await r.users.get('done') }));
    expect(after.undone).toEqual(before);
    expect(after.done).toMatchObject({ userName: 'done-renamed@example.com', version: 2 });
  });

  it('a user changed by another process is read as changed within a millisecond', async () => {
    await store.transaction((tx) => tx.users.insert(user('elsewhere')));
    expect((await store.read((r) => r.users.get('elsewhere')))?.version).toBe(1);
    // Another process (a CLI verb, say) writing the same file.
    const writer = new SQLite(join(dir, 'bridge.sqlite'));
    writer.prepare(`UPDATE users SET user_name = 'Moved@example.com', version = version + 1 WHERE id = 'elsewhere'`).run();
    writer.close();
    await new Promise((resolve) => setTimeout(resolve, 2));
    expect(await store.read((r) => r.users.get('elsewhere'))).toMatchObject({ userName: 'Moved@example.com', version: 2 });
  });

  it('a caller cannot change a user row for the next reader of it', async () => {
    await store.transaction((tx) => tx.users.insert({ id: 'shared', resource: { userName: 'shared@example.com', name: { givenName: 'Ada' } }, role: null }));
    const row = await store.read((r) => r.users.get('shared'));
    expect(() => {
      (row!.resource.name as Record<string, unknown>).givenName = 'Changed';
    }).toThrow(TypeError);
    expect((await store.read((r) => r.users.get('shared')))?.resource.name).toEqual({ givenName: 'Ada' });
  });
});
