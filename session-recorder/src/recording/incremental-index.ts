// A recording's index that can follow a file while it grows: the scanner keeps only the bytes of
// an unfinished record, so reading on from where the last pass stopped costs only the new bytes.
// Produces the same RecordingIndex as indexRecording (a test holds them equal) for playback, where
// a live recording is asked for again and again.
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import {
  decodeEnd, decodeEvent, decodeKeyFramePayload, decodeSegmentStart, RecordingScanner, RecordKind,
  type RecordingEnd, type SegmentStart, type TimelineEvent,
} from './format.js';
import { formatMs, payloadOf, RecordingReadError, type KeyFrameEntry, type RecordingIndex } from './recording-reader.js';

const READ_CHUNK = 1024 * 1024;

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
