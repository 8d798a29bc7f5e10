import type BetterSqlite3 from 'better-sqlite3';
import type { UsersTable } from './schema.js';

/**
 * The user lookups on nearly every IdP request (by id, by userName), as statements
 * prepared once on SQLite's read connection and run synchronously: no query building,
 * no driver queue, no promise per step. A lookup costs about a third of the same query
 * through Kysely, which is most of what the bridge adds to a GET.
 */
export class UserLookups {
  private readonly byIdStmt: BetterSqlite3.Statement<[string], UsersTable>;
  private readonly byUserNameStmt: BetterSqlite3.Statement<[string], UsersTable>;

  constructor(reader: BetterSqlite3.Database) {
    this.byIdStmt = reader.prepare('select * from "users" where "id" = ?');
    this.byUserNameStmt = reader.prepare('select * from "users" where "user_name_lc" = ?');
  }

  byId(id: string): UsersTable | undefined {
    return this.byIdStmt.get(id);
  }

  /** `userNameLc` lower-cased, as the column holds it. */
  byUserName(userNameLc: string): UsersTable | undefined {
    return this.byUserNameStmt.get(userNameLc);
  }
}
