import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AUDIT_FAMILIES, parseExportQuery, parseInstant, parsePageQuery, parseStatsQuery } from './audit-params.js';

describe('parseInstant', () => {
  it('reads ISO 8601 times, UTC when no zone is given', () => {
    assert.equal(parseInstant('2026-11-22')?.toISOString(), '2026-11-22T00:00:00.000Z');
    assert.equal(parseInstant('2026-11-22T14:32')?.toISOString(), '2026-11-22T14:32:00.000Z');
    assert.equal(parseInstant('2026-11-22T14:32:05.5Z')?.toISOString(), '2026-11-22T14:32:05.500Z');
    assert.equal(parseInstant('2026-11-22T14:32+01:30')?.toISOString(), '2026-11-22T13:02:00.000Z');
    assert.equal(parseInstant('2026-11-22T00:30-02:00')?.toISOString(), '2026-11-22T02:30:00.000Z');
  });

  it('refuses what is not a time or does not exist', () => {
    for (const text of ['', 'now', '1700000000000', '2026-02-30', '2026-13-01', '2026-11-22T24:00', '2026-11-22T10:60', '1969-12-31',
      '2026-11-22 10:00', '2026-11-22T10:00+25:00', '2026-11-22T10:00:00.1234Z', ' 2026-11-22']) {
      assert.equal(parseInstant(text), undefined, text);
    }
  });

  it('gives back what toISOString wrote, for any time from 1970 to 9999', () => {
    fc.assert(fc.property(fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (d) => {
      assert.equal(parseInstant(d.toISOString())?.getTime(), d.getTime());
    }));
  });
});

describe('audit query strings', () => {
  it('expands families and de-duplicates kinds', () => {
    const parsed = parsePageQuery({ kind: 'control.*, control.transition,auth.login' });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.selection.codes, ['control.transition', 'control.refused', 'control.joined', 'control.left', 'auth.login']);
    assert.ok(AUDIT_FAMILIES.includes('recording'));
  });

  it('defaults to 50 newest first and reads cursors', () => {
    assert.deepEqual(parsePageQuery({}), { ok: true, value: { selection: {}, before: undefined, after: undefined, limit: 50, order: 'desc' } });
    const parsed = parsePageQuery({ before: '120', limit: '500', order: 'asc' });
    assert.ok(parsed.ok);
    assert.deepEqual([parsed.value.before, parsed.value.limit, parsed.value.order], [120, 500, 'asc']);
  });

  it('keeps only string filters of an export as given, for its record', () => {
    const parsed = parseExportQuery({ format: 'json', beamline: 'p11', from: '2026-01-01' });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.given, { beamline: 'p11', from: '2026-01-01' });
    assert.equal(parsed.value.format, 'json');
  });

  it('names what is wrong, and never accepts a value outside the id alphabet', () => {
    const stats = parseStatsQuery({ before: '3' });
    assert.equal(stats.ok, false);
    assert.match(stats.message, /unknown parameter "before" \(known: beamline, beamtime, person, session, desktop, from, to\)/);
    fc.assert(fc.property(fc.string({ maxLength: 20 }), (value) => {
      const parsed = parsePageQuery({ person: value });
      assert.equal(parsed.ok, /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(value));
    }), { numRuns: 300 });
  });
});
