// Tests of the client-to-server framer and the encoders: round trips for every type, any split
// of a valid stream, random bytes, and every facet of each error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { C2SFramer, DEFAULT_FRAMER_LIMITS } from './c2s-framer.js';
import { encodeC2S } from './c2s-encode.js';
import type { C2SMessage } from './c2s-messages.js';
import { CloseCode, GatewayError } from './errors.js';
import { RGB888_LE } from './pixel-format.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const s32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

const pixelFormat = fc.constantFrom(
  RGB888_LE,
  { ...RGB888_LE, bigEndian: true },
  { ...RGB888_LE, bitsPerPixel: 16, depth: 16, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0 },
  { ...RGB888_LE, bitsPerPixel: 8, depth: 8, redMax: 7, greenMax: 7, blueMax: 3, redShift: 0, greenShift: 3, blueShift: 6 },
);

const screen = fc.record({ id: u32, x: u16, y: u16, width: u16, height: u16, flags: u32 });

export const anyMessage: fc.Arbitrary<C2SMessage> = fc.oneof(
  fc.record({ type: fc.constant('SetPixelFormat' as const), pixelFormat }),
  fc.record({ type: fc.constant('SetEncodings' as const), encodings: fc.array(s32, { maxLength: 40 }) }),
  fc.record({ type: fc.constant('FramebufferUpdateRequest' as const), incremental: fc.boolean(), x: u16, y: u16, width: u16, height: u16 }),
  fc.record({ type: fc.constant('KeyEvent' as const), down: fc.boolean(), keysym: u32 }),
  fc.record({ type: fc.constant('PointerEvent' as const), buttonMask: fc.integer({ min: 0, max: 0x7f }), x: u16, y: u16 }),
  fc.record({ type: fc.constant('ClientCutText' as const), extended: fc.boolean(), data: bytes(300) }),
  fc.record({ type: fc.constant('EnableContinuousUpdates' as const), enable: fc.boolean(), x: u16, y: u16, width: u16, height: u16 }),
  fc.record({ type: fc.constant('ClientFence' as const), flags: u32, payload: bytes(64) }),
  fc.record({ type: fc.constant('Xvp' as const), version: u8, code: u8 }),
  fc.record({ type: fc.constant('SetDesktopSize' as const), width: u16, height: u16, screens: fc.array(screen, { minLength: 1, maxLength: 4 }) }),
  fc.record({ type: fc.constant('QemuExtendedKeyEvent' as const), down: fc.boolean(), keysym: u32, keycode: u32 }),
).filter(m => !(m.type === 'ClientCutText' && m.extended && m.data.length === 0)); // -0 is +0 on the wire

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Feeds the stream cut at the given points and returns the decoded messages. */
function frameWithCuts(stream: Uint8Array, cuts: readonly number[]): C2SMessage[] {
  const framer = new C2SFramer();
  const points = [...new Set(cuts.map(c => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: C2SMessage[] = [];
  let last = 0;
  for (const p of [...points, stream.length]) {
    out.push(...framer.feed(stream.subarray(last, p)).map(f => f.message));
    last = p;
  }
  assert.equal(framer.pending, 0);
  return out;
}

/** Normalises Uint8Array views (which carry offsets) to plain arrays for deep equality. */
function plain(m: C2SMessage): unknown {
  return JSON.parse(JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)));
}

function assertGatewayError(fn: () => unknown, code: string, closeCode: number, messagePart: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GatewayError, `expected GatewayError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.closeCode, closeCode);
    assert.match(e.message, messagePart);
    assert.ok(e.userMessage.length > 0);
    assert.doesNotMatch(e.userMessage, /\d{3,}/, 'user message carries no byte values');
    return true;
  });
}

describe('C2SFramer', () => {
  it('round-trips one message of every type: encode -> frame -> decode', () => {
    fc.assert(fc.property(anyMessage, (m) => {
      const wire = encodeC2S(m);
      const frames = new C2SFramer().feed(wire);
      assert.equal(frames.length, 1);
      assert.deepEqual(plain(frames[0]!.message), plain(m));
      assert.deepEqual(Array.from(frames[0]!.bytes), Array.from(wire));
    }), { numRuns: 2000 });
  });

  it('yields the same messages for any split of a valid stream', () => {
    fc.assert(fc.property(fc.array(anyMessage, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 40 }), (ms, cuts) => {
      const stream = concat(ms.map(encodeC2S));
      assert.deepEqual(frameWithCuts(stream, cuts).map(plain), ms.map(plain));
    }), { numRuns: 500 });
  });

  it('frames a stream fed one byte at a time', () => {
    const ms = fc.sample(anyMessage, { numRuns: 200, seed: 42 });
    const stream = concat(ms.map(encodeC2S));
    const cuts = Array.from({ length: stream.length }, (_, i) => i);
    assert.deepEqual(frameWithCuts(stream, cuts).map(plain), ms.map(plain));
  });

  it('frames thousands of messages glued in one chunk', () => {
    const m: C2SMessage = { type: 'PointerEvent', buttonMask: 1, x: 10, y: 20 };
    const stream = concat(Array.from({ length: 10_000 }, () => encodeC2S(m)));
    const frames = new C2SFramer().feed(stream);
    assert.equal(frames.length, 10_000);
    assert.ok(frames.every(f => f.bytes.buffer === stream.buffer), 'messages inside one chunk are views, not copies');
  });

  it('never throws anything but a GatewayError on random bytes', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
      const framer = new C2SFramer();
      try {
        for (const c of chunks) framer.feed(c);
      } catch (e) {
        assert.ok(e instanceof GatewayError, `unexpected ${String(e)}`);
      }
    }), { numRuns: 5000 });
  });

  it('waits for more bytes on a truncated message and emits nothing', () => {
    const framer = new C2SFramer();
    const wire = encodeC2S({ type: 'KeyEvent', down: true, keysym: 0x61 });
    assert.deepEqual(framer.feed(wire.subarray(0, 7)), []);
    assert.equal(framer.pending, 7);
    assert.equal(framer.feed(wire.subarray(7)).length, 1);
  });

  it('reads 7-byte PointerEvents only when ExtendedMouseButtons is active and bit 7 is set', () => {
    const framer = new C2SFramer(DEFAULT_FRAMER_LIMITS, { extendedPointer: true });
    const ext = encodeC2S({ type: 'PointerEvent', buttonMask: 0x80, x: 1, y: 2, extendedButtonMask: 3 });
    const plainEvent = encodeC2S({ type: 'PointerEvent', buttonMask: 0x01, x: 1, y: 2 });
    const frames = framer.feed(concat([ext, plainEvent]));
    assert.deepEqual(frames.map(f => f.bytes.length), [7, 6]);
    assert.deepEqual(frames[0]!.message, { type: 'PointerEvent', buttonMask: 0x80, x: 1, y: 2, extendedButtonMask: 3 });
  });

  it('decodes the extended clipboard form from a negative length', () => {
    const data = new Uint8Array([0x1f, 0, 0, 1]);
    const frames = new C2SFramer().feed(encodeC2S({ type: 'ClientCutText', extended: true, data }));
    assert.deepEqual(plain(frames[0]!.message), { type: 'ClientCutText', extended: true, data: [0x1f, 0, 0, 1] });
    assert.deepEqual(Array.from(frames[0]!.bytes.subarray(4, 8)), [0xff, 0xff, 0xff, 0xfc]);
  });
});

describe('C2SFramer errors (fail closed)', () => {
  const cases: { name: string; bytes: number[]; code: string; closeCode: number; message: RegExp }[] = [
    { name: 'unknown type 7', bytes: [7, 0, 0, 0], code: 'GW_ERR_RFB_UNKNOWN_MESSAGE_TYPE', closeCode: CloseCode.policyViolation, message: /type 7/ },
    { name: 'gii (253)', bytes: [253, 0, 0, 4], code: 'GW_ERR_RFB_UNKNOWN_MESSAGE_TYPE', closeCode: CloseCode.policyViolation, message: /type 253/ },
    { name: 'QEMU audio subtype', bytes: [255, 1, 0, 0], code: 'GW_ERR_RFB_UNKNOWN_QEMU_SUBTYPE', closeCode: CloseCode.policyViolation, message: /subtype 1/ },
    { name: 'cut text over the limit', bytes: [6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff], code: 'GW_ERR_RFB_CUT_TEXT_TOO_LARGE', closeCode: CloseCode.messageTooBig, message: /2147483647 bytes/ },
    { name: 'extended cut text of -2^31', bytes: [6, 0, 0, 0, 0x80, 0, 0, 0], code: 'GW_ERR_RFB_CUT_TEXT_TOO_LARGE', closeCode: CloseCode.messageTooBig, message: /2147483648 bytes/ },
    { name: 'too many encodings', bytes: [2, 0, 0xff, 0xff], code: 'GW_ERR_RFB_TOO_MANY_ENCODINGS', closeCode: CloseCode.policyViolation, message: /65535 encodings/ },
    { name: 'fence payload over 64', bytes: [248, 0, 0, 0, 0, 0, 0, 0, 65], code: 'GW_ERR_RFB_MALFORMED_MESSAGE', closeCode: CloseCode.policyViolation, message: /65 bytes/ },
    { name: 'SetDesktopSize with no screens', bytes: [251, 0, 4, 0, 3, 0, 0, 0], code: 'GW_ERR_RFB_MALFORMED_MESSAGE', closeCode: CloseCode.policyViolation, message: /no screens/ },
    {
      name: 'SetPixelFormat with 24 bpp', bytes: [0, 0, 0, 0, 24, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0],
      code: 'GW_ERR_RFB_MALFORMED_MESSAGE', closeCode: CloseCode.policyViolation, message: /bits-per-pixel 24/,
    },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      assertGatewayError(() => new C2SFramer().feed(new Uint8Array(c.bytes)), c.code, c.closeCode, c.message);
    });
  }

  it('rejects an over-limit cut text at the length field, before the body arrives', () => {
    const framer = new C2SFramer({ maxClientCutText: 100, maxEncodings: 64 });
    assertGatewayError(() => framer.feed(new Uint8Array([6, 0, 0, 0, 0, 0, 0, 101])), 'GW_ERR_RFB_CUT_TEXT_TOO_LARGE', CloseCode.messageTooBig, /101 bytes, limit 100/);
  });

  it('accepts a cut text exactly at the limit', () => {
    const framer = new C2SFramer({ maxClientCutText: 100, maxEncodings: 64 });
    const frames = framer.feed(encodeC2S({ type: 'ClientCutText', extended: false, data: new Uint8Array(100) }));
    assert.equal(frames.length, 1);
  });

  it('rejects an unknown type that follows valid messages in the same chunk', () => {
    const stream = concat([encodeC2S({ type: 'KeyEvent', down: true, keysym: 0x61 }), new Uint8Array([9])]);
    assertGatewayError(() => new C2SFramer().feed(stream), 'GW_ERR_RFB_UNKNOWN_MESSAGE_TYPE', CloseCode.policyViolation, /type 9/);
  });
});
