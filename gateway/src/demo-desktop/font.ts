// Text drawing with the demo desktop's own 5x8 bitmap font (glyphs in font-glyphs.ts).
// Pure: draws only through the Canvas it is given; no I/O.
// Characters are code points (a Latin-1 'é' is one cell); any without a glyph draws as a box.

import type { Canvas } from './framebuffer.js';
import { GLYPH_ROWS, UNKNOWN_GLYPH_ROWS } from './font-glyphs.js';

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 8;
/** Capital letters and digits occupy the top 7 rows; the 8th is for descenders. */
export const CAP_HEIGHT = 7;
/** Horizontal advance per character: the glyph plus one blank column. */
export const CELL_WIDTH = 6;
/** Line advance: the glyph plus two blank rows so descenders never touch the next line. */
export const LINE_HEIGHT = 10;

/** One bit mask per row; bit 4 is the leftmost column. */
type Glyph = readonly number[];

function parseGlyph(char: string, rows: string): Glyph {
  const parts = rows === '' ? [] : rows.split(' ');
  if (parts.length > GLYPH_HEIGHT) throw new Error(`glyph ${JSON.stringify(char)} has ${parts.length} rows`);
  const masks = parts.map((row) => {
    if (!/^[#.]{5}$/.test(row)) throw new Error(`glyph ${JSON.stringify(char)} has a malformed row ${JSON.stringify(row)}`);
    let mask = 0;
    for (const cell of row) mask = (mask << 1) | (cell === '#' ? 1 : 0);
    return mask;
  });
  while (masks.length < GLYPH_HEIGHT) masks.push(0);
  return masks;
}

const GLYPHS = new Map<string, Glyph>(Object.entries(GLYPH_ROWS).map(([c, rows]) => [c, parseGlyph(c, rows)]));
const UNKNOWN = parseGlyph('unknown', UNKNOWN_GLYPH_ROWS);

/**
 * The characters of `text` as the font lays them out: one cell per code point. A bitmap font
 * has no combining or emoji sequences to keep together, so grapheme segmentation would only
 * make widths disagree with what is drawn.
 */
export function codePoints(text: string): string[] {
  return Array.from(text);
}

export function hasGlyph(char: string): boolean {
  return GLYPHS.has(char);
}

function checkScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`text scale must be a positive integer, got ${scale}`);
}

/** Width in pixels of the inked text: no trailing blank column, 0 for the empty string. */
export function textWidth(text: string, scale = 1): number {
  checkScale(scale);
  const count = codePoints(text).length;
  return count === 0 ? 0 : (count * CELL_WIDTH - 1) * scale;
}

/** The largest scale (at most `maxScale`) at which `text` fits in `width`; 1 if none does. */
export function fitScale(text: string, width: number, maxScale = 2): number {
  for (let scale = maxScale; scale > 1; scale--) {
    if (textWidth(text, scale) <= width) return scale;
  }
  return 1;
}

/** Draws `text` with its top-left corner at (x, y); only inked pixels are written. */
export function drawText(fb: Canvas, x: number, y: number, text: string, colour: number, scale = 1): void {
  checkScale(scale);
  let penX = x;
  for (const char of text) {
    const glyph = GLYPHS.get(char) ?? UNKNOWN;
    glyph.forEach((mask, row) => {
      // Fill horizontal runs rather than single cells: far fewer fillRect calls per glyph.
      let col = 0;
      while (col < GLYPH_WIDTH) {
        if ((mask & (1 << (GLYPH_WIDTH - 1 - col))) === 0) {
          col++;
          continue;
        }
        const start = col;
        while (col < GLYPH_WIDTH && (mask & (1 << (GLYPH_WIDTH - 1 - col))) !== 0) col++;
        fb.fillRect(penX + start * scale, y + row * scale, (col - start) * scale, scale, colour);
      }
    });
    penX += CELL_WIDTH * scale;
  }
}
