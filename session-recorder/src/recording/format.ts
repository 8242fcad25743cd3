// The recording file format, version 1 (docs/recording-format.md): an append-only sequence of
// length-prefixed, CRC-checked records after a small header, so that a file cut off anywhere (a
// crash, a full disk) is still readable up to its last whole record. Pure: encoding and an
// incremental scanner, no I/O; the CRC function is passed in (node:zlib's crc32 on the server).
//
// | magic "BGREC\r\n\x1a" (8) | version u16 = 1 | header length u32 | header JSON (UTF-8) |
// then records:
// | kind u8 | flags u8 | t u32 (ms since header.startedAt) | length u32 | payload | crc32 u32 |
// The CRC covers kind..payload. flags bit 0: the payload is raw-deflated (of a KeyFrame, all but
// its 4-byte size prefix, so an index can read sizes without inflating frames).

export const MAGIC = Uint8Array.from([0x42, 0x47, 0x52, 0x45, 0x43, 0x0d, 0x0a, 0x1a]); // "BGREC\r\n\x1a"
export const FORMAT_VERSION = 1;
export const RECORD_HEADER_LENGTH = 10;
export const RECORD_TRAILER_LENGTH = 4;
/** A record larger than this is not written and, when read, ends the readable part: no real update comes close. */
export const MAX_RECORD_PAYLOAD = 64 * 1024 * 1024;
const MAX_HEADER_JSON = 64 * 1024;

export const RecordKind = {
  /** A new RFB stream starts (the first connection, or a reconnect after the VNC server dropped the recorder). Payload: SegmentStart. */
  Segment: 1,
  /** Whole server-to-client RFB messages received at t, in the segment's pixel format. */
  Rfb: 2,
  /**
   * A key frame: the answer to a non-incremental update request for the whole screen, which
   * playback can start from (see encodeKeyFramePayload).
   */
  KeyFrame: 3,
  /** A timeline event (JSON, TimelineEvent): control changes, blocked actions, viewers. */
  Event: 4,
  /** The recording ended normally (JSON, RecordingEnd). A file without one was cut off. */
  End: 5,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];
const KINDS: ReadonlySet<number> = new Set(Object.values(RecordKind));

export const FLAG_DEFLATED = 1;
/** Bytes at the start of a payload that stay uncompressed when FLAG_DEFLATED is set. */
export function storedPrefixLength(kind: RecordKind): number {
  return kind === RecordKind.KeyFrame ? 4 : 0;
}

/** What the file is; written once at the start. */
export interface RecordingHeader {
  readonly format: 'beamgate-recording';
  readonly version: 1;
  readonly recordingId: string;
  readonly session: string;
  readonly desktop: string;
  readonly desktopName: string;
  readonly beamline: string;
  readonly beamtime?: string | undefined;
  /** ISO time; record times count milliseconds from here. */
  readonly startedAt: string;
  readonly keyFrameIntervalSeconds: number;
  /**
   * The RFB pixel format of every Rfb/KeyFrame record: 32 bpp, depth 24, little endian, red
   * shift 0, green 8, blue 16 — the one noVNC asks for, so playback feeds the bytes unchanged.
   */
  readonly pixelFormat: 'rgbx8888-le';
  /** What is deliberately not in the file (privacy): key strokes, clipboard contents. */
  readonly notRecorded: readonly string[];
}

/** Payload of a Segment record: the framebuffer the new RFB stream starts with. */
export interface SegmentStart {
  readonly width: number;
  readonly height: number;
  readonly name: string;
}

/** Payload of an Event record. `kind` says which fields matter. */
export interface TimelineEvent {
  readonly kind: 'control' | 'blocked' | 'viewer' | 'recorder';
  /** One line for the timeline's tooltip. */
  readonly message: string;
  /** The person who acted or whose input was blocked (user id). */
  readonly actor?: string | undefined;
  /** control: who holds control after this event (user id), or absent when nobody does. */
  readonly holder?: string | undefined;
  /** control: free | held | locked; blocked: the rule id; viewer: joined | left; recorder: gap | resumed. */
  readonly detail?: string | undefined;
  /** The audit record this mirrors, when there is one. */
  readonly auditSeq?: number | undefined;
}

export interface RecordingEnd {
  readonly reason: string;
}

export interface ScannedRecord {
  readonly kind: RecordKind;
  readonly flags: number;
  readonly t: number;
  /** As stored (still deflated when flags has FLAG_DEFLATED). */
  readonly payload: Uint8Array;
  /** File offset of the record's first byte. */
  readonly offset: number;
  /** Bytes the record occupies in the file. */
  readonly size: number;
}

