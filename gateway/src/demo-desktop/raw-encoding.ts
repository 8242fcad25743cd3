// Raw-encoded FramebufferUpdate messages from a 0x00RRGGBB framebuffer, converted to the
// pixel format the viewer asked for. Raw is the one encoding every RFB client must support,
// so the demo desktop needs nothing else.
// | 0 | pad | n-rects u16 | then per rect: | x u16 | y u16 | w u16 | h u16 | encoding s32 (0) | pixels |
// Pure.
import type { PixelFormat } from '../rfb/pixel-format.js';
import type { Framebuffer } from './framebuffer.js';
import type { Rect } from './rect.js';

const RECT_HEADER = 12;

export function framebufferUpdate(fb: Framebuffer, rects: readonly Rect[], pf: PixelFormat): Uint8Array {
  const bytesPerPixel = pf.bitsPerPixel / 8;
  let length = 4;
  for (const r of rects) length += RECT_HEADER + r.width * r.height * bytesPerPixel;
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setUint16(2, rects.length);
  let o = 4;
  const convert = pixelConverter(pf);
  for (const r of rects) {
    view.setUint16(o, r.x);
    view.setUint16(o + 2, r.y);
    view.setUint16(o + 4, r.width);
    view.setUint16(o + 6, r.height);
    view.setInt32(o + 8, 0);
    o += RECT_HEADER;
    for (let y = r.y; y < r.y + r.height; y++) {
      const row = y * fb.width;
      for (let x = r.x; x < r.x + r.width; x++) {
        o = convert(view, o, fb.pixels[row + x] ?? 0);
      }
    }
  }
  return out;
}

/** Writes one pixel at offset o in the viewer's format and returns the next offset. */
function pixelConverter(pf: PixelFormat): (view: DataView, o: number, rgb: number) => number {
  const little = !pf.bigEndian;
  const scale = (value: number, max: number): number => Math.round((value * max) / 255);
  const value = (rgb: number): number =>
    ((scale((rgb >>> 16) & 0xff, pf.redMax) << pf.redShift)
      | (scale((rgb >>> 8) & 0xff, pf.greenMax) << pf.greenShift)
      | (scale(rgb & 0xff, pf.blueMax) << pf.blueShift)) >>> 0;
  switch (pf.bitsPerPixel) {
    case 32:
      const native = pf.redMax === 255 && pf.greenMax === 255 && pf.blueMax === 255
        && pf.redShift === 16 && pf.greenShift === 8 && pf.blueShift === 0;
      if (native) {
        return (view, o, rgb) => {
          view.setUint32(o, rgb, little);
          return o + 4;
        };
      }
      return (view, o, rgb) => {
        view.setUint32(o, value(rgb), little);
        return o + 4;
      };
    case 16:
      return (view, o, rgb) => {
        view.setUint16(o, value(rgb), little);
        return o + 2;
      };
    default:
      return (view, o, rgb) => {
        view.setUint8(o, value(rgb));
        return o + 1;
      };
  }
}
