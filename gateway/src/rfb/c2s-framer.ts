// Incremental framer for client-to-server RFB messages (after the handshake).
// feed(chunk) -> whole messages; bytes of an unfinished message wait for the next chunk.
// Fails closed: an unknown type, unknown QEMU subtype or over-limit length throws a coded
// GatewayError, because a proxy cannot skip a message whose length it does not know.
// Limits are checked at the length field, before anything is buffered for the body.
// Pure: no sockets, timers or logging.
import { ByteQueue } from './byte-queue.js';
import { C2S, MAX_FENCE_PAYLOAD, QEMU_EXTENDED_KEY_EVENT, type C2SFrame, type C2SMessage, type Screen } from './c2s-messages.js';
import { CloseCode, protocolError } from './errors.js';
import { pixelFormatProblem, readPixelFormat } from './pixel-format.js';

export interface FramerLimits {
  /** Largest ClientCutText payload accepted (TigerVNC's MaxCutText default is 262144). */
  readonly maxClientCutText: number;
  /** Largest SetEncodings list accepted (noVNC sends about 25). */
  readonly maxEncodings: number;
}

export const DEFAULT_FRAMER_LIMITS: FramerLimits = { maxClientCutText: 256 * 1024, maxEncodings: 64 };

/** What was negotiated and changes message sizes. */
export interface FramerCapabilities {
  /** ExtendedMouseButtons (-316) is active: PointerEvent with mask bit 7 is 7 bytes. */
  readonly extendedPointer: boolean;
}

export class C2SFramer {
  private readonly queue = new ByteQueue();

  constructor(
    private readonly limits: FramerLimits = DEFAULT_FRAMER_LIMITS,
    private capabilities: FramerCapabilities = { extendedPointer: false },
  ) {}

  setCapabilities(capabilities: FramerCapabilities): void {
    this.capabilities = capabilities;
  }

  /** Bytes received that do not yet form a whole message. */
  get pending(): number {
    return this.queue.length;
  }

  /** Adds a chunk and returns every message it completes, in order. Throws GatewayError. */
  feed(chunk: Uint8Array): C2SFrame[] {
    this.queue.push(chunk);
    const frames: C2SFrame[] = [];
    for (;;) {
      const length = this.nextLength();
      if (length === 0) return frames;
      const bytes = this.queue.take(length);
      frames.push({ message: decode(bytes), bytes });
    }
  }

  /** Length of the first buffered message, or 0 when more bytes are needed to know or to have it. */
  private nextLength(): number {
    const q = this.queue;
    const have = q.length;
    if (have < 1) return 0;
    const need = (n: number): number => (have >= n ? n : 0);
    const type = q.byteAt(0);
    switch (type) {
      case C2S.SetPixelFormat:
        return need(20);
      case C2S.SetEncodings: {
        if (have < 4) return 0;
        const count = q.u16(2);
        if (count > this.limits.maxEncodings) {
          throw protocolError('GW_ERR_RFB_TOO_MANY_ENCODINGS', `SetEncodings lists ${count} encodings, limit ${this.limits.maxEncodings}`);
        }
        return need(4 + 4 * count);
      }
      case C2S.FramebufferUpdateRequest:
      case C2S.EnableContinuousUpdates:
        return need(10);
      case C2S.KeyEvent:
        return need(8);
      case C2S.PointerEvent:
        if (have < 2) return 0;
        return need(this.capabilities.extendedPointer && (q.byteAt(1) & 0x80) !== 0 ? 7 : 6);
      case C2S.ClientCutText: {
        if (have < 8) return 0;
        const size = Math.abs(q.s32(4));
        if (size > this.limits.maxClientCutText) {
          throw protocolError(
            'GW_ERR_RFB_CUT_TEXT_TOO_LARGE',
            `ClientCutText of ${size} bytes, limit ${this.limits.maxClientCutText}`,
            CloseCode.messageTooBig,
          );
        }
        return need(8 + size);
      }
      case C2S.ClientFence: {
        if (have < 9) return 0;
        const size = q.byteAt(8);
        if (size > MAX_FENCE_PAYLOAD) {
          throw protocolError('GW_ERR_RFB_MALFORMED_MESSAGE', `ClientFence payload of ${size} bytes, limit ${MAX_FENCE_PAYLOAD}`);
        }
        return need(9 + size);
      }
      case C2S.Xvp:
        return need(4);
      case C2S.SetDesktopSize:
        if (have < 8) return 0;
        return need(8 + 16 * q.byteAt(6));
      case C2S.Qemu: {
        if (have < 2) return 0;
        const subtype = q.byteAt(1);
        if (subtype !== QEMU_EXTENDED_KEY_EVENT) {
          throw protocolError('GW_ERR_RFB_UNKNOWN_QEMU_SUBTYPE', `QEMU client message subtype ${subtype} is not supported`);
        }
        return need(12);
      }
      default:
        throw protocolError('GW_ERR_RFB_UNKNOWN_MESSAGE_TYPE', `client-to-server message type ${type} is not supported`);
    }
  }
}

