// Tests of the server-to-client scanner: a table of every message type and encoding (built with
// the independent test encoder, testing/s2c-stream.ts) in three pixel formats, each fed whole, byte
// by byte and cut at every point; every error; the pixel format switch; random valid streams cut at
// random points (fast-check); and random or mutated bytes, which may only end in a GatewayError.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CloseCode, GatewayError } from './errors.js';
import { RGB888_LE, type PixelFormat } from './pixel-format.js';
import { FRAMED_ENCODING as E, S2CScanner, type S2CMessageSpan } from './s2c-scanner.js';
import * as S from '../testing/s2c-stream.js';

const PF16: PixelFormat = {
  ...RGB888_LE, bitsPerPixel: 16, depth: 16, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0,
};
const PF8: PixelFormat = {
  ...RGB888_LE, bitsPerPixel: 8, depth: 8, redMax: 7, greenMax: 7, blueMax: 3, redShift: 0, greenShift: 3, blueShift: 6,
};
/** 32 bits per pixel but depth 32: TPIXEL is a whole PIXEL (4 bytes), not 3. */
const PF32_DEPTH32: PixelFormat = { ...RGB888_LE, depth: 32 };
const FORMATS: readonly (readonly [string, PixelFormat, S.StreamPixel])[] = [
  ['RGB888', RGB888_LE, S.RGB888],
  ['16 bpp', PF16, { pixel: 2, tightPixel: 2 }],
  ['8 bpp', PF8, { pixel: 1, tightPixel: 1 }],
  ['32 bpp depth 32', PF32_DEPTH32, { pixel: 4, tightPixel: 4 }],
];

interface Message {
  readonly type: number;
  readonly bytes: Uint8Array;
}

function expectedSpans(messages: readonly Message[], from = 0): S2CMessageSpan[] {
  let offset = from;
  return messages.map((m) => {
    const span = { type: m.type, start: offset, end: offset + m.bytes.length };
    offset = span.end;
    return span;
  });
}

/** Scans `stream` cut at `cuts` (positions, any order, duplicates allowed). */
function scanCut(pf: PixelFormat, stream: Uint8Array, cuts: readonly number[]): S2CMessageSpan[] {
  const scanner = new S2CScanner(pf);
  const points = [...new Set(cuts.map(c => c % (stream.length + 1)))].sort((a, b) => a - b);
  const spans: S2CMessageSpan[] = [];
  let last = 0;
  for (const p of [...points, stream.length]) {
    spans.push(...scanner.scan(stream.subarray(last, p)));
    assert.ok(scanner.heldBytes <= 16, `held ${scanner.heldBytes} bytes`);
    last = p;
  }
  assert.equal(scanner.offset, stream.length);
  assert.equal(scanner.current, undefined, 'a whole stream leaves no message in progress');
  return spans;
}

const LAST_RECT = S.rect(0, 0, 0, 0, E.LastRect, new Uint8Array(0));
const fbu = (...rects: Uint8Array[]): Message => ({ type: 0, bytes: S.framebufferUpdate(rects) });
const oneRect = (w: number, h: number, encoding: number, body: Uint8Array): Message => fbu(S.rect(3, 4, w, h, encoding, body));

