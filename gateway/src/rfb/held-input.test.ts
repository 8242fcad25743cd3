// Tests of HeldInput: the releases for Shift in both key forms, buttons, repeats and odd
// releases; and a property test that replays any forwarded input plus releaseAll() on a model of
// the VNC server's per-connection key and button state (TigerVNC 1.12's VNCSConnectionST) and
// finds nothing left pressed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HeldInput } from './held-input.js';
import type { C2SMessage } from './c2s-messages.js';

const SHIFT_L = 0xffe1;
const CONTROL_L = 0xffe3;
const TAB = 0xff09;
const ISO_LEFT_TAB = 0xfe20;
const XT = { shiftL: 0x2a, controlL: 0x1d, a: 0x1e } as const;

const key = (down: boolean, keysym: number): C2SMessage => ({ type: 'KeyEvent', down, keysym });
const qemu = (down: boolean, keysym: number, keycode: number): C2SMessage => ({ type: 'QemuExtendedKeyEvent', down, keysym, keycode });
const pointer = (buttonMask: number, x: number, y: number): C2SMessage => ({ type: 'PointerEvent', buttonMask, x, y });

function heldAfter(messages: readonly C2SMessage[]): HeldInput {
  const held = new HeldInput();
  for (const m of messages) held.forwarded(m);
  return held;
}

describe('HeldInput.releaseAll', () => {
  it('releases a Shift pressed as a QEMU key event with a QEMU key-up of the same keycode and keysym', () => {
    const held = heldAfter([qemu(true, SHIFT_L, XT.shiftL)]);
    assert.deepEqual(held.releaseAll(), [qemu(false, SHIFT_L, XT.shiftL)]);
  });

  it('releases a Shift pressed as a KeyEvent with a KeyEvent up', () => {
    const held = heldAfter([key(true, SHIFT_L)]);
    assert.deepEqual(held.releaseAll(), [key(false, SHIFT_L)]);
  });

  it('releases held buttons with one PointerEvent without buttons at the last position, before the keys', () => {
    const held = heldAfter([pointer(0, 5, 6), pointer(1, 10, 20), pointer(5, 30, 40), key(true, CONTROL_L)]);
    assert.deepEqual(held.releaseAll(), [pointer(0, 30, 40), key(false, CONTROL_L)]);
  });

  it('sends no pointer event when no button is down, however the pointer moved', () => {
    const held = heldAfter([pointer(1, 1, 1), pointer(0, 2, 2), pointer(0, 50, 60)]);
    assert.ok(held.idle);
    assert.deepEqual(held.releaseAll(), []);
  });

  it('counts a button held in the extended mask as held', () => {
    const held = heldAfter([{ type: 'PointerEvent', buttonMask: 0x80, x: 7, y: 8, extendedButtonMask: 1 }]);
    assert.deepEqual(held.releaseAll(), [pointer(0, 7, 8)]);
  });

  it('releases keys in reverse press order, each in the form it was pressed', () => {
    const held = heldAfter([key(true, SHIFT_L), qemu(true, CONTROL_L, XT.controlL), qemu(true, 0x61, XT.a)]);
    assert.deepEqual(held.releaseAll(), [qemu(false, 0x61, XT.a), qemu(false, CONTROL_L, XT.controlL), key(false, SHIFT_L)]);
  });

  it('forgets what it released: a second releaseAll returns nothing', () => {
    const held = heldAfter([key(true, SHIFT_L), pointer(1, 3, 4)]);
    assert.equal(held.releaseAll().length, 2);
    assert.ok(held.idle);
    assert.deepEqual(held.releaseAll(), []);
  });

  it('tracks nothing for keys pressed and released, and keeps the first keysym of an auto-repeated QEMU key', () => {
    assert.deepEqual(heldAfter([key(true, 0x61), key(false, 0x61), qemu(true, 0x62, 0x30), qemu(false, 0x62, 0x30)]).releaseAll(), []);
    // TigerVNC forces the keysym of an already-down keycode; the release must carry that one.
    const repeated = heldAfter([qemu(true, 0x61, XT.a), qemu(true, 0x41, XT.a), qemu(true, 0x61, XT.a)]);
    assert.deepEqual(repeated.releaseAll(), [qemu(false, 0x61, XT.a)]);
  });

  it('takes a QEMU release by its keycode whatever keysym it carries (Shift+a released after Shift: keysym A)', () => {
    const held = heldAfter([qemu(true, SHIFT_L, XT.shiftL), qemu(true, 0x61, XT.a), qemu(false, 0x41, XT.a)]);
    assert.deepEqual(held.releaseAll(), [qemu(false, SHIFT_L, XT.shiftL)]);
  });

  it('keeps the two forms apart: a KeyEvent release does not release a QEMU press of the same keysym', () => {
    const held = heldAfter([qemu(true, SHIFT_L, XT.shiftL), key(false, SHIFT_L)]);
    assert.deepEqual(held.releaseAll(), [qemu(false, SHIFT_L, XT.shiftL)]);
  });

  it('ignores QEMU key events without a keycode (TigerVNC drops them) and every non-input message', () => {
    const held = heldAfter([
      qemu(true, SHIFT_L, 0),
      { type: 'ClientCutText', extended: false, data: new Uint8Array([65]) },
      { type: 'FramebufferUpdateRequest', incremental: true, x: 0, y: 0, width: 1, height: 1 },
      { type: 'SetDesktopSize', width: 640, height: 480, screens: [] },
    ]);
    assert.ok(held.idle);
    assert.deepEqual(held.releaseAll(), []);
  });

  it('lists the held keys oldest first', () => {
    const held = heldAfter([key(true, SHIFT_L), qemu(true, CONTROL_L, XT.controlL)]);
    assert.deepEqual(held.heldKeys(), [{ form: 'key', keysym: SHIFT_L }, { form: 'qemu', keysym: CONTROL_L, keycode: XT.controlL }]);
  });
});

