import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import type { C2SMessage } from '../../gateway/src/rfb/c2s-messages.js';
import { HeldInput } from '../../gateway/src/rfb/held-input.js';
import { RGB888_LE } from '../../gateway/src/rfb/pixel-format.js';
import { beamlineInputPolicySchema, type BeamlineInputPolicyInput } from './input-policy.js';
import {
  BlockAggregator, compilePolicy, createFilterState, filterInput, filterServerCutText, forwardedHeldKeys,
  type CompiledPolicy, type InputContext, type InputVerdict,
} from './input-rules.js';
import { defaultKeyRules } from './input-policy.js';
import { MOD, parseCombo } from './key-combos.js';

/** [keysym, QEMU key code] of the keys the tests type. */
const KEY = {
  Control_L: [0xffe3, 0x1d], Control_R: [0xffe4, 0x9d], Alt_L: [0xffe9, 0x38], Alt_R: [0xffea, 0xb8],
  AltGr: [0xfe03, 0xb8], Shift_L: [0xffe1, 0x2a], Super_L: [0xffeb, 0xdb], Super_R: [0xffec, 0xdc], Meta_L: [0xffe7, 0x38],
  F1: [0xffbe, 0x3b], F2: [0xffbf, 0x3c], F4: [0xffc1, 0x3e], F12: [0xffc9, 0x58], BackSpace: [0xff08, 0x0e], Delete: [0xffff, 0xd3],
  KP_Delete: [0xff9f, 0x53], t: [0x74, 0x14], T: [0x54, 0x14], e: [0x65, 0x12], euro: [0x20ac, 0x12], q: [0x71, 0x10], at: [0x40, 0x10],
  Escape: [0xff1b, 0x01], Terminate_Server: [0xfed5, 0], XF86Switch_VT_1: [0x1008fe01, 0],
  // A QEMU event whose keysym and key code disagree: the keysym of x at the position of T, and the reverse.
  x_at_T: [0x78, 0x14], t_at_X: [0x74, 0x2d],
} as const satisfies Record<string, readonly [number, number]>;
type KeyName = keyof typeof KEY;
type Form = 'qemu' | 'key';

const ctx = (over: Partial<InputContext> = {}): InputContext => ({ now: 0, staff: false, holder: true, viewOnlyBeamline: false, ...over });

function policyOf(input: Omit<BeamlineInputPolicyInput, 'version' | 'beamline'> = {}): CompiledPolicy {
  // A generous rate unless the test is about the rate.
  return compilePolicy(beamlineInputPolicySchema.parse({ version: 1, beamline: 'bl-test', rateLimit: { eventsPerSecond: 1e5, burst: 1e5 }, ...input }));
}
const KIOSK = policyOf({ keys: { defaults: 'kiosk-strict' } });

function keyMessage(form: Form, down: boolean, name: KeyName): C2SMessage {
  const [keysym, keycode] = KEY[name];
  return form === 'qemu' ? { type: 'QemuExtendedKeyEvent', down, keysym, keycode } : { type: 'KeyEvent', down, keysym };
}

/** "+Control_L +F1 -F1" → the verdicts, one per step. */
function type(script: string, form: Form, policy = KIOSK, context = ctx()): InputVerdict[] {
  const state = createFilterState();
  return script.split(' ').map((step) => {
    const name = step.slice(1) as KeyName;
    assert.ok(name in KEY, `unknown key in test script: ${name}`);
    return filterInput(state, keyMessage(form, step.startsWith('+'), name), context, policy);
  });
}
const flags = (verdicts: InputVerdict[]): string => verdicts.map(v => v.forward ? '1' : '0').join('');

