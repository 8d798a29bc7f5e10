import type BetterSqlite3 from 'better-sqlite3';

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
