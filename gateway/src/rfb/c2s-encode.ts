// Encoders for every client-to-server message the framer accepts. The gateway uses them to
// synthesise releases when control moves, to rewrite SetEncodings, and in tests and the bench.
// Pure.
import { C2S, QEMU_EXTENDED_KEY_EVENT, type C2SMessage, type Screen } from './c2s-messages.js';
import { PIXEL_FORMAT_LENGTH, writePixelFormat, type PixelFormat } from './pixel-format.js';

function message(length: number, type: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  return { bytes, view };
}

export function setPixelFormat(pixelFormat: PixelFormat): Uint8Array {
  const { bytes, view } = message(4 + PIXEL_FORMAT_LENGTH, C2S.SetPixelFormat);
  writePixelFormat(view, 4, pixelFormat);
  return bytes;
}

export function setEncodings(encodings: readonly number[]): Uint8Array {
  const { bytes, view } = message(4 + 4 * encodings.length, C2S.SetEncodings);
  view.setUint16(2, encodings.length);
  encodings.forEach((encoding, i) => {
    view.setInt32(4 + 4 * i, encoding);
  });
  return bytes;
}

export function framebufferUpdateRequest(incremental: boolean, x: number, y: number, width: number, height: number): Uint8Array {
  const { bytes, view } = message(10, C2S.FramebufferUpdateRequest);
  view.setUint8(1, incremental ? 1 : 0);
  view.setUint16(2, x);
  view.setUint16(4, y);
  view.setUint16(6, width);
  view.setUint16(8, height);
  return bytes;
}

export function keyEvent(down: boolean, keysym: number): Uint8Array {
  const { bytes, view } = message(8, C2S.KeyEvent);
  view.setUint8(1, down ? 1 : 0);
  view.setUint32(4, keysym);
  return bytes;
}

export function pointerEvent(buttonMask: number, x: number, y: number, extendedButtonMask?: number): Uint8Array {
  const { bytes, view } = message(extendedButtonMask === undefined ? 6 : 7, C2S.PointerEvent);
  view.setUint8(1, buttonMask);
  view.setUint16(2, x);
  view.setUint16(4, y);
  if (extendedButtonMask !== undefined) view.setUint8(6, extendedButtonMask);
  return bytes;
}

/** Plain ClientCutText carries Latin-1; extended (negative length) carries the extended-clipboard payload. */
export function clientCutText(data: Uint8Array, extended = false): Uint8Array {
  const { bytes, view } = message(8 + data.length, C2S.ClientCutText);
  view.setInt32(4, extended ? -data.length : data.length);
  bytes.set(data, 8);
  return bytes;
}

export function enableContinuousUpdates(enable: boolean, x: number, y: number, width: number, height: number): Uint8Array {
  const { bytes, view } = message(10, C2S.EnableContinuousUpdates);
  view.setUint8(1, enable ? 1 : 0);
  view.setUint16(2, x);
  view.setUint16(4, y);
  view.setUint16(6, width);
  view.setUint16(8, height);
  return bytes;
}

export function clientFence(flags: number, payload: Uint8Array): Uint8Array {
  const { bytes, view } = message(9 + payload.length, C2S.ClientFence);
  view.setUint32(4, flags);
  view.setUint8(8, payload.length);
  bytes.set(payload, 9);
  return bytes;
}

export function xvp(version: number, code: number): Uint8Array {
  const { bytes, view } = message(4, C2S.Xvp);
  view.setUint8(2, version);
  view.setUint8(3, code);
  return bytes;
}

export function setDesktopSize(width: number, height: number, screens: readonly Screen[]): Uint8Array {
  const { bytes, view } = message(8 + 16 * screens.length, C2S.SetDesktopSize);
  view.setUint16(2, width);
  view.setUint16(4, height);
  view.setUint8(6, screens.length);
  screens.forEach((s, i) => {
    const o = 8 + 16 * i;
    view.setUint32(o, s.id);
    view.setUint16(o + 4, s.x);
    view.setUint16(o + 6, s.y);
    view.setUint16(o + 8, s.width);
    view.setUint16(o + 10, s.height);
    view.setUint32(o + 12, s.flags);
  });
  return bytes;
}

/** QEMU extended key event: keysym plus the XT scan code, which Xvnc honours with -RawKeyboard. */
export function qemuExtendedKeyEvent(down: boolean, keysym: number, keycode: number): Uint8Array {
  const { bytes, view } = message(12, C2S.Qemu);
  view.setUint8(1, QEMU_EXTENDED_KEY_EVENT);
  view.setUint16(2, down ? 1 : 0);
  view.setUint32(4, keysym);
  view.setUint32(8, keycode);
  return bytes;
}

export function encodeC2S(m: C2SMessage): Uint8Array {
  switch (m.type) {
    case 'SetPixelFormat': return setPixelFormat(m.pixelFormat);
    case 'SetEncodings': return setEncodings(m.encodings);
    case 'FramebufferUpdateRequest': return framebufferUpdateRequest(m.incremental, m.x, m.y, m.width, m.height);
    case 'KeyEvent': return keyEvent(m.down, m.keysym);
    case 'PointerEvent': return pointerEvent(m.buttonMask, m.x, m.y, m.extendedButtonMask);
    case 'ClientCutText': return clientCutText(m.data, m.extended);
    case 'EnableContinuousUpdates': return enableContinuousUpdates(m.enable, m.x, m.y, m.width, m.height);
    case 'ClientFence': return clientFence(m.flags, m.payload);
    case 'Xvp': return xvp(m.version, m.code);
    case 'SetDesktopSize': return setDesktopSize(m.width, m.height, m.screens);
    case 'QemuExtendedKeyEvent': return qemuExtendedKeyEvent(m.down, m.keysym, m.keycode);
  }
}