describe('filterInput: denied key combinations (kiosk-strict defaults)', () => {
  // script, which messages are forwarded (1) or dropped (0), the rule of the first drop
  const table: [string, string, string, string | undefined][] = [
    ['Ctrl+Alt+F1, in order', '+Control_L +Alt_L +F1 -F1 -Alt_L -Control_L', '110011', 'kiosk-vt-switch'],
    ['Alt pressed before Ctrl', '+Alt_L +Control_L +F1 -F1 -Control_L -Alt_L', '110011', 'kiosk-vt-switch'],
    ['right Ctrl and right Alt', '+Control_R +Alt_R +F12 -F12 -Alt_R -Control_R', '110011', 'kiosk-vt-switch'],
    ['left Ctrl, right Alt', '+Control_L +Alt_R +Delete -Delete -Alt_R -Control_L', '110011', 'kiosk-ctrl-alt-delete'],
    ['numpad Delete', '+Control_L +Alt_L +KP_Delete -KP_Delete -Alt_L -Control_L', '110011', 'kiosk-ctrl-alt-delete'],
    ['Ctrl+Alt+BackSpace', '+Control_L +Alt_L +BackSpace -BackSpace -Alt_L -Control_L', '110011', 'kiosk-kill-x'],
    ['Ctrl+Alt+T', '+Control_L +Alt_L +t -t -Alt_L -Control_L', '110011', 'kiosk-terminal'],
    ['Ctrl+Alt+Shift+T (upper-case keysym)', '+Control_L +Alt_L +Shift_L +T -T -Shift_L -Alt_L -Control_L', '11100111', 'kiosk-terminal'],
    ['extra Shift still Ctrl+Alt+F1', '+Shift_L +Control_L +Alt_L +F1 -F1 -Alt_L -Control_L -Shift_L', '11100111', 'kiosk-vt-switch'],
    ['Alt+F2', '+Alt_L +F2 -F2 -Alt_L', '1001', 'kiosk-run-dialog'],
    ['Alt+F4 (kiosk-strict)', '+Alt_L +F4 -F4 -Alt_L', '1001', 'kiosk-close-window'],
    ['Ctrl+Alt+Escape (kiosk-strict)', '+Control_L +Alt_L +Escape -Escape -Alt_L -Control_L', '110011', 'kiosk-xkill'],
    ['Super alone: press and release dropped', '+Super_L -Super_L', '00', 'kiosk-super'],
    ['right Super', '+Super_R -Super_R', '00', 'kiosk-super'],
    ['Super held, then a letter: the letter passes', '+Super_L +e -e -Super_L', '0110', 'kiosk-super'],
    ['modifier released while the combo key is down', '+Control_L +Alt_L +t -Alt_L -t -Control_L', '110101', 'kiosk-terminal'],
    ['auto-repeat of a dropped key stays dropped', '+Control_L +Alt_L +t -Alt_L +t +t -t -Control_L', '11010001', 'kiosk-terminal'],
    ['key held first, auto-repeat after Ctrl+Alt is dropped, its release passes', '+t +Control_L +Alt_L +t -t -Alt_L -Control_L', '1110111', 'kiosk-terminal'],
    ['release without a press passes', '-F1 -Control_L', '11', undefined],
    ['F1 alone', '+F1 -F1', '11', undefined],
    ['Ctrl+F1 is not Ctrl+Alt+F1', '+Control_L +F1 -F1 -Control_L', '1111', undefined],
    ['after Alt is released, F2 passes', '+Alt_L -Alt_L +F2 -F2', '1111', undefined],
    ['AltGr characters type: AltGr+q (@), AltGr+e (€)', '+AltGr +at -at +euro -euro -AltGr', '111111', undefined],
    ['Ctrl with AltGr is not Ctrl+Alt', '+Control_L +AltGr +F1 -F1 -AltGr -Control_L', '111111', undefined],
    ['Terminate_Server keysym', '+Terminate_Server -Terminate_Server', '00', 'kiosk-kill-x'],
    ['XF86Switch_VT_1 keysym', '+XF86Switch_VT_1 -XF86Switch_VT_1', '00', 'kiosk-vt-switch'],
  ];
  for (const form of ['qemu', 'key'] as const) {
    for (const [name, script, expected, rule] of table) {
      it(`${form}: ${name}`, () => {
        const verdicts = type(script, form);
        assert.equal(flags(verdicts), expected, script);
        assert.equal(verdicts.find(v => !v.forward && v.ruleId !== undefined)?.ruleId, rule);
        // Releases of dropped presses and auto-repeats of dropped keys are quiet: one action, one block.
        assert.ok(verdicts.filter(v => v.ruleId !== undefined).length <= 2, 'a blocked combination reports once (twice for a repeat re-judged)');
      });
    }
  }

  it('Meta counts as Alt (Xvnc types Meta_L as Shift+Alt)', () => {
    assert.equal(flags(type('+Meta_L +F2 -F2 -Meta_L', 'key')), '1001');
  });

  it('QEMU: a key code at the position of a denied key is judged even when the keysym says otherwise, and the reverse', () => {
    assert.equal(flags(type('+Control_L +Alt_L +x_at_T -x_at_T -Alt_L -Control_L', 'qemu')), '110011');
    assert.equal(flags(type('+Control_L +Alt_L +t_at_X -t_at_X -Alt_L -Control_L', 'qemu')), '110011');
  });

  it('QEMU: a modifier is recognised by its key code whatever keysym comes with it', () => {
    const state = createFilterState();
    assert.equal(filterInput(state, { type: 'QemuExtendedKeyEvent', down: true, keysym: 0x61, keycode: 0x1d }, ctx(), KIOSK).forward, true);
    assert.equal(filterInput(state, keyMessage('qemu', true, 'Alt_L'), ctx(), KIOSK).forward, true);
    assert.equal(filterInput(state, keyMessage('qemu', true, 'F1'), ctx(), KIOSK).ruleId, 'kiosk-vt-switch');
  });

  it('AltGr sent as Control_L + Alt_R (clients that emulate AltGr the Windows way) is Ctrl+Alt: only AltGr+T is affected', () => {
    assert.equal(flags(type('+Control_L +Alt_R +e -e -Alt_R -Control_L', 'qemu')), '111111');
    assert.equal(flags(type('+Control_L +Alt_R +t -t -Alt_R -Control_L', 'qemu')), '110011');
  });

  it('altGrIsAlt: the right Alt key counts as Alt too (servers with -RawKeyboard and Alt_R there)', () => {
    const policy = policyOf({ keys: { defaults: 'kiosk', altGrIsAlt: true } });
    assert.equal(flags(type('+Control_L +AltGr +F1 -F1 -AltGr -Control_L', 'qemu', policy)), '110011');
    assert.equal(flags(type('+AltGr +at -at -AltGr', 'qemu', policy)), '1111');
  });

  it('a combination of modifiers only is denied in either order', () => {
    const policy = policyOf({ keys: { deny: [{ id: 'layout-switch', combos: ['Shift+Alt'], reason: 'no layout switch' }] } });
    for (const form of ['qemu', 'key'] as const) {
      assert.equal(flags(type('+Shift_L +Alt_L -Alt_L -Shift_L', form, policy)), '1001');
      assert.equal(flags(type('+Alt_L +Shift_L -Shift_L -Alt_L', form, policy)), '1001');
    }
  });

  it('omitDefaults leaves a built-in rule out; defaults: none has no key rules', () => {
    assert.equal(flags(type('+Super_L -Super_L', 'qemu', policyOf({ keys: { defaults: 'kiosk', omitDefaults: ['kiosk-super'] } }))), '11');
    assert.equal(flags(type('+Control_L +Alt_L +F1 -F1 -Alt_L -Control_L', 'qemu', policyOf())), '111111');
  });

  it('view-only beamline: no press passes, but releases of keys forwarded before do', () => {
    const state = createFilterState();
    assert.equal(filterInput(state, keyMessage('qemu', true, 'e'), ctx(), KIOSK).forward, true);
    const viewOnly = ctx({ viewOnlyBeamline: true });
    const press = filterInput(state, keyMessage('qemu', true, 'q'), viewOnly, KIOSK);
    assert.deepEqual(press, { forward: false, ruleId: 'beamline-view-only', reason: press.reason });
    assert.equal(filterInput(state, keyMessage('qemu', false, 'e'), viewOnly, KIOSK).forward, true);
    assert.equal(filterInput(state, keyMessage('qemu', false, 'q'), ctx(), KIOSK).forward, false);
    assert.deepEqual(forwardedHeldKeys(state), []);
  });
});

