// Test support: applies recorded server-to-client RFB messages (the recorder's encodings: ZRLE,
// Raw, RRE, Hextile, DesktopSize, ExtendedDesktopSize, DesktopName, in noVNC's pixel format: 4
// bytes per pixel, R G B X) to a picture, so a test can compare what a recording shows with the
// live screen. Deliberately independent of the gateway's scanner: it checks the recording, not
// the scanner.
import { constants, inflateSync } from 'node:zlib';
import { decodeKeyFramePayload, decodeSegmentStart, RecordKind } from '../../../session-recorder/src/recording/format.js';
import { indexRecording, readRecords } from '../../../session-recorder/src/recording/recording-reader.js';

/**
 * What a recording file shows: 'last', played from its last key frame to the end; 'first-alone',
 * its first key frame and nothing else (a key frame must hold the whole screen by itself).
 */
export async function recordedPicture(path: string, from: 'last' | 'first-alone' = 'last'): Promise<RfbPicture> {
  const index = await indexRecording(path);
  const key = from === 'last' ? index.keyFrames.at(-1) : index.keyFrames[0];
  if (key === undefined) throw new Error(`${path} has no key frame`);
  const picture = new RfbPicture(key.width, key.height);
  const end = from === 'last' ? index.validBytes : (index.keyFrames[1]?.offset ?? index.validBytes);
  for (const record of await readRecords(path, key.offset, end)) {
    if (from === 'first-alone' && record.kind !== RecordKind.KeyFrame) continue;
    if (record.kind === RecordKind.Segment) {
      const segment = decodeSegmentStart(record.payload);
      picture.newStream(segment.width, segment.height);
    }
    if (record.kind === RecordKind.KeyFrame) picture.apply(decodeKeyFramePayload(record.payload).rfb);
    if (record.kind === RecordKind.Rfb) picture.apply(record.payload);
  }
  return picture;
}

export class RfbPicture {
  pixels: Uint8Array;
  /** ZRLE's zlib stream of the current RFB stream: everything compressed so far, and how much of its output was used. */
  private zrleInput: Buffer[] = [];
  private zrleUsed = 0;

  constructor(public width: number, public height: number) {
    this.pixels = new Uint8Array(width * height * 4);
  }

  /** A new RFB stream (a Segment record): ZRLE's zlib stream starts afresh. */
  newStream(width: number, height: number): void {
    this.resize(width, height);
    this.zrleInput = [];
    this.zrleUsed = 0;
  }

  /** How many pixels differ from a picture given as 0xRRGGBB per pixel (compared over its size). */
  differingFrom(other: { readonly width: number; readonly height: number; getPixel(x: number, y: number): number }): number {
    let differing = 0;
    for (let y = 0; y < other.height; y++) {
      for (let x = 0; x < other.width; x++) {
        const [r, g, b] = this.rgb(x, y);
        if (((r << 16) | (g << 8) | b) !== other.getPixel(x, y)) differing++;
      }
    }
    return differing;
  }

  /** RGB of the pixel at (x, y). */
  rgb(x: number, y: number): [number, number, number] {
    const o = (y * this.width + x) * 4;
    return [this.pixels[o] ?? 0, this.pixels[o + 1] ?? 0, this.pixels[o + 2] ?? 0];
  }

  /** Applies whole messages; returns the bytes it consumed (a trailing partial message is left). */
  apply(bytes: Uint8Array): number {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let p = 0;
    while (p < bytes.length) {
      const type = v.getUint8(p);
      if (type === 2) {
        p += 1;
        continue;
      }
      if (type !== 0) throw new Error(`RfbPicture: message type ${type} at ${p} is not in a recording`);
      const count = v.getUint16(p + 2);
      p += 4;
      for (let i = 0; i < count; i++) {
        const x = v.getUint16(p);
        const y = v.getUint16(p + 2);
        const w = v.getUint16(p + 4);
        const h = v.getUint16(p + 6);
        const encoding = v.getInt32(p + 8);
        p += 12;
        if (encoding === -224) break; // LastRect
        p = this.rect(v, p, x, y, w, h, encoding);
      }
    }
    return p;
  }

  private rect(v: DataView, p: number, x: number, y: number, w: number, h: number, encoding: number): number {
    switch (encoding) {
      case 0:
        for (let row = 0; row < h; row++) {
          for (let col = 0; col < w; col++) this.put(x + col, y + row, v.getUint32(p + (row * w + col) * 4, true));
        }
        return p + w * h * 4;
      case 2: {
        const n = v.getUint32(p);
        this.fill(x, y, w, h, v.getUint32(p + 4, true));
        p += 8;
        for (let i = 0; i < n; i++, p += 12) {
          this.fill(x + v.getUint16(p + 4), y + v.getUint16(p + 6), v.getUint16(p + 8), v.getUint16(p + 10), v.getUint32(p, true));
        }
        return p;
      }
      case 5:
        return this.hextile(v, p, x, y, w, h);
      case 16: {
        const length = v.getUint32(p);
        this.zrleInput.push(Buffer.from(v.buffer, v.byteOffset + p + 4, length));
        // No streaming inflate in node's sync API: inflate all of the stream so far, use the new part.
        const all = inflateSync(Buffer.concat(this.zrleInput), { finishFlush: constants.Z_SYNC_FLUSH });
        this.zrle(all.subarray(this.zrleUsed), x, y, w, h);
        this.zrleUsed = all.length;
        return p + 4 + length;
      }
      case -223:
        this.resize(w, h);
        return p;
      case -308: {
        const screens = v.getUint8(p);
        this.resize(w, h);
        return p + 4 + 16 * screens;
      }
      case -307:
        return p + 4 + v.getUint32(p);
      default:
        throw new Error(`RfbPicture: encoding ${encoding} is not one the recorder asks for`);
    }
  }

