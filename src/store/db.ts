import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import { migrationProvider } from './migrations.js';
import { cachingDatabase } from './statement-cache.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface DbHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  /** PostgreSQL only: the pool, for session-level advisory locks. */
  pool?: pg.Pool;
  /** SQLite: the connection under `db`, for the statements of a group commit. */
  sqlite?: SQLite.Database;
  /** SQLite on a file: a second connection that only reads (see Store.read). */
  reader?: { db: Kysely<Database>; raw: SQLite.Database };
}

export interface OpenOptions {
  /** PostgreSQL URL; without it, SQLite. */
  url?: string | undefined;
  /** SQLite folder; ':memory:' for an in-memory database. */
  dataDir: string;
  /** PostgreSQL schema to use (tests give each run its own). */
  pgSchema?: string;
}

export async function openDatabase(opts: OpenOptions): Promise<DbHandle> {
  if (opts.url) {
    const schema = opts.pgSchema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`Invalid PostgreSQL schema name ${JSON.stringify(schema)}`);
    // Loaded only for PostgreSQL: the embedded store never pays its memory (about 15 MB).
    const { default: postgres } = await import('pg');
    const pool = new postgres.Pool({
      connectionString: opts.url,
      max: 20,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    const handle: DbHandle = { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres', pool };
    if (schema) await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(handle.db);
    await migrate(handle, schema);
    return handle;
  }
  let file = ':memory:';
  if (opts.dataDir !== ':memory:') {
    mkdirSync(opts.dataDir, { recursive: true });
    file = join(opts.dataDir, 'bridge.sqlite');
  }
  const sqlite = new SQLite(file);
  // WAL with synchronous=NORMAL: a commit survives the process being killed (the
  // container case); only an OS crash can lose the last commits.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  // Checkpoint every 4,000 log pages (16 MB) instead of 1,000: a page rewritten by many
  // commits in between is copied into the database once, and the checkpoint's reads and
  // fsyncs, which run inside a commit on the event loop, come four times less often.
  // Under a stream of user creates: 5.2 -> 4.8 page writes and 1.1 -> 0.7 page reads per create.
  sqlite.pragma('wal_autocheckpoint = 4000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const handle: DbHandle = { db: sqliteKysely(sqlite), dialect: 'sqlite', sqlite };
  await migrate(handle);
  if (file !== ':memory:') {
    // WAL lets a second connection read the last commit while the first writes: reads
    // neither wait for a write batch nor see one half done. An in-memory database is
    // private to its connection, so there every read goes through the writer.
    const reader = new SQLite(file);
    reader.pragma('query_only = ON');
    reader.pragma('busy_timeout = 5000');
    handle.reader = { db: sqliteKysely(reader), raw: reader };
  }
  return handle;
}

function sqliteKysely(sqlite: SQLite.Database): Kysely<Database> {
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingDatabase(sqlite) }) });
}

async function migrate(handle: DbHandle, schema?: string): Promise<void> {
  // Pinned to the schema in use: otherwise Kysely may find another schema's migration tables.
  const migrator = new Migrator({ db: handle.db, provider: migrationProvider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`Database migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
}