describe('filterInput: pointer regions', () => {
  const policy = policyOf({ pointer: { denyRegions: [{ id: 'shutter', x: 100, y: 100, width: 50, height: 20, reason: 'beam shutter interlock' }] } });
  const p = (buttonMask: number, x: number, y: number, extendedButtonMask?: number): C2SMessage =>
    extendedButtonMask === undefined ? { type: 'PointerEvent', buttonMask, x, y } : { type: 'PointerEvent', buttonMask, x, y, extendedButtonMask };

  const cases: [string, number, number, boolean][] = [
    ['top left corner is inside', 100, 100, false],
    ['bottom right pixel is inside', 149, 119, false],
    ['just right of it is outside', 150, 100, true],
    ['just below it is outside', 100, 120, true],
    ['just left of it is outside', 99, 110, true],
    ['just above it is outside', 120, 99, true],
  ];
  for (const [name, x, y, passes] of cases) {
    it(`a press at (${x}, ${y}): ${name}`, () => {
      const state = createFilterState();
      const verdict = filterInput(state, p(1, x, y), ctx(), policy);
      assert.equal(verdict.forward, passes);
      if (!passes) assert.deepEqual(verdict, { forward: false, ruleId: 'shutter', reason: 'beam shutter interlock' });
      // The release: never a press, harmless as plain motion.
      const release = filterInput(state, p(0, x, y), ctx(), policy);
      assert.equal(release.forward, true);
      assert.equal(release.ruleId, undefined);
      assert.equal(state.serverButtons, 0);
    });
  }

  it('motion without buttons passes inside the region; so does the wheel outside it', () => {
    const state = createFilterState();
    assert.deepEqual(filterInput(state, p(0, 120, 110), ctx(), policy), { forward: true });
    assert.deepEqual(filterInput(state, p(8, 10, 10), ctx(), policy), { forward: true });
  });

  it('the wheel inside the region is dropped', () => {
    assert.equal(filterInput(createFilterState(), p(16, 120, 110), ctx(), policy).ruleId, 'shutter');
  });

  it('a drag that starts inside never presses outside: motion passes without the button', () => {
    const state = createFilterState();
    assert.equal(filterInput(state, p(1, 120, 110), ctx(), policy).forward, false);
    const outside = filterInput(state, p(1, 300, 300), ctx(), policy);
    assert.deepEqual(outside, { forward: true, replacement: p(0, 300, 300) });
    assert.deepEqual(filterInput(state, p(0, 310, 300), ctx(), policy), { forward: true });
  });

  it('a drag that starts outside may move into the region and end there', () => {
    const state = createFilterState();
    assert.deepEqual(filterInput(state, p(1, 10, 10), ctx(), policy), { forward: true });
    assert.deepEqual(filterInput(state, p(1, 120, 110), ctx(), policy), { forward: true });
    assert.deepEqual(filterInput(state, p(0, 120, 110), ctx(), policy), { forward: true });
  });

  it('a second button pressed inside while one is held from outside is dropped, and stays out of later events', () => {
    const state = createFilterState();
    filterInput(state, p(1, 10, 10), ctx(), policy);
    filterInput(state, p(1, 120, 110), ctx(), policy);
    assert.equal(filterInput(state, p(5, 120, 110), ctx(), policy).ruleId, 'shutter');
    assert.equal(state.serverButtons, 1);
    assert.deepEqual(filterInput(state, p(4, 121, 110), ctx(), policy), { forward: true, replacement: p(0, 121, 110) });
    assert.equal(state.serverButtons, 0);
  });

  it('a release together with a press inside: the release is forwarded, the press taken out and reported', () => {
    const state = createFilterState();
    filterInput(state, p(1, 10, 10), ctx(), policy);
    filterInput(state, p(1, 120, 110), ctx(), policy);
    const swap = filterInput(state, p(2, 121, 110), ctx(), policy);
    assert.deepEqual(swap, { forward: true, replacement: p(0, 121, 110), ruleId: 'shutter', reason: 'beam shutter interlock' });
  });

  it('the 7-byte form (extended buttons) is judged on all its buttons', () => {
    const state = createFilterState();
    assert.equal(filterInput(state, p(0x80, 120, 110, 1), ctx(), policy).ruleId, 'shutter');
    assert.deepEqual(filterInput(state, p(0x80, 300, 300, 1), ctx(), policy), { forward: true, replacement: p(0x80, 300, 300, 0) });
  });
});

