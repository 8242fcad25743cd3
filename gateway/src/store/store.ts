// openStore(): the one entry point to persistence. Connects to SQLite or PostgreSQL as the
// config says, brings the schema up to date, and hands out one store per aggregate, all on
// the same Kysely queries. The caller owns the Store and must close() it.
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { SqlAcknowledgementStore } from './acknowledgements.js';
import { SqlAuditLog } from './audit-log.js';
import { SqlAuditQueries } from './audit-queries.js';
import { openDatabase } from './database.js';
import { SqlLoginTransactionStore } from './login-transactions.js';
import { MigrationError, migrateToLatest, pendingMigrations } from './migrations.js';
import { SqlRecordingIndex } from './recordings.js';
import { reason, StoreError } from './store-error.js';
import { TokenCipher, TokenCipherError } from './token-cipher.js';
import type { Store, StoreConfig } from './types.js';
import { SqlWebSessionStore } from './web-sessions.js';

export interface StoreOptions {
  /** 32 bytes: the AES-256-GCM key that seals session tokens at rest. Keep it out of the database's backups. */
  readonly tokenKey: Buffer;
  readonly log?: Logger | undefined;
  /**
   * true (default): create the database when missing and migrate it to the current schema.
   * false: open an existing, current database and change nothing (for inspection tools such as
   * `beamgate audit verify`, which must not run DDL on a production or read-only database).
   */
  readonly migrate?: boolean | undefined;
}

export async function openStore(config: StoreConfig, options: StoreOptions): Promise<Store> {
  let cipher: TokenCipher;
  try {
    cipher = new TokenCipher(options.tokenKey);
  } catch (e) {
    if (e instanceof TokenCipherError) throw new StoreError('GW_ERR_STORE_CONFIG', e.message, { cause: e });
    throw e;
  }
  const log = options.log;
  const migrate = options.migrate ?? true;
  const { db, kind, location, schema } = await openDatabase(config, { create: migrate, log });
  try {
    if (migrate) {
      const { applied } = await migrateToLatest(db, schema);
      if (applied.length > 0) log?.info({ store: location, migrations: applied }, 'store schema migrated');
    } else {
      const pending = await pendingMigrations(db, schema);
      if (pending.length > 0) {
        throw new StoreError('GW_ERR_STORE_MIGRATION', `the ${location} is not a current Beamgate database (migrations not run: ${pending.join(', ')}); `
          + 'check the path or schema, or start the gateway on it once, which migrates it');
      }
    }
  } catch (e) {
    await db.destroy().catch(() => undefined);
    if (e instanceof StoreError) throw e;
    const what = e instanceof MigrationError ? e.message : `migrating failed: ${reason(e)}`;
    throw new StoreError(
      connectionFailed(e) ? 'GW_ERR_STORE_UNAVAILABLE' : 'GW_ERR_STORE_MIGRATION',
      `cannot prepare the ${location}: ${what}`,
      { cause: e },
    );
  }
  log?.info({ store: location }, 'store open');
  return {
    kind,
    audit: new SqlAuditLog(db, kind, location),
    auditQueries: new SqlAuditQueries(db),
    webSessions: new SqlWebSessionStore(db, cipher, log),
    loginTransactions: new SqlLoginTransactionStore(db, cipher, log),
    acknowledgements: new SqlAcknowledgementStore(db),
    recordings: new SqlRecordingIndex(db),
    async ping(): Promise<void> {
      await sql`select 1`.execute(db);
    },
    async close(): Promise<void> {
      await db.destroy();
    },
  };
}

function connectionFailed(e: unknown): boolean {
  const cause = e instanceof MigrationError ? e.cause : e;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'SQLITE_CANTOPEN', 'SQLITE_READONLY'].includes(code);
}