/** Decodes one whole message whose length nextLength() established. */
function decode(bytes: Uint8Array): C2SMessage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint8(0);
  switch (type) {
    case C2S.SetPixelFormat: {
      const pixelFormat = readPixelFormat(view, 4);
      const problem = pixelFormatProblem(pixelFormat);
      if (problem !== undefined) throw protocolError('GW_ERR_RFB_MALFORMED_MESSAGE', `SetPixelFormat: ${problem}`);
      return { type: 'SetPixelFormat', pixelFormat };
    }
    case C2S.SetEncodings: {
      const count = view.getUint16(2);
      const encodings: number[] = new Array<number>(count);
      for (let i = 0; i < count; i++) encodings[i] = view.getInt32(4 + 4 * i);
      return { type: 'SetEncodings', encodings };
    }
    case C2S.FramebufferUpdateRequest:
      return {
        type: 'FramebufferUpdateRequest', incremental: view.getUint8(1) !== 0,
        x: view.getUint16(2), y: view.getUint16(4), width: view.getUint16(6), height: view.getUint16(8),
      };
    case C2S.KeyEvent:
      return { type: 'KeyEvent', down: view.getUint8(1) !== 0, keysym: view.getUint32(4) };
    case C2S.PointerEvent: {
      const base = { type: 'PointerEvent', buttonMask: view.getUint8(1), x: view.getUint16(2), y: view.getUint16(4) } as const;
      return bytes.length === 7 ? { ...base, extendedButtonMask: view.getUint8(6) } : base;
    }
    case C2S.ClientCutText:
      return { type: 'ClientCutText', extended: view.getInt32(4) < 0, data: bytes.subarray(8) };
    case C2S.EnableContinuousUpdates:
      return {
        type: 'EnableContinuousUpdates', enable: view.getUint8(1) !== 0,
        x: view.getUint16(2), y: view.getUint16(4), width: view.getUint16(6), height: view.getUint16(8),
      };
    case C2S.ClientFence:
      return { type: 'ClientFence', flags: view.getUint32(4), payload: bytes.subarray(9) };
    case C2S.Xvp:
      return { type: 'Xvp', version: view.getUint8(2), code: view.getUint8(3) };
    case C2S.SetDesktopSize: {
      const count = view.getUint8(6);
      if (count === 0) throw protocolError('GW_ERR_RFB_MALFORMED_MESSAGE', 'SetDesktopSize with no screens');
      const screens: Screen[] = [];
      for (let i = 0; i < count; i++) {
        const o = 8 + 16 * i;
        screens.push({
          id: view.getUint32(o), x: view.getUint16(o + 4), y: view.getUint16(o + 6),
          width: view.getUint16(o + 8), height: view.getUint16(o + 10), flags: view.getUint32(o + 12),
        });
      }
      return { type: 'SetDesktopSize', width: view.getUint16(2), height: view.getUint16(4), screens };
    }
    case C2S.Qemu:
      return { type: 'QemuExtendedKeyEvent', down: view.getUint16(2) !== 0, keysym: view.getUint32(4), keycode: view.getUint32(8) };
    default:
      // nextLength() already rejected every other type; reaching here is a framer bug.
      throw protocolError('GW_ERR_RFB_UNKNOWN_MESSAGE_TYPE', `client-to-server message type ${type} is not supported`);
  }
}