/** Every message type and every encoding form, for one pixel format. */
function table(px: S.StreamPixel): (readonly [string, Message])[] {
  const tight = (encoding: number, w: number, h: number, form: S.TightForm): Message =>
    oneRect(w, h, encoding, S.tightBody(w, h, px, form));
  const rawRect = S.rect(0, 0, 2, 2, E.Raw, S.rawBody(2, 2, px));
  const cases: (readonly [string, Message])[] = [
    ['Bell', { type: 2, bytes: S.bell() }],
    ['EndOfContinuousUpdates', { type: 150, bytes: S.endOfContinuousUpdates() }],
    ['xvp', { type: 250, bytes: S.xvp(1, 1) }],
    ['ServerFence, empty', { type: 248, bytes: S.serverFence(0x80000003, new Uint8Array(0)) }],
    ['ServerFence, 64 bytes', { type: 248, bytes: S.serverFence(1, S.filler(64)) }],
    ['SetColourMapEntries, none', { type: 1, bytes: S.setColourMapEntries(0, 0) }],
    ['SetColourMapEntries, 3', { type: 1, bytes: S.setColourMapEntries(16, 3) }],
    ['ServerCutText, empty', { type: 3, bytes: S.serverCutText(new Uint8Array(0)) }],
    ['ServerCutText, text', { type: 3, bytes: S.serverCutText(new TextEncoder().encode('hello desktop')) }],
    ['ServerCutText, extended', { type: 3, bytes: S.serverCutText(Uint8Array.of(0x1f, 0, 0, 1, 0, 0, 0x10, 0), true) }],
    ['FramebufferUpdate, no rectangles', fbu()],
    ['Raw', oneRect(7, 5, E.Raw, S.rawBody(7, 5, px))],
    ['Raw, empty', oneRect(0, 9, E.Raw, new Uint8Array(0))],
    ['CopyRect', oneRect(20, 20, E.CopyRect, S.copyRectBody(100, 200))],
    ['RRE, no subrects', oneRect(20, 20, E.RRE, S.rreBody(0, px))],
    ['RRE, 3 subrects', oneRect(20, 20, E.RRE, S.rreBody(3, px))],
    ['Hextile, one solid tile', oneRect(16, 16, E.Hextile, S.hextileBody(16, 16, px, [{ subencoding: 2, subrects: 0 }]))],
    ['Hextile, empty', oneRect(0, 0, E.Hextile, new Uint8Array(0))],
    ['Hextile, every tile form, partial edge tiles', oneRect(37, 21, E.Hextile, S.hextileBody(37, 21, px, [
      { subencoding: 1, subrects: 0 }, { subencoding: 2, subrects: 0 }, { subencoding: 0, subrects: 0 },
      { subencoding: 2 | 4 | 8, subrects: 3 }, { subencoding: 8, subrects: 0 }, { subencoding: 2 | 8 | 16, subrects: 255 },
      { subencoding: 31, subrects: 0 }, { subencoding: 4, subrects: 0 }, { subencoding: 1 | 16, subrects: 0 },
    ]))],
    ['Zlib', oneRect(10, 10, E.Zlib, S.lengthPrefixedBody(77))],
    ['ZRLE', oneRect(64, 70, E.ZRLE, S.lengthPrefixedBody(300))],
    ['ZRLE, empty', oneRect(0, 0, E.ZRLE, S.lengthPrefixedBody(0))],
    ['Tight fill', tight(E.Tight, 30, 30, { kind: 'fill' })],
    ['Tight JPEG, 1-byte length', tight(E.Tight, 30, 30, { kind: 'jpeg', length: 100 })],
    ['Tight JPEG, 2-byte length', tight(E.Tight, 30, 30, { kind: 'jpeg', length: 10000 })],
    ['Tight JPEG, 3-byte length', tight(E.Tight, 300, 300, { kind: 'jpeg', length: 20000 })],
    ['Tight JPEG, empty', tight(E.Tight, 1, 1, { kind: 'jpeg', length: 0 })],
    ['Tight basic, implied copy filter, raw (< 12 bytes)', tight(E.Tight, 1, 2, { kind: 'basic', filter: undefined, compressedLength: 0 })],
    ['Tight basic, implied copy filter, compressed', tight(E.Tight, 8, 8, { kind: 'basic', filter: undefined, compressedLength: 40, stream: 1, resets: 15 })],
    ['Tight basic, copy filter', tight(E.Tight, 8, 8, { kind: 'basic', filter: 0, compressedLength: 200, stream: 3 })],
    ['Tight basic, palette of 2 (1 bit), raw', tight(E.Tight, 20, 4, { kind: 'basic', filter: 1, colours: 2, compressedLength: 0 })],
    ['Tight basic, palette of 2 (1 bit), compressed', tight(E.Tight, 20, 6, { kind: 'basic', filter: 1, colours: 2, compressedLength: 5 })],
    ['Tight basic, palette of 1', tight(E.Tight, 9, 9, { kind: 'basic', filter: 1, colours: 1, compressedLength: 3 })],
    ['Tight basic, palette of 16 (8 bits)', tight(E.Tight, 3, 3, { kind: 'basic', filter: 1, colours: 16, compressedLength: 0 })],
    ['Tight basic, palette of 256', tight(E.Tight, 12, 12, { kind: 'basic', filter: 1, colours: 256, compressedLength: 70, stream: 2 })],
    ['Tight basic, gradient filter', tight(E.Tight, 16, 16, { kind: 'basic', filter: 2, compressedLength: 500 })],
    ['Tight basic, empty rectangle', tight(E.Tight, 0, 5, { kind: 'basic', filter: 0, compressedLength: 0 })],
    ['TightPNG fill', tight(E.TightPNG, 30, 30, { kind: 'fill' })],
    ['TightPNG PNG', tight(E.TightPNG, 30, 30, { kind: 'png', length: 3000 })],
    ['TightPNG JPEG', tight(E.TightPNG, 30, 30, { kind: 'jpeg', length: 129 })],
    ['DesktopSize', oneRect(1024, 768, E.DesktopSize, new Uint8Array(0))],
    ['ExtendedDesktopSize', oneRect(1024, 768, E.ExtendedDesktopSize, S.extendedDesktopSizeBody(2))],
    ['DesktopName', oneRect(0, 0, E.DesktopName, S.desktopNameBody('Beamline – 7 ✓'))],
    ['Cursor', oneRect(13, 7, E.Cursor, S.cursorBody(13, 7, px))],
    ['Cursor, empty', oneRect(0, 0, E.Cursor, new Uint8Array(0))],
    ['X cursor', oneRect(9, 3, E.XCursor, S.xCursorBody(9, 3))],
    ['X cursor, empty', oneRect(0, 3, E.XCursor, S.xCursorBody(0, 3))],
    ['VMware cursor, classic', oneRect(5, 4, E.VMwareCursor, S.vmwareCursorBody(0, 5, 4, px))],
    ['VMware cursor, alpha', oneRect(5, 4, E.VMwareCursor, S.vmwareCursorBody(1, 5, 4, px))],
    ['QEMU LED state', oneRect(0, 0, E.QemuLedState, Uint8Array.of(4))],
    ['VMware LED state', oneRect(0, 0, E.VMwareLedState, Uint8Array.of(0, 0, 0, 6))],
    ['QEMU extended key event', oneRect(0, 0, E.QemuExtendedKeyEvent, new Uint8Array(0))],
    ['several rectangles', fbu(
      S.rect(0, 0, 4, 4, E.Raw, S.rawBody(4, 4, px)), S.rect(0, 0, 1, 1, E.CopyRect, S.copyRectBody(1, 1)),
      S.rect(0, 0, 64, 64, E.ZRLE, S.lengthPrefixedBody(12)), S.rect(0, 0, 0, 0, E.QemuLedState, Uint8Array.of(1)),
    )],
    ['LastRect after 0xFFFF rectangles announced', { type: 0, bytes: S.framebufferUpdate([rawRect, LAST_RECT], 0xffff) }],
    ['LastRect ends an update early whatever its count', { type: 0, bytes: S.framebufferUpdate([rawRect, LAST_RECT], 5) }],
  ];
  return cases;
}

