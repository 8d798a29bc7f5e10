import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { AuditEntry } from '../rows.js';
import type { AuditTable, Database } from '../schema.js';
import type { AuditWrites } from '../interfaces.js';

/** The audit log on PostgreSQL: a batch in inserts of a hundred rows. */
export class PostgresAudit implements AuditWrites {
  constructor(private readonly db: Kysely<Database>) {}

  async recordMany(entries: readonly AuditEntry[]): Promise<void> {
    // Time-ordered ids (UUIDv7): each row lands at the end of the key's index, not on a random page of it.
    const row = (e: AuditEntry): AuditTable => ({ id: uuidv7(), ...e, change: e.change ?? null, at: e.at ?? new Date().toISOString() });
    for (let i = 0; i < entries.length; i += 100)
      await this.db
        .insertInto('audit')
        .values(entries.slice(i, i + 100).map(row))
        .execute();
  }

  async since(fromIso: string, limit = 100_000): Promise<AuditTable[]> {
    return this.db.selectFrom('audit').selectAll().where('at', '>=', fromIso).orderBy('at').orderBy('id').limit(limit).execute();
  }

  async lastChanges(resourceIds: readonly string[]): Promise<Map<string, { at: string; by: string | null }>> {
    if (resourceIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('audit')
      .distinctOn('resource_id')
      .select(['resource_id', 'token_name', 'at'])
      .where('resource_id', 'in', [...resourceIds])
      .where('outcome', '=', 'success')
      .where('method', '<>', 'GET')
      .orderBy('resource_id')
      .orderBy('at', 'desc')
      .execute();
    return new Map(rows.map((r) => [r.resource_id!, { at: r.at, by: r.token_name }]));
  }

  async prune(beforeIso: string): Promise<number> {
    return Number((await this.db.deleteFrom('audit').where('at', '<', beforeIso).executeTakeFirst()).numDeletedRows);
  }
}
