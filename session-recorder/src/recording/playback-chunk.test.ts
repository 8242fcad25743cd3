import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordKind } from './format.js';
import { decodePlaybackChunk, encodePlaybackChunk, PLAYBACK_RECORD_HEADER_LENGTH, type PlaybackRecord } from './playback-chunk.js';

const kinds = Object.values(RecordKind);
const record = fc.record({
  kind: fc.constantFrom(...kinds),
  t: fc.integer({ min: 0, max: 0xffff_ffff }),
  payload: fc.uint8Array({ maxLength: 300 }),
});
const plain = (records: readonly PlaybackRecord[]): unknown[] => records.map(r => ({ kind: r.kind, t: r.t, payload: [...r.payload] }));

describe('playback chunk codec', () => {
  it('round-trips any records', () => {
    fc.assert(fc.property(fc.array(record, { maxLength: 20 }), (records) => {
      assert.deepEqual(plain(decodePlaybackChunk(encodePlaybackChunk(records))), plain(records));
    }));
  });

  it('lays a record out as kind, t, length, payload (big endian)', () => {
    const bytes = encodePlaybackChunk([{ kind: RecordKind.Rfb, t: 0x01020304, payload: Uint8Array.of(9, 8) }]);
    assert.deepEqual([...bytes], [2, 1, 2, 3, 4, 0, 0, 0, 2, 9, 8]);
    assert.equal(PLAYBACK_RECORD_HEADER_LENGTH, 9);
    assert.deepEqual(decodePlaybackChunk(new Uint8Array(0)), []);
  });

  it('refuses a chunk cut anywhere inside a record, and unknown kinds', () => {
    fc.assert(fc.property(fc.array(record, { minLength: 1, maxLength: 5 }), fc.nat(), (records, cutSeed) => {
      const bytes = encodePlaybackChunk(records);
      const wholeBefore = new Map<number, number>([[0, 0]]); // cut offset at a record boundary -> records before it
      let pos = 0;
      for (const [i, r] of records.entries()) wholeBefore.set((pos += PLAYBACK_RECORD_HEADER_LENGTH + r.payload.length), i + 1);
      const cut = cutSeed % bytes.length;
      const whole = wholeBefore.get(cut);
      if (whole !== undefined) assert.equal(decodePlaybackChunk(bytes.subarray(0, cut)).length, whole);
      else assert.throws(() => decodePlaybackChunk(bytes.subarray(0, cut)), RangeError);
    }));
    assert.throws(() => decodePlaybackChunk(Uint8Array.of(99, 0, 0, 0, 0, 0, 0, 0, 0)), /unknown record kind 99/);
  });

  it('refuses times a u32 cannot hold', () => {
    assert.throws(() => encodePlaybackChunk([{ kind: RecordKind.Rfb, t: -1, payload: new Uint8Array(0) }]), RangeError);
    assert.throws(() => encodePlaybackChunk([{ kind: RecordKind.Rfb, t: 2 ** 32, payload: new Uint8Array(0) }]), RangeError);
  });
});