describe('S2CScanner: every message type and encoding', () => {
  for (const [formatName, pf, px] of FORMATS) {
    for (const [name, message] of table(px)) {
      it(`${formatName}: ${name}, whole, byte by byte and cut at every point`, () => {
        // A Bell before and after: the case's message must end exactly where the next one starts.
        const messages: Message[] = [{ type: 2, bytes: S.bell() }, message, { type: 2, bytes: S.bell() }];
        const stream = S.concatBytes(messages.map(m => m.bytes));
        const expected = expectedSpans(messages);
        assert.deepEqual(scanCut(pf, stream, []), expected);
        assert.deepEqual(scanCut(pf, stream, Array.from({ length: stream.length }, (_, i) => i)), expected);
        for (let cut = 0; cut <= stream.length; cut++) assert.deepEqual(scanCut(pf, stream, [cut]), expected, `cut at ${cut}`);
      });
    }
  }

  it('reports the message in progress and the offset between chunks', () => {
    const scanner = new S2CScanner(RGB888_LE);
    const update = S.framebufferUpdate([S.rect(0, 0, 10, 10, E.Raw, S.rawBody(10, 10, S.RGB888))]);
    assert.deepEqual(scanner.scan(S.bell()), [{ type: 2, start: 0, end: 1 }]);
    assert.equal(scanner.current, undefined);
    assert.deepEqual(scanner.scan(update.subarray(0, 50)), []);
    assert.deepEqual(scanner.current, { type: 0, start: 1 });
    assert.equal(scanner.offset, 51);
    assert.deepEqual(scanner.scan(update.subarray(50)), [{ type: 0, start: 1, end: 1 + update.length }]);
    assert.equal(scanner.current, undefined);
    assert.deepEqual(scanner.scan(new Uint8Array(0)), []);
  });

  it('skips a huge payload by count: a 4 GB Zlib length costs no memory', () => {
    const scanner = new S2CScanner(RGB888_LE);
    const head = S.framebufferUpdate([S.rect(0, 0, 1, 1, E.Zlib, Uint8Array.of(0xff, 0xff, 0xff, 0xff))]);
    assert.deepEqual(scanner.scan(head), []);
    assert.equal(scanner.heldBytes, 0);
    const block = new Uint8Array(1 << 20);
    for (let i = 0; i < 8; i++) assert.deepEqual(scanner.scan(block), []);
    assert.deepEqual(scanner.current, { type: 0, start: 0 });
  });
});

