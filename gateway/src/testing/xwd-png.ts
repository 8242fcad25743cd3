// Converts an X Window Dump (the output of `xwd -root`) to a PNG, so test fixtures can save
// screenshots of a real X display without ImageMagick (Debian's `convert` is not always
// there, and a stand-in may be). Handles ZPixmap TrueColor/DirectColor images of 16, 24 and
// 32 bits per pixel in either byte order, which is what Xtigervnc produces.
// Pure: no I/O. Test tooling only, never part of the gateway's data path; header sizes are
// checked against the buffer length before any pixel is read.
import { crc32, deflateSync } from 'node:zlib';

export interface XwdImage {
  width: number;
  height: number;
  /** Packed RGB, 3 bytes per pixel, row-major. */
  rgb: Buffer;
}

const HEADER_FIELDS = 25;
const ZPIXMAP = 2;
const TRUE_COLOR = 4;
const DIRECT_COLOR = 5;
const XWD_COLOR_SIZE = 12;

function maskShift(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

/** Parses an XWD file (version 7) into packed RGB. */
export function parseXwd(file: Buffer): XwdImage {
  if (file.length < HEADER_FIELDS * 4) throw new Error('XWD: file shorter than its header');
  const field = (i: number): number => file.readUInt32BE(i * 4);
  const headerSize = field(0);
  const version = field(1);
  if (version !== 7) throw new Error(`XWD: unsupported file version ${version}`);
  const format = field(2);
  const width = field(4);
  const height = field(5);
  const byteOrder = field(7); // 0 = LSBFirst, 1 = MSBFirst
  const bitsPerPixel = field(11);
  const bytesPerLine = field(12);
  const visualClass = field(13);
  const red = maskShift(field(14));
  const green = maskShift(field(15));
  const blue = maskShift(field(16));
  const ncolors = field(19);
  if (format !== ZPIXMAP) throw new Error(`XWD: pixmap format ${format} is not ZPixmap`);
  if (visualClass !== TRUE_COLOR && visualClass !== DIRECT_COLOR) throw new Error(`XWD: visual class ${visualClass} is not TrueColor`);
  if (![16, 24, 32].includes(bitsPerPixel)) throw new Error(`XWD: ${bitsPerPixel} bits per pixel not supported`);
  const bytesPerPixel = bitsPerPixel / 8;
  if (width === 0 || height === 0 || bytesPerLine < width * bytesPerPixel) throw new Error('XWD: bad image geometry');
  const dataStart = headerSize + ncolors * XWD_COLOR_SIZE;
  if (file.length < dataStart + bytesPerLine * height) throw new Error('XWD: file shorter than its image');

  const scale = (value: number, max: number): number => (max === 0 ? 0 : max === 255 ? value : Math.round((value * 255) / max));
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = dataStart + y * bytesPerLine;
    for (let x = 0; x < width; x++) {
      const at = row + x * bytesPerPixel;
      let pixel = 0;
      for (let k = 0; k < bytesPerPixel; k++) {
        const byte = file[byteOrder === 0 ? at + bytesPerPixel - 1 - k : at + k] ?? 0;
        pixel = pixel * 256 + byte;
      }
      const out = (y * width + x) * 3;
      rgb[out] = scale(Math.floor(pixel / 2 ** red.shift) & red.max, red.max);
      rgb[out + 1] = scale(Math.floor(pixel / 2 ** green.shift) & green.max, green.max);
      rgb[out + 2] = scale(Math.floor(pixel / 2 ** blue.shift) & blue.max, blue.max);
    }
  }
  return { width, height, rgb };
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** Encodes packed RGB as an 8-bit truecolour PNG (filter 0 on every row). */
export function encodePng(image: XwdImage): Buffer {
  const { width, height, rgb } = image;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: RGB
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function xwdToPng(file: Buffer): Buffer {
  return encodePng(parseXwd(file));
}
