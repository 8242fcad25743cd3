import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AUDIT_CODES, type AuditCode, type AuditEvent, type AuditRecord, type ChainCheck, type JsonValue } from './audit-record.js';
import {
  canonicalJson, canonicalRecord, chainRecord, checkChain, ChainWalker, EMPTY_HEAD, GENESIS_HASH, HASHED_FIELDS, hashRecord,
} from './hash-chain.js';

const CODES = Object.keys(AUDIT_CODES) as AuditCode[];

function chainOf(events: readonly AuditEvent[]): AuditRecord[] {
  const records: AuditRecord[] = [];
  let head = EMPTY_HEAD;
  for (const event of events) {
    const record = chainRecord(event, head);
    records.push(record);
    head = { seq: record.seq, hash: record.hash };
  }
  return records;
}

function headOf(records: readonly AuditRecord[]): { seq: number; hash: string } {
  const last = records.at(-1);
  return last === undefined ? EMPTY_HEAD : { seq: last.seq, hash: last.hash };
}

function brokenAt(check: ChainCheck): Extract<ChainCheck, { ok: false }> {
  if (check.ok) assert.fail(`expected a broken chain, got an intact one of ${check.records} records`);
  return check;
}

function event(n: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return { code: 'viewer.joined', at: new Date(Date.UTC(2025, 0, 1, 12, 0, n)), actor: `user${n}`, message: `event ${n}`, ...extra };
}

describe('canonicalJson', () => {
  it('sorts keys at every level, omits undefined members and writes Dates as ISO strings', () => {
    const value = { b: 1, a: { d: [1, undefined, 'x'], c: null }, skipped: undefined, at: new Date(Date.UTC(2025, 4, 6, 7, 8, 9, 10)) };
    assert.equal(canonicalJson(value), '{"a":{"c":null,"d":[1,null,"x"]},"at":"2025-05-06T07:08:09.010Z","b":1}');
  });

  it('follows JSON for numbers, so a value read back from JSON text encodes the same', () => {
    assert.equal(canonicalJson({ z: -0, n: Number.NaN, i: Number.POSITIVE_INFINITY, big: 1e21 }), '{"big":1e+21,"i":null,"n":null,"z":0}');
  });

  it('escapes lone surrogates, so strings that differ only there do not collide', () => {
    assert.equal(canonicalJson('\uD800'), '"\\ud800"');
    assert.notEqual(canonicalJson('a\uD800'), canonicalJson('a\uD801'));
  });

  it('refuses values that have no JSON form', () => {
    assert.throws(() => canonicalJson({ n: 1n }), /bigint has no JSON form/);
    assert.throws(() => canonicalJson(undefined), /undefined has no JSON form/);
  });

  it('is the same whatever the key order', () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (dict) => {
      const reversed = Object.fromEntries(Object.entries(dict).reverse());
      assert.equal(canonicalJson(reversed), canonicalJson(dict));
      assert.deepEqual(JSON.parse(canonicalJson(dict)), JSON.parse(JSON.stringify(dict)));
    }));
  });
});

describe('hashRecord', () => {
  const record = chainRecord({
    code: 'auth.login', at: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)), actor: 'u1', subject: 's', message: 'logged in',
    details: { roles: ['staff'], mfa: true },
  }, EMPTY_HEAD);

  it('has a fixed value for a fixed record: changing the canonical form would break every stored log', () => {
    assert.equal(GENESIS_HASH, '0'.repeat(64));
    assert.equal(record.prevHash, GENESIS_HASH);
    assert.equal(record.seq, 1);
    assert.equal(canonicalRecord(record), '{"actor":"u1","at":"2025-01-02T03:04:05.006Z","code":"auth.login","details":{"mfa":true,"roles":["staff"]},'
    + '"message":"logged in","prevHash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"subject":"s"}');
    // sha256 of the line above, computed independently (printf %s '...' | sha256sum)
    assert.equal(record.hash, '67de8bac464c1a11be06b27682a0674e0723e884ca7450b26a6a2b3fe8bc8c4b');
    assert.equal(hashRecord(record), record.hash);
  });

  it('ignores properties that are not record fields, and explicit undefined equals absent', () => {
    const withExtras = { ...record, extra: 'x', beamline: undefined } as AuditRecord;
    assert.equal(hashRecord(withExtras), record.hash);
  });

  it('covers every field but the hash', () => {
    const full: AuditRecord = {
      ...record, beamline: 'p1', beamtime: 'b1', target: 't1', session: 's1', address: '10.0.0.1', details: { a: 1 },
    };
    assert.deepEqual(new Set(HASHED_FIELDS), new Set(Object.keys(full).filter(k => k !== 'hash')));
  });
});