  private hextile(v: DataView, p: number, x0: number, y0: number, w: number, h: number): number {
    let background = 0;
    let foreground = 0;
    for (let ty = y0; ty < y0 + h; ty += 16) {
      const th = Math.min(16, y0 + h - ty);
      for (let tx = x0; tx < x0 + w; tx += 16) {
        const tw = Math.min(16, x0 + w - tx);
        const sub = v.getUint8(p++);
        if ((sub & 1) !== 0) {
          for (let row = 0; row < th; row++) {
            for (let col = 0; col < tw; col++) this.put(tx + col, ty + row, v.getUint32(p + (row * tw + col) * 4, true));
          }
          p += tw * th * 4;
          continue;
        }
        if ((sub & 2) !== 0) {
          background = v.getUint32(p, true);
          p += 4;
        }
        this.fill(tx, ty, tw, th, background);
        if ((sub & 4) !== 0) {
          foreground = v.getUint32(p, true);
          p += 4;
        }
        if ((sub & 8) === 0) continue;
        const n = v.getUint8(p++);
        for (let i = 0; i < n; i++) {
          let colour = foreground;
          if ((sub & 16) !== 0) {
            colour = v.getUint32(p, true);
            p += 4;
          }
          const xy = v.getUint8(p);
          const wh = v.getUint8(p + 1);
          p += 2;
          this.fill(tx + (xy >> 4), ty + (xy & 15), (wh >> 4) + 1, (wh & 15) + 1, colour);
        }
      }
    }
    return p;
  }

  private zrle(data: Uint8Array, x0: number, y0: number, w: number, h: number): void {
    let p = 0;
    const cpixel = (): number => {
      const c = (data[p] ?? 0) | ((data[p + 1] ?? 0) << 8) | ((data[p + 2] ?? 0) << 16);
      p += 3;
      return c;
    };
    const runLength = (): number => {
      let n = 1;
      for (;;) {
        const b = data[p++] ?? 0;
        n += b;
        if (b !== 255) return n;
      }
    };
    for (let ty = y0; ty < y0 + h; ty += 64) {
      const th = Math.min(64, y0 + h - ty);
      for (let tx = x0; tx < x0 + w; tx += 64) {
        const tw = Math.min(64, x0 + w - tx);
        const sub = data[p++] ?? 0;
        const put = (i: number, c: number): void => {
          this.put(tx + (i % tw), ty + Math.floor(i / tw), c);
        };
        if (sub === 0) {
          for (let i = 0; i < tw * th; i++) put(i, cpixel());
        } else if (sub === 1) {
          this.fill(tx, ty, tw, th, cpixel());
        } else if (sub <= 16) {
          const palette = Array.from({ length: sub }, cpixel);
          const bits = sub === 2 ? 1 : sub <= 4 ? 2 : 4;
          for (let row = 0; row < th; row++) {
            let bit = 8;
            let byte = 0;
            for (let col = 0; col < tw; col++) {
              if (bit === 8) {
                byte = data[p++] ?? 0;
                bit = 0;
              }
              const index = (byte >> (8 - bits - bit)) & ((1 << bits) - 1);
              bit += bits;
              this.put(tx + col, ty + row, palette[index] ?? 0);
            }
          }
        } else if (sub === 128) {
          for (let i = 0; i < tw * th;) {
            const c = cpixel();
            const n = runLength();
            for (let k = 0; k < n; k++) put(i++, c);
          }
        } else if (sub >= 130) {
          const palette = Array.from({ length: sub - 128 }, cpixel);
          for (let i = 0; i < tw * th;) {
            const index = data[p++] ?? 0;
            const n = (index & 128) !== 0 ? runLength() : 1;
            for (let k = 0; k < n; k++) put(i++, palette[index & 127] ?? 0);
          }
        } else {
          throw new Error(`RfbPicture: ZRLE subencoding ${sub} is not defined`);
        }
      }
    }
  }

  private resize(w: number, h: number): void {
    if (w === this.width && h === this.height) return;
    this.width = w;
    this.height = h;
    this.pixels = new Uint8Array(w * h * 4);
  }

  private put(x: number, y: number, pixel: number): void {
    if (x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 4;
    this.pixels[o] = pixel & 0xff;
    this.pixels[o + 1] = (pixel >>> 8) & 0xff;
    this.pixels[o + 2] = (pixel >>> 16) & 0xff;
    this.pixels[o + 3] = 255;
  }

  private fill(x: number, y: number, w: number, h: number, pixel: number): void {
    for (let row = 0; row < h; row++) for (let col = 0; col < w; col++) this.put(x + col, y + row, pixel);
  }
}
