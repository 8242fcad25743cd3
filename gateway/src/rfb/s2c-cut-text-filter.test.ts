// Tests of the desktop->browser clipboard filter on the server stream: what reaches the browser is
// the server stream minus exactly the ServerCutText messages the policy refuses, however the stream
// is cut; other bytes go out as views of the chunk (no copy); a ServerCutText too long to ever pass
// is dropped without being buffered; the policy is asked per message (hot reload).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { beamlineInputPolicySchema } from '../../../policies/src/input-policy.js';
import { compilePolicy, filterServerCutText, type CompiledPolicy } from '../../../policies/src/input-rules.js';
import { GatewayError } from './errors.js';
import { RGB888_LE } from './pixel-format.js';
import {
  cutTextBufferLimit, needsServerCutTextFilter, ServerCutTextFilter, UNLIMITED_CLIPBOARD_BYTES, type BlockedCutText,
} from './s2c-cut-text-filter.js';
import { FRAMED_ENCODING as E } from './s2c-scanner.js';
import * as S from '../testing/s2c-stream.js';

function policy(toBrowser: { allow: boolean; maxBytes?: number }, toDesktop: { allow: boolean } = { allow: false }): CompiledPolicy {
  return compilePolicy(beamlineInputPolicySchema.parse({
    version: 1, beamline: 'test',
    clipboard: { desktopToBrowser: { id: 'copy-out', ...toBrowser }, browserToDesktop: { id: 'paste-in', ...toDesktop } },
  }));
}

const DENY = policy({ allow: false });
const ALLOW_16 = policy({ allow: true, maxBytes: 16 });
const latin1 = (text: string): Uint8Array => Uint8Array.from(text, c => c.charCodeAt(0));

// Extended Clipboard payloads: | flags u32 | ... |; actions caps 1<<24, request 1<<25, peek 1<<26, notify 1<<27, provide 1<<28.
function extended(flags: number, rest: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(4 + rest.length);
  new DataView(out.buffer).setUint32(0, flags >>> 0);
  out.set(rest, 4);
  return S.serverCutText(out, true);
}
const CAPS = extended((1 << 24) | (1 << 25) | (1 << 26) | (1 << 27) | (1 << 28) | 1, Uint8Array.of(0, 0, 0x10, 0));
const NOTIFY_TEXT = extended((1 << 27) | 1);
const REQUEST_TEXT = extended((1 << 25) | 1);
function provide(text: string): Uint8Array {
  const body = latin1(text + '\0');
  const raw = new Uint8Array(4 + body.length);
  new DataView(raw.buffer).setUint32(0, body.length);
  raw.set(body, 4);
  return extended((1 << 28) | 1, deflateSync(raw));
}

const picture = S.framebufferUpdate([
  S.rect(0, 0, 8, 8, E.Raw, S.rawBody(8, 8, S.RGB888)),
  S.rect(0, 0, 4, 4, E.Hextile, S.hextileBody(4, 4, S.RGB888, [{ subencoding: 1, subrects: 0 }])),
]);