describe('S2CScanner: SetPixelFormat', () => {
  it('applies to the next FramebufferUpdate header, not to the update in progress', () => {
    const raw8 = S.framebufferUpdate([S.rect(0, 0, 3, 3, E.Raw, S.rawBody(3, 3, { pixel: 1, tightPixel: 1 }))]);
    const raw32 = S.framebufferUpdate([S.rect(0, 0, 3, 3, E.Raw, S.rawBody(3, 3, S.RGB888))]);
    const scanner = new S2CScanner(RGB888_LE);
    // Switch mid-update: the update in progress is still 32-bit.
    assert.deepEqual(scanner.scan(raw32.subarray(0, 5)), []);
    scanner.setPixelFormat(PF8);
    const spans = scanner.scan(S.concatBytes([raw32.subarray(5), S.bell(), raw8]));
    assert.deepEqual(spans, expectedSpans([{ type: 0, bytes: raw32 }, { type: 2, bytes: S.bell() }, { type: 0, bytes: raw8 }]));
  });

  it('changes the Tight TPIXEL size with the format', () => {
    const fill = (px: S.StreamPixel): Uint8Array => S.framebufferUpdate([S.rect(0, 0, 4, 4, E.Tight, S.tightBody(4, 4, px, { kind: 'fill' }))]);
    const scanner = new S2CScanner(RGB888_LE);
    const first = fill(S.RGB888);
    assert.equal(first.length, 4 + 12 + 1 + 3);
    assert.equal(scanner.scan(first).length, 1);
    scanner.setPixelFormat(PF16);
    const spans = scanner.scan(fill({ pixel: 2, tightPixel: 2 }));
    assert.deepEqual(spans, [{ type: 0, start: first.length, end: first.length + 4 + 12 + 1 + 2 }]);
  });

  it('refuses pixel formats it cannot size: 24 bits per pixel, 8-bit channels off byte boundaries (TPIXEL would be a guess)', () => {
    assert.throws(() => new S2CScanner({ ...RGB888_LE, bitsPerPixel: 24 }), isUnframeable(/bits-per-pixel 24/));
    const scanner = new S2CScanner(RGB888_LE);
    assert.throws(() => {
      scanner.setPixelFormat({ ...RGB888_LE, redShift: 20, greenShift: 12, blueShift: 4 });
    }, isUnframeable(/TPIXEL size ambiguous/));
    // Byte-aligned channels in another order are fine.
    scanner.setPixelFormat({ ...RGB888_LE, redShift: 0, greenShift: 8, blueShift: 16, bigEndian: true });
  });
});

