import type { UserRow } from '../rows.js';

/** How many rows the cache keeps; the one read first goes first. About 1 KB each. */
const CAPACITY = 2_000;

/** How stale a kept row may be after another process commits (this process's commits clear it at once). */
const CHECK_EVERY_MS = 1;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Users already read on SQLite's read connection, kept until anything is committed.
 * Turning a row into an object (a property set per column, then the document parsed)
 * is a large share of a GET (docs/benchmarks.md), and an IdP reads the same users over
 * and over between changes. The store clears the cache on every commit of its own writer, before anyone
 * waiting on the commit is answered. Another process (a CLI verb) writing the file is
 * noticed within a millisecond: SQLite's data_version, read at most once a millisecond
 * (reading it takes the WAL read lock, which cost a GET more than the cache hit itself),
 * says whether any other connection committed. Rows are frozen: callers share them.
 */
export class UserRowCache {
  private readonly rows = new Map<string, UserRow>();
  /** How many live users there are, as last counted (an import asks on every page). */
  private live: number | undefined;
  private version: unknown;
  private nextCheck = 0;

  /** `dataVersion`: SQLite's data_version on the read connection. */
  constructor(private readonly dataVersion: () => unknown) {}

  get(id: string): UserRow | undefined {
    const now = performance.now();
    if (now >= this.nextCheck) this.check(now);
    return this.rows.get(id);
  }

  /**
   * A row read after this check comes from this version or a newer one, so the next
   * check drops it whenever anything was committed in between.
   */
  private check(now: number): void {
    this.nextCheck = now + CHECK_EVERY_MS;
    const version = this.dataVersion();
    if (version !== this.version) {
      this.version = version;
      this.clear();
    }
  }

  add(row: UserRow): UserRow {
    if (this.rows.size >= CAPACITY) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(row.id, deepFreeze(row));
    return row;
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