describe('filterInput: clipboard (browser to desktop)', () => {
  const allow10 = policyOf({ clipboard: { browserToDesktop: { allow: true, maxBytes: 10 }, desktopToBrowser: { allow: false } } });
  const cut = (data: Uint8Array, extended = false): C2SMessage => ({ type: 'ClientCutText', extended, data });
  const ext = (flags: number, payload: Uint8Array = new Uint8Array()): C2SMessage => {
    const data = new Uint8Array(4 + payload.length);
    new DataView(data.buffer).setUint32(0, flags >>> 0);
    data.set(payload, 4);
    return cut(data, true);
  };
  const provideText = (size: number, actual = size): Uint8Array => {
    const body = Buffer.alloc(4 + actual, 0x61);
    body.writeUInt32BE(size, 0);
    return deflateSync(body);
  };
  const [CAPS, REQUEST, NOTIFY, PROVIDE] = [1 << 24, 1 << 25, 1 << 27, 1 << 28];

  it('plain text at the limit passes, one byte over is dropped', () => {
    assert.deepEqual(filterInput(createFilterState(), cut(new Uint8Array(10)), ctx(), allow10), { forward: true });
    const over = filterInput(createFilterState(), cut(new Uint8Array(11)), ctx(), allow10);
    assert.equal(over.ruleId, 'clipboard-to-desktop');
    assert.match(over.reason ?? '', /larger than 10 bytes/);
  });

  it('a denied direction drops every paste; the default policy denies', () => {
    assert.equal(filterInput(createFilterState(), cut(new Uint8Array(1)), ctx(), policyOf()).ruleId, 'clipboard-to-desktop');
  });

  it('extended clipboard: caps always pass, notify and provide follow browserToDesktop, request follows desktopToBrowser', () => {
    const deny = policyOf();
    const s = createFilterState();
    assert.equal(filterInput(s, ext(CAPS | 1), ctx(), deny).forward, true);
    // Real caps list the actions the sender accepts next to the caps bit (TigerVNC 0x1F000001, noVNC the same).
    const ALL_ACTIONS = CAPS | REQUEST | (1 << 26) | NOTIFY | PROVIDE;
    assert.equal(filterInput(s, ext(ALL_ACTIONS | 1, new Uint8Array(4)), ctx(), deny).forward, true);
    const serverCaps = ext(ALL_ACTIONS | 1, new Uint8Array(4)) as { extended: boolean; data: Uint8Array };
    assert.equal(filterServerCutText(serverCaps, deny).forward, true);
    assert.equal(filterInput(s, ext(NOTIFY | 1), ctx(), deny).ruleId, 'clipboard-to-desktop');
    assert.equal(filterInput(s, ext(NOTIFY | 1), ctx(), allow10).forward, true);
    assert.equal(filterInput(s, ext(REQUEST | 1), ctx(), allow10).ruleId, 'clipboard-to-browser');
    assert.equal(filterInput(s, ext(PROVIDE | 1, provideText(10)), ctx(), allow10).forward, true);
    assert.equal(filterInput(s, ext(PROVIDE | 1, provideText(11)), ctx(), allow10).ruleId, 'clipboard-to-desktop');
  });

  it('extended provide: the real (inflated) size counts, not the declared one; garbage and other formats are dropped', () => {
    const s = createFilterState();
    const bomb = filterInput(s, ext(PROVIDE | 1, provideText(5, 100_000)), ctx(), allow10);
    assert.match(bomb.reason ?? '', /larger than 10 bytes/);
    assert.match(filterInput(s, ext(PROVIDE | 1, new Uint8Array([1, 2, 3])), ctx(), allow10).reason ?? '', /could not be read/);
    assert.equal(filterInput(s, ext(PROVIDE | 4, provideText(3)), ctx(), allow10).forward, false); // html
    assert.equal(filterInput(s, ext(PROVIDE | NOTIFY | 1), ctx(), allow10).forward, false); // two actions
    assert.equal(filterInput(s, cut(new Uint8Array(2), true), ctx(), allow10).forward, false); // no flags
  });

  it('desktop to browser (ServerCutText): its own rule; the server asking for the browser clipboard follows browserToDesktop', () => {
    const policy = policyOf({ clipboard: { browserToDesktop: { allow: true }, desktopToBrowser: { allow: true, maxBytes: 3 } } });
    assert.equal(filterServerCutText({ extended: false, data: new Uint8Array(3) }, policy).forward, true);
    assert.equal(filterServerCutText({ extended: false, data: new Uint8Array(4) }, policy).ruleId, 'clipboard-to-browser');
    assert.equal(filterServerCutText({ extended: false, data: new Uint8Array(1) }, policyOf()).ruleId, 'clipboard-to-browser');
    assert.equal(filterServerCutText(ext(REQUEST | 1) as { extended: boolean; data: Uint8Array }, policy).forward, true);
    assert.equal(filterServerCutText(ext(REQUEST | 1) as { extended: boolean; data: Uint8Array }, policyOf()).ruleId, 'clipboard-to-desktop');
  });
});

