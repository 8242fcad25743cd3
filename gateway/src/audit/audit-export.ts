// Audit records as CSV (RFC 4180) and JSON text for exports, shared by the HTTP export and
// `beamgate audit export`. Every field of a record is written, seq, prevHash and hash included,
// so a copy can be checked offline: hashRecord() of a JSON record (with `at` as written) is its
// hash, and consecutive seqs link by prevHash. Pure: records in, text out.
import type { AuditRecord } from '../../../session-recorder/src/audit/audit-record.js';
import { canonicalJson } from '../../../session-recorder/src/audit/hash-chain.js';

export type ExportFormat = 'csv' | 'json';

/** The columns, in order; the same names as the JSON members. */
export const EXPORT_COLUMNS = [
  'seq', 'at', 'code', 'actor', 'subject', 'beamline', 'beamtime', 'target', 'session', 'address', 'message', 'details', 'prevHash', 'hash',
] as const;

/** What an export says about itself (the JSON header; CSV carries only the records). */
export interface ExportHeader {
  readonly exportedAt: Date;
  readonly exportedBy: string;
  /** The filters as given (query parameters or command-line options). */
  readonly filter: Readonly<Record<string, string | readonly string[]>>;
  /** The head of the chain when the export began; records after it are not included. */
  readonly head: { readonly seq: number; readonly hash: string };
  readonly count: number;
}

/** A record's fields in column order, absent ones undefined. `details` as canonical JSON text. */
function fieldsOf(record: AuditRecord): Record<(typeof EXPORT_COLUMNS)[number], string | number | undefined> {
  return {
    seq: record.seq,
    at: record.at.toISOString(),
    code: record.code,
    actor: record.actor,
    subject: record.subject,
    beamline: record.beamline,
    beamtime: record.beamtime,
    target: record.target,
    session: record.session,
    address: record.address,
    message: record.message,
    details: record.details === undefined ? undefined : canonicalJson(record.details),
    prevHash: record.prevHash,
    hash: record.hash,
  };
}

/**
 * One CSV cell. A spreadsheet runs a cell that starts with = + - @ (or a tab or CR, which some
 * strip first) as a formula: such cells get a leading apostrophe, which spreadsheets hide. A cell
 * that starts with an apostrophe gets one more, so removing exactly one leading apostrophe from
 * every cell that has one gives back the exact text.
 */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@\t\r']/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Undoes csvCell's guard on an already unquoted cell (for an offline check). */
export function csvUnguard(cell: string): string {
  return cell.startsWith('\'') ? cell.slice(1) : cell;
}

export function csvHeaderLine(): string {
  return `${EXPORT_COLUMNS.join(',')}\r\n`;
}

export function csvLine(record: AuditRecord): string {
  const fields = fieldsOf(record);
  return `${EXPORT_COLUMNS.map(c => csvCell(fields[c])).join(',')}\r\n`;
}

/** The record as a JSON object with members in column order; absent fields omitted, details an object. */
export function jsonRecord(record: AuditRecord): string {
  const out: Record<string, unknown> = {};
  const fields = fieldsOf(record);
  for (const column of EXPORT_COLUMNS) {
    if (column === 'details') {
      if (record.details !== undefined) out['details'] = record.details;
    } else if (fields[column] !== undefined) {
      out[column] = fields[column];
    }
  }
  return JSON.stringify(out);
}

/** The text of a whole export, piece by piece: header, then the records as the batches come. */
export async function* exportText(
  format: ExportFormat, header: ExportHeader, batches: AsyncIterable<readonly AuditRecord[]>,
): AsyncGenerator<string> {
  if (format === 'csv') {
    yield csvHeaderLine();
    for await (const batch of batches) yield batch.map(csvLine).join('');
    return;
  }
  const meta = {
    format: 'beamgate-audit-export', version: 1, exportedAt: header.exportedAt.toISOString(), exportedBy: header.exportedBy,
    filter: header.filter, head: header.head, count: header.count,
  };
  yield `${JSON.stringify(meta).slice(0, -1)},"records":[`;
  let first = true;
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    yield `${first ? '\n' : ',\n'}${batch.map(jsonRecord).join(',\n')}`;
    first = false;
  }
  yield '\n]}\n';
}

/** A file name for the download: beamgate-audit-20261122T101500Z.csv */
export function exportFileName(format: ExportFormat, at: Date): string {
  return `beamgate-audit-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')}.${format}`;
}
