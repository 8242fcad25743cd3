import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CELL_WIDTH, drawText, fitScale, GLYPH_HEIGHT, hasGlyph, textWidth } from './font.js';
import { Framebuffer } from './framebuffer.js';

function inked(fb: Framebuffer): number {
  return fb.pixels.reduce((n, p) => n + (p === 0 ? 0 : 1), 0);
}

function inkBox(fb: Framebuffer): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  fb.pixels.forEach((p, i) => {
    if (p === 0) return;
    const x = i % fb.width;
    const y = Math.floor(i / fb.width);
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  });
  return { x0, y0, x1, y1 };
}

describe('font', () => {
  it('has a glyph for every printable ASCII character, each inked except space', () => {
    for (let code = 0x20; code <= 0x7e; code++) {
      const char = String.fromCharCode(code);
      assert.ok(hasGlyph(char), `missing glyph for ${JSON.stringify(char)}`);
      const fb = new Framebuffer(8, 10);
      drawText(fb, 1, 1, char, 0xffffff);
      assert.equal(inked(fb) > 0, char !== ' ', `ink of ${JSON.stringify(char)}`);
      const box = inkBox(fb);
      if (char !== ' ') assert.ok(box.x1 <= 5 && box.y1 <= GLYPH_HEIGHT, `${JSON.stringify(char)} stays in its cell`);
    }
  });

  it('gives distinct bitmaps to distinct characters', () => {
    const seen = new Map<string, string>();
    for (let code = 0x21; code <= 0x7e; code++) {
      const char = String.fromCharCode(code);
      const fb = new Framebuffer(6, 8);
      drawText(fb, 0, 0, char, 1);
      const key = fb.pixels.join('');
      assert.equal(seen.get(key), undefined, `${JSON.stringify(char)} looks like ${JSON.stringify(seen.get(key))}`);
      seen.set(key, char);
    }
  });

  it('measures text without the trailing gap, by code point, times the scale', () => {
    assert.equal(textWidth(''), 0);
    assert.equal(textWidth('A'), 5);
    assert.equal(textWidth('AB'), 11);
    assert.equal(textWidth('AB', 3), 33);
    assert.equal(textWidth('é€'), 11, 'non-ASCII characters are one cell each');
    assert.equal(textWidth('x'.repeat(10), 2), (10 * CELL_WIDTH - 1) * 2);
    assert.throws(() => textWidth('a', 0), RangeError);
    assert.throws(() => textWidth('a', 1.5), RangeError);
  });

  it('draws exactly within the measured width', () => {
    const fb = new Framebuffer(200, 20);
    drawText(fb, 3, 2, 'HIWMH', 0xffffff, 2);
    const box = inkBox(fb);
    assert.equal(box.x0, 3);
    assert.equal(box.x1, 3 + textWidth('HIWMH', 2) - 1);
    assert.equal(box.y0, 2);
  });

  it('scales every inked cell to a scale x scale block', () => {
    const one = new Framebuffer(10, 10);
    drawText(one, 0, 0, 'g', 1);
    const three = new Framebuffer(30, 30);
    drawText(three, 0, 0, 'g', 1, 3);
    assert.equal(inked(three), inked(one) * 9);
    assert.equal(three.getPixel(2, 2), 0);
    assert.ok(inkBox(three).y1 >= 7 * 3, 'g reaches the descender row');
  });

  it('draws characters without a glyph as a box', () => {
    for (const char of ['é', '\u0007', '€']) {
      const fb = new Framebuffer(6, 8);
      drawText(fb, 0, 0, char, 1);
      assert.equal(fb.getPixel(0, 0), 1);
      assert.equal(fb.getPixel(4, 6), 1);
      assert.equal(fb.getPixel(2, 3), 0);
      assert.equal(inked(fb), 20);
    }
  });

  it('clips text at the edges without throwing', () => {
    const fb = new Framebuffer(10, 5);
    drawText(fb, -3, -3, 'WWWWWWWW', 1, 2);
    drawText(fb, 8, 4, 'MMMM', 1);
    drawText(fb, 500, 500, 'far away', 1);
    assert.ok(inked(fb) > 0);
  });

  it('picks the largest scale that fits', () => {
    assert.equal(fitScale('abc', 100), 2);
    assert.equal(fitScale('abc', 30), 1);
    assert.equal(fitScale('abc', 53, 3), 3);
    assert.equal(fitScale('abcdef', 1), 1, 'falls back to 1 even when nothing fits');
  });
});
