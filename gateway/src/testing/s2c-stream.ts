// Test-only encoder of server-to-client RFB messages, written from rfbproto independently of the
// scanner (s2c-scanner.ts) so the tests and bench/s2c-scanner.mjs can build streams whose message
// boundaries are known: every message type the scanner frames and every encoding it knows, with
// filler instead of real pixels (the scanner never looks at them). Never import it from the gateway.

/** Bytes per PIXEL and per Tight TPIXEL of the pixel format in force. */
export interface StreamPixel {
  readonly pixel: number;
  readonly tightPixel: number;
}

export const RGB888: StreamPixel = { pixel: 4, tightPixel: 3 };

/** Deterministic filler; `seed` varies it so payloads do not all look alike. */
export function filler(length: number, seed = 0): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u8(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff);
}
function u16(v: number): Uint8Array {
  return Uint8Array.of((v >>> 8) & 0xff, v & 0xff);
}
function u32(v: number): Uint8Array {
  return Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

// ---- messages

export function framebufferUpdate(rects: readonly Uint8Array[], count: number = rects.length): Uint8Array {
  return concatBytes([u8(0), u8(0), u16(count), ...rects]);
}

export function rect(x: number, y: number, width: number, height: number, encoding: number, body: Uint8Array): Uint8Array {
  return concatBytes([u16(x), u16(y), u16(width), u16(height), u32(encoding), body]);
}

export function setColourMapEntries(first: number, colours: number): Uint8Array {
  return concatBytes([u8(1), u8(0), u16(first), u16(colours), filler(6 * colours, colours)]);
}

export function bell(): Uint8Array {
  return u8(2);
}

/** ServerCutText; `extended` puts the negative length of the Extended Clipboard form on the wire. */
export function serverCutText(data: Uint8Array, extended = false): Uint8Array {
  return concatBytes([u8(3), new Uint8Array(3), u32(extended ? -data.length : data.length), data]);
}

export function endOfContinuousUpdates(): Uint8Array {
  return u8(150);
}

export function serverFence(flags: number, payload: Uint8Array): Uint8Array {
  return concatBytes([u8(248), new Uint8Array(3), u32(flags), u8(payload.length), payload]);
}

export function xvp(version: number, code: number): Uint8Array {
  return Uint8Array.of(250, 0, version, code);
}

// ---- rectangle bodies (what follows the 12-byte rectangle header)

export function rawBody(width: number, height: number, px: StreamPixel, seed = 0): Uint8Array {
  return filler(width * height * px.pixel, seed);
}

export function copyRectBody(srcX: number, srcY: number): Uint8Array {
  return concatBytes([u16(srcX), u16(srcY)]);
}

export function rreBody(subrects: number, px: StreamPixel): Uint8Array {
  return concatBytes([u32(subrects), filler(px.pixel + subrects * (px.pixel + 8), subrects)]);
}

/** One Hextile tile: its subencoding mask and, with AnySubrects (8), the number of subrectangles. */
export interface HextileTile {
  readonly subencoding: number;
  readonly subrects: number;
}

/** Tiles of 16×16 left to right, top to bottom; `tiles` gives each one's form (cycled when shorter). */
export function hextileBody(width: number, height: number, px: StreamPixel, tiles: readonly HextileTile[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let i = 0;
  for (let ty = 0; ty < height; ty += 16) {
    for (let tx = 0; tx < width; tx += 16) {
      const tile = tiles[i % tiles.length] ?? { subencoding: 0, subrects: 0 };
      i++;
      const s = tile.subencoding;
      parts.push(u8(s));
      if ((s & 1) !== 0) {
        parts.push(filler(Math.min(16, width - tx) * Math.min(16, height - ty) * px.pixel, i));
        continue;
      }
      if ((s & 2) !== 0) parts.push(filler(px.pixel, i));
      if ((s & 4) !== 0) parts.push(filler(px.pixel, i + 1));
      if ((s & 8) !== 0) {
        parts.push(u8(tile.subrects));
        parts.push(filler(tile.subrects * ((s & 16) !== 0 ? px.pixel + 2 : 2), i + 2));
      }
    }
  }
  return concatBytes(parts);
}

/** Zlib (6) and ZRLE (16): a u32 length, then that many (compressed) bytes. */
export function lengthPrefixedBody(length: number, seed = 0): Uint8Array {
  return concatBytes([u32(length), filler(length, seed)]);
}

/** Tight's compact length: 7 bits per byte, the third byte 8 bits. */
export function compactLength(n: number): Uint8Array {
  if (n < 0x80) return u8(n);
  if (n < 0x4000) return Uint8Array.of((n & 0x7f) | 0x80, n >>> 7);
  return Uint8Array.of((n & 0x7f) | 0x80, ((n >>> 7) & 0x7f) | 0x80, n >>> 14);
}

/** A Tight (7) or TightPNG (-260) rectangle's form. `stream` is the zlib stream id of basic compression. */
export type TightForm =
  | { readonly kind: 'fill' }
  | { readonly kind: 'jpeg' | 'png'; readonly length: number }
  | {
    readonly kind: 'basic';
    /** undefined: no filter id byte (copy filter implied). */
    readonly filter: 0 | 1 | 2 | undefined;
    /** Palette filter: number of colours (1-256). */
    readonly colours?: number;
    /** Length of the zlib data when the filtered data is 12 bytes or more. */
    readonly compressedLength: number;
    readonly stream?: number;
    /** Bits 0-3 of the control byte: zlib streams to reset. */
    readonly resets?: number;
  };

export function tightBody(width: number, height: number, px: StreamPixel, form: TightForm): Uint8Array {
  switch (form.kind) {
    case 'fill':
      return concatBytes([u8(0x80), filler(px.tightPixel)]);
    case 'jpeg':
    case 'png':
      return concatBytes([u8(form.kind === 'jpeg' ? 0x90 : 0xa0), compactLength(form.length), filler(form.length, form.length)]);
    case 'basic': {
      const stream = (form.stream ?? 0) & 3;
      const control = ((form.filter === undefined ? 0 : 4) | stream) << 4 | ((form.resets ?? 0) & 0xf);
      const parts: Uint8Array[] = [u8(control)];
      if (form.filter !== undefined) parts.push(u8(form.filter));
      let size: number;
      if (form.filter === 1) {
        const colours = form.colours ?? 2;
        parts.push(u8(colours - 1), filler(colours * px.tightPixel, colours));
        size = Math.floor((width * (colours <= 2 ? 1 : 8) + 7) / 8) * height;
      } else {
        size = width * height * px.tightPixel;
      }
      if (size < 12) parts.push(filler(size, size));
      else parts.push(compactLength(form.compressedLength), filler(form.compressedLength, size));
      return concatBytes(parts);
    }
  }
}

export function extendedDesktopSizeBody(screens: number): Uint8Array {
  return concatBytes([u8(screens), new Uint8Array(3), filler(16 * screens, screens)]);
}

export function desktopNameBody(name: string): Uint8Array {
  const text = new TextEncoder().encode(name);
  return concatBytes([u32(text.length), text]);
}

export function cursorBody(width: number, height: number, px: StreamPixel): Uint8Array {
  return filler(width * height * px.pixel + Math.ceil(width / 8) * height);
}

export function xCursorBody(width: number, height: number): Uint8Array {
  return width * height === 0 ? new Uint8Array(0) : filler(6 + 2 * Math.ceil(width / 8) * height);
}

export function vmwareCursorBody(type: 0 | 1, width: number, height: number, px: StreamPixel): Uint8Array {
  return concatBytes([Uint8Array.of(type, 0), filler(type === 0 ? 2 * width * height * px.pixel : 4 * width * height)]);
}
