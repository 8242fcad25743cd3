// The playback chunk: what the gateway sends the browser player for one stretch of a recording
// (from a key frame up to the next one). The records of the file, payloads inflated, without the
// file's CRCs and flags (HTTP already checks transfer; the gateway checked each record's CRC when
// it read it). Pure and free of Node APIs: the browser bundle imports it too.
//
// | kind u8 | t u32 (ms since the recording's start) | length u32 | payload |  ... repeated, big endian
// A KeyFrame payload keeps its 4-byte size prefix (see encodeKeyFramePayload in format.ts).
import { RecordKind } from './format.js';

export const PLAYBACK_CHUNK_MEDIA_TYPE = 'application/vnd.beamgate.playback-chunk';
export const PLAYBACK_RECORD_HEADER_LENGTH = 9;

export interface PlaybackRecord {
  readonly kind: RecordKind;
  readonly t: number;
  readonly payload: Uint8Array;
}

const KINDS: ReadonlySet<number> = new Set(Object.values(RecordKind));

export function encodePlaybackChunk(records: readonly PlaybackRecord[]): Uint8Array {
  let length = 0;
  for (const r of records) length += PLAYBACK_RECORD_HEADER_LENGTH + r.payload.length;
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const r of records) {
    if (!Number.isInteger(r.t) || r.t < 0 || r.t > 0xffff_ffff) throw new RangeError(`record time ${r.t} ms is outside 0..2^32-1`);
    view.setUint8(pos, r.kind);
    view.setUint32(pos + 1, r.t);
    view.setUint32(pos + 5, r.payload.length);
    out.set(r.payload, pos + PLAYBACK_RECORD_HEADER_LENGTH);
    pos += PLAYBACK_RECORD_HEADER_LENGTH + r.payload.length;
  }
  return out;
}

/** Throws RangeError for bytes that are not a whole chunk (a cut response, not a chunk at all). */
export function decodePlaybackChunk(bytes: Uint8Array): PlaybackRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: PlaybackRecord[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    if (bytes.length - pos < PLAYBACK_RECORD_HEADER_LENGTH) throw new RangeError(`playback chunk ends inside a record header at byte ${pos}`);
    const kind = view.getUint8(pos);
    if (!KINDS.has(kind)) throw new RangeError(`unknown record kind ${kind} at byte ${pos} of a playback chunk`);
    const length = view.getUint32(pos + 5);
    const start = pos + PLAYBACK_RECORD_HEADER_LENGTH;
    if (bytes.length - start < length) throw new RangeError(`playback chunk ends inside a ${length}-byte record at byte ${pos}`);
    out.push({ kind: kind as RecordKind, t: view.getUint32(pos + 1), payload: bytes.subarray(start, start + length) });
    pos = start + length;
  }
  return out;
}