describe('checkChain', () => {
  const records = chainOf([1, 2, 3, 4, 5].map(n => event(n)));
  const head = headOf(records);

  it('accepts an intact chain and reports its length and head hash', () => {
    assert.deepEqual(checkChain(records, head), { ok: true, records: 5, headHash: records[4]!.hash });
    assert.deepEqual(checkChain([], EMPTY_HEAD), { ok: true, records: 0, headHash: GENESIS_HASH });
    assert.deepEqual(checkChain([...records].reverse(), head), { ok: true, records: 5, headHash: records[4]!.hash });
  });

  it('reports a missing record at its seq', () => {
    const result = checkChain(records.filter(r => r.seq !== 3), head);
    assert.deepEqual(result, { ok: false, records: 2, firstBadSeq: 3, problem: 'record 3 is missing (the log jumps from 2 to 4): deleted' });
    const two = checkChain(records.filter(r => r.seq !== 2 && r.seq !== 3), head);
    assert.equal(two.ok ? 0 : two.problem, 'records 2 to 3 are missing (the log jumps from 1 to 4): deleted');
  });

  it('reports an edited record at its seq', () => {
    const edited = records.map(r => r.seq === 4 ? { ...r, message: 'nothing happened' } : r);
    const result = checkChain(edited, head);
    assert.deepEqual(result, { ok: false, records: 3, firstBadSeq: 4, problem: 'record 4 was changed after it was written: its content does not match its hash' });
  });

  it('reports a record rewritten with a fresh hash at the next record, whose link breaks', () => {
    const rewritten = records.map((r) => {
      if (r.seq !== 2) return r;
      const { hash: _old, ...rest } = { ...r, actor: 'someone else' };
      return { ...rest, hash: hashRecord(rest) };
    });
    const result = brokenAt(checkChain(rewritten, head));
    assert.equal(result.firstBadSeq, 3);
    assert.match(result.problem, /record 3 does not link to record 2/);
  });

  it('reports a deleted tail against the head', () => {
    const result = checkChain(records.slice(0, 3), head);
    assert.deepEqual(result, { ok: false, records: 3, firstBadSeq: 4, problem: 'the log ends at record 3 but its head says 5: records 4 to 5 were deleted' });
    const one = checkChain(records.slice(0, 4), head);
    assert.equal(!one.ok && one.problem, 'the log ends at record 4 but its head says 5: record 5 was deleted');
    assert.equal(checkChain(records.slice(0, 3)).ok, true, 'without a head a shortened log looks intact: that is what the head row is for');
  });

  it('reports records beyond the head and a head whose hash differs', () => {
    const beyond = checkChain(records, { seq: 3, hash: records[2]!.hash });
    assert.equal(!beyond.ok && beyond.firstBadSeq, 4);
    assert.match(!beyond.ok ? beyond.problem : '', /record 4 lies beyond the head \(3\)/);
    const wrongHash = checkChain(records, { seq: 5, hash: GENESIS_HASH });
    assert.equal(!wrongHash.ok && wrongHash.firstBadSeq, 5);
    assert.match(!wrongHash.ok ? wrongHash.problem : '', /head's hash does not match record 5/);
    const emptyWrong = checkChain([], { seq: 0, hash: records[0]!.hash });
    assert.equal(!emptyWrong.ok && emptyWrong.firstBadSeq, 1);
  });

  it('reports a duplicated seq', () => {
    const result = checkChain([...records, records[1]!], head);
    assert.equal(!result.ok && result.firstBadSeq, 2);
    assert.match(!result.ok ? result.problem : '', /record 2 appears twice or out of order/);
  });

  it('stops at the first problem when fed one record at a time', () => {
    const walker = new ChainWalker();
    assert.equal(walker.next(records[0]!), true);
    assert.equal(walker.next(records[2]!), false);
    assert.equal(walker.intact, false);
    assert.equal(walker.next(records[1]!), false, 'a broken walk stays broken');
    const result = walker.finish(head);
    assert.equal(!result.ok && result.firstBadSeq, 2);
  });
});

// ---- properties: any edit of any field of any record, and any deletion, is found at that record ----

const text = fc.string({ unit: 'binary', maxLength: 10 });
const optionalText = fc.option(text, { nil: undefined });
const details = fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), { nil: undefined });
const at = fc.date({ min: new Date(0), max: new Date(Date.UTC(2200, 0, 1)), noInvalidDate: true });
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const anEvent: fc.Arbitrary<AuditEvent> = fc.record({
  code: fc.constantFrom(...CODES), at, actor: text, message: text,
  subject: optionalText, beamline: optionalText, beamtime: optionalText, target: optionalText, session: optionalText,
  address: optionalText, details: details as fc.Arbitrary<{ [key: string]: JsonValue } | undefined>,
});

