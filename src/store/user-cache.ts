import type { UserRow } from './user-row.js';

/** How many rows the cache keeps; the oldest read goes first. About 1 KB each. */
export const USER_CACHE_ROWS = 2_000;

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
 * cost a tenth of a GET's CPU, and an IdP reads the same users over and over between
 * changes. The store clears the cache on every commit of its own writer, before anyone
 * waiting on the commit is answered; once per turn of the event loop, SQLite's
 * data_version tells whether any other connection or process (a CLI verb) committed.
 * Rows are frozen: callers share them.
 */
export class UserRowCache {
  private readonly rows = new Map<string, UserRow>();
  private version: unknown;
  private checked = false;

  constructor(
    /** SQLite's data_version on the read connection. */
    private readonly dataVersion: () => unknown,
    private readonly capacity = USER_CACHE_ROWS,
  ) {}

  get(id: string): UserRow | undefined {
    if (!this.checked) this.check();
    return this.rows.get(id);
  }

  /**
   * A row read later in the turn comes from this version or a newer one, so the next
   * check drops it whenever anything was committed in between.
   */
  private check(): void {
    this.checked = true;
    setImmediate(this.uncheck);
    const version = this.dataVersion();
    if (version !== this.version) {
      this.version = version;
      this.rows.clear();
    }
  }

  private readonly uncheck = (): void => {
    this.checked = false;
  };

  add(row: UserRow): UserRow {
    if (this.rows.size >= this.capacity) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(row.id, deepFreeze(row));
    return row;
  }

  clear(): void {
    this.rows.clear();
  }
}
