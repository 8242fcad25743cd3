import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import {
  decodeEvent, decodeSegmentStart, encodeHeader, encodeJson, encodeRecord, encodeSegmentStart, RecordingScanner, RecordKind,
  type RecordingHeader, type ScannedRecord, type TimelineEvent,
} from './format.js';

const header: RecordingHeader = {
  format: 'beamgate-recording', version: 1, recordingId: 'rec-1', session: 'ses-1', desktop: 'p11-control', desktopName: 'P11 control',
  beamline: 'p11', beamtime: 'bt-1', startedAt: '2026-11-22T10:00:00.000Z', keyFrameIntervalSeconds: 30, pixelFormat: 'rgbx8888-le',
  notRecorded: ['key strokes', 'clipboard contents'],
};

interface Plain { kind: number; flags: number; t: number; payload: number[] }

function file(records: readonly Plain[]): Uint8Array {
  const encoded = records.map(r => encodeRecord(r.kind as RecordKind, r.t, Uint8Array.from(r.payload), crc32, r.flags));
  const parts = [encodeHeader(header), ...encoded];
  return Buffer.concat(parts);
}

function scanAll(
  bytes: Uint8Array, chunkSizes: readonly number[] = [bytes.length],
): { scanner: RecordingScanner; records: ScannedRecord[] } {
  const scanner = new RecordingScanner(crc32);
  const records: ScannedRecord[] = [];
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    const size = Math.max(1, chunkSizes[i++ % chunkSizes.length] ?? 1);
    records.push(...scanner.feed(bytes.slice(pos, pos + size)));
    pos += size;
  }
  return { scanner, records };
}

const plain = (r: ScannedRecord): Plain => ({ kind: r.kind, flags: r.flags, t: r.t, payload: [...r.payload] });

const aRecord: fc.Arbitrary<Plain> = fc.record({
  kind: fc.constantFrom(RecordKind.Segment, RecordKind.Rfb, RecordKind.KeyFrame, RecordKind.Event, RecordKind.End),
  flags: fc.constantFrom(0, 1),
  t: fc.nat({ max: 0xffff_ffff }),
  payload: fc.array(fc.nat({ max: 255 }), { maxLength: 40 }),
});

describe('recording format', () => {
  it('reads back every record as written, whatever the chunking', () => {
    const chunkings = fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 });
    fc.assert(fc.property(fc.array(aRecord, { maxLength: 20 }), chunkings, (records, chunks) => {
      const { scanner, records: read } = scanAll(file(records), chunks);
      assert.deepEqual(read.map(plain), records.map(r => ({ ...r })));
      assert.deepEqual(scanner.header, header);
      assert.equal(scanner.corruption, undefined);
      assert.equal(scanner.trailingBytes, 0);
    }));
  });

  it('a file cut at any byte yields exactly the records that were whole, and says how much is left over', () => {
    const records: Plain[] = [
      { kind: RecordKind.Segment, flags: 0, t: 0, payload: [...encodeSegmentStart({ width: 1024, height: 768, name: 'P11' })] },
      { kind: RecordKind.KeyFrame, flags: 1, t: 5, payload: [1, 2, 3, 4, 5, 6] },
      { kind: RecordKind.Rfb, flags: 0, t: 90, payload: [9, 9] },
      { kind: RecordKind.Event, flags: 0, t: 120, payload: [...encodeJson({ kind: 'control', message: 'alice drives', holder: 'alice' })] },
    ];
    const whole = file(records);
    const headerLength = encodeHeader(header).length;
    const ends: number[] = [];
    let end = headerLength;
    for (const r of records) ends.push(end += 14 + r.payload.length);
    for (let cut = 0; cut <= whole.length; cut++) {
      const { scanner, records: read } = scanAll(whole.subarray(0, cut), [7]);
      const expected = ends.filter(e => e <= cut).length;
      assert.equal(read.length, expected, `cut at ${cut}`);
      assert.equal(scanner.corruption, undefined, `cut at ${cut}`);
      const valid = cut < headerLength ? 0 : expected === 0 ? headerLength : ends[expected - 1];
      assert.equal(scanner.validBytes, valid, `cut at ${cut}`);
      assert.equal(scanner.trailingBytes, cut - (valid ?? 0), `cut at ${cut}`);
    }
  });

  it('stops at a flipped byte with the offset and the reason, keeping what came before', () => {
    const records: Plain[] = [1, 2, 3].map(t => ({ kind: RecordKind.Rfb, flags: 0, t, payload: [t, t, t] }));
    const whole = file(records);
    const second = encodeHeader(header).length + 17;
    for (let i = second; i < second + 17; i++) {
      const bad = Uint8Array.from(whole);
      bad[i] = (bad[i] ?? 0) ^ 0x40;
      const { scanner, records: read } = scanAll(bad, [5]);
      assert.deepEqual(read.map(r => r.t), [1], `byte ${i}`);
      assert.equal(scanner.validBytes, second, `byte ${i}`);
      // A damaged length field can look like a record still being written: then the rest is an unfinished tail.
      if (scanner.corruption === undefined) assert.equal(scanner.trailingBytes, bad.length - second, `byte ${i}`);
      else assert.match(scanner.corruption.problem, /checksum mismatch|unknown record kind|exceeds/);
    }
  });

  it('refuses a file that is not a recording or of another version', () => {
    const notOurs = new RecordingScanner(crc32);
    notOurs.feed(new TextEncoder().encode('%PDF-1.7 and then some more bytes'));
    assert.match(notOurs.corruption?.problem ?? '', /not a Beamgate recording/);
    const future = Uint8Array.from(encodeHeader(header));
    future[9] = 2;
    const newer = new RecordingScanner(crc32);
    newer.feed(future);
    assert.match(newer.corruption?.problem ?? '', /format version 2/);
  });

  it('encodes segment starts and JSON payloads losslessly, and refuses times it cannot store', () => {
    assert.deepEqual(decodeSegmentStart(encodeSegmentStart({ width: 3840, height: 2160, name: 'Strahl P11 — Kontrolle' })),
      { width: 3840, height: 2160, name: 'Strahl P11 — Kontrolle' });
    const event: TimelineEvent = { kind: 'blocked', message: 'Ctrl+Alt+T blocked', actor: 'alice', detail: 'no-terminal', auditSeq: 42 };
    assert.deepEqual(decodeEvent(encodeJson(event)), event);
    assert.throws(() => encodeRecord(RecordKind.Rfb, -1, new Uint8Array(0), crc32), RangeError);
    assert.throws(() => encodeRecord(RecordKind.Rfb, 2 ** 32, new Uint8Array(0), crc32), RangeError);
  });
});