export type Crc32 = (data: Uint8Array, initial?: number) => number;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

export function encodeHeader(header: RecordingHeader): Uint8Array {
  const json = textEncoder.encode(JSON.stringify(header));
  const out = new Uint8Array(MAGIC.length + 6 + json.length);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint16(8, FORMAT_VERSION);
  view.setUint32(10, json.length);
  out.set(json, 14);
  return out;
}

export function encodeRecord(kind: RecordKind, t: number, payload: Uint8Array, crc32: Crc32, flags = 0): Uint8Array {
  if (!Number.isInteger(t) || t < 0 || t > 0xffff_ffff) throw new RangeError(`record time ${t} ms is outside 0..2^32-1`);
  if (payload.length > MAX_RECORD_PAYLOAD) throw new RangeError(`record of ${payload.length} bytes exceeds ${MAX_RECORD_PAYLOAD}`);
  const out = new Uint8Array(RECORD_HEADER_LENGTH + payload.length + RECORD_TRAILER_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint8(1, flags);
  view.setUint32(2, t);
  view.setUint32(6, payload.length);
  out.set(payload, RECORD_HEADER_LENGTH);
  view.setUint32(RECORD_HEADER_LENGTH + payload.length, crc32(out.subarray(0, RECORD_HEADER_LENGTH + payload.length)) >>> 0);
  return out;
}

export function encodeJson(value: TimelineEvent | RecordingEnd): Uint8Array {
  return textEncoder.encode(JSON.stringify(value));
}

export function decodeEvent(payload: Uint8Array): TimelineEvent {
  return JSON.parse(textDecoder.decode(payload)) as TimelineEvent;
}

export function decodeEnd(payload: Uint8Array): RecordingEnd {
  return JSON.parse(textDecoder.decode(payload)) as RecordingEnd;
}

export function encodeSegmentStart(segment: SegmentStart): Uint8Array {
  const name = textEncoder.encode(segment.name);
  const out = new Uint8Array(4 + name.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, segment.width);
  view.setUint16(2, segment.height);
  out.set(name, 4);
  return out;
}

export function decodeSegmentStart(payload: Uint8Array): SegmentStart {
  if (payload.length < 4) throw new RangeError('segment record shorter than 4 bytes');
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { width: view.getUint16(0), height: view.getUint16(2), name: textDecoder.decode(payload.subarray(4)) };
}

/**
 * Payload of a KeyFrame record: the framebuffer size at that moment (which may differ from the
 * segment's after a resize), then the RFB messages. Playback starts a fresh noVNC here with a
 * ServerInit of this size.
 * | width u16 | height u16 | RFB messages |
 */
export function encodeKeyFramePayload(framebuffer: { readonly width: number; readonly height: number }, rfb: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + rfb.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, framebuffer.width);
  view.setUint16(2, framebuffer.height);
  out.set(rfb, 4);
  return out;
}

export function decodeKeyFramePayload(payload: Uint8Array): { framebuffer: { width: number; height: number }; rfb: Uint8Array } {
  if (payload.length < 4) throw new RangeError('key frame record shorter than 4 bytes');
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { framebuffer: { width: view.getUint16(0), height: view.getUint16(2) }, rfb: payload.subarray(4) };
}

/** Why the readable part of a file ends where it does. */
export type ScanStop =
  | { readonly kind: 'end-of-data' }
  | { readonly kind: 'corrupt'; readonly offset: number; readonly problem: string };

/**
 * Reads a file front to back in chunks of any size. Header first (readHeader), then records;
 * stops for good at the first record that is not whole and correct (stop says where and why).
 * Keeps only the bytes of one unfinished record between chunks.
 */
export class RecordingScanner {
  private buffer: Uint8Array = new Uint8Array(0);
  /** File offset of buffer[0]. */
  private base = 0;
  private headerValue: RecordingHeader | undefined;
  /** Past the header: what comes are records. */
  private inRecords = false;
  private stopped: ScanStop | undefined;

  constructor(private readonly crc32: Crc32) {}

  /** A scanner for bytes that start at a record boundary `offset` of a file (a range an index found), without its header. */
  static fromRecord(crc32: Crc32, offset: number): RecordingScanner {
    const scanner = new RecordingScanner(crc32);
    scanner.inRecords = true;
    scanner.base = offset;
    return scanner;
  }

