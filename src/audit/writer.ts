import type { AuditEntry } from '../store/store.js';

/**
 * Audit rows written in batches (one transaction per `delayMs`, or per `maxRows`)
 * instead of a commit per request: half the commits of a write. The change itself is
 * committed before the IdP is answered; what a crash can lose is the last `delayMs` of
 * audit rows, never a change. Flushed on shutdown.
 */
export class AuditWriter {
  private pending: AuditEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    /** Writes rows durably: in a store transaction (on SQLite, a share of a group commit). */
    private readonly record: (entries: readonly AuditEntry[]) => Promise<void>,
    private readonly onError: (err: unknown) => void,
    private readonly delayMs = 50,
    private readonly maxRows = 500,
  ) {}

  add(entry: AuditEntry): void {
    this.pending.push({ ...entry, at: entry.at ?? new Date().toISOString() });
    if (this.pending.length >= this.maxRows) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  /** Writes what is pending; resolves when every row added so far is in the store. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.inFlight = this.inFlight.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.record(batch);
      } catch (err) {
        this.onError(err);
      }
    });
    return this.inFlight;
  }
}
