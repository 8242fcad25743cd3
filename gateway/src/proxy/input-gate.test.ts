// Tests of the control-epoch rule: every input message type needs the current epoch, protocol
// messages never do, and the epoch only moves forward.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MESSAGE_CLASS } from '../../../policies/src/input-filter.js';
import type { C2SMessage, C2SMessageType } from '../rfb/c2s-messages.js';
import { RGB888_LE } from '../rfb/pixel-format.js';
import { ControlEpoch, gateInput, holdsControl } from './input-gate.js';

/** One message of every type the framer knows. */
const SAMPLES: Record<C2SMessageType, C2SMessage> = {
  SetPixelFormat: { type: 'SetPixelFormat', pixelFormat: RGB888_LE },
  SetEncodings: { type: 'SetEncodings', encodings: [0] },
  FramebufferUpdateRequest: { type: 'FramebufferUpdateRequest', incremental: true, x: 0, y: 0, width: 1, height: 1 },
  EnableContinuousUpdates: { type: 'EnableContinuousUpdates', enable: true, x: 0, y: 0, width: 1, height: 1 },
  ClientFence: { type: 'ClientFence', flags: 0, payload: new Uint8Array() },
  KeyEvent: { type: 'KeyEvent', down: true, keysym: 0x61 },
  QemuExtendedKeyEvent: { type: 'QemuExtendedKeyEvent', down: true, keysym: 0xffe1, keycode: 0x2a },
  PointerEvent: { type: 'PointerEvent', buttonMask: 1, x: 1, y: 1 },
  ClientCutText: { type: 'ClientCutText', extended: false, data: new Uint8Array([65]) },
  SetDesktopSize: { type: 'SetDesktopSize', width: 640, height: 480, screens: [] },
  Xvp: { type: 'Xvp', version: 1, code: 2 },
};
const INPUT: readonly C2SMessageType[] = ['KeyEvent', 'QemuExtendedKeyEvent', 'PointerEvent', 'ClientCutText', 'SetDesktopSize'];
const PROTOCOL: readonly C2SMessageType[] = ['SetPixelFormat', 'SetEncodings', 'FramebufferUpdateRequest', 'EnableContinuousUpdates', 'ClientFence'];

function controlAt(epoch: number, holder: string | undefined): ControlEpoch {
  const control = new ControlEpoch();
  control.advance(epoch, holder);
  return control;
}

describe('gateInput', () => {
  it('covers every message type in this test (a new type must be classified here too)', () => {
    assert.deepEqual(Object.keys(SAMPLES).sort(), Object.keys(MESSAGE_CLASS).sort());
    assert.deepEqual([...INPUT].sort(), Object.keys(MESSAGE_CLASS).filter(t => MESSAGE_CLASS[t as C2SMessageType] === 'input').sort());
  });

  for (const type of INPUT) {
    it(`drops ${type} from a connection whose epoch is stale, never granted, or revoked, and passes it from the holder`, () => {
      const control = controlAt(3, 'conn-b');
      const message = SAMPLES[type];
      for (const granted of [2, undefined, 4]) {
        assert.deepEqual(gateInput(granted, control, message), {
          allow: false, rule: 'control-epoch', reason: 'Someone else has control of this desktop: your input is not sent to the beamline.',
        }, `granted ${String(granted)}`);
      }
      assert.deepEqual(gateInput(3, control, message), { allow: true });
    });
  }

  for (const type of PROTOCOL) {
    it(`always passes ${type}, which only keeps the viewer's own picture flowing`, () => {
      assert.deepEqual(gateInput(undefined, controlAt(7, 'conn-a'), SAMPLES[type]), { allow: true });
      assert.deepEqual(gateInput(1, controlAt(7, undefined), SAMPLES[type]), { allow: true });
    });
  }

  it('does not let xvp through for a connection without control (decideInput refuses it for everyone)', () => {
    assert.equal(gateInput(undefined, controlAt(1, 'x'), SAMPLES.Xvp).allow, false);
  });

  it('lets nobody\'s input through while control is free or locked, even with the current epoch', () => {
    const control = controlAt(5, 'conn-a');
    control.advance(5, undefined);
    assert.equal(holdsControl(5, control), false);
    assert.equal(gateInput(5, control, SAMPLES.KeyEvent).allow, false);
  });

  it('property: input passes exactly when the granted epoch is the current one and someone holds it', () => {
    fc.assert(fc.property(
      fc.option(fc.nat(5), { nil: undefined }), fc.nat(5), fc.option(fc.constantFrom('a', 'b'), { nil: undefined }), fc.constantFrom(...INPUT),
      (granted, current, holder, type) => {
        const control = new ControlEpoch();
        control.current = current;
        control.holder = holder;
        assert.equal(gateInput(granted, control, SAMPLES[type]).allow, granted === current && holder !== undefined);
      },
    ));
  });
});

describe('ControlEpoch', () => {
  it('starts at epoch 0 with nobody holding control', () => {
    const control = new ControlEpoch();
    assert.deepEqual([control.current, control.holder], [0, undefined]);
    assert.equal(holdsControl(0, control), false);
  });

  it('moves forward with each grant, and may keep the epoch when control becomes free', () => {
    const control = new ControlEpoch();
    control.advance(1, 'conn-a');
    control.advance(2, 'conn-b');
    assert.equal(holdsControl(1, control), false, 'the old holder is cut off');
    assert.equal(holdsControl(2, control), true);
    control.advance(2, undefined);
    assert.deepEqual([control.current, control.holder], [2, undefined]);
  });

  it('refuses to go back, a new holder without a new epoch, and non-integers, naming what was expected', () => {
    const control = controlAt(4, 'conn-a');
    assert.throws(() => {
      control.advance(3, 'conn-b');
    }, { name: 'RangeError', message: /must not go back: it is 4, got 3; apply the arbiter's holder-changed effects in order/ });
    assert.throws(() => {
      control.advance(4, 'conn-b');
    }, { name: 'RangeError', message: /moved to conn-b without a new epoch \(still 4\): every grant must bump the epoch/ });
    assert.throws(() => {
      control.advance(4.5, 'conn-b');
    }, RangeError);
    assert.deepEqual([control.current, control.holder], [4, 'conn-a'], 'a refused change changes nothing');
    control.advance(4, 'conn-a');
    assert.deepEqual([control.current, control.holder], [4, 'conn-a'], 'repeating the current state is allowed');
  });
});
