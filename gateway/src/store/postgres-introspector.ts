// What Kysely's Migrator needs to know about the database (does the schema exist, which tables
// does it hold), asked about the store's own schema only. Kysely's PostgresIntrospector scans
// every schema of the database and calls has_schema_privilege() by name, which fails when any
// other schema is dropped meanwhile (another application, another test): a gateway must not fail
// to start because of someone else's schema.
import { sql, type DatabaseIntrospector, type DatabaseMetadata, type Kysely, type SchemaMetadata, type TableMetadata } from 'kysely';

type MutableTable = Omit<TableMetadata, 'columns'> & { columns: TableMetadata['columns'][number][] };

interface ColumnRow {
  table: string;
  kind: string;
  column: string;
  type: string;
  type_schema: string;
  not_null: boolean;
  has_default: boolean;
}

export class SchemaScopedPostgresIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<unknown>;
  readonly #schema: string;

  constructor(db: Kysely<unknown>, schema: string) {
    this.#db = db;
    this.#schema = schema;
  }

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace where nspname = ${this.#schema}`.execute(this.#db);
    return rows.map(r => ({ name: r.name }));
  }

  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<ColumnRow>`
      select c.relname as table, c.relkind as kind, a.attname as column, t.typname as type, tns.nspname as type_schema,
             a.attnotnull as not_null, a.atthasdef as has_default
      from pg_catalog.pg_attribute a
      join pg_catalog.pg_class c on a.attrelid = c.oid
      join pg_catalog.pg_namespace ns on c.relnamespace = ns.oid
      join pg_catalog.pg_type t on a.atttypid = t.oid
      join pg_catalog.pg_namespace tns on t.typnamespace = tns.oid
      where ns.nspname = ${this.#schema} and c.relkind in ('r', 'v', 'p', 'f') and a.attnum > 0 and not a.attisdropped
      order by c.relname, a.attnum`.execute(this.#db);
    const tables = new Map<string, MutableTable>();
    for (const row of rows) {
      let table = tables.get(row.table);
      if (table === undefined) {
        table = { name: row.table, schema: this.#schema, isView: row.kind === 'v', columns: [] };
        tables.set(row.table, table);
      }
      table.columns.push({
        name: row.column, dataType: row.type, dataTypeSchema: row.type_schema,
        isNullable: !row.not_null, hasDefaultValue: row.has_default, isAutoIncrementing: false,
      });
    }
    return [...tables.values()];
  }

  /** Kysely 0.28 still declares it (deprecated in favour of getTables). */
  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}
