import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { AuditTable, Database } from './schema.js';

export type AuditEntry = Omit<AuditTable, 'id' | 'at'> & { at?: string };

/** Every change an IdP asked for, with its outcome. Never a token or a password. */
export class AuditRepo {
  constructor(
    private readonly db: Kysely<Database>,
    /** SQLite, in a transaction: the insert prepared once on the writing connection. */
    private readonly writes?: AuditWrites,
  ) {}

  async recordMany(entries: readonly AuditEntry[]): Promise<void> {
    // Time-ordered ids (UUIDv7): each row lands at the end of the key's index instead of
    // on a random page of it, which halved the cost of an audit row here.
    const row = (e: AuditEntry): AuditTable => ({ id: uuidv7(), ...e, at: e.at ?? new Date().toISOString() });
    if (this.writes) {
      for (const e of entries) this.writes.insert(row(e));
      return;
    }
    for (let i = 0; i < entries.length; i += 100) await this.db.insertInto('audit').values(entries.slice(i, i + 100).map(row)).execute();
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

/**
 * The audit insert prepared once on SQLite's writing connection, its values bound by
 * position: through Kysely a batch of a hundred rows was compiled into one statement of
 * 1,300 parameters, and its text looked up in the statement cache, on every flush.
 */
export class AuditWrites {
  private readonly stmt: BetterSqlite3.Statement<unknown[]>;

  constructor(conn: BetterSqlite3.Database) {
    this.stmt = conn.prepare(
      'insert into "audit" ("id", "at", "token_name", "user_agent", "method", "operation", "resource_type", "resource_id", "subject", "outcome", "status", "upstream_status", "detail") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  insert(r: AuditTable): void {
    this.stmt.run(r.id, r.at, r.token_name, r.user_agent, r.method, r.operation, r.resource_type, r.resource_id, r.subject, r.outcome, r.status, r.upstream_status, r.detail);
  }
}