/** Runs `stream` cut at `cuts` through a fresh filter; returns what the browser gets and what was blocked. */
function run(stream: Uint8Array, cuts: readonly number[], rules: () => CompiledPolicy): { out: Uint8Array; blocked: BlockedCutText[] } {
  const filter = new ServerCutTextFilter(RGB888_LE);
  const points = [...new Set(cuts.map(c => c % (stream.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  const blocked: BlockedCutText[] = [];
  let last = 0;
  for (const p of [...points, stream.length]) {
    const chunk = stream.slice(last, p); // a buffer of its own, as a socket read is
    const result = filter.feed(chunk, rules);
    result.parts.forEach((part, i) => {
      const isView = part.buffer === chunk.buffer;
      if (isView) assert.ok(i <= result.lastViewIndex, 'a view of the chunk after lastViewIndex');
      else assert.ok(part[0] === 3, 'only whole clipboard messages are copies');
    });
    if (result.lastViewIndex >= 0) assert.equal(result.parts[result.lastViewIndex]?.buffer, chunk.buffer);
    parts.push(...result.parts);
    blocked.push(...result.blocked);
    last = p;
  }
  assert.equal(filter.heldBytes, 0);
  return { out: S.concatBytes(parts), blocked };
}

/** Whole, byte by byte, and cut once at every point. */
const everyCut = (stream: Uint8Array): number[][] =>
  [[], Array.from({ length: stream.length }, (_, i) => i), ...Array.from({ length: stream.length + 1 }, (_, i) => [i])];

describe('ServerCutTextFilter', () => {
  interface Case { name: string; messages: Uint8Array[]; rules: CompiledPolicy; passes: boolean[]; blocked: string[] }
  const cases: Case[] = [
    {
      name: 'deny: plain text dropped, pictures kept',
      messages: [picture, S.serverCutText(latin1('secret')), picture], rules: DENY, passes: [true, false, true], blocked: ['copy-out'],
    },
    {
      name: 'allow up to 16 bytes: 16 pass, 17 dropped as too large',
      messages: [S.serverCutText(latin1('0123456789abcdef')), S.bell(), S.serverCutText(latin1('0123456789abcdefg'))],
      rules: ALLOW_16, passes: [true, true, false], blocked: ['copy-out'],
    },
    {
      name: 'deny: Extended Clipboard caps pass, notify does not',
      messages: [CAPS, picture, NOTIFY_TEXT], rules: DENY, passes: [true, true, false], blocked: ['copy-out'],
    },
    { name: 'allow: notify and a small provide pass', messages: [CAPS, NOTIFY_TEXT, provide('ok')], rules: ALLOW_16, passes: [true, true, true], blocked: [] },
    {
      name: 'allow 16: a provide of 20 bytes of text is too large',
      messages: [provide('x'.repeat(20)), picture], rules: ALLOW_16, passes: [false, true], blocked: ['copy-out'],
    },
    {
      name: 'the server asking for the browser\'s clipboard follows browser->desktop',
      messages: [REQUEST_TEXT], rules: ALLOW_16, passes: [false], blocked: ['paste-in'],
    },
    {
      name: '... and passes when pasting is allowed',
      messages: [REQUEST_TEXT], rules: policy({ allow: false }, { allow: true }), passes: [true], blocked: [],
    },
    {
      name: 'an empty ServerCutText under deny',
      messages: [S.serverCutText(new Uint8Array(0)), S.bell()], rules: DENY, passes: [false, true], blocked: ['copy-out'],
    },
    {
      name: 'back to back clipboard messages',
      messages: ['a', 'b', '0123456789abcdefXYZ', 'c'].map(t => S.serverCutText(latin1(t))),
      rules: ALLOW_16, passes: [true, true, false, true], blocked: ['copy-out'],
    },
  ];
  for (const c of cases) {
    it(`${c.name}, cut anywhere`, () => {
      const stream = S.concatBytes(c.messages);
      const expected = S.concatBytes(c.messages.filter((_, i) => c.passes[i]));
      for (const cuts of everyCut(stream)) {
        const { out, blocked } = run(stream, cuts, () => c.rules);
        assert.deepEqual(out, expected, `cuts ${cuts.join(',')}`);
        assert.deepEqual(blocked.map(b => b.ruleId), c.blocked);
      }
    });
  }

  it('sends a chunk without clipboard as it came: the same object, nothing copied', () => {
    const filter = new ServerCutTextFilter(RGB888_LE);
    const chunk = S.concatBytes([picture, S.bell()]);
    const result = filter.feed(chunk, () => DENY);
    assert.equal(result.parts.length, 1);
    assert.equal(result.parts[0], chunk);
    assert.equal(result.lastViewIndex, 0);
    assert.deepEqual(filter.feed(new Uint8Array(0), () => DENY), { parts: [], lastViewIndex: -1, blocked: [] });
  });

  it('holds back a clipboard message split over chunks and sends nothing of a chunk that is all clipboard', () => {
    const filter = new ServerCutTextFilter(RGB888_LE);
    const text = S.serverCutText(latin1('0123456789'));
    const head = filter.feed(S.concatBytes([picture, text.subarray(0, 3)]), () => ALLOW_16);
    assert.deepEqual(head.parts.map(p => p.length), [picture.length]);
    assert.equal(filter.heldBytes, 3);
    const middle = filter.feed(text.slice(3, 12), () => ALLOW_16);
    assert.deepEqual(middle, { parts: [], lastViewIndex: -1, blocked: [] });
    assert.equal(filter.heldBytes, 12);
    const tail = filter.feed(S.concatBytes([text.subarray(12), S.bell()]), () => ALLOW_16);
    assert.deepEqual(tail.parts.map(p => [...p]), [[...text], [2]]);
    assert.equal(tail.lastViewIndex, 1);
  });

  it('never buffers a ServerCutText longer than the policy lets through: 4 MiB under "deny" costs 8 bytes', () => {
    const filter = new ServerCutTextFilter(RGB888_LE);
    const big = S.serverCutText(new Uint8Array(4 * 1024 * 1024).fill(0x41));
    const blocked: BlockedCutText[] = [];
    const out: Uint8Array[] = [];
    for (let o = 0; o < big.length; o += 65536) {
      const result = filter.feed(big.subarray(o, o + 65536), () => DENY);
      out.push(...result.parts);
      blocked.push(...result.blocked);
      assert.ok(filter.heldBytes <= 8, `holds ${filter.heldBytes}`);
    }
    const after = filter.feed(S.bell(), () => DENY);
    assert.deepEqual(out, []);
    assert.deepEqual(after.parts.map(p => [...p]), [[2]]);
    assert.deepEqual(blocked.map(b => b.ruleId), ['copy-out'], 'blocked once, when its length was read');
    // With text allowed, the bound is maxBytes plus a little, not the message.
    assert.ok(cutTextBufferLimit(ALLOW_16) < 2100);
    assert.equal(cutTextBufferLimit(DENY), 1024);
  });

  it('drops a ServerCutText longer than the scanner\'s 8 MiB sanity limit instead of ending the session', () => {
    const filter = new ServerCutTextFilter(RGB888_LE);
    const header = S.serverCutText(new Uint8Array(0)).slice();
    new DataView(header.buffer).setInt32(4, 9 * 1024 * 1024);
    const first = filter.feed(header, () => ALLOW_16);
    assert.deepEqual(first.parts, []);
    assert.match(first.blocked[0]?.reason ?? '', /larger than 16 bytes/);
    const body = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 9; i++) assert.deepEqual(filter.feed(body, () => ALLOW_16).parts, []);
    assert.equal(filter.heldBytes, 0);
    assert.deepEqual(filter.feed(S.bell(), () => ALLOW_16).parts.map(p => [...p]), [[2]]);
  });

  it('asks the policy per message: a reload between two messages changes the verdict', () => {
    let rules = DENY;
    const filter = new ServerCutTextFilter(RGB888_LE);
    const text = S.serverCutText(latin1('hi'));
    assert.deepEqual(filter.feed(text, () => rules).parts, []);
    rules = ALLOW_16;
    assert.deepEqual(filter.feed(text, () => rules).parts.map(p => [...p]), [[...text]]);
  });

  it('passes the scanner\'s error on (fail closed)', () => {
    const filter = new ServerCutTextFilter(RGB888_LE);
    assert.throws(() => filter.feed(Uint8Array.of(253), () => DENY), (e: unknown) =>
      e instanceof GatewayError && e.code === 'GW_ERR_RFB_UNFRAMEABLE_SERVER_MESSAGE');
  });

  it('frames only when the policy needs it: not for "allow" with maxBytes at the schema maximum', () => {
    assert.equal(needsServerCutTextFilter(DENY), true);
    assert.equal(needsServerCutTextFilter(ALLOW_16), true);
    assert.equal(needsServerCutTextFilter(policy({ allow: true })), true, 'the default maxBytes is a limit');
    assert.equal(needsServerCutTextFilter(policy({ allow: true, maxBytes: UNLIMITED_CLIPBOARD_BYTES })), false);
    assert.throws(() => policy({ allow: true, maxBytes: UNLIMITED_CLIPBOARD_BYTES + 1 }), 'the schema caps maxBytes there');
  });

  it('on random streams cut anywhere: the browser gets the stream minus exactly the refused clipboard messages', () => {
    const text = fc.uint8Array({ maxLength: 40 });
    const clipboard = fc.oneof(
      text.map(t => S.serverCutText(t)),
      fc.constantFrom(CAPS, NOTIFY_TEXT, REQUEST_TEXT, extended(0), extended((1 << 27) | 2)),
      fc.string({ maxLength: 30 }).map(provide),
    );
    const other = fc.constantFrom(picture, S.bell(), S.serverFence(1, S.filler(10)), S.xvp(1, 1));
    const rules = fc.constantFrom(DENY, ALLOW_16, policy({ allow: true, maxBytes: 30 }, { allow: true }));
    const streams = fc.array(fc.oneof(clipboard, other), { maxLength: 10 });
    fc.assert(fc.property(streams, fc.array(fc.nat(), { maxLength: 12 }), rules, (messages, cuts, r) => {
      const passes = messages.map((m) => {
        if (m[0] !== 3) return true;
        const view = new DataView(m.buffer, m.byteOffset);
        return filterServerCutText({ extended: view.getInt32(4) < 0, data: m.subarray(8) }, r).forward;
      });
      const { out, blocked } = run(S.concatBytes(messages), cuts, () => r);
      assert.deepEqual(out, S.concatBytes(messages.filter((_, i) => passes[i])));
      assert.ok(blocked.length <= passes.filter(p => !p).length);
    }), { numRuns: 300 });
  });
});