/**
 * One connection's input state as TigerVNC 1.12 keeps it (VNCSConnectionST::keyEvent and the
 * server's pointer handling): keys by keycode for QEMU events (keycode 0 dropped by the reader),
 * by keysym for KeyEvents (ISO_Left_Tab counts as Tab); a release of a key that is not down is
 * ignored; the buttons are those of the last PointerEvent.
 */
class XServerModel {
  readonly keys = new Map<string, number>();
  buttons = 0;
  /** Releases that found nothing to release. */
  idleReleases = 0;

  apply(m: C2SMessage): void {
    switch (m.type) {
      case 'KeyEvent':
        this.key(`sym:${m.keysym === ISO_LEFT_TAB ? TAB : m.keysym}`, m.down, m.keysym);
        return;
      case 'QemuExtendedKeyEvent':
        if (m.keycode !== 0) this.key(`code:${m.keycode}`, m.down, m.keysym);
        return;
      case 'PointerEvent':
        if (this.buttons === 0 && m.buttonMask === 0 && (m.extendedButtonMask ?? 0) === 0) this.idleReleases++;
        this.buttons = m.buttonMask | ((m.extendedButtonMask ?? 0) << 8);
        return;
      case 'SetPixelFormat':
      case 'SetEncodings':
      case 'FramebufferUpdateRequest':
      case 'ClientCutText':
      case 'EnableContinuousUpdates':
      case 'ClientFence':
      case 'Xvp':
      case 'SetDesktopSize':
        return;
    }
  }

  private key(lookup: string, down: boolean, keysym: number): void {
    if (down) {
      if (!this.keys.has(lookup)) this.keys.set(lookup, keysym);
    } else if (!this.keys.delete(lookup)) {
      this.idleReleases++;
    }
  }
}

// Few distinct keys, so presses and releases of the same key (in both forms) collide often.
const keysym = fc.constantFrom(SHIFT_L, CONTROL_L, 0x61, 0x41, TAB, ISO_LEFT_TAB);
const keycode = fc.constantFrom(0, XT.shiftL, XT.controlL, XT.a, 0x0f);
const inputMessage: fc.Arbitrary<C2SMessage> = fc.oneof(
  fc.record({ type: fc.constant('KeyEvent' as const), down: fc.boolean(), keysym }),
  fc.record({ type: fc.constant('QemuExtendedKeyEvent' as const), down: fc.boolean(), keysym, keycode }),
  fc.record({ type: fc.constant('PointerEvent' as const), buttonMask: fc.constantFrom(0, 0, 1, 2, 4, 5, 8, 0x7f), x: fc.nat(2000), y: fc.nat(2000) }),
  fc.constant<C2SMessage>({ type: 'FramebufferUpdateRequest', incremental: true, x: 0, y: 0, width: 8, height: 8 }),
  fc.constant<C2SMessage>({ type: 'ClientCutText', extended: false, data: new Uint8Array([120]) }),
);

describe('HeldInput against a model of the VNC server (property)', () => {
  it('after any forwarded input and then releaseAll(), the server holds no key and no button', () => {
    fc.assert(fc.property(fc.array(inputMessage, { maxLength: 60 }), (forwarded) => {
      const held = new HeldInput();
      const server = new XServerModel();
      for (const m of forwarded) {
        held.forwarded(m);
        server.apply(m);
      }
      const releases = held.releaseAll();
      for (const m of releases) server.apply(m);
      assert.deepEqual([...server.keys.entries()], [], 'no key left down');
      assert.equal(server.buttons, 0, 'no button left down');
      assert.ok(held.idle);
    }), { numRuns: 2000 });
  });

  it('releases exactly what the server holds (no spurious release) when no keysym aliases another', () => {
    const plainKeysym = fc.constantFrom(SHIFT_L, CONTROL_L, 0x61, 0x41);
    const plainInput = fc.oneof(
      fc.record({ type: fc.constant('KeyEvent' as const), down: fc.boolean(), keysym: plainKeysym }),
      fc.record({ type: fc.constant('QemuExtendedKeyEvent' as const), down: fc.boolean(), keysym: plainKeysym, keycode }),
      fc.record({ type: fc.constant('PointerEvent' as const), buttonMask: fc.constantFrom(0, 1, 4), x: fc.nat(100), y: fc.nat(100) }),
    );
    fc.assert(fc.property(fc.array(plainInput, { maxLength: 60 }), (forwarded) => {
      const held = new HeldInput();
      const server = new XServerModel();
      for (const m of forwarded) {
        held.forwarded(m);
        server.apply(m);
      }
      const downBefore = server.keys.size + (server.buttons === 0 ? 0 : 1);
      const idleBefore = server.idleReleases;
      const releases = held.releaseAll();
      for (const m of releases) server.apply(m);
      assert.equal(releases.length, downBefore, 'one release per key held, one for the buttons');
      assert.equal(server.idleReleases, idleBefore, 'every release released something');
    }), { numRuns: 1000 });
  });

  it('the property can fail: without the releases, random input usually leaves something pressed', () => {
    const samples = fc.sample(fc.array(inputMessage, { minLength: 10, maxLength: 60 }), { numRuns: 200, seed: 42 });
    const leftovers = samples.filter((forwarded) => {
      const server = new XServerModel();
      for (const m of forwarded) server.apply(m);
      return server.keys.size > 0 || server.buttons !== 0;
    });
    assert.ok(leftovers.length > 100, `only ${leftovers.length} of 200 sequences left something pressed`);
  });
});
