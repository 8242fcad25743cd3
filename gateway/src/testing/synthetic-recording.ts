// Test and benchmark support: recordings whose every frame is known. Key frames are Hextile
// full-screen pictures of one background colour per key frame (plus, optionally, GUI-like textured
// tiles); between them small Raw updates paint a marker rectangle at the top left, in a colour
// that names the update. So the right picture at any time t is known exactly (expectedAt), and a
// test can check a played-back pixel against it. Written with the real RecordingWriter.
import {
  encodeJson, encodeKeyFramePayload, encodeSegmentStart, RecordKind, type RecordingHeader, type TimelineEvent,
} from '../../../session-recorder/src/recording/format.js';
import { RecordingWriter } from '../../../session-recorder/src/recording/recording-writer.js';

export interface SyntheticRecording {
  readonly width: number;
  readonly height: number;
  readonly name: string;
  readonly durationMs: number;
  readonly keyFrameIntervalMs: number;
  /** A small update every this many ms, the first at updateIntervalMs / 2. */
  readonly updateIntervalMs: number;
  /** Top-left marker rectangle the updates paint. */
  readonly marker: { readonly width: number; readonly height: number };
  /** Key frames (by number) that begin a new segment, as after the recorder reconnected; key frame 0 always does. */
  readonly newSegmentAt?: readonly number[];
  /** GUI-like detail in the key frames (raw Hextile tiles), away from the marker and the bottom-right probe. */
  readonly textured?: boolean;
  readonly events?: readonly (TimelineEvent & { readonly t: number })[];
  /** Write the End record (false: the file is cut, as after a crash). */
  readonly end?: boolean;
}

/** Key frame k is at k * interval + KEY_FRAME_OFFSET_MS: its segment record comes just before it. */
export const KEY_FRAME_OFFSET_MS = 5;

export function backgroundOf(k: number): number {
  // Distinct, far-apart colours; never equal to a marker colour (markers have blue 0x40..0x7f).
  const palette = [0x204080, 0x208040, 0x802040, 0x808020, 0x208080, 0x802080, 0xc06020, 0x2060c0];
  return (palette[k % palette.length] ?? 0) ^ ((Math.floor(k / palette.length) & 0x0f) << 16);
}

export function markerOf(n: number): number {
  return ((n & 0xff) << 16) | (((n >> 8) & 0xff) << 8) | (0x40 | ((n >> 16) & 0x3f));
}

export function keyFrameTime(spec: SyntheticRecording, k: number): number {
  return k * spec.keyFrameIntervalMs + KEY_FRAME_OFFSET_MS;
}

export function updateTime(spec: SyntheticRecording, n: number): number {
  return n * spec.updateIntervalMs + spec.updateIntervalMs / 2;
}

/** What the screen shows at t: the background of the key frame in force and the colour of the last marker update (if any). */
export function expectedAt(spec: SyntheticRecording, t: number): { background: number; marker: number } {
  const k = Math.max(0, Math.floor((t - KEY_FRAME_OFFSET_MS) / spec.keyFrameIntervalMs));
  const background = backgroundOf(k);
  const n = Math.floor((t - spec.updateIntervalMs / 2) / spec.updateIntervalMs);
  return { background, marker: n < 0 ? background : markerOf(n) };
}

/** Points to probe: inside the marker, and a bottom-right pixel that only the background covers. */
export function probes(spec: SyntheticRecording): { marker: { x: number; y: number }; background: { x: number; y: number } } {
  return { marker: { x: spec.marker.width >> 1, y: spec.marker.height >> 1 }, background: { x: spec.width - 4, y: spec.height - 4 } };
}