describe('filterInput: desktop resize', () => {
  const resize = (width: number, height: number): C2SMessage => ({
    type: 'SetDesktopSize', width, height, screens: [{ id: 1, x: 0, y: 0, width, height, flags: 0 }],
  });
  const bounds = { minWidth: 800, minHeight: 600, maxWidth: 1920, maxHeight: 1080 };
  const table: [string, 'nobody' | 'staff' | 'holder', Partial<InputContext>, number, number, boolean][] = [
    ['nobody, even staff', 'nobody', { staff: true }, 1024, 768, false],
    ['staff: staff may', 'staff', { staff: true }, 1024, 768, true],
    ['staff: the holder who is not staff may not', 'staff', { staff: false }, 1024, 768, false],
    ['holder: the holder may', 'holder', {}, 1024, 768, true],
    ['holder: not holding control', 'holder', { holder: false }, 1024, 768, false],
    ['at the minimum', 'holder', {}, 800, 600, true],
    ['at the maximum', 'holder', {}, 1920, 1080, true],
    ['one below the minimum width', 'holder', {}, 799, 600, false],
    ['one above the maximum height', 'holder', {}, 1920, 1081, false],
  ];
  for (const [name, who, over, width, height, passes] of table) {
    it(name, () => {
      const verdict = filterInput(createFilterState(), resize(width, height), ctx(over), policyOf({ resize: { who, ...bounds } }));
      assert.equal(verdict.forward, passes);
      if (!passes) assert.equal(verdict.ruleId, 'desktop-resize');
    });
  }
  it('a screen outside the new size is dropped', () => {
    const message: C2SMessage = { type: 'SetDesktopSize', width: 1000, height: 700, screens: [{ id: 1, x: 500, y: 0, width: 1000, height: 700, flags: 0 }] };
    assert.equal(filterInput(createFilterState(), message, ctx(), policyOf({ resize: { who: 'holder', ...bounds } })).forward, false);
  });
});

