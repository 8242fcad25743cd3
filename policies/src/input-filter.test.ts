import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { C2SMessage } from '../../gateway/src/rfb/c2s-messages.js';
import { RGB888_LE } from '../../gateway/src/rfb/pixel-format.js';
import { decideInput } from './input-filter.js';

const examples: Record<C2SMessage['type'], C2SMessage> = {
  SetPixelFormat: { type: 'SetPixelFormat', pixelFormat: RGB888_LE },
  SetEncodings: { type: 'SetEncodings', encodings: [0] },
  FramebufferUpdateRequest: { type: 'FramebufferUpdateRequest', incremental: true, x: 0, y: 0, width: 1, height: 1 },
  EnableContinuousUpdates: { type: 'EnableContinuousUpdates', enable: true, x: 0, y: 0, width: 1, height: 1 },
  ClientFence: { type: 'ClientFence', flags: 0, payload: new Uint8Array() },
  KeyEvent: { type: 'KeyEvent', down: true, keysym: 0x61 },
  QemuExtendedKeyEvent: { type: 'QemuExtendedKeyEvent', down: true, keysym: 0x61, keycode: 0x1e },
  PointerEvent: { type: 'PointerEvent', buttonMask: 1, x: 1, y: 1 },
  ClientCutText: { type: 'ClientCutText', extended: true, data: new Uint8Array([0, 0, 0, 1]) },
  SetDesktopSize: { type: 'SetDesktopSize', width: 800, height: 600, screens: [] },
  Xvp: { type: 'Xvp', version: 1, code: 2 },
};

describe('decideInput', () => {
  const table: [C2SMessage['type'], boolean, boolean][] = [
    // type, allowed for a view-only viewer, allowed for an interactive viewer
    ['SetPixelFormat', true, true],
    ['SetEncodings', true, true],
    ['FramebufferUpdateRequest', true, true],
    ['EnableContinuousUpdates', true, true],
    ['ClientFence', true, true], // fence answers must flow or TigerVNC stalls the viewer's stream
    ['KeyEvent', false, true],
    ['QemuExtendedKeyEvent', false, true], // most noVNC keys arrive as this, not KeyEvent
    ['PointerEvent', false, true],
    ['ClientCutText', false, true], // also the extended-clipboard caps noVNC sends while view-only
    ['SetDesktopSize', false, true],
    ['Xvp', false, false],
  ];
  for (const [type, viewer, driver] of table) {
    it(`${type}: view-only ${viewer ? 'passes' : 'dropped'}, interactive ${driver ? 'passes' : 'dropped'}`, () => {
      assert.equal(decideInput({ viewOnly: true }, examples[type]).allow, viewer);
      assert.equal(decideInput({ viewOnly: false }, examples[type]).allow, driver);
    });
  }

  it('names the rule and a reason for every denial', () => {
    const d = decideInput({ viewOnly: true }, examples.KeyEvent);
    assert.deepEqual(d, { allow: false, rule: 'view-only', reason: 'You are watching: input is not sent to the beamline.' });
  });

  it('denies a message type it does not know (deny by absence)', () => {
    const forged = { type: 'Gii' } as unknown as C2SMessage;
    assert.deepEqual(decideInput({ viewOnly: false }, forged), { allow: false, rule: 'unknown-message', reason: 'This kind of input is not allowed.' });
  });
});
