// ServerInit: | width u16 | height u16 | PIXEL_FORMAT(16) | name-length u32 | name |
// The gateway reads it from the VNC server and replays it (optionally renamed) to each browser.
// Pure.
import { readPixelFormat, writePixelFormat, type PixelFormat } from './pixel-format.js';

export interface ServerInit {
  readonly width: number;
  readonly height: number;
  readonly pixelFormat: PixelFormat;
  readonly name: string;
}

export const SERVER_INIT_FIXED_LENGTH = 24;
/** Longest desktop name accepted from a VNC server; a longer one is a protocol error. */
export const MAX_DESKTOP_NAME = 4096;

export function decodeServerInit(bytes: Uint8Array): ServerInit {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nameLength = view.getUint32(20);
  return {
    width: view.getUint16(0),
    height: view.getUint16(2),
    pixelFormat: readPixelFormat(view, 4),
    name: new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(24, 24 + nameLength)),
  };
}

export function encodeServerInit(init: ServerInit): Uint8Array {
  const name = new TextEncoder().encode(init.name);
  const bytes = new Uint8Array(SERVER_INIT_FIXED_LENGTH + name.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, init.width);
  view.setUint16(2, init.height);
  writePixelFormat(view, 4, init.pixelFormat);
  view.setUint32(20, name.length);
  bytes.set(name, 24);
  return bytes;
}
