import type BetterSqlite3 from 'better-sqlite3';

/**
 * The statements of one SQLite connection, each prepared the first time its text is
 * run and kept: no query is built or compiled per call. Filters make a few texts of
 * their own (one per combination of terms), so the cache is bounded.
 */
export class Prepared {
  private readonly cache = new Map<string, BetterSqlite3.Statement>();

  constructor(
    readonly conn: BetterSqlite3.Database,
    private readonly size = 500,
  ) {}

  sql<P extends unknown[] = unknown[], R = unknown>(text: string): BetterSqlite3.Statement<P, R> {
    let stmt = this.cache.get(text);
    if (!stmt) {
      if (this.cache.size >= this.size) this.cache.delete(this.cache.keys().next().value!);
      stmt = this.conn.prepare(text);
      this.cache.set(text, stmt);
    }
    return stmt as BetterSqlite3.Statement<P, R>;
  }
}

/** A list of values as one parameter, for `in (select value from json_each(?))`. */
export const list = (values: readonly string[]) => JSON.stringify(values);