function isUnframeable(detail: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof GatewayError, String(e));
    assert.equal(e.code, 'GW_ERR_RFB_UNFRAMEABLE_SERVER_MESSAGE');
    assert.equal(e.closeCode, CloseCode.upstreamFailed);
    assert.ok(!/viewer sent/.test(e.userMessage), 'the user is not told they sent something wrong');
    assert.match(e.message, detail);
    return true;
  };
}

describe('S2CScanner: fails closed', () => {
  const rectOf = (w: number, h: number, encoding: number, body: Uint8Array): Uint8Array =>
    S.framebufferUpdate([S.rect(0, 0, w, h, encoding, body)]);
  const cases: (readonly [string, Uint8Array, RegExp])[] = [
    ['an unknown message type (gii)', Uint8Array.of(253, 0, 0, 0), /unknown message type 253/],
    ['a QEMU server message', Uint8Array.of(255, 1), /unknown message type 255/],
    ['JPEG (21), never negotiated', rectOf(8, 8, 21, S.filler(100)), /encoding 21/],
    ['H.264 (50), never negotiated', rectOf(8, 8, 50, S.filler(100)), /encoding 50/],
    ['ExtendedMouseButtons (-316), never negotiated', rectOf(0, 0, -316, new Uint8Array(0)), /encoding -316/],
    ['CoRRE (4)', rectOf(8, 8, 4, S.filler(10)), /encoding 4\b/],
    ['a Hextile subencoding with zlibhex bits', rectOf(16, 16, E.Hextile, Uint8Array.of(32)), /Hextile subencoding 32/],
    ['Tight control 0xB0', rectOf(4, 4, E.Tight, Uint8Array.of(0xb0)), /Tight compression control 0xb0/],
    ['Tight "basic without zlib" with filter (0xE0)', rectOf(4, 4, E.TightPNG, Uint8Array.of(0xe0)), /control 0xe0 \(TightPNG\)/],
    ['Tight filter 3', rectOf(4, 4, E.Tight, Uint8Array.of(0x40, 3)), /Tight filter 3/],
    ['an empty Zlib rectangle (rfbproto and noVNC disagree on its bytes)', rectOf(0, 4, E.Zlib, Uint8Array.of(0, 0, 0, 0)), /empty Zlib/],
    ['a VMware cursor of type 2', rectOf(4, 4, E.VMwareCursor, Uint8Array.of(2, 0)), /VMware cursor type 2/],
    ['a fence payload over 64 bytes', S.serverFence(0, S.filler(65)), /ServerFence payload of 65 bytes/],
    ['ServerCutText over the limit', S.serverCutText(S.filler(8 * 1024 * 1024 + 1)).subarray(0, 8), /ServerCutText of 8388609 bytes/],
    ['extended ServerCutText of -2^31', Uint8Array.of(3, 0, 0, 0, 0x80, 0, 0, 0), /ServerCutText of 2147483648 bytes/],
  ];
  for (const [name, bytes, detail] of cases) {
    it(`on ${name}, after the messages before it, and for good`, () => {
      const scanner = new S2CScanner(RGB888_LE);
      assert.deepEqual(scanner.scan(S.bell()), [{ type: 2, start: 0, end: 1 }]);
      assert.throws(() => scanner.scan(bytes), isUnframeable(detail));
      assert.throws(() => scanner.scan(S.bell()), isUnframeable(detail), 'a failed scanner stays failed');
    });
  }

  it('honours a smaller ServerCutText limit', () => {
    const scanner = new S2CScanner(RGB888_LE, { maxServerCutText: 10 });
    assert.equal(scanner.scan(S.serverCutText(S.filler(10))).length, 1);
    assert.throws(() => scanner.scan(S.serverCutText(S.filler(11), true)), isUnframeable(/ServerCutText of 11 bytes, limit 10/));
  });
});

