// Opens the Kysely database for a StoreConfig: SQLite through better-sqlite3 or PostgreSQL
// through a pg Pool. Everything dialect-specific about connecting lives here; the stores
// above it run the same queries on both.
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Logger } from 'pino';
import {
  CompiledQuery, Kysely, PostgresDialect, SqliteAdapter, SqliteDialect, SqliteDriver,
  type DatabaseConnection, type DatabaseIntrospector, type DialectAdapter, type Driver, type PostgresDialectConfig,
  type SqliteDialectConfig, type TransactionSettings,
} from 'kysely';
import { SchemaScopedPostgresIntrospector } from './postgres-introspector.js';
import type { StoreConfig } from './types.js';
import type { StoreSchema } from './schema.js';
import { reason, StoreError } from './store-error.js';

/** How long a SQLite writer waits for another process's write lock before failing. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;
const POSTGRES_CONNECT_TIMEOUT_MS = 10_000;
/** A hung database must fail an append (and so its action) rather than hold it forever. */
const POSTGRES_STATEMENT_TIMEOUT_MS = 30_000;
const POSTGRES_POOL_SIZE = 10;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export interface OpenedDatabase {
  readonly db: Kysely<StoreSchema>;
  readonly kind: StoreConfig['kind'];
  /** Where the data lives, for messages: the SQLite file, or host/database/schema (never a password). */
  readonly location: string;
  /** The PostgreSQL schema the tables live in (undefined for SQLite). */
  readonly schema: string | undefined;
}

/**
 * Connects. With `create` false nothing is created: a missing SQLite file or PostgreSQL schema
 * is an error (for tools that inspect an existing database).
 */
export async function openDatabase(config: StoreConfig, options: { create: boolean; log?: Logger | undefined }): Promise<OpenedDatabase> {
  switch (config.kind) {
    case 'sqlite': return openSqlite(config.file, options.create);
    case 'postgres': return openPostgres(config.url, config.schema ?? 'public', options.create, options.log);
  }
}

function openSqlite(file: string, create: boolean): OpenedDatabase {
  const location = `SQLite file ${file}`;
  let sqlite: Database.Database;
  try {
    sqlite = new Database(file, { fileMustExist: !create });
    // WAL: readers (verify, queries) never block the writer. synchronous=FULL: a commit is on
    // disk before append() resolves, so a power cut loses no acknowledged audit record.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    sqlite.pragma('foreign_keys = ON');
  } catch (e) {
    const advice = create ? 'check that its directory exists and the gateway may write there' : 'check the path: it must be an existing Beamgate database';
    throw new StoreError('GW_ERR_STORE_UNAVAILABLE', `cannot open the ${location}: ${reason(e)}; ${advice}`, { cause: e });
  }
  return { db: new Kysely<StoreSchema>({ dialect: new WriteLockingSqliteDialect({ database: sqlite }) }), kind: 'sqlite', location, schema: undefined };
}

async function openPostgres(url: string, schema: string, create: boolean, log?: Logger): Promise<OpenedDatabase> {
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreError('GW_ERR_STORE_CONFIG', `PostgreSQL schema name ${JSON.stringify(schema)} is not allowed: use letters, digits and _ (not starting with a digit), at most 63`);
  }
  const location = `PostgreSQL ${describePostgresUrl(url)} schema ${schema}`;
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({
      connectionString: url,
      max: POSTGRES_POOL_SIZE,
      connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
      statement_timeout: POSTGRES_STATEMENT_TIMEOUT_MS,
    });
  } catch (e) {
    throw new StoreError('GW_ERR_STORE_CONFIG', `the PostgreSQL URL is not valid (${reason(e)}); expected postgres://user@host:port/database`, { cause: e });
  }
  // An idle connection that dies (server restart) is reported here; without a listener pg
  // would crash the process. The pool replaces it on the next query.
  pool.on('error', e => log?.warn({ err: { message: e.message }, store: location }, 'an idle PostgreSQL connection failed'));
  // Looked up first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database
  // even when the schema exists, which a gateway's role usually lacks after the first start.
  let exists: boolean;
  try {
    exists = (await pool.query('select 1 from pg_namespace where nspname = $1', [schema])).rowCount !== 0;
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new StoreError('GW_ERR_STORE_UNAVAILABLE', `cannot reach ${location}: ${reason(e)}; is PostgreSQL running, and are the URL and credentials right?`, { cause: e });
  }
  if (!exists && !create) {
    await pool.end();
    throw new StoreError('GW_ERR_STORE_UNAVAILABLE', `${location} does not exist; check the schema name`);
  }
  if (!exists) {
    try {
      await pool.query(`create schema if not exists "${schema}"`);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      // Two gateways starting at once can both try; the loser gets a unique violation.
      if (code !== '23505' && code !== '42P06') {
        await pool.end().catch(() => undefined);
        throw new StoreError(
          'GW_ERR_STORE_UNAVAILABLE',
          `cannot create ${location}: ${reason(e)}; create the schema, or let the gateway's role create it (CREATE on the database)`,
          { cause: e },
        );
      }
    }
  }
  const dialect = new SchemaScopedPostgresDialect(schema, {
    pool,
    // Every connection of the pool works in the configured schema, so the queries stay unqualified.
    onCreateConnection: async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw(`set search_path to "${schema}"`));
    },
  });
  return { db: new Kysely<StoreSchema>({ dialect }), kind: 'postgres', location, schema };
}

/** PostgreSQL whose introspection (used by the Migrator) sees only the store's schema. */
class SchemaScopedPostgresDialect extends PostgresDialect {
  readonly #schema: string;

  constructor(schema: string, config: PostgresDialectConfig) {
    super(config);
    this.#schema = schema;
  }

  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SchemaScopedPostgresIntrospector(db, this.#schema);
  }
}

/** host:port/database of a PostgreSQL URL, without user or password. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname || '/'}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * SQLite's default BEGIN takes the write lock only at the first write, and a transaction that
 * read first then fails with SQLITE_BUSY at once when another process wrote meanwhile (the
 * busy timeout does not help). BEGIN IMMEDIATE takes the write lock up front and waits for it,
 * so appends from several processes queue instead of failing. Read-only transactions stay
 * deferred: in WAL mode they read a snapshot and never block a writer.
 */
class WriteLockingSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection, settings?: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(settings?.accessMode === 'read only' ? 'begin deferred' : 'begin immediate'));
  }
}

/** SQLite runs DDL inside transactions; saying so lets Kysely's Migrator migrate atomically under the write lock. */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class WriteLockingSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new WriteLockingSqliteDriver(this.#config);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}