describe('filterInput: rate limit, power control, protocol messages', () => {
  const limited = policyOf({ rateLimit: { eventsPerSecond: 10, burst: 3 } });
  const move = (x: number): C2SMessage => ({ type: 'PointerEvent', buttonMask: 0, x, y: 0 });

  it('allows the burst, then the sustained rate; time comes in as an argument', () => {
    const state = createFilterState();
    const at = (now: number, x: number): boolean => filterInput(state, move(x), ctx({ now }), limited).forward;
    const burst = [at(0, 1), at(0, 2), at(0, 3), at(0, 4), at(50, 5), at(100, 6), at(100, 7)];
    assert.deepEqual(burst, [true, true, true, false, false, true, false]);
    assert.equal(filterInput(state, move(8), ctx({ now: 100 }), limited).ruleId, 'input-rate');
    // A clock that goes back refills nothing.
    assert.equal(at(0, 9), false);
    assert.deepEqual([at(1000, 10), at(1000, 11), at(1000, 12), at(1000, 13)], [true, true, true, false]);
  });

  it('releases of forwarded keys and buttons pass even when the rate is exhausted', () => {
    const state = createFilterState();
    assert.equal(filterInput(state, keyMessage('qemu', true, 'e'), ctx(), limited).forward, true);
    assert.equal(filterInput(state, { type: 'PointerEvent', buttonMask: 1, x: 0, y: 0 }, ctx(), limited).forward, true);
    assert.equal(filterInput(state, { type: 'PointerEvent', buttonMask: 1, x: 1, y: 0 }, ctx(), limited).forward, true); // a drag
    assert.equal(filterInput(state, { type: 'PointerEvent', buttonMask: 1, x: 2, y: 0 }, ctx(), limited).ruleId, 'input-rate');
    assert.equal(filterInput(state, keyMessage('qemu', true, 'q'), ctx(), limited).ruleId, 'input-rate');
    assert.equal(filterInput(state, keyMessage('qemu', false, 'e'), ctx(), limited).forward, true);
    assert.equal(filterInput(state, keyMessage('qemu', false, 'q'), ctx(), limited).forward, false);
    assert.equal(filterInput(state, { type: 'PointerEvent', buttonMask: 0, x: 5, y: 5 }, ctx(), limited).forward, true);
    assert.equal(state.serverButtons, 0);
  });

  it('xvp never passes; protocol messages always do, also on a view-only beamline', () => {
    const viewOnly = ctx({ viewOnlyBeamline: true });
    assert.equal(filterInput(createFilterState(), { type: 'Xvp', version: 1, code: 2 }, ctx(), KIOSK).ruleId, 'power-control');
    const protocol: C2SMessage[] = [
      { type: 'SetPixelFormat', pixelFormat: RGB888_LE },
      { type: 'SetEncodings', encodings: [0] },
      { type: 'FramebufferUpdateRequest', incremental: true, x: 0, y: 0, width: 1, height: 1 },
      { type: 'EnableContinuousUpdates', enable: true, x: 0, y: 0, width: 1, height: 1 },
      { type: 'ClientFence', flags: 0, payload: new Uint8Array() },
    ];
    for (const message of protocol) {
      assert.deepEqual(filterInput(createFilterState(), message, viewOnly, limited), { forward: true }, message.type);
    }
    assert.equal(filterInput(createFilterState(), { type: 'ClientCutText', extended: false, data: new Uint8Array() }, viewOnly, KIOSK).ruleId, 'beamline-view-only');
    assert.equal(filterInput(createFilterState(), move(1), viewOnly, KIOSK).ruleId, 'beamline-view-only');
  });
});

