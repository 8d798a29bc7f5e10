import type { Store } from './store.js';

/** Where the last fold of the audit log into "who last changed each user" ended (kv). */
const CURSOR_KEY = 'audit.last_change_through';

/** Rows that reach the log late (an audit batch's delay, another replica's clock) are folded again from this far back. */
const OVERLAP_MS = 5 * 60_000;

/** Rows folded per transaction: a long backlog never holds the writer, or much memory, for long. */
const CHUNK = 2_000;

/**
 * Brings "who last changed each user" up to the audit log, for the access review to read.
 * Kept on every write, it cost each new user a write of a page of its own (docs/benchmarks.md);
 * folded when the review asks, it costs the review the rows written since the last one.
 */
export async function foldAuditLastChanges(store: Store): Promise<void> {
  const kept = await store.read((r) => r.kv.get(CURSOR_KEY));
  let after = kept ? new Date(Date.parse(kept) - OVERLAP_MS).toISOString() : '';
  for (;;) {
    const next = await store.transaction(async (tx) => {
      const at = await tx.audit.foldLastChanges(after, CHUNK);
      if (at !== undefined) await tx.kv.set(CURSOR_KEY, at);
      return at;
    });
    if (next === undefined) return;
    after = next;
  }
}
