import { PostgresDialect, sql, type DatabaseIntrospector, type Kysely, type SchemaMetadata, type TableMetadata } from 'kysely';
import type pg from 'pg';

/**
 * Kysely's PostgreSQL dialect, its introspection limited to the store's own schema.
 *
 * Kysely's migrator asks the introspector which tables exist, and the stock one reads
 * every schema in the database, calling functions (`has_schema_privilege`,
 * `pg_get_serial_sequence`) that fail with "schema ... does not exist" when another
 * schema is dropped while the query runs. On a database shared with other applications
 * (or with parallel test schemas) that made startup fail at random; nothing here needs
 * to see past its own schema.
 */
export class SchemaBoundDialect extends PostgresDialect {
  constructor(
    pool: pg.Pool,
    private readonly schema: string | undefined,
  ) {
    super({ pool });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own signature: the introspector serves any schema's Kysely
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SchemaBoundIntrospector(db, this.schema);
  }
}

class SchemaBoundIntrospector implements DatabaseIntrospector {
  constructor(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as Kysely's DatabaseIntrospector takes it
    private readonly db: Kysely<any>,
    private readonly schema: string | undefined,
  ) {}

  /** The store's schema, or the connection's current one when none is named. */
  private get own() {
    return this.schema === undefined ? sql<string>`current_schema()` : sql<string>`${this.schema}`;
  }

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace where nspname = ${this.own}`.execute(this.db);
    return rows.map((r) => ({ name: r.name }));
  }

  /** Names only: the migrator asks whether its tables exist, never for their columns. */
  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; schema: string; kind: string }>`
      select c.relname as name, ns.nspname as schema, c.relkind as kind
      from pg_catalog.pg_class c join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
      where ns.nspname = ${this.own} and c.relkind in ('r', 'v', 'p')`.execute(this.db);
    return rows.map((r) => ({ name: r.name, schema: r.schema, isView: r.kind === 'v', columns: [] }));
  }

  async getMetadata() {
    return { tables: await this.getTables() };
  }
}
