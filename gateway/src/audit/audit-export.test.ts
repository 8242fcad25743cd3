import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AuditEvent, AuditRecord } from '../../../session-recorder/src/audit/audit-record.js';
import { normalizeAuditEvent } from '../../../session-recorder/src/audit/audit-event.js';
import { chainRecord, checkChain, EMPTY_HEAD, hashRecord } from '../../../session-recorder/src/audit/hash-chain.js';
import { parseCsv } from '../testing/csv.js';
import { csvCell, csvUnguard, EXPORT_COLUMNS, exportFileName, exportText, type ExportHeader } from './audit-export.js';

function chain(events: readonly AuditEvent[]): AuditRecord[] {
  let head = EMPTY_HEAD;
  return events.map((e) => {
    const r = chainRecord(normalizeAuditEvent(e), head);
    head = { seq: r.seq, hash: r.hash };
    return r;
  });
}

async function text(format: 'csv' | 'json', records: readonly AuditRecord[], batchSize = 2): Promise<string> {
  async function* batches(): AsyncGenerator<readonly AuditRecord[]> {
    for (let i = 0; i < records.length; i += batchSize) yield await Promise.resolve(records.slice(i, i + batchSize));
  }
  const last = records.at(-1);
  const header: ExportHeader = {
    exportedAt: new Date(Date.UTC(2026, 10, 22, 10, 15)), exportedBy: 'F-3001', filter: { beamline: 'bl-demo' },
    head: { seq: last?.seq ?? 0, hash: last?.hash ?? '0' }, count: records.length,
  };
  let out = '';
  for await (const piece of exportText(format, header, batches())) out += piece;
  return out;
}

const hostile = ['=HYPERLINK("http://x","y")', '+1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd', '\'kept', 'a,b', 'say "hi"', 'two\r\nlines', ' padded '];
const at = new Date(Date.UTC(2026, 10, 22, 9, 0, 0, 7));
const records = chain([
  { code: 'auth.login', at, actor: 'F-1001', message: 'plain', details: { roles: ['user'] } },
  ...hostile.map((message, i): AuditEvent => ({
    code: 'access.denied', at, actor: hostile[(i + 3) % hostile.length] ?? 'x', subject: message, beamline: 'bl-demo', message, details: { why: message },
  })),
  { code: 'viewer.joined', at, actor: 'F-1', message: 'no optional fields' },
]);

describe('CSV export', () => {
  it('guards formula cells with an apostrophe and quotes what needs quoting', () => {
    assert.equal(csvCell('=1+1'), '\'=1+1');
    assert.equal(csvCell('-5 inputs'), '\'-5 inputs');
    assert.equal(csvCell('@x'), '\'@x');
    assert.equal(csvCell('+x'), '\'+x');
    assert.equal(csvCell('\'x'), '\'\'x');
    assert.equal(csvCell('a,"b"'), '"a,""b"""');
    assert.equal(csvCell('=a,b'), '"\'=a,b"');
    assert.equal(csvCell(12), '12');
    assert.equal(csvCell(undefined), '');
    assert.equal(csvCell('plain text'), 'plain text');
  });

  it('has a header and one row per record; no cell a spreadsheet would run; the fields read back exactly', async () => {
    const csv = await text('csv', records);
    const rows = parseCsv(csv);
    assert.deepEqual(rows[0], [...EXPORT_COLUMNS]);
    assert.equal(rows.length, records.length + 1);
    for (const [i, row] of rows.slice(1).entries()) {
      for (const cell of row) assert.doesNotMatch(cell, /^[=+\-@\t\r]/, `row ${i + 1}`);
      const r = records[i]!;
      const read = Object.fromEntries(EXPORT_COLUMNS.map((c, k) => [c, csvUnguard(row[k] ?? '')]));
      assert.equal(read['seq'], String(r.seq));
      assert.equal(read['message'], r.message);
      assert.equal(read['actor'], r.actor);
      assert.equal(read['subject'], r.subject ?? '');
      assert.equal(read['hash'], r.hash);
    }
  });

  it('reads back into records whose hashes and links check out (an offline check)', async () => {
    const rows = parseCsv(await text('csv', records)).slice(1);
    const back = rows.map((row): AuditRecord => {
      const f = Object.fromEntries(EXPORT_COLUMNS.map((c, k) => [c, csvUnguard(row[k] ?? '')]));
      const optional = (name: string): Record<string, string> => (f[name] === '' ? {} : { [name]: f[name]! });
      return {
        seq: Number(f['seq']), at: new Date(f['at']!), code: f['code'] as AuditRecord['code'], actor: f['actor']!, message: f['message']!,
        ...optional('subject'), ...optional('beamline'), ...optional('beamtime'), ...optional('target'), ...optional('session'), ...optional('address'),
        ...(f['details'] === '' ? {} : { details: JSON.parse(f['details']!) as AuditRecord['details'] }),
        prevHash: f['prevHash']!, hash: f['hash']!,
      };
    });
    const head = { seq: records.length, hash: records.at(-1)!.hash };
    assert.deepEqual(checkChain(back, head), { ok: true, records: records.length, headHash: head.hash });
  });

  it('round-trips any text through guard, quoting and reading', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.string({ maxLength: 10 }), (a, b) => {
      const line = `${csvCell(a)},${csvCell(b)}\r\n`;
      const [row] = parseCsv(line);
      assert.deepEqual(row?.map(csvUnguard), [a, b]);
    }), { numRuns: 500 });
  });
});

describe('JSON export', () => {
  it('is one JSON document with the header, the head and every record, each hashing to its hash', async () => {
    for (const batchSize of [1, 3, 100]) {
      const doc = JSON.parse(await text('json', records, batchSize)) as { format: string; count: number; head: { seq: number }; records: Record<string, unknown>[] };
      assert.equal(doc.format, 'beamgate-audit-export');
      assert.equal(doc.count, records.length);
      assert.equal(doc.head.seq, records.length);
      assert.equal(doc.records.length, records.length);
      for (const [i, r] of doc.records.entries()) {
        // `at` stays the ISO string it was written as: the canonical form hashes it the same.
        assert.equal(hashRecord(r as unknown as AuditRecord), records[i]!.hash);
        assert.deepEqual(Object.keys(r), EXPORT_COLUMNS.filter(c => (records[i] as unknown as Record<string, unknown>)[c] !== undefined));
      }
    }
  });

  it('is valid for an empty selection', async () => {
    const doc = JSON.parse(await text('json', [])) as { records: unknown[]; count: number };
    assert.deepEqual(doc.records, []);
    assert.equal(doc.count, 0);
  });

  it('names the download after the time', () => {
    assert.equal(exportFileName('csv', new Date(Date.UTC(2026, 10, 22, 10, 15, 0, 123))), 'beamgate-audit-20261122T101500Z.csv');
  });
});
