// The client-to-server RFB messages the gateway understands: the ones noVNC 1.7 sends
// (rfb.js RFB.messages) and nothing else. Layouts are big-endian; see docs/design/0001-rfb-proxy.md.
// Pure data types and constants.
import type { PixelFormat } from './pixel-format.js';

export const C2S = {
  SetPixelFormat: 0, // | 0 | pad(3) | PIXEL_FORMAT(16) |                        20 bytes
  SetEncodings: 2, // | 2 | pad | n u16 | s32 × n |                              4 + 4n
  FramebufferUpdateRequest: 3, // | 3 | incremental u8 | x,y,w,h u16 |            10
  KeyEvent: 4, // | 4 | down u8 | pad(2) | keysym u32 |                          8
  PointerEvent: 5, // | 5 | mask u8 | x u16 | y u16 | [ext-mask u8 if ext & mask&0x80] 6 or 7
  ClientCutText: 6, // | 6 | pad(3) | len s32 | data(|len|) |  len<0: extended clipboard
  EnableContinuousUpdates: 150, // | 150 | enable u8 | x,y,w,h u16 |            10
  ClientFence: 248, // | 248 | pad(3) | flags u32 | len u8 (≤64) | payload |     9 + len
  Xvp: 250, // | 250 | pad | version u8 | code u8 |                             4
  SetDesktopSize: 251, // | 251 | pad | w u16 | h u16 | n u8 | pad | SCREEN × n | 8 + 16n
  Qemu: 255, // | 255 | sub u8 | ... sub 0 = extended key event:                 12
  //           | 255 | 0 | down u16 | keysym u32 | xt-keycode u32 |
} as const;

export const QEMU_EXTENDED_KEY_EVENT = 0;
export const MAX_FENCE_PAYLOAD = 64;

export interface Screen {
  readonly id: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly flags: number;
}

export type C2SMessage =
  | { readonly type: 'SetPixelFormat'; readonly pixelFormat: PixelFormat }
  | { readonly type: 'SetEncodings'; readonly encodings: readonly number[] }
  | {
    readonly type: 'FramebufferUpdateRequest'; readonly incremental: boolean;
    readonly x: number; readonly y: number; readonly width: number; readonly height: number;
  }
  | { readonly type: 'KeyEvent'; readonly down: boolean; readonly keysym: number }
  | {
    readonly type: 'PointerEvent'; readonly buttonMask: number; readonly x: number; readonly y: number;
    /** Only present in the 7-byte form (ExtendedMouseButtons negotiated and mask bit 7 set). */
    readonly extendedButtonMask?: number;
  }
  | {
    readonly type: 'ClientCutText';
    /** True for the Extended Clipboard form (negative length on the wire). */
    readonly extended: boolean;
    readonly data: Uint8Array;
  }
  | {
    readonly type: 'EnableContinuousUpdates'; readonly enable: boolean;
    readonly x: number; readonly y: number; readonly width: number; readonly height: number;
  }
  | { readonly type: 'ClientFence'; readonly flags: number; readonly payload: Uint8Array }
  | { readonly type: 'Xvp'; readonly version: number; readonly code: number }
  | { readonly type: 'SetDesktopSize'; readonly width: number; readonly height: number; readonly screens: readonly Screen[] }
  | { readonly type: 'QemuExtendedKeyEvent'; readonly down: boolean; readonly keysym: number; readonly keycode: number };

export type C2SMessageType = C2SMessage['type'];

/** One framed message: its decoded form and the exact bytes it occupied on the wire. */
export interface C2SFrame {
  readonly message: C2SMessage;
  readonly bytes: Uint8Array;
}
