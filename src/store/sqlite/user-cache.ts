import type { UserRow } from '../rows.js';

/** How many rows the cache keeps; the one read first goes first. About 1 KB each. */
const CAPACITY = 2_000;

/** How stale a kept row may be after another process commits (this process's own commits update it as they commit). */
const CHECK_EVERY_MS = 1;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Users already read on SQLite's read connection, and users as this process's writer last
 * wrote them. Turning a row into an object (a property set per column, then the document
 * parsed) is a large share of a GET, and the first read of a PATCH (docs/benchmarks.md);
 * an IdP reads the same users over and over, and writes a user it has just read.
 *
 * The writer's transactions stage what they did to each user (the row as the update
 * returned it, or "gone"); a commit applies the stage in order before anyone waiting on it
 * is answered, and a rollback anywhere in the group empties the cache instead (rare: a
 * version conflict, a unique name). Another process (a CLI verb) writing the file is
 * noticed within a millisecond: SQLite's data_version on the writer's connection, read at
 * most once a millisecond, changes only when another connection committed. Rows are
 * frozen: callers share them.
 */
export class UserRowCache {
  private readonly rows = new Map<string, UserRow>();
  /** How many live users there are, as last counted (an import asks on every page). */
  private live: number | undefined;
  private version: unknown;
  private nextCheck = 0;
  /** What this group's transactions did to users, in order; `undefined`: read it again. */
  private staged: [string, UserRow | undefined][] = [];
  private rolledBack = false;
  private overflowed = false;

  /** `dataVersion`: SQLite's data_version on the writing connection (other connections' commits). */
  constructor(private readonly dataVersion: () => unknown) {}

  get(id: string): UserRow | undefined {
    const now = performance.now();
    if (now >= this.nextCheck) this.check(now);
    return this.rows.get(id);
  }

  /** Drops everything when another connection committed since the last look. */
  private check(now: number): void {
    this.nextCheck = now + CHECK_EVERY_MS;
    const version = this.dataVersion();
    if (version !== this.version) {
      this.version = version;
      this.clear();
    }
  }

  add(row: UserRow): UserRow {
    if (this.rows.size >= CAPACITY && !this.rows.has(row.id)) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(row.id, deepFreeze(row));
    return row;
  }

  /**
   * The writer changed this user in the open transaction: its row as written, or
   * `undefined` when only the database knows. Past CAPACITY users in one group (an
   * import, a 100,000-member role change) the stage is let go and the commit drops
   * every kept row instead: a list of every id would cost more than reading them again.
   */
  stage(id: string, row?: UserRow): void {
    if (this.overflowed) return;
    if (this.staged.length < CAPACITY) return void this.staged.push([id, row]);
    this.overflowed = true;
    this.staged = [];
  }

  /** Part of the group was undone: what was staged can no longer be told apart. */
  rolledBackSome(): void {
    this.rolledBack = true;
  }

  /** The group committed: its writes become what is kept (or, after a rollback in it, nothing is). */
  committed(): void {
    const staged = this.staged;
    this.staged = [];
    this.live = undefined;
    if (this.rolledBack || this.overflowed) {
      this.rolledBack = this.overflowed = false;
      return this.clear();
    }
    for (const [id, row] of staged) {
      if (row) this.add(row);
      else this.rows.delete(id);
    }
  }

  /** The live users' count, counted again only after a commit. */
  liveCount(count: () => number): number {
    const now = performance.now();
    if (now >= this.nextCheck) this.check(now);
    return (this.live ??= count());
  }

  clear(): void {
    this.rows.clear();
    this.live = undefined;
  }
}
