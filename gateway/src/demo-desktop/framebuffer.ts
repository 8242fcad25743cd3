// A 32-bit framebuffer (one 0x00RRGGBB word per pixel, row-major) and clipped drawing views
// onto it, for the built-in demo desktop.
// Pure: no I/O. Every drawing call clips to the bounds and never throws for off-screen
// coordinates, because widgets and text are allowed to run past an edge.

import { intersectRects, type Rect } from './rect.js';

export type { Rect } from './rect.js';

/** The drawing surface widgets and text draw on: a framebuffer or a clipped view of one. */
export interface Canvas {
  readonly width: number;
  readonly height: number;
  fillRect(x: number, y: number, width: number, height: number, rgb: number): void;
  strokeRect(x: number, y: number, width: number, height: number, rgb: number, thickness?: number): void;
  /** A view that draws only inside `area` (intersected with this canvas's own clip). */
  clip(area: Rect): Canvas;
}

function strokeWithFill(canvas: Canvas, x: number, y: number, w: number, h: number, rgb: number, t: number): void {
  // Clamp the border so a thick stroke on a small rect fills it instead of drawing twice.
  const tx = Math.min(t, Math.ceil(w / 2));
  const ty = Math.min(t, Math.ceil(h / 2));
  canvas.fillRect(x, y, w, ty, rgb);
  canvas.fillRect(x, y + h - ty, w, ty, rgb);
  canvas.fillRect(x, y + ty, tx, h - 2 * ty, rgb);
  canvas.fillRect(x + w - tx, y + ty, tx, h - 2 * ty, rgb);
}

export class Framebuffer implements Canvas {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint32Array;

  constructor(width: number, height: number, rgb = 0) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new RangeError(`framebuffer size must be positive integers, got ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.pixels = new Uint32Array(width * height).fill(rgb & 0xffffff);
  }

  fillRect(x: number, y: number, width: number, height: number, rgb: number): void {
    this.fillClipped({ x: 0, y: 0, width: this.width, height: this.height }, x, y, width, height, rgb);
  }

  /** Fills the part of the rect that lies inside both `bounds` and the buffer. */
  fillClipped(bounds: Rect, x: number, y: number, width: number, height: number, rgb: number): void {
    const x0 = Math.max(0, bounds.x, Math.floor(x));
    const y0 = Math.max(0, bounds.y, Math.floor(y));
    const x1 = Math.min(this.width, bounds.x + bounds.width, Math.floor(x + width));
    const y1 = Math.min(this.height, bounds.y + bounds.height, Math.floor(y + height));
    if (x1 <= x0 || y1 <= y0) return;
    const colour = rgb & 0xffffff;
    for (let row = y0; row < y1; row++) {
      const start = row * this.width;
      this.pixels.fill(colour, start + x0, start + x1);
    }
  }

  strokeRect(x: number, y: number, width: number, height: number, rgb: number, thickness = 1): void {
    strokeWithFill(this, x, y, width, height, rgb, thickness);
  }

  /** Throws RangeError outside the buffer: reading a pixel that does not exist is a caller bug. */
  getPixel(x: number, y: number): number {
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= this.width || y >= this.height) {
      throw new RangeError(`pixel ${x},${y} is outside ${this.width}x${this.height}`);
    }
    return this.pixels[y * this.width + x] ?? 0;
  }

  /**
   * Row-major copy of a region, always width*height long so an encoder can trust its size;
   * pixels outside the buffer read as 0 (black).
   */
  copyRegion(x: number, y: number, width: number, height: number): Uint32Array {
    const w = Math.max(0, Math.floor(width));
    const h = Math.max(0, Math.floor(height));
    const out = new Uint32Array(w * h);
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const from = Math.max(0, x0);
    const to = Math.min(this.width, x0 + w);
    if (to <= from) return out;
    for (let row = 0; row < h; row++) {
      const sy = y0 + row;
      if (sy < 0 || sy >= this.height) continue;
      const src = sy * this.width;
      out.set(this.pixels.subarray(src + from, src + to), row * w + (from - x0));
    }
    return out;
  }

  clip(area: Rect): Canvas {
    return new ClippedCanvas(this, intersectRects(area, { x: 0, y: 0, width: this.width, height: this.height }));
  }
}

/** Draws into a framebuffer but only inside `bounds`; a null bounds draws nothing. */
class ClippedCanvas implements Canvas {
  readonly width: number;
  readonly height: number;

  constructor(private readonly fb: Framebuffer, private readonly bounds: Rect | null) {
    this.width = fb.width;
    this.height = fb.height;
  }

  fillRect(x: number, y: number, width: number, height: number, rgb: number): void {
    if (this.bounds) this.fb.fillClipped(this.bounds, x, y, width, height, rgb);
  }

  strokeRect(x: number, y: number, width: number, height: number, rgb: number, thickness = 1): void {
    strokeWithFill(this, x, y, width, height, rgb, thickness);
  }

  clip(area: Rect): Canvas {
    return new ClippedCanvas(this.fb, this.bounds ? intersectRects(this.bounds, area) : null);
  }
}
