import { Kysely, sql } from 'kysely';
import type pg from 'pg';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { PostgresNotices } from './notices.js';
import { migrate } from '../migrations.js';
import type { Database } from '../schema.js';
import type { Repos, Store } from '../interfaces.js';
import { PostgresAudit } from './audit.js';
import { PostgresGroups } from './groups.js';
import { PostgresGuard, PostgresKv, PostgresLinks } from './guard.js';
import { PostgresRateBudget } from './rate-budget.js';
import { PostgresAuthFailures } from './auth-failures.js';
import { SchemaBoundDialect } from './dialect.js';
import { PostgresRoleSync } from './role-sync.js';
import { PostgresUsers } from './users.js';

const repos = (db: Kysely<Database>): Repos => ({
  users: new PostgresUsers(db),
  groups: new PostgresGroups(db),
  roleSync: new PostgresRoleSync(db),
  audit: new PostgresAudit(db),
  links: new PostgresLinks(db),
  guard: new PostgresGuard(db),
  kv: new PostgresKv(db),
  notices: new PostgresNotices(db),
});

/**
 * The store for several replicas: PostgreSQL through Kysely. Locks are rows
 * (FOR UPDATE, SKIP LOCKED for claims) and advisory locks, so they hold across replicas.
 */
export class PostgresStore implements Store {
  readonly rateBudget: PostgresRateBudget;
  readonly authFailures: PostgresAuthFailures;
  private readonly mutex = new KeyedMutex();
  /** Outside a transaction, each statement commits by itself. */
  private readonly autocommit: Repos;

  private constructor(
    /** Exposed for tests and tools that inspect tables; the rules never use it. */
    readonly db: Kysely<Database>,
    private readonly pool: pg.Pool,
  ) {
    this.rateBudget = new PostgresRateBudget(db);
    this.authFailures = new PostgresAuthFailures(db);
    this.autocommit = repos(db);
  }

  static async open(url: string, schema?: string): Promise<PostgresStore> {
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`Invalid PostgreSQL schema name ${JSON.stringify(schema)}`);
    // Loaded only for PostgreSQL: the embedded store never pays its memory (about 15 MB).
    const { default: postgres } = await import('pg');
    const pool = new postgres.Pool({ connectionString: url, max: 20, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
    const db = new Kysely<Database>({ dialect: new SchemaBoundDialect(pool, schema) });
    try {
      if (schema) await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
      await migrate({ db, schema });
    } catch (err) {
      await db.destroy();
      throw err;
    }
    return new PostgresStore(db, pool);
  }

  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => fn(repos(trx)));
  }

  read<T>(fn: (r: Repos) => Promise<T>): Promise<T> {
    return fn(this.autocommit);
  }

  /**
   * In process by a queue, and across replicas by a session advisory lock held on a
   * connection of its own: fn must not use the store, or with every connection held by
   * a lock waiting for another, the pool would deadlock.
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(key, async () => {
      const client = await this.pool.connect();
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
    await this.db.destroy();
  }
}