function pixel(rgb: number): [number, number, number, number] {
  return [(rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff, 0]; // noVNC's pixel format: R G B X in memory
}

function updateHeader(rects: number): Uint8Array {
  return Uint8Array.of(0, 0, rects >> 8, rects & 0xff);
}

function rectHeader(x: number, y: number, w: number, h: number, encoding: number): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setUint16(0, x);
  v.setUint16(2, y);
  v.setUint16(4, w);
  v.setUint16(6, h);
  v.setInt32(8, encoding);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A FramebufferUpdate of one Raw rectangle of one colour. */
export function rawFill(x: number, y: number, w: number, h: number, rgb: number): Uint8Array {
  const body = new Uint8Array(w * h * 4);
  const px = pixel(rgb);
  for (let i = 0; i < body.length; i += 4) body.set(px, i);
  return concat([updateHeader(1), rectHeader(x, y, w, h, 0), body]);
}

/**
 * A FramebufferUpdate of one Hextile rectangle covering (0,0,w,h), the colour of each pixel from
 * `at`. Uniform tiles are sent as a background (only when it changes), others as Raw tiles.
 */
export function hextilePicture(w: number, h: number, at: (x: number, y: number) => number): Uint8Array {
  const parts: Uint8Array[] = [updateHeader(1), rectHeader(0, 0, w, h, 5)];
  let background: number | undefined;
  for (let ty = 0; ty < h; ty += 16) {
    for (let tx = 0; tx < w; tx += 16) {
      const tw = Math.min(16, w - tx);
      const th = Math.min(16, h - ty);
      const first = at(tx, ty);
      let uniform = true;
      for (let y = ty; y < ty + th && uniform; y++) for (let x = tx; x < tx + tw; x++) if (at(x, y) !== first) uniform = false;
      if (uniform) {
        if (first === background) parts.push(Uint8Array.of(0));
        else parts.push(Uint8Array.of(2, ...pixel(first)));
        background = first;
        continue;
      }
      const tile = new Uint8Array(1 + tw * th * 4);
      tile[0] = 1;
      let o = 1;
      for (let y = ty; y < ty + th; y++) {
        for (let x = tx; x < tx + tw; x++) {
          tile.set(pixel(at(x, y)), o);
          o += 4;
        }
      }
      parts.push(tile);
      background = undefined; // after a Raw tile the next one names its background again
    }
  }
  return concat(parts);
}

/** The picture of key frame k (which includes the marker as the last update before it left it). */
export function keyFramePicture(spec: SyntheticRecording, k: number): (x: number, y: number) => number {
  const { background, marker } = expectedAt(spec, keyFrameTime(spec, k));
  return (x, y) => {
    if (x < spec.marker.width && y < spec.marker.height) return marker;
    if (spec.textured === true && textured(spec, k, x, y)) return 0x101418;
    return background;
  };
}

/** Rows of "text" in every third tile band, away from the marker and the last tile row and column. */
function textured(spec: SyntheticRecording, k: number, x: number, y: number): boolean {
  const tx = x >> 4;
  const ty = y >> 4;
  if (ty < 2 || tx >= (spec.width >> 4) - 1 || ty >= (spec.height >> 4) - 1) return false;
  if ((tx * 7 + ty * 3 + k) % 4 !== 0 || y % 16 < 4 || y % 16 > 11) return false;
  return ((x * 2_654_435_761 + y * 40_503 + k) >>> 13) % 3 === 0;
}

export function syntheticHeader(id: string, startedAt: Date, spec: SyntheticRecording, desktop = 'bl-demo', beamline = 'bl-demo'): RecordingHeader {
  return {
    format: 'beamgate-recording', version: 1, recordingId: id, session: `ses-${id}`, desktop, desktopName: spec.name, beamline,
    startedAt: startedAt.toISOString(), keyFrameIntervalSeconds: spec.keyFrameIntervalMs / 1000, pixelFormat: 'rgbx8888-le',
    notRecorded: ['key strokes', 'clipboard contents'],
  };
}

/** Writes the recording; resolves with the file's size. */
export async function writeSyntheticRecording(path: string, header: RecordingHeader, spec: SyntheticRecording): Promise<number> {
  const writer = await RecordingWriter.create(path, header, {
    flushIntervalMs: 1000, syncIntervalMs: 60_000, flushBytes: 4 * 1024 * 1024, maxQueuedBytes: 256 * 1024 * 1024,
  });
  const events = [...(spec.events ?? [])].sort((a, b) => a.t - b.t);
  const segments = new Set([0, ...(spec.newSegmentAt ?? [])]);
  let e = 0;
  let n = 0;
  const writeEventsUntil = (t: number): void => {
    for (; e < events.length && (events[e]?.t ?? Infinity) <= t; e++) {
      const { t: at, ...event } = events[e] as TimelineEvent & { t: number };
      writer.append(RecordKind.Event, at, encodeJson(event));
    }
  };
  for (let k = 0; keyFrameTime(spec, k) <= spec.durationMs; k++) {
    const t = keyFrameTime(spec, k);
    writeEventsUntil(t - KEY_FRAME_OFFSET_MS);
    if (segments.has(k)) {
      writer.resetCompression();
      const segment = encodeSegmentStart({ width: spec.width, height: spec.height, name: spec.name });
      writer.append(RecordKind.Segment, t - KEY_FRAME_OFFSET_MS, segment);
    }
    writer.append(RecordKind.KeyFrame, t, encodeKeyFramePayload(spec, hextilePicture(spec.width, spec.height, keyFramePicture(spec, k))));
    const next = Math.min(keyFrameTime(spec, k + 1), spec.durationMs + 1);
    for (; updateTime(spec, n) < next; n++) {
      const at = updateTime(spec, n);
      writeEventsUntil(at);
      writer.append(RecordKind.Rfb, at, rawFill(0, 0, spec.marker.width, spec.marker.height, markerOf(n)));
    }
    await writer.flush(); // bounded memory for long recordings
  }
  writeEventsUntil(spec.durationMs);
  if (spec.end !== false) writer.appendEnd(spec.durationMs, { reason: 'synthetic recording ended' });
  await writer.close();
  if (writer.failed !== undefined) throw writer.failed;
  return writer.bytes;
}