/** A replacement value for `field` (whether it differs is checked by the property). */
function replacementFor(field: (typeof HASHED_FIELDS)[number] | 'hash'): fc.Arbitrary<unknown> {
  switch (field) {
    // A seq moved onto another record's seq or beyond the end: a primary key cannot hold a
    // duplicate, so a tamperer can only move a record up into a free or (transiently) shared slot.
    case 'seq': return fc.integer({ min: 1, max: 50 });
    case 'prevHash':
    case 'hash': return hex64;
    case 'code': return fc.constantFrom(...CODES);
    case 'at': return at;
    case 'actor':
    case 'message': return text;
    case 'subject':
    case 'beamline':
    case 'beamtime':
    case 'target':
    case 'session':
    case 'address': return optionalText;
    case 'details': return details;
  }
}

const FIELDS = [...HASHED_FIELDS, 'hash'] as const;

function encoded(value: unknown): string {
  return value === undefined ? '<absent>' : canonicalJson(value);
}

describe('checkChain properties', () => {
  it('finds an edit of any field of any record at that record\'s seq', () => {
    const edit = fc.record({
      events: fc.array(anEvent, { minLength: 1, maxLength: 8 }),
      position: fc.nat(),
      field: fc.constantFrom(...FIELDS),
    }).chain(base => fc.record({ base: fc.constant(base), value: replacementFor(base.field) }));
    fc.assert(fc.property(edit, ({ base: { events, position, field }, value }) => {
      const records = chainOf(events);
      const index = position % records.length;
      const original = records[index]!;
      const newValue = field === 'seq' ? original.seq + (value as number) : value;
      fc.pre(encoded(original[field]) !== encoded(newValue));
      const tampered = records.map((r, i) => i === index ? { ...r, [field]: newValue } : r);
      const result = brokenAt(checkChain(tampered, headOf(records)));
      assert.equal(result.firstBadSeq, original.seq, result.problem);
    }), { numRuns: 500 });
  });

  it('finds a deleted record (first, middle or last) at its seq', () => {
    fc.assert(fc.property(fc.array(anEvent, { minLength: 1, maxLength: 8 }), fc.nat(), (events, position) => {
      const records = chainOf(events);
      const index = position % records.length;
      assert.equal(brokenAt(checkChain(records.filter((_, i) => i !== index), headOf(records))).firstBadSeq, index + 1);
    }), { numRuns: 300 });
  });

  it('accepts every untouched chain, and its head hash is the last record\'s', () => {
    fc.assert(fc.property(fc.array(anEvent, { maxLength: 8 }), (events) => {
      const records = chainOf(events);
      assert.deepEqual(checkChain(records, headOf(records)), { ok: true, records: records.length, headHash: headOf(records).hash });
    }), { numRuns: 200 });
  });
});