  get header(): RecordingHeader | undefined {
    return this.headerValue;
  }

  /** Set once the scanner found a problem; records after it are never returned. */
  get corruption(): Extract<ScanStop, { kind: 'corrupt' }> | undefined {
    return this.stopped?.kind === 'corrupt' ? this.stopped : undefined;
  }

  /** File offset up to which everything was whole records (or the header). */
  get validBytes(): number {
    return this.base;
  }

  /** Bytes received after the last whole record (an unfinished record at the end of a file). */
  get trailingBytes(): number {
    return this.buffer.length;
  }

  feed(chunk: Uint8Array): ScannedRecord[] {
    if (this.stopped !== undefined) return [];
    this.buffer = this.buffer.length === 0 ? chunk : concat(this.buffer, chunk);
    const out: ScannedRecord[] = [];
    let pos = 0;
    if (!this.inRecords) {
      const consumed = this.tryHeader();
      if (consumed === 0) {
        if (this.buffer === chunk) this.buffer = new Uint8Array(chunk); // the caller may reuse its chunk
        return out;
      }
      pos = consumed;
    }
    const buf = this.buffer;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    while (buf.length - pos >= RECORD_HEADER_LENGTH) {
      const kind = view.getUint8(pos);
      const length = view.getUint32(pos + 6);
      if (!KINDS.has(kind)) return this.fail(out, pos, `unknown record kind ${kind}`);
      if (length > MAX_RECORD_PAYLOAD) return this.fail(out, pos, `record length ${length} exceeds ${MAX_RECORD_PAYLOAD}`);
      const size = RECORD_HEADER_LENGTH + length + RECORD_TRAILER_LENGTH;
      if (buf.length - pos < size) break;
      const stored = view.getUint32(pos + RECORD_HEADER_LENGTH + length);
      if ((this.crc32(buf.subarray(pos, pos + RECORD_HEADER_LENGTH + length)) >>> 0) !== stored) {
        return this.fail(out, pos, 'checksum mismatch');
      }
      out.push({
        kind: kind as RecordKind, flags: view.getUint8(pos + 1), t: view.getUint32(pos + 2),
        payload: buf.subarray(pos + RECORD_HEADER_LENGTH, pos + RECORD_HEADER_LENGTH + length), offset: this.base + pos, size,
      });
      pos += size;
    }
    this.base += pos;
    // Keep the unfinished tail in a buffer of its own, so the caller's chunk can be reused. A copy made
    // with the Uint8Array constructor: on a Node Buffer, slice() is a view into the caller's memory.
    this.buffer = pos === buf.length ? new Uint8Array(0) : new Uint8Array(buf.subarray(pos));
    return out;
  }

  /** Parses the header when whole; returns the bytes it took (0: need more, or it failed). */
  private tryHeader(): number {
    const buf = this.buffer;
    if (buf.length < 14) return 0;
    for (let i = 0; i < MAGIC.length; i++) {
      if (buf[i] !== MAGIC[i]) {
        this.stopped = { kind: 'corrupt', offset: 0, problem: 'not a Beamgate recording (wrong magic bytes)' };
        return 0;
      }
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const version = view.getUint16(8);
    if (version !== FORMAT_VERSION) {
      this.stopped = { kind: 'corrupt', offset: 8, problem: `format version ${version}; this gateway reads version ${FORMAT_VERSION}` };
      return 0;
    }
    const length = view.getUint32(10);
    if (length > MAX_HEADER_JSON) {
      this.stopped = { kind: 'corrupt', offset: 10, problem: `header of ${length} bytes exceeds ${MAX_HEADER_JSON}` };
      return 0;
    }
    if (buf.length < 14 + length) return 0;
    try {
      const parsed = JSON.parse(textDecoder.decode(buf.subarray(14, 14 + length))) as Partial<RecordingHeader> | null;
      if (parsed?.format !== 'beamgate-recording' || typeof parsed.startedAt !== 'string') throw new Error('missing format or startedAt');
      this.headerValue = parsed as RecordingHeader;
      this.inRecords = true;
    } catch (e) {
      this.stopped = { kind: 'corrupt', offset: 14, problem: `unreadable header: ${(e as Error).message}` };
      return 0;
    }
    return 14 + length;
  }

  private fail(out: ScannedRecord[], pos: number, problem: string): ScannedRecord[] {
    this.stopped = { kind: 'corrupt', offset: this.base + pos, problem };
    this.base += pos;
    this.buffer = new Uint8Array(0);
    return out;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
