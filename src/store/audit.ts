import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditTable, Database } from './schema.js';

export type AuditEntry = Omit<AuditTable, 'id' | 'at'> & { at?: string };

/** Every change an IdP asked for, with its outcome. Never a token or a password. */
export class AuditRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async record(entry: AuditEntry): Promise<void> {
    await this.db
      .insertInto('audit')
      .values({ id: randomUUID(), ...entry, at: entry.at ?? new Date().toISOString() })
      .execute();
  }

  async since(fromIso: string, limit = 100_000): Promise<AuditTable[]> {
    return this.db.selectFrom('audit').selectAll().where('at', '>=', fromIso).orderBy('at').orderBy('id').limit(limit).execute();
  }

  async prune(beforeIso: string): Promise<number> {
    const r = await this.db.deleteFrom('audit').where('at', '<', beforeIso).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
