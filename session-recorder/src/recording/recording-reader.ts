// Reads recording files: an index for playback and verification (sequential passes that keep
// record positions, not their bytes, and can read on as a file grows), and the records between two
// positions with payloads inflated.
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
  return new IncrementalIndex(path).update();
}

/**
 * A recording's index that can follow a file while it grows: the scanner keeps only the bytes of an
 * unfinished record, so reading on from where the last pass stopped costs only the new bytes (for
 * playback, where a live recording is asked for again and again).
 */
export class IncrementalIndex {
  private readonly scanner = new RecordingScanner(crc32);
  private readonly keyFrames: KeyFrameEntry[] = [];
  private readonly segments: (SegmentStart & { t: number; offset: number })[] = [];
  private readonly events: (TimelineEvent & { t: number })[] = [];
  private end: RecordingEnd | undefined;
  private durationMs = 0;
  private records = 0;
  private segment: SegmentStart | undefined;
  /** Bytes of the file fed to the scanner so far. */
  private fed = 0;

  constructor(readonly path: string) {}

  /** Bytes read so far: the file size the current index describes. */
  get bytesRead(): number {
    return this.fed;
  }

  /** Whether reading on can change the index: not once the file is damaged or has its End record. */
  get open(): boolean {
    return this.scanner.corruption === undefined && this.end === undefined;
  }

  /** Reads the file from where the last call stopped to its current end; returns the index. */
  async update(): Promise<RecordingIndex> {
    let file;
    try {
      file = await open(this.path, 'r');
    } catch (e) {
      throw new RecordingReadError(`cannot open the recording ${this.path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const buffer = Buffer.allocUnsafe(READ_CHUNK);
      while (this.scanner.corruption === undefined) {
        const { bytesRead } = await file.read(buffer, 0, READ_CHUNK, this.fed);
        if (bytesRead === 0) break;
        this.fed += bytesRead;
        this.take(buffer.subarray(0, bytesRead));
      }
    } finally {
      await file.close();
    }
    return this.snapshot();
  }

  private take(bytes: Uint8Array): void {
    for (const record of this.scanner.feed(bytes)) {
      this.records++;
      this.durationMs = Math.max(this.durationMs, record.t);
      switch (record.kind) {
        case RecordKind.Segment:
          this.segment = decodeSegmentStart(record.payload);
          this.segments.push({ ...this.segment, t: record.t, offset: record.offset });
          break;
        case RecordKind.KeyFrame: {
          const size = decodeKeyFramePayload(record.payload).framebuffer; // the size prefix is never deflated
          this.keyFrames.push({ t: record.t, offset: record.offset, width: size.width, height: size.height, name: this.segment?.name ?? '' });
          break;
        }
        case RecordKind.Event:
          this.events.push({ ...decodeEvent(payloadOf(record)), t: record.t });
          break;
        case RecordKind.End:
          this.end = decodeEnd(payloadOf(record));
          break;
        case RecordKind.Rfb:
          break;
      }
    }
  }

  private snapshot(): RecordingIndex {
    const { scanner, durationMs } = this;
    const header = scanner.header;
    if (header === undefined) {
      const why = scanner.corruption?.problem ?? `the file ends inside its header (${this.fed} bytes)`;
      throw new RecordingReadError(`${this.path} is not a readable recording: ${why}`);
    }
    const corruption = scanner.corruption;
    const condition = corruption !== undefined ? 'corrupt' : this.end !== undefined && scanner.trailingBytes === 0 ? 'complete' : 'cut';
    const unfinished = scanner.trailingBytes > 0 ? ` with ${scanner.trailingBytes} bytes of an unfinished record` : '';
    const problem = corruption !== undefined
      ? `damaged at byte ${corruption.offset} (${corruption.problem}); readable up to ${formatMs(durationMs)}`
      : condition === 'cut'
        ? `ends without an end record at ${formatMs(durationMs)}${unfinished} (the gateway stopped while recording, or it is still recording)`
        : undefined;
    return {
      header, keyFrames: [...this.keyFrames], segments: [...this.segments], events: [...this.events], durationMs, end: this.end,
      records: this.records, condition, validBytes: scanner.validBytes, fileBytes: this.fed, problem,
    };
  }
}

/** The records in [fromOffset, toOffset) (offsets of record starts from the index), payloads inflated. */
export async function readRecords(path: string, fromOffset: number, toOffset: number): Promise<ScannedRecord[]> {
  const file = await openForReading(path);
  try {
    const length = toOffset - fromOffset;
    const bytes = Buffer.allocUnsafe(length);
    const { bytesRead } = await file.read(bytes, 0, length, fromOffset);
    // The range starts at a record the index found; it ends at one or at the readable end.
    return RecordingScanner.fromRecord(crc32, fromOffset).feed(bytes.subarray(0, bytesRead))
      .map(record => ({ ...record, payload: payloadOf(record), flags: 0 }));
  } finally {
    await file.close();
  }
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
