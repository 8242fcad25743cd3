import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Framebuffer } from './framebuffer.js';
import { intersectRects, rectContainsPoint, rectInside, rectsOverlap } from './rect.js';

function countColour(fb: Framebuffer, rgb: number): number {
  return fb.pixels.reduce((n, p) => n + (p === rgb ? 1 : 0), 0);
}

describe('Framebuffer', () => {
  it('starts filled with the given colour and keeps only 24 bits', () => {
    const fb = new Framebuffer(4, 3, 0xff123456);
    assert.equal(fb.pixels.length, 12);
    assert.equal(fb.getPixel(3, 2), 0x123456);
  });

  it('rejects empty or fractional sizes', () => {
    assert.throws(() => new Framebuffer(0, 10), RangeError);
    assert.throws(() => new Framebuffer(10.5, 10), RangeError);
  });

  it('fills a rectangle exactly', () => {
    const fb = new Framebuffer(10, 10);
    fb.fillRect(2, 3, 4, 5, 0xabcdef);
    assert.equal(countColour(fb, 0xabcdef), 20);
    assert.equal(fb.getPixel(2, 3), 0xabcdef);
    assert.equal(fb.getPixel(5, 7), 0xabcdef);
    assert.equal(fb.getPixel(6, 7), 0);
    assert.equal(fb.getPixel(5, 8), 0);
  });

  it('clips fills that run off any edge, and ignores ones entirely outside', () => {
    const fb = new Framebuffer(8, 6);
    fb.fillRect(-5, -5, 7, 7, 1);
    assert.equal(countColour(fb, 1), 4);
    fb.fillRect(6, 4, 100, 100, 2);
    assert.equal(countColour(fb, 2), 4);
    fb.fillRect(100, 100, 5, 5, 3);
    fb.fillRect(-20, 0, 5, 5, 3);
    fb.fillRect(0, 0, -3, 4, 3);
    assert.equal(countColour(fb, 3), 0);
  });

  it('strokes a one-pixel and a thick border, clipped', () => {
    const fb = new Framebuffer(10, 10);
    fb.strokeRect(1, 1, 5, 4, 7);
    assert.equal(countColour(fb, 7), 14);
    assert.equal(fb.getPixel(3, 2), 0);
    const thick = new Framebuffer(10, 10);
    thick.strokeRect(0, 0, 10, 10, 9, 2);
    assert.equal(countColour(thick, 9), 100 - 36);
    const tiny = new Framebuffer(10, 10);
    tiny.strokeRect(0, 0, 3, 3, 5, 4);
    assert.equal(countColour(tiny, 5), 9, 'a border thicker than the rect fills it once');
    const off = new Framebuffer(4, 4);
    off.strokeRect(-2, -2, 10, 10, 6);
    assert.equal(countColour(off, 6), 0);
  });

  it('throws when reading a pixel that does not exist', () => {
    const fb = new Framebuffer(3, 3);
    assert.throws(() => fb.getPixel(3, 0), RangeError);
    assert.throws(() => fb.getPixel(0, -1), RangeError);
    assert.throws(() => fb.getPixel(0.5, 0), RangeError);
  });

  it('copies a region row-major', () => {
    const fb = new Framebuffer(4, 4);
    for (let i = 0; i < 16; i++) fb.pixels[i] = i;
    assert.deepEqual([...fb.copyRegion(1, 1, 2, 2)], [5, 6, 9, 10]);
    assert.deepEqual([...fb.copyRegion(0, 3, 4, 1)], [12, 13, 14, 15]);
  });

  it('copies partly off-screen regions at full size with zeros outside', () => {
    const fb = new Framebuffer(3, 3, 1);
    const out = fb.copyRegion(-1, 2, 3, 2);
    assert.equal(out.length, 6);
    assert.deepEqual([...out], [0, 1, 1, 0, 0, 0]);
    assert.equal(fb.copyRegion(5, 5, 2, 2).length, 4);
    assert.equal(fb.copyRegion(0, 0, 0, 5).length, 0);
  });

  it('draws through a clip only inside the clip, and nested clips intersect', () => {
    const fb = new Framebuffer(10, 10);
    const clip = fb.clip({ x: 2, y: 2, width: 3, height: 3 });
    clip.fillRect(0, 0, 10, 10, 4);
    assert.equal(countColour(fb, 4), 9);
    assert.equal(fb.getPixel(2, 2), 4);
    const inner = clip.clip({ x: 4, y: 4, width: 10, height: 10 });
    inner.fillRect(0, 0, 10, 10, 8);
    assert.equal(countColour(fb, 8), 1);
    const nothing = clip.clip({ x: 8, y: 8, width: 1, height: 1 });
    nothing.fillRect(0, 0, 10, 10, 9);
    nothing.strokeRect(0, 0, 10, 10, 9);
    assert.equal(countColour(fb, 9), 0);
    fb.clip({ x: -5, y: -5, width: 6, height: 6 }).fillRect(-10, -10, 30, 30, 3);
    assert.equal(countColour(fb, 3), 1);
    const bare = new Framebuffer(4, 4);
    bare.fillClipped({ x: -10, y: -10, width: 100, height: 100 }, -10, -10, 100, 100, 2);
    assert.equal(countColour(bare, 2), 16, 'bounds larger than the buffer still stay inside it');
  });
});

describe('rect helpers', () => {
  it('intersects, overlaps, contains', () => {
    const a = { x: 0, y: 0, width: 10, height: 10 };
    assert.deepEqual(intersectRects(a, { x: 5, y: 8, width: 10, height: 10 }), { x: 5, y: 8, width: 5, height: 2 });
    assert.equal(intersectRects(a, { x: 10, y: 0, width: 5, height: 5 }), null, 'touching edges share no pixel');
    assert.equal(rectsOverlap(a, { x: 9, y: 9, width: 1, height: 1 }), true);
    assert.equal(rectContainsPoint(a, 9, 9), true);
    assert.equal(rectContainsPoint(a, 10, 9), false);
    assert.equal(rectInside({ x: 0, y: 0, width: 10, height: 10 }, a), true);
    assert.equal(rectInside({ x: 1, y: 0, width: 10, height: 10 }, a), false);
  });
});
