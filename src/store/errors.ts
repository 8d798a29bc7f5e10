/**
 * The store's own failures, in the domain's words: callers never see a driver's error
 * code, so the rules do not depend on which database is underneath.
 */
export class UniquenessConflict extends Error {
  override name = 'UniquenessConflict';
  constructor(readonly what: 'user' | 'group') {
    super(`a ${what} with that key already exists`);
  }
}

/** Someone wrote the row since it was read (or deleted it): read again, apply again. */
export class VersionConflict extends Error {
  override name = 'VersionConflict';
  constructor(readonly id: string) {
    super(`${id} changed since it was read`);
  }
}

/** PostgreSQL's unique_violation, SQLite's UNIQUE and PRIMARY KEY constraints. */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Runs a write that may collide on a unique key; a collision becomes a UniquenessConflict. */
export async function unique<T>(what: UniquenessConflict['what'], write: () => T | Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw isUniqueViolation(err) ? new UniquenessConflict(what) : err;
  }
}
