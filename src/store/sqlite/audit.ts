import { v7 as uuidv7 } from 'uuid';
import type { AuditEntry } from '../rows.js';
import type { AuditTable } from '../schema.js';
import type { AuditWrites } from '../interfaces.js';
import type { Prepared } from './prepared.js';
import type { ReadSnapshot } from './read-snapshot.js';

const SQL = {
  insert:
    'insert into "audit" ("id", "at", "token_name", "user_agent", "method", "operation", "resource_type", "resource_id", "subject", "outcome", "status", "upstream_status", "change", "detail") ' +
    'values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  since: 'select * from "audit" where "at" >= ? order by "at", "id" limit ?',
  prune: 'delete from "audit" where "at" < ?',
  // SQLite returns the bare columns of the row that holds the max().
  lastChanges:
    'select "resource_id", "token_name", max("at") as "at" from "audit" where "resource_id" in (select value from json_each(?)) ' +
    'and "outcome" = \'success\' and "method" <> \'GET\' group by "resource_id"',
} as const;

/** The audit log on SQLite: a batch is one insert, prepared once, per row of a group commit. */
export class SqliteAudit implements AuditWrites {
  constructor(
    private readonly p: Prepared,
    private readonly snapshot?: ReadSnapshot,
  ) {}

  async recordMany(entries: readonly AuditEntry[]): Promise<void> {
    const insert = this.p.sql(SQL.insert);
    for (const e of entries) {
      // Time-ordered ids (UUIDv7): each row lands at the end of the key's index, not on a random page of it.
      insert.run(
        uuidv7(),
        e.at ?? new Date().toISOString(),
        e.token_name,
        e.user_agent,
        e.method,
        e.operation,
        e.resource_type,
        e.resource_id,
        e.subject,
        e.outcome,
        e.status,
        e.upstream_status,
        e.change ?? null,
        e.detail,
      );
    }
  }

  async since(fromIso: string, limit = 100_000): Promise<AuditTable[]> {
    this.snapshot?.enter();
    return this.p.sql<[string, number], AuditTable>(SQL.since).all(fromIso, limit);
  }

  async prune(beforeIso: string): Promise<number> {
    return this.p.sql(SQL.prune).run(beforeIso).changes;
  }

  async lastChanges(resourceIds: readonly string[]): Promise<Map<string, { at: string; by: string | null }>> {
    this.snapshot?.enter();
    const rows = this.p.sql<[string], { resource_id: string; token_name: string | null; at: string }>(SQL.lastChanges).all(JSON.stringify(resourceIds));
    return new Map(rows.map((r) => [r.resource_id, { at: r.at, by: r.token_name }]));
  }
}
