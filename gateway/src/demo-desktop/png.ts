// Minimal PNG encoder (8-bit RGB, no filtering) for screenshots of the demo desktop.
// Pure: returns bytes and never writes files; the caller decides where they go.

import { crc32, deflateSync } from 'node:zlib';
import type { Framebuffer } from './framebuffer.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export function encodePng(fb: Pick<Framebuffer, 'width' | 'height' | 'pixels'>): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(fb.width, 0);
  header.writeUInt32BE(fb.height, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // truecolour RGB
  const stride = 1 + fb.width * 3;
  const raw = Buffer.alloc(stride * fb.height); // each row starts with filter type 0 (none)
  for (let y = 0; y < fb.height; y++) {
    for (let x = 0; x < fb.width; x++) {
      const rgb = fb.pixels[y * fb.width + x] ?? 0;
      const o = y * stride + 1 + x * 3;
      raw[o] = (rgb >>> 16) & 0xff;
      raw[o + 1] = (rgb >>> 8) & 0xff;
      raw[o + 2] = rgb & 0xff;
    }
  }
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
