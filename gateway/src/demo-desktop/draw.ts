// Drawing primitives of the demo panel's look: group boxes, bevelled buttons, hazard
// stripes, aligned text. Pure: draws only through the Canvas it is given; no I/O.
// Everything here paints in absolute framebuffer coordinates, so drawing a widget through
// any clip gives the same pixels as drawing it whole; incremental redraws rely on that.

import type { Canvas } from './framebuffer.js';
import { CAP_HEIGHT, codePoints, drawText, fitScale, textWidth } from './font.js';
import { GROUP_TITLE_HEIGHT } from './layout.js';
import type { Rect } from './rect.js';
import { COLOURS } from './theme.js';

export type Align = 'left' | 'centre' | 'right';

/** Text vertically centred on its capital height in `r`, with `pad` pixels kept from the aligned edge. */
export function textIn(c: Canvas, r: Rect, text: string, colour: number, scale: number, align: Align = 'left', pad = 0): void {
  const w = textWidth(text, scale);
  const x = align === 'left' ? r.x + pad
    : align === 'right' ? r.x + r.width - pad - w
      : r.x + Math.floor((r.width - w) / 2);
  drawText(c, x, r.y + Math.floor((r.height - CAP_HEIGHT * scale) / 2), text, colour, scale);
}

/** Cuts `text` so it fits in `width` at `scale`, marking the cut with "..". */
export function ellipsize(text: string, width: number, scale: number): string {
  if (textWidth(text, scale) <= width) return text;
  const chars = codePoints(text);
  while (chars.length > 0 && textWidth(`${chars.join('')}..`, scale) > width) chars.pop();
  return `${chars.join('')}..`;
}

export function groupBox(c: Canvas, r: Rect, title: string): void {
  c.fillRect(r.x, r.y, r.width, r.height, COLOURS.groupFill);
  c.strokeRect(r.x, r.y, r.width, r.height, COLOURS.groupBorder);
  const band = { x: r.x, y: r.y + 2, width: r.width, height: GROUP_TITLE_HEIGHT - 6 };
  textIn(c, band, title, COLOURS.groupTitle, fitScale(title, r.width - 24), 'left', 12);
}

export function button(c: Canvas, r: Rect, label: string, scale: number, pressed: boolean): void {
  c.fillRect(r.x, r.y, r.width, r.height, pressed ? COLOURS.buttonPressed : COLOURS.button);
  const light = pressed ? COLOURS.buttonShadow : COLOURS.buttonLight;
  const shadow = pressed ? COLOURS.buttonLight : COLOURS.buttonShadow;
  c.fillRect(r.x, r.y, r.width, 1, light);
  c.fillRect(r.x, r.y, 1, r.height, light);
  c.fillRect(r.x, r.y + r.height - 2, r.width, 2, shadow);
  c.fillRect(r.x + r.width - 2, r.y, 2, r.height, shadow);
  // The label sinks by a pixel when pressed, the usual cue that the press registered.
  const shift = pressed ? 1 : 0;
  textIn(c, { ...r, x: r.x + shift, y: r.y + shift }, label, COLOURS.buttonText, scale, 'centre');
}

/** Diagonal red/yellow hazard stripes, phased on absolute coordinates. */
export function hazardStripes(c: Canvas, r: Rect, stripe = 12): void {
  const period = 2 * stripe;
  for (let y = r.y; y < r.y + r.height; y++) {
    let x = r.x;
    while (x < r.x + r.width) {
      const phase = (((x + y) % period) + period) % period;
      const runEnd = Math.min(r.x + r.width, x + stripe - (phase % stripe));
      c.fillRect(x, y, runEnd - x, 1, phase < stripe ? COLOURS.stripeRed : COLOURS.stripeYellow);
      x = runEnd;
    }
  }
}