// ---- Properties -----------------------------------------------------------------------------------

const POOL: readonly KeyName[] = ['Control_L', 'Control_R', 'Alt_L', 'Alt_R', 'AltGr', 'Shift_L', 'Super_L', 'Meta_L', 'F1', 'F2', 'F4', 'T', 't', 'BackSpace', 'Delete', 'e', 'x_at_T'];
type Step =
  | { readonly kind: 'key'; readonly form: Form; readonly down: boolean; readonly key: KeyName; readonly viewOnly: boolean; readonly dt: number }
  | { readonly kind: 'pointer'; readonly mask: number; readonly x: number; readonly y: number; readonly viewOnly: boolean; readonly dt: number };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('key' as const), form: fc.constantFrom<Form>('qemu', 'key'), down: fc.boolean(), key: fc.constantFrom(...POOL), viewOnly: fc.integer({ min: 0, max: 6 }).map(n => n === 0), dt: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pointer' as const), mask: fc.integer({ min: 0, max: 7 }), x: fc.integer({ min: 90, max: 160 }), y: fc.integer({ min: 95, max: 125 }), viewOnly: fc.boolean(), dt: fc.integer({ min: 0, max: 20 }) }) },
);
const PROPERTY_POLICY = policyOf({
  keys: { defaults: 'kiosk-strict' },
  pointer: { denyRegions: [{ id: 'r', x: 100, y: 100, width: 50, height: 20, reason: 'interlock' }] },
  rateLimit: { eventsPerSecond: 100, burst: 5 },
});

function messageOf(step: Step): C2SMessage {
  return step.kind === 'key' ? keyMessage(step.form, step.down, step.key) : { type: 'PointerEvent', buttonMask: step.mask, x: step.x, y: step.y };
}

/** Runs the steps, then the releases of everything (as the person would let go of all), through one filter. */
function runAll(steps: readonly Step[], onForward: (message: C2SMessage) => void): void {
  const state = createFilterState();
  let now = 0;
  const releaseAll: Step[] = [
    ...POOL.flatMap(key => (['qemu', 'key'] as const).map(form => ({ kind: 'key', form, down: false, key, viewOnly: false, dt: 0 } as const))),
    { kind: 'pointer', mask: 0, x: 0, y: 0, viewOnly: false, dt: 0 },
  ];
  for (const step of [...steps, ...releaseAll]) {
    now += step.dt;
    const message = messageOf(step);
    const verdict = filterInput(state, message, ctx({ now, viewOnlyBeamline: step.viewOnly }), PROPERTY_POLICY);
    if (verdict.forward) onForward(verdict.replacement ?? message);
  }
}

/** The reference: modifier groups of what the server holds, judged key by key with plain loops, not the compiled tables. */
const REFERENCE_MODIFIERS: [number, number, number][] = [
  // keysym, key code (-1: none), group
  [0xffe3, 0x1d, MOD.Ctrl], [0xffe4, 0x9d, MOD.Ctrl], [0xffe9, 0x38, MOD.Alt], [0xffea, -1, MOD.Alt], [0xffe7, -1, MOD.Alt],
  [0xffe1, 0x2a, MOD.Shift], [0xffeb, 0xdb, MOD.Super], [0xfe03, 0xb8, MOD.AltGr],
];
const DENIED = defaultKeyRules('kiosk-strict').flatMap(rule => rule.combos.flatMap(text => parseCombo(text).alternatives));

