import { sql, type Kysely } from 'kysely';
import { AuditRepo, AuditWrites } from './audit.js';
import { openDatabase, type DbHandle, type Dialect, type OpenOptions } from './db.js';
import { GroupCommit } from './group-commit.js';
import { GroupStatements } from './group-statements.js';
import { GroupsRepo } from './groups.js';
import { KeyedMutex } from './keyed-mutex.js';
import { RateBudgetRepo } from './rate-budget.js';
import { RoleSyncRepo } from './role-sync.js';
import type { Database } from './schema.js';
import { UserRowCache } from './user-cache.js';
import { dataVersion, ReadSnapshot, UserLookups, UserWrites } from './user-statements.js';
import { UsersRepo } from './users.js';

/** SQLite's prepared statements, for the connection a Repos runs on. */
interface Statements {
  lookups?: UserLookups;
  writes?: UserWrites;
  groups?: GroupStatements;
  audit?: AuditWrites;
}

/** The repositories over one connection or one transaction. */
export class Repos {
  readonly users: UsersRepo;
  readonly groups: GroupsRepo;
  readonly roleSync: RoleSyncRepo;
  readonly audit: AuditRepo;
  readonly rateBudget: RateBudgetRepo;
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    statements: Statements = {},
  ) {
    this.users = new UsersRepo(db, statements.lookups, statements.writes);
    this.groups = new GroupsRepo(db, dialect, statements.groups);
    this.roleSync = new RoleSyncRepo(db, dialect);
    this.audit = new AuditRepo(db, statements.audit);
    this.rateBudget = new RateBudgetRepo(db);
  }
}

/**
 * The narrow storage interface the rules use: repositories, a transaction helper and a read helper,
 * and a per-key lock that holds across replicas on PostgreSQL.
 */
export class Store extends Repos {
  private readonly mutex = new KeyedMutex();
  /** SQLite: one connection writes, so transactions are queued and committed in groups. */
  private readonly groupCommit: GroupCommit | undefined;
  /** SQLite: the prepared statements for transactions, on the writing connection. */
  private readonly writer: Statements = {};
  /** SQLite on a file: the repositories over the read connection. */
  private readonly reader: Repos | undefined;

  private constructor(private readonly handle: DbHandle) {
    super(handle.db, handle.dialect);
    const cache = handle.reader && new UserRowCache(dataVersion(handle.reader.raw));
    const snapshot = handle.reader && new ReadSnapshot(handle.reader.raw);
    if (handle.sqlite) {
      this.groupCommit = new GroupCommit(handle.db, handle.sqlite, () => {
        snapshot?.end();
        cache?.clear();
      });
      this.writer = { lookups: new UserLookups(handle.sqlite), writes: new UserWrites(handle.sqlite), groups: new GroupStatements(handle.sqlite), audit: new AuditWrites(handle.sqlite) };
    }
    this.reader = handle.reader && new Repos(handle.reader.db, handle.dialect, { lookups: new UserLookups(handle.reader.raw, snapshot, cache) });
  }

  static async open(opts: OpenOptions): Promise<Store> {
    return new Store(await openDatabase(opts));
  }

  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
    if (this.groupCommit) return this.groupCommit.run((conn) => fn(new Repos(conn, this.dialect, this.writer)));
    return this.db.transaction().execute((trx) => fn(new Repos(trx, this.dialect)));
  }

  /**
   * Reads for one request, from the committed state. On a SQLite file they run on the
   * read connection, the user lookups as prepared statements; on an in-memory SQLite they
   * join the writer's next group; on PostgreSQL they run as they are.
   */
  read<T>(fn: (r: Repos) => Promise<T>): Promise<T> {
    if (this.reader) return fn(this.reader);
    if (this.groupCommit) return this.groupCommit.run((conn) => fn(new Repos(conn, this.dialect, this.writer)), true);
    return fn(this);
  }

  /** Runs fn with `key` queued in this process (writes to one user; across replicas, versions decide). */
  serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(key, fn);
  }

  /**
   * Runs fn with `key` locked across replicas: in process by a queue, and on PostgreSQL
   * by a session advisory lock, held on a connection of its own. fn must not use the
   * store: with every connection held by a lock waiting for another, the pool would
   * deadlock. For read-modify-write of FullStory objects that have no versions.
   */
  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(key, async () => {
      const pool = this.handle.pool;
      if (!pool) return fn();
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
        try {
          return await fn();
        } finally {
          await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
        }
      } finally {
        client.release();
      }
    });
  }

  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.handle.reader?.db.destroy();
    await this.db.destroy();
  }
}
