import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteAdapter, SqliteDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './schema.js';
import { rekeyIdentities } from './rekey.js';

/** 0001, first half: users, their emails, groups and members. */
async function createIdentityTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('user_name_lc', 'text', (c) => c.notNull().unique())
    .addColumn('external_id', 'text')
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('role', 'text')
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    // Set when the IdP deleted a user that FullStory could only deactivate.
    .addColumn('deleted_at', 'text')
    .execute();
  await db.schema.createIndex('users_external_id').on('users').column('external_id').execute();

  await db.schema
    .createTable('user_emails')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('value_lc', 'text', (c) => c.notNull())
    .addColumn('type', 'text')
    .execute();
  await db.schema.createIndex('user_emails_value').on('user_emails').column('value_lc').execute();
  await db.schema.createIndex('user_emails_user').on('user_emails').column('user_id').execute();

  await db.schema
    .createTable('groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('display_name_lc', 'text', (c) => c.notNull().unique())
    .addColumn('external_id', 'text')
    .addColumn('role', 'text')
    .addColumn('role_rank', 'integer')
    .addColumn('extra', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema.createIndex('groups_external_id').on('groups').column('external_id').execute();

  await db.schema
    .createTable('group_members')
    .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('group_members_user').on('group_members').column('user_id').execute();
}

/** 0001, second half: the role-sync outbox, the audit log, the shared rate budget, small facts. */
async function createWorkTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('role_sync')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('desired_role', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_until', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('role_sync_due').on('role_sync').column('next_attempt_at').execute();

  await db.schema
    .createTable('audit')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('token_name', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text')
    .addColumn('subject', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('upstream_status', 'integer')
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('audit_at').on('audit').column('at').execute();

  await db.schema
    .createTable('rate_budget')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('tokens', 'double precision', (c) => c.notNull())
    .addColumn('updated_ms', 'double precision', (c) => c.notNull())
    .addColumn('paused_until_ms', 'double precision', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('kv')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

/** Written once for both dialects with Kysely's schema builder; types both accept. */
const migrations: Record<string, Migration> = {
  '0001_init': {
    async up(db: Kysely<unknown>) {
      await createIdentityTables(db);
      await createWorkTables(db);
    },
  },
  '0002_member_display': {
    async up(db: Kysely<unknown>) {
      // The `display` a client gave a member, shown back as sent (RFC 7643 §4.2).
      await db.schema.alterTable('group_members').addColumn('display', 'text').execute();
    },
  },
  '0003_shadow_and_guard': {
    async up(db: Kysely<unknown>) {
      // Users the bridge made up an id for (shadow mode): FullStory's id once applied, null until then.
      await db.schema
        .createTable('user_links')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('upstream_id', 'text', (c) => c.unique())
        .execute();
      // Every deprovisioning let through, counted over the guard's window by every replica.
      await db.schema
        .createTable('guard_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('guard_events_at').on('guard_events').column('at').execute();
      // Deprovisionings held past the guard, until released.
      await db.schema
        .createTable('holds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('user_name', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('role', 'text')
        .addColumn('token_name', 'text')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('released_at', 'text')
        .execute();
      await db.schema.createIndex('holds_user').on('holds').columns(['user_id', 'status']).execute();
    },
  },
  '0004_auth_failures': {
    async up(db: Kysely<unknown>) {
      // Failed token checks per client address and minute, shared by replicas (PostgreSQL only uses it).
      await db.schema
        .createTable('auth_failures')
        .addColumn('address', 'text', (c) => c.primaryKey())
        .addColumn('window_start_ms', 'double precision', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .execute();
    },
  },
  '0005_user_upstream': {
    async up(db: Kysely<unknown>) {
      // FullStory's copy of what it keeps, as the last index refresh saw it, where it differs from the IdP's.
      await db.schema.alterTable('users').addColumn('upstream', 'text').execute();
    },
  },
  '0006_identity_keys': {
    // One person, one key: userNames and emails re-keyed through identityKey (NFKC and case
    // folded, trimmed) instead of lower case alone. Twins the new key finds are kept apart
    // and reported, never merged (see rekeyUsers).
    up: (db: Kysely<unknown>) => rekeyIdentities(db as unknown as Kysely<Database>),
  },
  '0007_audit_change': {
    async up(db: Kysely<unknown>) {
      // What each write changed (before → after for active and role), beside FullStory's status.
      await db.schema.alterTable('audit').addColumn('change', 'text').execute();
    },
  },
  '0008_audit_by_resource': {
    async up(db: Kysely<unknown>) {
      // Who last changed each user (the access review), found by key rather than by a scan.
      await db.schema.createIndex('audit_resource_at').on('audit').columns(['resource_id', 'at']).execute();
    },
  },
  '0009_decisions_and_notices': {
    async up(db: Kysely<unknown>) {
      // Who released or rejected a held change, when, and why (the audit log has it too; the hold shows it).
      await db.schema.alterTable('holds').addColumn('decided_at', 'text').execute();
      await db.schema.alterTable('holds').addColumn('decided_by', 'text').execute();
      await db.schema.alterTable('holds').addColumn('decision_note', 'text').execute();
      // Word for a person (NOTIFY_WEBHOOK_URL): written in the transaction of what it tells, sent once by any replica.
      await db.schema
        .createTable('notices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull().unique())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_at', 'text', (c) => c.notNull())
        .addColumn('claimed_until', 'text')
        .addColumn('sent_at', 'text')
        .addColumn('last_error', 'text')
        .execute();
      await db.schema.createIndex('notices_due').on('notices').columns(['sent_at', 'next_at']).execute();
    },
  },
  '0010_audit_last_change': {
    async up(db: Kysely<unknown>) {
      // Who last changed each user, folded from the log when the access review asks
      // (store/last-changes.ts), instead of 0008's index of every row by resource: its inserts
      // landed on a page per user touched, and each audit batch rewrote hundreds of pages
      // (docs/benchmarks.md). The first review folds the rows written before this.
      // On SQLite without a rowid: the key is the table, so an upsert writes one tree, not two.
      const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
      await db.schema
        .createTable('audit_last_change')
        .addColumn('resource_id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('token_name', 'text')
        .$call((t) => (sqlite ? t.modifyEnd(sql`without rowid`) : t))
        .execute();
      await db.schema.dropIndex('audit_resource_at').execute();
    },
  },
};

const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};

/**
 * Brings the schema up to date: on PostgreSQL through the store's Kysely, pinned to its
 * schema (otherwise Kysely may find another schema's migration tables); on SQLite
 * through a Kysely made for the purpose over the writing connection, used for nothing else.
 */
export async function migrate(target: { sqlite: BetterSqlite3.Database } | { db: Kysely<Database>; schema?: string | undefined }): Promise<void> {
  const db = 'sqlite' in target ? new Kysely<Database>({ dialect: new SqliteDialect({ database: target.sqlite }) }) : target.db;
  const schema = 'schema' in target ? target.schema : undefined;
  const migrator = new Migrator({ db, provider: migrationProvider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`Database migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
}
