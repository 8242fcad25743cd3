// Unit test of the XWD -> PNG conversion on synthetic dumps (no X server needed).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { encodePng, parseXwd, xwdToPng } from './xwd-png.js';

/** A minimal XWD v7 ZPixmap TrueColor dump with the given 32-bit pixels (one row per array). */
function xwd(rows: number[][], byteOrder: 0 | 1): Buffer {
  const height = rows.length;
  const width = rows[0]?.length ?? 0;
  const name = Buffer.from('test\0', 'latin1');
  const header = Buffer.alloc(100);
  const fields = [100 + name.length, 7, 2, 24, width, height, 0, byteOrder, 32, byteOrder, 32, 32, width * 4, 4,
    0xff0000, 0x00ff00, 0x0000ff, 8, 256, 0, width, height, 0, 0, 0];
  fields.forEach((v, i) => header.writeUInt32BE(v, i * 4));
  const data = Buffer.alloc(width * height * 4);
  rows.flat().forEach((p, i) => {
    if (byteOrder === 0) data.writeUInt32LE(p, i * 4);
    else data.writeUInt32BE(p, i * 4);
  });
  return Buffer.concat([header, name, data]);
}

function pngPixels(png: Buffer): { width: number; height: number; rows: Buffer[] } {
  assert.equal(png.toString('latin1', 1, 4), 'PNG');
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (width * 3 + 1)], 0, 'filter type 0');
    rows.push(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)));
  }
  return { width, height, rows };
}

describe('xwd-png', () => {
  for (const order of [0, 1] as const) {
    it(`converts a ${order === 0 ? 'LSBFirst' : 'MSBFirst'} 32 bpp dump`, () => {
      const png = xwdToPng(xwd([[0xff0000, 0x00ff00], [0x0000ff, 0x123456]], order));
      const { width, height, rows } = pngPixels(png);
      assert.equal(width, 2);
      assert.equal(height, 2);
      assert.deepEqual([...(rows[0] ?? [])], [255, 0, 0, 0, 255, 0]);
      assert.deepEqual([...(rows[1] ?? [])], [0, 0, 255, 0x12, 0x34, 0x56]);
    });
  }

  it('rejects truncated and non-TrueColor dumps', () => {
    const good = xwd([[1, 2]], 0);
    assert.throws(() => parseXwd(good.subarray(0, good.length - 1)), /shorter than its image/);
    const pseudo = Buffer.from(good);
    pseudo.writeUInt32BE(3, 13 * 4);
    assert.throws(() => parseXwd(pseudo), /TrueColor/);
  });

  it('writes valid chunk CRCs', () => {
    const png = encodePng({ width: 1, height: 1, rgb: Buffer.from([1, 2, 3]) });
    // IEND is fixed: length 0, 'IEND', CRC ae426082.
    assert.equal(png.subarray(-8).toString('hex'), '49454e44ae426082');
  });
});
