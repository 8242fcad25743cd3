// Schema migrations, defined in code (no migration folder to ship or to lose) and shared by
// SQLite and PostgreSQL: only column types both understand (text, integer, bigint).
// Never edit a migration that has shipped: add the next one ('0002_...'); names sort in order.
import { Migrator, sql, type Kysely, type Migration, type MigrationResult } from 'kysely';
import { GENESIS_HASH } from '../../../session-recorder/src/audit/hash-chain.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('audit_log')
        .addColumn('seq', 'bigint', c => c.primaryKey())
        .addColumn('code', 'text', c => c.notNull())
        .addColumn('at_ms', 'bigint', c => c.notNull())
        .addColumn('actor', 'text', c => c.notNull())
        .addColumn('subject', 'text')
        .addColumn('beamline', 'text')
        .addColumn('beamtime', 'text')
        .addColumn('target', 'text')
        .addColumn('address', 'text')
        .addColumn('message', 'text', c => c.notNull())
        .addColumn('details', 'text')
        .addColumn('prev_hash', 'text', c => c.notNull())
        .addColumn('hash', 'text', c => c.notNull())
        .execute();
      for (const [name, columns] of [
        ['audit_log_at', ['at_ms']],
        ['audit_log_actor', ['actor', 'at_ms']],
        ['audit_log_subject', ['subject', 'at_ms']],
        ['audit_log_beamline', ['beamline', 'beamtime', 'at_ms']],
        ['audit_log_target', ['target', 'at_ms']],
        ['audit_log_code', ['code', 'at_ms']],
      ] as const) {
        await db.schema.createIndex(name).on('audit_log').columns([...columns]).execute();
      }

      await db.schema.createTable('audit_head')
        .addColumn('id', 'integer', c => c.primaryKey())
        .addColumn('seq', 'bigint', c => c.notNull())
        .addColumn('hash', 'text', c => c.notNull())
        .addCheckConstraint('audit_head_single_row', sql`id = 1`)
        .execute();
      await sql`insert into audit_head (id, seq, hash) values (1, 0, ${GENESIS_HASH})`.execute(db);

      await db.schema.createTable('web_sessions')
        .addColumn('id_hash', 'text', c => c.primaryKey())
        .addColumn('user_id', 'text', c => c.notNull())
        .addColumn('sub', 'text', c => c.notNull())
        .addColumn('display_name', 'text', c => c.notNull())
        .addColumn('identity', 'text', c => c.notNull())
        .addColumn('tokens_sealed', 'text', c => c.notNull())
        .addColumn('csrf_sealed', 'text', c => c.notNull())
        .addColumn('created_at_ms', 'bigint', c => c.notNull())
        .addColumn('access_expires_at_ms', 'bigint', c => c.notNull())
        .addColumn('expires_at_ms', 'bigint', c => c.notNull())
        .execute();
      await db.schema.createIndex('web_sessions_user').on('web_sessions').column('user_id').execute();
      await db.schema.createIndex('web_sessions_expires').on('web_sessions').column('expires_at_ms').execute();

      await db.schema.createTable('login_transactions')
        .addColumn('state_hash', 'text', c => c.primaryKey())
        .addColumn('sealed', 'text', c => c.notNull())
        .addColumn('created_at_ms', 'bigint', c => c.notNull())
        .execute();
      await db.schema.createIndex('login_transactions_created').on('login_transactions').column('created_at_ms').execute();

      await db.schema.createTable('instruction_acks')
        .addColumn('user_id', 'text', c => c.notNull())
        .addColumn('beamline', 'text', c => c.notNull())
        .addColumn('beamtime', 'text', c => c.notNull())
        .addColumn('version', 'text', c => c.notNull())
        .addColumn('at_ms', 'bigint', c => c.notNull())
        .addPrimaryKeyConstraint('instruction_acks_pk', ['user_id', 'beamline', 'beamtime', 'version'])
        .execute();
    },
  },
  '0002_sessions_and_recordings': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Nullable: records appended before this migration have no session and keep their hashes.
      await db.schema.alterTable('audit_log').addColumn('session', 'text').execute();
      await db.schema.createIndex('audit_log_session').on('audit_log').columns(['session', 'at_ms']).execute();
      await db.schema.createTable('recordings')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('session', 'text', c => c.notNull())
        .addColumn('desktop', 'text', c => c.notNull())
        .addColumn('beamline', 'text', c => c.notNull())
        .addColumn('beamtime', 'text')
        .addColumn('path', 'text', c => c.notNull())
        .addColumn('started_at_ms', 'bigint', c => c.notNull())
        .addColumn('ended_at_ms', 'bigint')
        .addColumn('bytes', 'bigint', c => c.notNull())
        .addColumn('status', 'text', c => c.notNull())
        .addColumn('end_reason', 'text')
        .addColumn('retention_days', 'integer', c => c.notNull())
        .execute();
      for (const [name, columns] of [
        ['recordings_desktop', ['desktop', 'started_at_ms']],
        ['recordings_beamline', ['beamline', 'started_at_ms']],
        ['recordings_session', ['session']],
      ] as const) {
        await db.schema.createIndex(name).on('recordings').columns([...columns]).execute();
      }
    },
  },
  '0003_audit_paging': {
    async up(db: Kysely<unknown>): Promise<void> {
      // The safety officer's pages read newest first by seq within one column's value; an index
      // on (column, at_ms) would make both databases sort every matching row (audit-queries.ts).
      for (const column of ['code', 'actor', 'subject', 'beamline', 'beamtime', 'target', 'session', 'at_ms'] as const) {
        await db.schema.createIndex(`audit_log_${column}_seq`).on('audit_log').columns([column, 'seq']).execute();
      }
    },
  },
};

export interface MigrationOutcome {
  /** Names of the migrations this call applied (empty when the schema was up to date). */
  readonly applied: readonly string[];
}

/**
 * Brings the schema up to date. Safe to run from several processes at once: PostgreSQL takes
 * Kysely's advisory lock, SQLite runs the migrations in one immediate (write-locked) transaction.
 * Throws with the failing migration's name; a failed migration is rolled back as a whole.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>, migrationTableSchema?: string): Promise<MigrationOutcome> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(MIGRATIONS) },
    ...(migrationTableSchema === undefined ? {} : { migrationTableSchema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r: MigrationResult) => r.status === 'Error')?.migrationName;
    throw new MigrationError(failed, error);
  }
  return { applied: (results ?? []).filter(r => r.status === 'Success').map(r => r.migrationName) };
}

/** Names of the migrations this database has not run (all of them when it is not a Beamgate database). */
export async function pendingMigrations<DB>(db: Kysely<DB>, migrationTableSchema?: string): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(MIGRATIONS) },
    ...(migrationTableSchema === undefined ? {} : { migrationTableSchema }),
  });
  return (await migrator.getMigrations()).filter(m => m.executedAt === undefined).map(m => m.name);
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(readonly migrationName: string | undefined, cause: unknown) {
    super(`${migrationName === undefined ? 'preparing the migrations' : `migration ${migrationName}`} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
