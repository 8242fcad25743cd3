import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, inflateSync } from 'node:zlib';
import { Framebuffer } from './framebuffer.js';
import { encodePng } from './png.js';

interface Chunk { type: string; data: Buffer }

function chunks(png: Buffer): Chunk[] {
  const out: Chunk[] = [];
  let o = 8;
  while (o < png.length) {
    const length = png.readUInt32BE(o);
    const type = png.toString('latin1', o + 4, o + 8);
    const data = png.subarray(o + 8, o + 8 + length);
    assert.equal(png.readUInt32BE(o + 8 + length), crc32(png.subarray(o + 4, o + 8 + length)), `CRC of ${type}`);
    out.push({ type, data });
    o += 12 + length;
  }
  return out;
}

describe('encodePng', () => {
  it('writes a valid RGB PNG whose pixels decode back to the framebuffer', () => {
    const fb = new Framebuffer(3, 2, 0x102030);
    fb.fillRect(1, 1, 2, 1, 0xff8000);
    const png = encodePng(fb);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const parts = chunks(png);
    assert.deepEqual(parts.map(c => c.type), ['IHDR', 'IDAT', 'IEND']);
    const ihdr = parts[0]!.data;
    assert.equal(ihdr.readUInt32BE(0), 3);
    assert.equal(ihdr.readUInt32BE(4), 2);
    assert.deepEqual([...ihdr.subarray(8)], [8, 2, 0, 0, 0]);
    const raw = inflateSync(parts[1]!.data);
    assert.deepEqual([...raw], [
      0, 0x10, 0x20, 0x30, 0x10, 0x20, 0x30, 0x10, 0x20, 0x30,
      0, 0x10, 0x20, 0x30, 0xff, 0x80, 0x00, 0xff, 0x80, 0x00,
    ]);
  });
});
