// Fills an audit log fast for benchmarks and large tests: correctly chained records written
// straight into the tables in big transactions (better-sqlite3 prepared statements; PostgreSQL
// multi-row INSERTs), continuing from the current head. Not for the gateway: it bypasses the
// head row lock that serialises appends from several processes.
import Database from 'better-sqlite3';
import pg from 'pg';
import type { AuditEvent, AuditRecord } from '../../../../session-recorder/src/audit/audit-record.js';
import { normalizeAuditEvent } from '../../../../session-recorder/src/audit/audit-event.js';
import { canonicalJson, chainRecord } from '../../../../session-recorder/src/audit/hash-chain.js';
import type { ChainHead } from '../../../../session-recorder/src/audit/audit-record.js';
import type { StoreConfig } from '../types.js';

const COLUMNS = ['seq', 'code', 'at_ms', 'actor', 'subject', 'beamline', 'beamtime', 'target', 'session', 'address', 'message', 'details', 'prev_hash', 'hash'] as const;

function rowOf(r: AuditRecord): unknown[] {
  return [
    r.seq, r.code, r.at.getTime(), r.actor, r.subject ?? null, r.beamline ?? null, r.beamtime ?? null, r.target ?? null, r.session ?? null,
    r.address ?? null, r.message, r.details === undefined ? null : canonicalJson(r.details), r.prevHash, r.hash,
  ];
}

export interface BulkOptions {
  /** Records per transaction (default 10,000). */
  readonly perTransaction?: number;
  /**
   * Drop audit_log's secondary indexes first and create them again from their stored definitions
   * afterwards: much faster for a million rows, and the schema ends up exactly as migrated.
   */
  readonly rebuildIndexes?: boolean;
}

/** Appends `events` after the current head; returns the new head. */
export async function bulkAppend(config: StoreConfig, events: Iterable<AuditEvent>, options: BulkOptions = {}): Promise<ChainHead> {
  const perTransaction = options.perTransaction ?? 10_000;
  const rebuild = options.rebuildIndexes ?? false;
  return config.kind === 'sqlite'
    ? bulkSqlite(config.file, events, perTransaction, rebuild)
    : bulkPostgres(config.url, config.schema ?? 'public', events, perTransaction, rebuild);
}

function* chained(events: Iterable<AuditEvent>, start: ChainHead): Generator<AuditRecord> {
  let head = start;
  for (const event of events) {
    const record = chainRecord(normalizeAuditEvent(event), head);
    head = { seq: record.seq, hash: record.hash };
    yield record;
  }
}

function bulkSqlite(file: string, events: Iterable<AuditEvent>, perTransaction: number, rebuild: boolean): ChainHead {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const indexes = rebuild
      ? db.prepare(`select name, sql from sqlite_master where type = 'index' and tbl_name = 'audit_log' and sql is not null`).all() as { name: string; sql: string }[]
      : [];
    for (const index of indexes) db.exec(`drop index "${index.name}"`);
    const headRow = db.prepare('select seq, hash from audit_head where id = 1').get() as { seq: number; hash: string };
    let head: ChainHead = { seq: headRow.seq, hash: headRow.hash };
    const insert = db.prepare(`insert into audit_log (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')})`);
    const setHead = db.prepare('update audit_head set seq = ?, hash = ? where id = 1');
    const writeBatch = db.transaction((batch: AuditRecord[]) => {
      for (const r of batch) insert.run(...rowOf(r));
      const last = batch[batch.length - 1];
      if (last !== undefined) setHead.run(last.seq, last.hash);
    });
    let batch: AuditRecord[] = [];
    for (const record of chained(events, head)) {
      batch.push(record);
      head = { seq: record.seq, hash: record.hash };
      if (batch.length >= perTransaction) {
        writeBatch(batch);
        batch = [];
      }
    }
    writeBatch(batch);
    for (const index of indexes) db.exec(index.sql);
    return head;
  } finally {
    db.close();
  }
}

async function bulkPostgres(
  url: string, schema: string, events: Iterable<AuditEvent>, perTransaction: number, rebuild: boolean,
): Promise<ChainHead> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`set search_path to "${schema.replace(/"/g, '')}"`);
    const listIndexes = `select indexname, indexdef from pg_indexes where schemaname = $1 and tablename = 'audit_log' and indexname <> 'audit_log_pkey'`;
    const indexes = rebuild ? (await client.query<{ indexname: string; indexdef: string }>(listIndexes, [schema])).rows : [];
    for (const index of indexes) await client.query(`drop index "${index.indexname}"`);
    const headRow = (await client.query<{ seq: string; hash: string }>('select seq, hash from audit_head where id = 1')).rows[0];
    if (headRow === undefined) throw new Error('no audit_head row: migrate the store first');
    let head: ChainHead = { seq: Number(headRow.seq), hash: headRow.hash };
    // 1000 rows x 14 columns stays under PostgreSQL's 65535 parameters per statement.
    const rowsPerInsert = 1000;
    const insertRows = async (rows: AuditRecord[]): Promise<void> => {
      const values: unknown[] = [];
      const tuples = rows.map((r, i) => {
        values.push(...rowOf(r));
        return `(${COLUMNS.map((_, c) => `$${i * COLUMNS.length + c + 1}`).join(', ')})`;
      });
      await client.query(`insert into audit_log (${COLUMNS.join(', ')}) values ${tuples.join(', ')}`, values);
    };
    let transaction: AuditRecord[] = [];
    const commit = async (): Promise<void> => {
      const last = transaction[transaction.length - 1];
      if (last === undefined) return;
      await client.query('begin');
      for (let i = 0; i < transaction.length; i += rowsPerInsert) await insertRows(transaction.slice(i, i + rowsPerInsert));
      await client.query('update audit_head set seq = $1, hash = $2 where id = 1', [last.seq, last.hash]);
      await client.query('commit');
      transaction = [];
    };
    for (const record of chained(events, head)) {
      transaction.push(record);
      head = { seq: record.seq, hash: record.hash };
      if (transaction.length >= perTransaction) await commit();
    }
    await commit();
    for (const index of indexes) await client.query(index.indexdef);
    await client.query('analyze audit_log');
    return head;
  } finally {
    await client.end();
  }
}
