import { v7 as uuidv7 } from 'uuid';
import { lastChangesOf, type AuditEntry } from '../rows.js';
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
  pruneLastChanges: 'delete from "audit_last_change" where "at" < ?',
  foldAfter: 'select "resource_id", "at", "token_name", "outcome", "method" from "audit" where "at" > ? order by "at" limit ?',
  foldAt: 'select "resource_id", "at", "token_name", "outcome", "method" from "audit" where "at" = ?',
  setLastChange:
    'insert into "audit_last_change" ("resource_id", "at", "token_name") values (?, ?, ?) ' +
    'on conflict ("resource_id") do update set "at" = excluded."at", "token_name" = excluded."token_name" where excluded."at" >= "audit_last_change"."at"',
  lastChanges: 'select "resource_id", "token_name", "at" from "audit_last_change" where "resource_id" in (select value from json_each(?))',
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

  async foldLastChanges(afterAt: string, limit: number): Promise<string | undefined> {
    type Folded = Parameters<typeof lastChangesOf>[0][number];
    const rows = this.p.sql<[string, number], Folded>(SQL.foldAfter).all(afterAt, limit);
    if (rows.length === 0) return undefined;
    const lastAt = rows.at(-1)!.at;
    // Rows sharing the last one's time may lie past the limit: they are folded too, so the next fold starts after it.
    const tied = rows.length === limit ? this.p.sql<[string], Folded>(SQL.foldAt).all(lastAt) : [];
    const setLast = this.p.sql(SQL.setLastChange);
    for (const [id, last] of lastChangesOf([...rows, ...tied])) setLast.run(id, last.at, last.token_name);
    return lastAt;
  }

  async since(fromIso: string, limit = 100_000): Promise<AuditTable[]> {
    this.snapshot?.enter();
    return this.p.sql<[string, number], AuditTable>(SQL.since).all(fromIso, limit);
  }

  async prune(beforeIso: string): Promise<number> {
    this.p.sql(SQL.pruneLastChanges).run(beforeIso);
    return this.p.sql(SQL.prune).run(beforeIso).changes;
  }

  async lastChanges(resourceIds: readonly string[]): Promise<Map<string, { at: string; by: string | null }>> {
    this.snapshot?.enter();
    const rows = this.p.sql<[string], { resource_id: string; token_name: string | null; at: string }>(SQL.lastChanges).all(JSON.stringify(resourceIds));
    return new Map(rows.map((r) => [r.resource_id, { at: r.at, by: r.token_name }]));
  }
}
