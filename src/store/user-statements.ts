import type BetterSqlite3 from 'better-sqlite3';
import type { UsersTable } from './schema.js';
import type { UserRowCache } from './user-cache.js';
import { toRow, type UserRow } from './user-row.js';

/**
 * The user lookups on nearly every IdP request (by id, by userName), as statements
 * prepared once on a SQLite connection and run synchronously: no query building, no
 * driver queue, no promise per step. A lookup costs about a third of the same query
 * through Kysely, which was most of what the bridge added to a GET.
 */
export class UserLookups {
  private readonly byIdStmt: BetterSqlite3.Statement<[string], UsersTable>;
  private readonly byUserNameStmt: BetterSqlite3.Statement<[string], UsersTable>;
  private readonly isLiveStmt: BetterSqlite3.Statement<[string], number>;

  constructor(
    conn: BetterSqlite3.Database,
    private readonly snapshot?: ReadSnapshot,
    /** On the read connection: rows kept between commits (see UserRowCache). */
    private readonly cache?: UserRowCache,
  ) {
    this.byIdStmt = conn.prepare('select * from "users" where "id" = ?');
    this.byUserNameStmt = conn.prepare('select * from "users" where "user_name_lc" = ?');
    this.isLiveStmt = conn.prepare<[string], number>('select 1 from "users" where "id" = ? and "deleted_at" is null').pluck();
  }

  byId(id: string): UserRow | undefined {
    const kept = this.cache?.get(id);
    if (kept) return kept;
    this.snapshot?.enter();
    const r = this.byIdStmt.get(id);
    if (!r) return undefined;
    return this.cache ? this.cache.add(toRow(r)) : toRow(r);
  }

  /** `userNameLc` lower-cased, as the column holds it. */
  byUserName(userNameLc: string): UserRow | undefined {
    this.snapshot?.enter();
    const r = this.byUserNameStmt.get(userNameLc);
    return r && toRow(r);
  }

  /** Which of `ids` are users not deleted (a group's new members must be). */
  liveAmong(ids: readonly string[]): Set<string> {
    this.snapshot?.enter();
    const found = new Set<string>();
    for (const id of ids) if (this.isLiveStmt.get(id) !== undefined) found.add(id);
    return found;
  }
}

/**
 * One read transaction for every lookup in a turn of the event loop: SQLite takes and
 * drops its WAL read lock (two `fcntl` calls) once per transaction, not once per lookup.
 * It ends after the turn, and at once whenever the writer commits, so a lookup never
 * misses a commit made before it.
 */
export class ReadSnapshot {
  private open = false;
  private readonly beginStmt: BetterSqlite3.Statement;
  private readonly commitStmt: BetterSqlite3.Statement;

  constructor(private readonly conn: BetterSqlite3.Database) {
    this.beginStmt = conn.prepare('begin');
    this.commitStmt = conn.prepare('commit');
  }

  enter(): void {
    if (this.open) return;
    this.beginStmt.run();
    this.open = true;
    setImmediate(this.end);
  }

  readonly end = (): void => {
    if (!this.open) return;
    this.open = false;
    // The store may have closed the connection within the turn.
    if (this.conn.open && this.conn.inTransaction) this.commitStmt.run();
  };
}

/** SQLite's count of commits made by other connections and processes, as seen by `conn`. */
export function dataVersion(conn: BetterSqlite3.Database): () => unknown {
  const stmt = conn.prepare('pragma data_version').pluck();
  return () => stmt.get();
}

/** The columns a user write sets (as UsersRepo computes them). */
export type UserColumns = Pick<UsersTable, 'user_name' | 'user_name_lc' | 'external_id' | 'active' | 'resource'>;

/**
 * The writes of every user create and change (the row and its emails), prepared once on
 * SQLite's writing connection. Only for transactions: they run inside the group the
 * transaction belongs to, which holds that connection.
 */
export class UserWrites {
  private readonly insertStmt: BetterSqlite3.Statement<unknown[]>;
  private readonly updateStmt: BetterSqlite3.Statement<unknown[]>;
  private readonly updateIfStmt: BetterSqlite3.Statement<unknown[]>;
  private readonly insertEmailStmt: BetterSqlite3.Statement<[string, string, string | null]>;
  private readonly deleteEmailsStmt: BetterSqlite3.Statement<[string]>;

  constructor(conn: BetterSqlite3.Database) {
    this.insertStmt = conn.prepare(
      'insert into "users" ("id", "user_name", "user_name_lc", "external_id", "active", "role", "resource", "created_at", "updated_at", "version") values (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)',
    );
    const update =
      'update "users" set "user_name" = ?, "user_name_lc" = ?, "external_id" = ?, "active" = ?, "resource" = ?, "updated_at" = ?, "version" = "version" + 1, "deleted_at" = null where "id" = ?';
    this.updateStmt = conn.prepare(update);
    this.updateIfStmt = conn.prepare(`${update} and "version" = ? and "deleted_at" is null`);
    this.insertEmailStmt = conn.prepare('insert into "user_emails" ("user_id", "value_lc", "type") values (?, ?, ?)');
    this.deleteEmailsStmt = conn.prepare('delete from "user_emails" where "user_id" = ?');
  }

  insert(id: string, c: UserColumns, role: string | null, createdAt: string, updatedAt: string): void {
    this.insertStmt.run(id, c.user_name, c.user_name_lc, c.external_id, c.active, role, c.resource, createdAt, updatedAt);
  }

  /** The user's emails, as the index keeps them for filters; `replace` drops the old ones first. */
  setEmails(userId: string, emails: readonly { value_lc: string; type: string | null }[], replace: boolean): void {
    if (replace) this.deleteEmailsStmt.run(userId);
    for (const e of emails) this.insertEmailStmt.run(userId, e.value_lc, e.type);
  }

  /** Rows changed: 0 when `expectedVersion` is given and someone wrote the user since. */
  update(id: string, c: UserColumns, updatedAt: string, expectedVersion?: number): number {
    const values = [c.user_name, c.user_name_lc, c.external_id, c.active, c.resource, updatedAt, id];
    return (expectedVersion === undefined ? this.updateStmt.run(...values) : this.updateIfStmt.run(...values, expectedVersion)).changes;
  }
}