// ---- random streams

const small = (max: number) => fc.integer({ min: 0, max });

function rectArbitrary(px: S.StreamPixel): fc.Arbitrary<Uint8Array> {
  const wh = fc.tuple(small(40), small(40));
  const tightForm: fc.Arbitrary<S.TightForm> = fc.oneof(
    fc.constant({ kind: 'fill' as const }),
    fc.record({ kind: fc.constantFrom('jpeg' as const, 'png' as const), length: fc.oneof(small(200), fc.integer({ min: 16384, max: 17000 })) }),
    fc.record({
      kind: fc.constant('basic' as const), filter: fc.constantFrom(undefined, 0 as const, 1 as const, 2 as const),
      colours: fc.integer({ min: 1, max: 256 }), compressedLength: small(300), stream: small(3), resets: small(15),
    }),
  );
  const tile = fc.record({ subencoding: small(31), subrects: small(255) });
  return fc.oneof(
    wh.map(([w, h]) => S.rect(1, 2, w, h, E.Raw, S.rawBody(w, h, px))),
    wh.map(([w, h]) => S.rect(1, 2, w, h, E.CopyRect, S.copyRectBody(w, h))),
    fc.tuple(wh, small(20)).map(([[w, h], n]) => S.rect(0, 0, w, h, E.RRE, S.rreBody(n, px))),
    fc.tuple(wh, fc.array(tile, { minLength: 1, maxLength: 9 }))
      .map(([[w, h], tiles]) => S.rect(0, 0, w, h, E.Hextile, S.hextileBody(w, h, px, tiles))),
    fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), small(500))
      .map(([w, h, n]) => S.rect(0, 0, w, h, E.Zlib, S.lengthPrefixedBody(n))),
    fc.tuple(wh, small(500)).map(([[w, h], n]) => S.rect(0, 0, w, h, E.ZRLE, S.lengthPrefixedBody(n))),
    fc.tuple(wh, fc.constantFrom(E.Tight, E.TightPNG), tightForm)
      .map(([[w, h], e, form]) => S.rect(0, 0, w, h, e, S.tightBody(w, h, px, form))),
    wh.map(([w, h]) => S.rect(0, 0, w, h, E.DesktopSize, new Uint8Array(0))),
    small(4).map(n => S.rect(0, 0, 100, 100, E.ExtendedDesktopSize, S.extendedDesktopSizeBody(n))),
    fc.string({ maxLength: 30 }).map(name => S.rect(0, 0, 0, 0, E.DesktopName, S.desktopNameBody(name))),
    wh.map(([w, h]) => S.rect(0, 0, w, h, E.Cursor, S.cursorBody(w, h, px))),
    wh.map(([w, h]) => S.rect(0, 0, w, h, E.XCursor, S.xCursorBody(w, h))),
    fc.tuple(wh, fc.constantFrom(0 as const, 1 as const))
      .map(([[w, h], t]) => S.rect(0, 0, w, h, E.VMwareCursor, S.vmwareCursorBody(t, w, h, px))),
    fc.constant(S.rect(0, 0, 0, 0, E.QemuLedState, Uint8Array.of(2))),
    fc.constant(S.rect(0, 0, 0, 0, E.VMwareLedState, Uint8Array.of(0, 0, 0, 2))),
    fc.constant(S.rect(0, 0, 0, 0, E.QemuExtendedKeyEvent, new Uint8Array(0))),
  );
}