describe('filterInput properties', () => {
  it('no key or button is left held on the server once the person has let go of everything', () => {
    fc.assert(fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
      const server = new HeldInput();
      runAll(steps, (message) => {
        server.forwarded(message);
      });
      assert.deepEqual(server.heldKeys(), []);
      assert.ok(server.idle, 'a button is still held');
    }), { numRuns: 1000 });
  });

  it('no forwarded key press ever completes a denied combination, and no forwarded press lands in a region', () => {
    fc.assert(fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
      const held = new Map<string, number>();
      let serverButtons = 0;
      runAll(steps, (message) => {
        if (message.type === 'PointerEvent') {
          const pressed = message.buttonMask & ~serverButtons;
          const inside = message.x >= 100 && message.x < 150 && message.y >= 100 && message.y < 120;
          assert.ok(pressed === 0 || !inside, `a press at (${message.x}, ${message.y}) reached the server`);
          serverButtons = message.buttonMask;
          return;
        }
        if (message.type !== 'KeyEvent' && message.type !== 'QemuExtendedKeyEvent') return;
        const keycode = message.type === 'QemuExtendedKeyEvent' ? message.keycode : -1;
        const id = keycode > 0 ? `q${keycode}` : `k${message.keysym}`;
        if (!message.down) {
          held.delete(id);
          return;
        }
        let groups = 0;
        for (const g of held.values()) groups |= g;
        for (const combo of DENIED) {
          const isKey = combo.key.keysyms.includes(message.keysym) || combo.key.keycodes.includes(keycode);
          assert.ok(!isKey || (groups & combo.modifiers) !== combo.modifiers, `forwarded a press completing a denied combo: ${JSON.stringify(message)}`);
        }
        let group = 0;
        for (const [keysym, code, g] of REFERENCE_MODIFIERS) if (keysym === message.keysym || (code >= 0 && code === keycode)) group |= g;
        if (!held.has(id)) held.set(id, group);
      });
    }), { numRuns: 1000 });
  });
});

describe('BlockAggregator', () => {
  const block = (at: number, ruleId = 'kiosk-super', connection = 'c1'): Parameters<BlockAggregator['add']>[0] => ({ ruleId, reason: 'why', connection, at });

  it('the first block of a burst is reported at once, the rest as one count when the burst ends', () => {
    const agg = new BlockAggregator({ quietMs: 1000, maxBurstMs: 60_000 });
    assert.deepEqual(agg.add(block(0)), [{ kind: 'first', ruleId: 'kiosk-super', reason: 'why', connection: 'c1', at: 0 }]);
    for (let t = 30; t <= 900; t += 30) assert.deepEqual(agg.add(block(t)), []);
    assert.equal(agg.nextDeadline(), 900 + 1000 + 1);
    assert.deepEqual(agg.flush(1900), []);
    assert.deepEqual(agg.flush(1901), [{ kind: 'repeated', ruleId: 'kiosk-super', reason: 'why', connection: 'c1', from: 30, to: 900, count: 30 }]);
    assert.equal(agg.nextDeadline(), undefined);
  });

  it('a single block makes a single record; a new burst after a quiet time starts with a first again', () => {
    const agg = new BlockAggregator({ quietMs: 1000 });
    agg.add(block(0));
    assert.deepEqual(agg.flush(5000), []);
    agg.add(block(6000));
    agg.add(block(6100));
    const records = agg.add(block(8000));
    assert.deepEqual(records.map(r => r.kind), ['repeated', 'first']);
  });

  it('rules and connections are separate bursts; a long flood is summarised every maxBurstMs; endConnection flushes', () => {
    const agg = new BlockAggregator({ quietMs: 1000, maxBurstMs: 10_000 });
    assert.equal(agg.add(block(0, 'a')).length, 1);
    assert.equal(agg.add(block(0, 'b')).length, 1);
    assert.equal(agg.add(block(0, 'a', 'c2')).length, 1);
    let summaries = 0;
    for (let t = 100; t <= 25_000; t += 100) summaries += agg.add(block(t, 'a')).length;
    assert.equal(summaries, 2);
    const ended = agg.endConnection('c1');
    assert.deepEqual(ended.map(r => r.kind === 'repeated' ? [r.ruleId, r.count] : []), [['a', 50]]);
    assert.equal(agg.flush(1e9).length, 0);
  });
});
