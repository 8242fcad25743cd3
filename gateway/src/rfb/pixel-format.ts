// RFB PIXEL_FORMAT (16 bytes), read and written. Pure.
// | bpp u8 | depth u8 | big-endian u8 | true-colour u8 | red-max u16 | green-max u16 | blue-max u16 |
// | red-shift u8 | green-shift u8 | blue-shift u8 | pad (3) |

export interface PixelFormat {
  readonly bitsPerPixel: number;
  readonly depth: number;
  readonly bigEndian: boolean;
  readonly trueColour: boolean;
  readonly redMax: number;
  readonly greenMax: number;
  readonly blueMax: number;
  readonly redShift: number;
  readonly greenShift: number;
  readonly blueShift: number;
}

export const PIXEL_FORMAT_LENGTH = 16;

/** 32 bpp, depth 24, little endian, R<<16 G<<8 B: what noVNC asks for and Xvnc's native format. */
export const RGB888_LE: PixelFormat = {
  bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true,
  redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0,
};

export function readPixelFormat(view: DataView, offset: number): PixelFormat {
  return {
    bitsPerPixel: view.getUint8(offset),
    depth: view.getUint8(offset + 1),
    bigEndian: view.getUint8(offset + 2) !== 0,
    trueColour: view.getUint8(offset + 3) !== 0,
    redMax: view.getUint16(offset + 4),
    greenMax: view.getUint16(offset + 6),
    blueMax: view.getUint16(offset + 8),
    redShift: view.getUint8(offset + 10),
    greenShift: view.getUint8(offset + 11),
    blueShift: view.getUint8(offset + 12),
  };
}

export function writePixelFormat(view: DataView, offset: number, pf: PixelFormat): void {
  view.setUint8(offset, pf.bitsPerPixel);
  view.setUint8(offset + 1, pf.depth);
  view.setUint8(offset + 2, pf.bigEndian ? 1 : 0);
  view.setUint8(offset + 3, pf.trueColour ? 1 : 0);
  view.setUint16(offset + 4, pf.redMax);
  view.setUint16(offset + 6, pf.greenMax);
  view.setUint16(offset + 8, pf.blueMax);
  view.setUint8(offset + 10, pf.redShift);
  view.setUint8(offset + 11, pf.greenShift);
  view.setUint8(offset + 12, pf.blueShift);
}

/** Why a pixel format is unusable, or undefined when a VNC server can honour it. */
export function pixelFormatProblem(pf: PixelFormat): string | undefined {
  if (pf.bitsPerPixel !== 8 && pf.bitsPerPixel !== 16 && pf.bitsPerPixel !== 32) {
    return `bits-per-pixel ${pf.bitsPerPixel} is not 8, 16 or 32`;
  }
  if (pf.depth === 0 || pf.depth > pf.bitsPerPixel) return `depth ${pf.depth} does not fit ${pf.bitsPerPixel} bits per pixel`;
  if (pf.trueColour) {
    for (const [max, shift] of [[pf.redMax, pf.redShift], [pf.greenMax, pf.greenShift], [pf.blueMax, pf.blueShift]] as const) {
      if (max === 0 || (max & (max + 1)) !== 0) return `colour max ${max} is not 2^n-1`;
      if (shift >= pf.bitsPerPixel) return `colour shift ${shift} is outside ${pf.bitsPerPixel} bits`;
    }
  }
  return undefined;
}
