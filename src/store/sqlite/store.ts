import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { SqliteNotices } from './notices.js';
import { migrate } from '../migrations.js';
import type { ReadRepos, Repos, Store } from '../interfaces.js';
import { SqliteAudit } from './audit.js';
import { GroupCommit } from './group-commit.js';
import { SqliteGroups } from './groups.js';
import { SqliteGuard, SqliteKv, SqliteLinks } from './guard.js';
import { Prepared } from './prepared.js';
import { dataVersion, ReadSnapshot } from './read-snapshot.js';
import { SqliteRoleSync } from './role-sync.js';
import { UserRowCache } from './user-cache.js';
import { SqliteUsers } from './users.js';

/** `cache`: the rows the read side keeps; `journal`: the same cache, told by the writer what each transaction did to users. */
function repos(p: Prepared, snapshot?: ReadSnapshot, cache?: UserRowCache, journal?: UserRowCache): Repos {
  return {
    users: new SqliteUsers(p, snapshot, cache, journal),
    groups: new SqliteGroups(p, snapshot),
    roleSync: new SqliteRoleSync(p, snapshot),
    audit: new SqliteAudit(p, snapshot),
    links: new SqliteLinks(p, snapshot),
    guard: new SqliteGuard(p, snapshot),
    kv: new SqliteKv(p, snapshot),
    notices: new SqliteNotices(p, snapshot),
  };
}

/** The writer's settings: durable across a killed process, checkpoints sized for bursts of creates. */
function configureWriter(db: SQLite.Database): void {
  // WAL with synchronous=NORMAL: a commit survives the process being killed (the
  // container case); only an OS crash can lose the last commits.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // Checkpoint every 4,000 log pages (16 MB) instead of 1,000: a page rewritten by many
  // commits in between is copied into the database once, and the checkpoint, which runs
  // inside a commit on the event loop, comes four times less often (docs/benchmarks.md).
  db.pragma('wal_autocheckpoint = 4000');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = ${CACHE_KIB}`);
}

/**
 * Page cache per connection, in KiB (negative: SQLite's unit for it). better-sqlite3's
 * default is 16 MB each, which at 100,000 users filled to a fifth of the memory goal;
 * the file's pages stay in the OS's cache, so a miss here is a copy, not a disk read
 * (docs/benchmarks.md: lookups at 100,000 users with it, p99 under 5 ms).
 */
const CACHE_KIB = -2000;

/**
 * The embedded store: one SQLite file (or memory), better-sqlite3 only, every statement
 * prepared once. One connection writes, and transactions queued on it are committed in
 * groups (group-commit.ts). On a file a second connection only reads: WAL lets it see
 * the last commit while the writer works, so a read never waits for a group.
 */
export class SqliteStore implements Store {
  readonly rateBudget = undefined;
  /** One replica: the throttle counts in the process. */
  readonly authFailures = undefined;
  private readonly mutex = new KeyedMutex();
  private readonly group: GroupCommit;
  private readonly writes: Repos;
  private readonly reads: ReadRepos | undefined;

  private constructor(
    private readonly writer: SQLite.Database,
    private readonly reader: SQLite.Database | undefined,
  ) {
    const snapshot = reader && new ReadSnapshot(reader);
    // The writer's data_version: it changes only when another process commits, not on this one's own commits.
    const cache = reader && new UserRowCache(dataVersion(writer));
    this.group = new GroupCommit(
      writer,
      () => {
        snapshot?.end();
        cache?.committed();
      },
      () => cache?.rolledBackSome(),
    );
    this.writes = repos(new Prepared(writer), undefined, undefined, cache);
    this.reads = reader && repos(new Prepared(reader), snapshot, cache);
  }

  /** `dataDir` ':memory:' for an in-memory database (private to its connection: no reader). */
  static async open(dataDir: string): Promise<SqliteStore> {
    let file = ':memory:';
    if (dataDir !== ':memory:') {
      mkdirSync(dataDir, { recursive: true });
      file = join(dataDir, 'bridge.sqlite');
    }
    const writer = new SQLite(file);
    configureWriter(writer);
    await migrate({ sqlite: writer });
    if (file === ':memory:') return new SqliteStore(writer, undefined);
    const reader = new SQLite(file);
    reader.pragma('query_only = ON');
    reader.pragma('busy_timeout = 5000');
    reader.pragma(`cache_size = ${CACHE_KIB}`);
    return new SqliteStore(writer, reader);
  }

  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
    return this.group.run(() => fn(this.writes));
  }

  /** On a file, on the read connection; in memory, in the writer's next group (there is no other connection). */
  read<T>(fn: (r: ReadRepos) => Promise<T>): Promise<T> {
    if (this.reads) return fn(this.reads);
    return this.group.run(() => fn(this.writes), true);
  }

  /** One process is the only replica: a queue in it is the lock. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(key, fn);
  }

  async ping(): Promise<void> {
    (this.reader ?? this.writer).prepare('select 1').get();
  }

  async close(): Promise<void> {
    this.reader?.close();
    this.writer.close();
  }
}
