// Reads recording files: an index for playback and verification (one sequential pass that keeps
// record positions, not their bytes), and the records between two positions with payloads inflated.
import { open } from 'node:fs/promises';
import { crc32, inflateRawSync } from 'node:zlib';
import {
  decodeEnd, decodeEvent, decodeKeyFramePayload, decodeSegmentStart, FLAG_DEFLATED, RecordingScanner, RecordKind, storedPrefixLength,
  type RecordingEnd, type RecordingHeader, type ScannedRecord, type SegmentStart, type TimelineEvent,
} from './format.js';

const READ_CHUNK = 1024 * 1024;
/** Inflated RFB payloads larger than this are refused (a damaged or hostile file must not exhaust memory). */
const MAX_INFLATED = 256 * 1024 * 1024;

export interface KeyFrameEntry {
  readonly t: number;
  /** File offset of the key frame record: playback from here needs nothing earlier. */
  readonly offset: number;
  /** The framebuffer at that moment, for the ServerInit playback synthesises. */
  readonly width: number;
  readonly height: number;
  readonly name: string;
}

export interface RecordingIndex {
  readonly header: RecordingHeader;
  readonly keyFrames: readonly KeyFrameEntry[];
  readonly segments: readonly (SegmentStart & { readonly t: number; readonly offset: number })[];
  readonly events: readonly (TimelineEvent & { readonly t: number })[];
  /** Time of the last readable record. */
  readonly durationMs: number;
  readonly end?: RecordingEnd | undefined;
  readonly records: number;
  /** Where the readable part ends and why: 'complete' (an End record), 'cut' (no End: crash or still recording), 'corrupt'. */
  readonly condition: 'complete' | 'cut' | 'corrupt';
  readonly validBytes: number;
  readonly fileBytes: number;
  /** For 'cut' and 'corrupt': in words, with the offset. */
  readonly problem?: string | undefined;
}

export class RecordingReadError extends Error {
  override readonly name = 'RecordingReadError';
}

/** One pass over the file. Throws RecordingReadError when it is not a readable recording at all. */
export async function indexRecording(path: string): Promise<RecordingIndex> {
  const keyFrames: KeyFrameEntry[] = [];
  const segments: (SegmentStart & { t: number; offset: number })[] = [];
  const events: (TimelineEvent & { t: number })[] = [];
  let end: RecordingEnd | undefined;
  let durationMs = 0;
  let records = 0;
  let segment: SegmentStart | undefined;
  const scanner = new RecordingScanner(crc32);
  const file = await openForReading(path);
  let fileBytes = 0;
  try {
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, READ_CHUNK, null);
      if (bytesRead === 0) break;
      fileBytes += bytesRead;
      for (const record of scanner.feed(buffer.subarray(0, bytesRead))) {
        records++;
        durationMs = Math.max(durationMs, record.t);
        switch (record.kind) {
          case RecordKind.Segment:
            segment = decodeSegmentStart(record.payload);
            segments.push({ ...segment, t: record.t, offset: record.offset });
            break;
          case RecordKind.KeyFrame: {
            const size = decodeKeyFramePayload(record.payload).framebuffer; // the size prefix is never deflated
            keyFrames.push({ t: record.t, offset: record.offset, width: size.width, height: size.height, name: segment?.name ?? '' });
            break;
          }
          case RecordKind.Event:
            events.push({ ...decodeEvent(payloadOf(record)), t: record.t });
            break;
          case RecordKind.End:
            end = decodeEnd(payloadOf(record));
            break;
          case RecordKind.Rfb:
            break;
        }
      }
      if (scanner.corruption !== undefined) break;
    }
  } finally {
    await file.close();
  }
  const header = scanner.header;
  if (header === undefined) {
    const why = scanner.corruption?.problem ?? `the file ends inside its header (${fileBytes} bytes)`;
    throw new RecordingReadError(`${path} is not a readable recording: ${why}`);
  }
  const corruption = scanner.corruption;
  const condition = corruption !== undefined ? 'corrupt' : end !== undefined && scanner.trailingBytes === 0 ? 'complete' : 'cut';
  const problem = corruption !== undefined
    ? `damaged at byte ${corruption.offset} (${corruption.problem}); readable up to ${formatMs(durationMs)}`
    : condition === 'cut'
      ? `ends without an end record at ${formatMs(durationMs)}${unfinished(scanner.trailingBytes)}`
      + ' (the gateway stopped while recording, or it is still recording)'
      : undefined;
  return { header, keyFrames, segments, events, durationMs, end, records, condition, validBytes: scanner.validBytes, fileBytes, problem };
}

/** The records in [fromOffset, toOffset) (offsets of record starts from the index), payloads inflated. */
export async function readRecords(path: string, fromOffset: number, toOffset: number): Promise<ScannedRecord[]> {
  const file = await openForReading(path);
  try {
    const length = toOffset - fromOffset;
    const bytes = Buffer.allocUnsafe(length);
    const { bytesRead } = await file.read(bytes, 0, length, fromOffset);
    const out: ScannedRecord[] = [];
    // The scanner expects a header first; records are parsed here with the same layout and checks.
    for (const record of scanRecordsOnly(bytes.subarray(0, bytesRead), fromOffset)) {
      out.push({ ...record, payload: payloadOf(record), flags: 0 });
    }
    return out;
  } finally {
    await file.close();
  }
}

function scanRecordsOnly(bytes: Uint8Array, baseOffset: number): ScannedRecord[] {
  const out: ScannedRecord[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (bytes.length - pos >= 14) {
    const length = view.getUint32(pos + 6);
    const size = 14 + length;
    if (bytes.length - pos < size) break;
    if ((crc32(bytes.subarray(pos, pos + 10 + length)) >>> 0) !== view.getUint32(pos + 10 + length)) break;
    out.push({
      kind: view.getUint8(pos) as RecordKind, flags: view.getUint8(pos + 1), t: view.getUint32(pos + 2),
      payload: bytes.subarray(pos + 10, pos + 10 + length), offset: baseOffset + pos, size,
    });
    pos += size;
  }
  return out;
}

export function payloadOf(record: ScannedRecord): Uint8Array {
  if ((record.flags & FLAG_DEFLATED) === 0) return record.payload;
  const prefix = storedPrefixLength(record.kind);
  const body = inflateRawSync(record.payload.subarray(prefix), { maxOutputLength: MAX_INFLATED });
  if (prefix === 0) return body;
  const out = new Uint8Array(prefix + body.length);
  out.set(record.payload.subarray(0, prefix), 0);
  out.set(body, prefix);
  return out;
}

async function openForReading(path: string): Promise<Awaited<ReturnType<typeof open>>> {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw new RecordingReadError(`cannot open the recording ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export function formatMs(ms: number): string {
  const s = Math.floor(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(hh)}:${two(mm)}:${two(ss)}.${String(ms % 1000).padStart(3, '0')}`;
}

function unfinished(bytes: number): string {
  return bytes > 0 ? ` with ${bytes} bytes of an unfinished record` : '';
}
