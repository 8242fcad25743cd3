// The recordings index on SQL: one row per recording file, kept in step by the recorder
// (start, progress, end) and by retention (deleted rows stay, so the audit trail can name them).
import type { Kysely, Selectable } from 'kysely';
import { fromMs, toInt, toMs, type RecordingTable, type StoreSchema } from './schema.js';
import type { RecordingEntry, RecordingFilter, RecordingIndex, RecordingStatus } from './types.js';

const MS_PER_DAY = 86_400_000;

export class SqlRecordingIndex implements RecordingIndex {
  readonly #db: Kysely<StoreSchema>;

  constructor(db: Kysely<StoreSchema>) {
    this.#db = db;
  }

  async add(entry: RecordingEntry): Promise<void> {
    await this.#db.insertInto('recordings').values({
      id: entry.id,
      session: entry.session,
      desktop: entry.desktop,
      beamline: entry.beamline,
      beamtime: entry.beamtime ?? null,
      path: entry.path,
      started_at_ms: toMs(entry.startedAt),
      ended_at_ms: entry.endedAt === undefined ? null : toMs(entry.endedAt),
      bytes: entry.bytes,
      status: entry.status,
      end_reason: entry.endReason ?? null,
      retention_days: entry.retentionDays,
    }).execute();
  }

  async update(id: string, changes: Partial<Pick<RecordingEntry, 'endedAt' | 'bytes' | 'status' | 'endReason'>>): Promise<void> {
    const set: Partial<{ ended_at_ms: number; bytes: number; status: string; end_reason: string }> = {};
    if (changes.endedAt !== undefined) set.ended_at_ms = toMs(changes.endedAt);
    if (changes.bytes !== undefined) set.bytes = changes.bytes;
    if (changes.status !== undefined) set.status = changes.status;
    if (changes.endReason !== undefined) set.end_reason = changes.endReason;
    if (Object.keys(set).length === 0) return;
    await this.#db.updateTable('recordings').set(set).where('id', '=', id).execute();
  }

  async get(id: string): Promise<RecordingEntry | undefined> {
    const row = await this.#db.selectFrom('recordings').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toEntry(row);
  }

  async list(filter: RecordingFilter): Promise<RecordingEntry[]> {
    const { desktop, beamline, session, from, to } = filter;
    const rows = await this.#db.selectFrom('recordings').selectAll()
      .$if(desktop !== undefined, q => q.where('desktop', '=', desktop ?? ''))
      .$if(beamline !== undefined, q => q.where('beamline', '=', beamline ?? ''))
      .$if(session !== undefined, q => q.where('session', '=', session ?? ''))
      .$if(to !== undefined, q => q.where('started_at_ms', '<', toMs(to ?? new Date(0))))
      .$if(from !== undefined, q => q.where(eb => eb.or([eb('ended_at_ms', 'is', null), eb('ended_at_ms', '>=', toMs(from ?? new Date(0)))])))
      .$if(filter.includeDeleted !== true, q => q.where('status', '!=', 'deleted'))
      .orderBy('started_at_ms', 'desc').orderBy('id')
      .$if(filter.limit !== undefined, q => q.limit(filter.limit ?? 0))
      .execute();
    return rows.map(toEntry);
  }

  async expired(now: Date): Promise<RecordingEntry[]> {
    // Few rows and a per-row retention: filter in code rather than with date arithmetic both SQL dialects spell differently.
    const rows = await this.#db.selectFrom('recordings').selectAll().where('status', '!=', 'deleted').where('status', '!=', 'recording')
      .orderBy('started_at_ms').execute();
    const nowMs = toMs(now);
    return rows.filter(r => toInt(r.started_at_ms) + r.retention_days * MS_PER_DAY <= nowMs).map(toEntry);
  }
}

function toEntry(row: Selectable<RecordingTable>): RecordingEntry {
  return {
    id: row.id,
    session: row.session,
    desktop: row.desktop,
    beamline: row.beamline,
    ...(row.beamtime === null ? {} : { beamtime: row.beamtime }),
    path: row.path,
    startedAt: fromMs(row.started_at_ms),
    ...(row.ended_at_ms === null ? {} : { endedAt: fromMs(row.ended_at_ms) }),
    bytes: toInt(row.bytes),
    status: row.status as RecordingStatus,
    ...(row.end_reason === null ? {} : { endReason: row.end_reason }),
    retentionDays: row.retention_days,
  };
}