function messageArbitrary(px: S.StreamPixel): fc.Arbitrary<Message> {
  const rects = fc.array(rectArbitrary(px), { maxLength: 5 });
  return fc.oneof(
    { weight: 4, arbitrary: rects.map(r => ({ type: 0, bytes: S.framebufferUpdate(r) })) },
    {
      weight: 1,
      arbitrary: rects.map(r => ({ type: 0, bytes: S.framebufferUpdate([...r, LAST_RECT], 0xffff) })),
    },
    small(20).map(n => ({ type: 1, bytes: S.setColourMapEntries(0, n) })),
    fc.constant({ type: 2, bytes: S.bell() }),
    fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean()).map(([data, ext]) => ({ type: 3, bytes: S.serverCutText(data, ext) })),
    fc.constant({ type: 150, bytes: S.endOfContinuousUpdates() }),
    fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 64 })).map(([flags, payload]) => ({ type: 248, bytes: S.serverFence(flags, payload) })),
    fc.tuple(small(255), small(255)).map(([v, c]) => ({ type: 250, bytes: S.xvp(v, c) })),
  );
}

const formatArbitrary = fc.constantFrom(...FORMATS);
const streamArbitrary = formatArbitrary.chain(([, pf, px]) =>
  fc.tuple(fc.constant(pf), fc.array(messageArbitrary(px), { minLength: 1, maxLength: 12 })));

describe('S2CScanner: random streams', () => {
  it('finds exactly the messages of any valid stream, however it is cut', () => {
    fc.assert(fc.property(streamArbitrary, fc.array(fc.nat(), { maxLength: 30 }), ([pf, messages], cuts) => {
      const stream = S.concatBytes(messages.map(m => m.bytes));
      assert.deepEqual(scanCut(pf, stream, cuts), expectedSpans(messages));
    }), { numRuns: 400 });
  });

  it('on random or mutated bytes: never throws anything but its GatewayError, never holds more than 16 bytes, spans stay contiguous', () => {
    const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });
    const mutated = fc.tuple(streamArbitrary, flips)
      .map(([[pf, messages], flips]) => {
        const stream = S.concatBytes(messages.map(m => m.bytes));
        for (const [at, value] of flips) if (stream.length > 0) stream[at % stream.length] = value;
        return [pf, stream] as const;
      });
    const random = fc.tuple(formatArbitrary.map(([, pf]) => pf), fc.uint8Array({ maxLength: 2000 }));
    fc.assert(fc.property(fc.oneof(mutated, random), fc.array(fc.nat(), { maxLength: 20 }), ([pf, stream], cuts) => {
      const scanner = new S2CScanner(pf);
      const points = [...new Set(cuts.map(c => c % (stream.length + 1)))].sort((a, b) => a - b);
      let last = 0;
      let expectedStart = 0;
      try {
        for (const p of [...points, stream.length]) {
          for (const span of scanner.scan(stream.subarray(last, p))) {
            assert.equal(span.start, expectedStart);
            assert.ok(span.end > span.start && span.end <= p);
            expectedStart = span.end;
          }
          assert.ok(scanner.heldBytes <= 16);
          last = p;
        }
        assert.equal(scanner.offset, stream.length);
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        assert.ok(e instanceof GatewayError && e.code === 'GW_ERR_RFB_UNFRAMEABLE_SERVER_MESSAGE', String(e));
      }
    }), { numRuns: 2000 });
  });
});
