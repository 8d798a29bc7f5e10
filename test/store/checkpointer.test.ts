import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { eventually } from '../helpers/bridge.js';

/** Users whose rows are in the database file itself, read without its write-ahead log. */
function usersInMainFile(dir: string): number {
  const copy = join(dir, 'snapshot.sqlite');
  copyFileSync(join(dir, 'bridge.sqlite'), copy);
  const db = new SQLite(copy, { readonly: true });
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'users'").get();
    return table ? (db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n : 0;
  } finally {
    db.close();
    rmSync(copy);
  }
}

describe('SQLite checkpoints off the event loop', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function open(background: boolean) {
    const dir = mkdtempSync(join(tmpdir(), 'fsb-ckpt-'));
    dirs.push(dir);
    const errors: string[] = [];
    const store = await Store.open({ dataDir: dir, ...(background ? { backgroundCheckpoints: { onError: (m) => errors.push(m) } } : {}) });
    return { dir, store, errors };
  }

  it('committed writes reach the database file within seconds, long before 1,000 log pages', async () => {
    const { dir, store, errors } = await open(true);
    for (let i = 0; i < 20; i++) await store.transaction((tx) => tx.users.insert({ id: `u${i}`, resource: { userName: `u${i}@example.com` }, role: null }));
    await eventually(() => usersInMainFile(dir) === 20, 'the worker to checkpoint the log', 5_000);
    await store.close();
    expect(errors).toEqual([]);
    // Closed cleanly: the log is folded in and removed.
    expect(existsSync(join(dir, 'bridge.sqlite-wal'))).toBe(false);
  });

  it('without the worker (the short CLI commands) SQLite keeps its own automatic checkpoints', async () => {
    const { dir, store } = await open(false);
    for (let i = 0; i < 5; i++) await store.transaction((tx) => tx.users.insert({ id: `u${i}`, resource: { userName: `u${i}@example.com` }, role: null }));
    // A few pages: still only in the log until SQLite's 1,000-page threshold or close.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(usersInMainFile(dir)).toBe(0);
    await store.close();
    expect(usersInMainFile(dir)).toBe(5);
  });
});
