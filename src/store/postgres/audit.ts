import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { lastChangesOf, type AuditEntry } from '../rows.js';
import type { AuditTable, Database } from '../schema.js';
import type { AuditWrites } from '../interfaces.js';

/** The audit log on PostgreSQL: a batch in inserts of a hundred rows. */
export class PostgresAudit implements AuditWrites {
  constructor(private readonly db: Kysely<Database>) {}

  async recordMany(entries: readonly AuditEntry[]): Promise<void> {
    // Time-ordered ids (UUIDv7): each row lands at the end of the key's index, not on a random page of it.
    const rows = entries.map((e): AuditTable => ({ id: uuidv7(), ...e, change: e.change ?? null, at: e.at ?? new Date().toISOString() }));
    for (let i = 0; i < rows.length; i += 100)
      await this.db
        .insertInto('audit')
        .values(rows.slice(i, i + 100))
        .execute();
  }

  async foldLastChanges(afterAt: string, limit: number): Promise<string | undefined> {
    const columns = ['resource_id', 'at', 'token_name', 'outcome', 'method'] as const;
    const rows = await this.db.selectFrom('audit').select(columns).where('at', '>', afterAt).orderBy('at').limit(limit).execute();
    if (rows.length === 0) return undefined;
    const lastAt = rows.at(-1)!.at;
    // Rows sharing the last one's time may lie past the limit: they are folded too, so the next fold starts after it.
    const tied = rows.length === limit ? await this.db.selectFrom('audit').select(columns).where('at', '=', lastAt).execute() : [];
    const last = [...lastChangesOf([...rows, ...tied])].map(([resource_id, l]) => ({ resource_id, ...l }));
    for (let i = 0; i < last.length; i += 500)
      await this.db
        .insertInto('audit_last_change')
        .values(last.slice(i, i + 500))
        .onConflict((oc) =>
          oc
            .column('resource_id')
            .doUpdateSet({ at: (eb) => eb.ref('excluded.at'), token_name: (eb) => eb.ref('excluded.token_name') })
            .where('excluded.at', '>=', (eb) => eb.ref('audit_last_change.at')),
        )
        .execute();
    return lastAt;
  }

  async since(fromIso: string, limit = 100_000): Promise<AuditTable[]> {
    return this.db.selectFrom('audit').selectAll().where('at', '>=', fromIso).orderBy('at').orderBy('id').limit(limit).execute();
  }

  async lastChanges(resourceIds: readonly string[]): Promise<Map<string, { at: string; by: string | null }>> {
    if (resourceIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('audit_last_change')
      .select(['resource_id', 'token_name', 'at'])
      .where('resource_id', 'in', [...resourceIds])
      .execute();
    return new Map(rows.map((r) => [r.resource_id, { at: r.at, by: r.token_name }]));
  }

  async prune(beforeIso: string): Promise<number> {
    await this.db.deleteFrom('audit_last_change').where('at', '<', beforeIso).execute();
    return Number((await this.db.deleteFrom('audit').where('at', '<', beforeIso).executeTakeFirst()).numDeletedRows);
  }
}
