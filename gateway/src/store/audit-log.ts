// The audit log on SQL: append under a write lock on the head row, query with filters,
// verify by walking the whole chain in one consistent snapshot.
// Must never acknowledge a record that is not committed, and never swallow a failed write.
import type { Insertable, Kysely, Selectable } from 'kysely';
import type { AuditEvent, AuditFilter, AuditRecord, ChainCheck, ChainHead } from '../../../session-recorder/src/audit/audit-record.js';
import { InvalidAuditEventError, normalizeAuditEvent, parseDetails } from '../../../session-recorder/src/audit/audit-event.js';
import { canonicalJson, chainRecord, ChainWalker } from '../../../session-recorder/src/audit/hash-chain.js';
import { fromMs, toInt, toMs, type AuditLogTable, type StoreSchema } from './schema.js';
import { reason, StoreError } from './store-error.js';
import type { AuditLog } from './types.js';

const VERIFY_PAGE = 1000;

export class SqlAuditLog implements AuditLog {
  readonly #db: Kysely<StoreSchema>;
  readonly #kind: 'sqlite' | 'postgres';
  readonly #location: string;

  constructor(db: Kysely<StoreSchema>, kind: 'sqlite' | 'postgres', location: string) {
    this.#db = db;
    this.#kind = kind;
    this.#location = location;
  }

  async append(event: AuditEvent): Promise<AuditRecord> {
    let normalized: AuditEvent;
    try {
      normalized = normalizeAuditEvent(event);
    } catch (e) {
      if (e instanceof InvalidAuditEventError) throw new StoreError('GW_ERR_AUDIT_INVALID_EVENT', e.message, { cause: e });
      throw e;
    }
    try {
      // The head row is the lock: on PostgreSQL FOR UPDATE makes concurrent appends (from any
      // replica) queue here and re-read the head the previous one committed; on SQLite the
      // transaction began IMMEDIATE, holding the database's write lock already.
      return await this.#db.transaction().execute(async (trx) => {
        const head = await trx.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1)
          .$if(this.#kind === 'postgres', q => q.forUpdate())
          .executeTakeFirst();
        if (head === undefined) throw new Error('the audit_head row is missing: the schema was changed outside the gateway');
        const record = chainRecord(normalized, { seq: toInt(head.seq), hash: head.hash });
        await trx.insertInto('audit_log').values(recordToRow(record)).execute();
        await trx.updateTable('audit_head').set({ seq: record.seq, hash: record.hash }).where('id', '=', 1).execute();
        return record;
      });
    } catch (e) {
      throw new StoreError(
        'GW_ERR_AUDIT_WRITE_FAILED',
        `could not write the audit record ${event.code} to the ${this.#location}: ${reason(e)}. Nothing was recorded; the action it records must fail`,
        { cause: e },
      );
    }
  }

  async query(filter: AuditFilter): Promise<AuditRecord[]> {
    if (filter.limit !== undefined && (!Number.isSafeInteger(filter.limit) || filter.limit < 0)) {
      throw new RangeError(`audit query limit must be a non-negative integer, got ${filter.limit}`);
    }
    if (filter.codes?.length === 0 || filter.limit === 0) return [];
    const { codes, actor, subject, beamline, beamtime, target, session, from, to, afterSeq } = filter;
    const rows = await this.#db.selectFrom('audit_log').selectAll()
      .$if(codes !== undefined, q => q.where('code', 'in', [...(codes ?? [])]))
      .$if(actor !== undefined, q => q.where('actor', '=', actor ?? ''))
      .$if(subject !== undefined, q => q.where('subject', '=', subject ?? ''))
      .$if(beamline !== undefined, q => q.where('beamline', '=', beamline ?? ''))
      .$if(beamtime !== undefined, q => q.where('beamtime', '=', beamtime ?? ''))
      .$if(target !== undefined, q => q.where('target', '=', target ?? ''))
      .$if(session !== undefined, q => q.where('session', '=', session ?? ''))
      .$if(from !== undefined, q => q.where('at_ms', '>=', toMs(from ?? new Date(0))))
      .$if(to !== undefined, q => q.where('at_ms', '<', toMs(to ?? new Date(0))))
      .$if(afterSeq !== undefined, q => q.where('seq', '>', afterSeq ?? 0))
      .orderBy('seq', filter.order ?? 'asc')
      .$if(filter.limit !== undefined, q => q.limit(filter.limit ?? 0))
      .execute();
    return rows.map(rowToRecord);
  }

  async verify(): Promise<ChainCheck> {
    // One snapshot for the head and every page: appends running meanwhile are not half-seen.
    return this.#db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (trx) => {
      const headRow = await trx.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
      const walker = new ChainWalker();
      let after = Number.MIN_SAFE_INTEGER;
      for (;;) {
        const rows = await trx.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(VERIFY_PAGE).execute();
        for (const row of rows) {
          const seq = toInt(row.seq);
          let record: AuditRecord;
          try {
            record = rowToRecord(row);
          } catch (e) {
            walker.unreadable(seq, reason(e));
            return walker.finish();
          }
          if (!walker.next(record)) return walker.finish();
          after = seq;
        }
        if (rows.length < VERIFY_PAGE) break;
      }
      const head: ChainHead | null = headRow === undefined ? null : { seq: toInt(headRow.seq), hash: headRow.hash };
      return walker.finish(head);
    });
  }
}

function recordToRow(record: AuditRecord): Insertable<AuditLogTable> {
  return {
    seq: record.seq,
    code: record.code,
    at_ms: toMs(record.at),
    actor: record.actor,
    subject: record.subject ?? null,
    beamline: record.beamline ?? null,
    beamtime: record.beamtime ?? null,
    target: record.target ?? null,
    session: record.session ?? null,
    address: record.address ?? null,
    message: record.message,
    details: record.details === undefined ? null : canonicalJson(record.details),
    prev_hash: record.prevHash,
    hash: record.hash,
  };
}

/** A row as the record it stores; absent optional fields stay absent, so it hashes as appended. */
export function rowToRecord(row: Selectable<AuditLogTable>): AuditRecord {
  const record: Record<string, unknown> = {
    seq: toInt(row.seq),
    code: row.code,
    at: fromMs(row.at_ms),
    actor: row.actor,
    message: row.message,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
  for (const [field, value] of [
    ['subject', row.subject], ['beamline', row.beamline], ['beamtime', row.beamtime], ['target', row.target], ['session', row.session],
    ['address', row.address],
  ] as const) {
    if (value !== null) record[field] = value;
  }
  if (row.details !== null) record['details'] = parseDetails(row.details);
  return record as unknown as AuditRecord;
}
