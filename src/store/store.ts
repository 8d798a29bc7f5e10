import type { Store as StoreInterface } from './interfaces.js';

export type * from './interfaces.js';

/** The storage interface (interfaces.ts), under the name its opener bears: `Store.open(...)`. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the interface and the opener share one name
export interface Store extends StoreInterface {}
export type { AuditEntry, GroupFields, GroupRow, HoldRow, NewHold, NewNotice, NewUser, NoticeRow, RoleSyncItem, RoleSyncStats, UserRow } from './rows.js';
export { isRoleHold } from './rows.js';
export { GROUP_FILTER_VOCABULARY, USER_FILTER_VOCABULARY } from './rows.js';
export type { AuditTable } from './schema.js';

export interface OpenOptions {
  /** PostgreSQL URL; without it, SQLite. */
  url?: string | undefined;
  /** SQLite folder; ':memory:' for an in-memory database. */
  dataDir: string;
  /** PostgreSQL schema to use (tests give each run its own). */
  pgSchema?: string;
}

/** Opens the store the options name: PostgreSQL with a URL (its driver loaded only then), else SQLite. */
async function open(opts: OpenOptions): Promise<Store> {
  if (opts.url) return (await import('./postgres/store.js')).PostgresStore.open(opts.url, opts.pgSchema);
  return (await import('./sqlite/store.js')).SqliteStore.open(opts.dataDir);
}

/** `Store.open(...)`: the one way in. */
export const Store = { open };
