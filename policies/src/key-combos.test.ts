import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyComboError, MOD, keyNames, modifierOfKeycode, modifierOfKeysym, parseCombo, resolveKey } from './key-combos.js';

describe('parseCombo', () => {
  const table: [string, number, number[], number[]][] = [
    // text, modifiers, some keysyms of the key, its QEMU key codes
    ['Ctrl+Alt+F1', MOD.Ctrl | MOD.Alt, [0xffbe], [0x3b]],
    ['Alt+Ctrl+F11', MOD.Ctrl | MOD.Alt, [0xffc8], [0x57]],
    ['Control+Alt+Delete', MOD.Ctrl | MOD.Alt, [0xffff, 0xff9f], [0xd3, 0x53]],
    ['Ctrl+Alt+BackSpace', MOD.Ctrl | MOD.Alt, [0xff08], [0x0e]],
    ['Ctrl+Alt+T', MOD.Ctrl | MOD.Alt, [0x74, 0x54], [0x14]],
    ['Ctrl+Alt+t', MOD.Ctrl | MOD.Alt, [0x74, 0x54], [0x14]],
    ['Meta+F2', MOD.Alt, [0xffbf], [0x3c]],
    ['Super', 0, [0xffeb, 0xffec, 0xffed, 0xffee], [0xdb, 0xdc]],
    ['Win+L', MOD.Super, [0x6c, 0x4c], [0x26]],
    ['AltGr+e', MOD.AltGr, [0x65], [0x12]],
    ['Ctrl+plus', MOD.Ctrl, [0x2b], []],
    ['Ctrl+0x1008fe01', MOD.Ctrl, [0x1008fe01], []],
    ['Ctrl+€', MOD.Ctrl, [0x010020ac], []],
    ['XF86Switch_VT_12', 0, [0x1008fe0c], []],
  ];
  for (const [text, modifiers, keysyms, keycodes] of table) {
    it(text, () => {
      const combo = parseCombo(text);
      assert.equal(combo.modifiers, modifiers);
      for (const k of keysyms) assert.ok(combo.key.keysyms.includes(k), `keysym 0x${k.toString(16)}`);
      assert.deepEqual([...combo.key.keycodes].sort(), [...keycodes].sort());
    });
  }

  it('a combination of modifiers only can be completed by any of them', () => {
    const combo = parseCombo('Shift+Alt');
    assert.deepEqual(combo.alternatives.map(a => a.modifiers).sort(), [MOD.Alt, MOD.Shift].sort());
  });

  const bad: [string, RegExp][] = [
    ['Ctrl+Alt+', /empty part/],
    ['Ctrl+Q+T', /"Q" is not a modifier/],
    ['Ctrl+Ctrl+T', /appears twice/],
    ['Ctrl+Alt+F13', /unknown key "F13"/],
    ['Hyperspace', /unknown key/],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${text}`, () => {
      assert.throws(() => parseCombo(text), (e: unknown) => e instanceof KeyComboError && message.test(e.message));
    });
  }
});

describe('modifier tables', () => {
  it('keysyms of every modifier group; AltGr is not Alt; Meta is Alt', () => {
    assert.equal(modifierOfKeysym(0xffe3), MOD.Ctrl);
    assert.equal(modifierOfKeysym(0xffea), MOD.Alt);
    assert.equal(modifierOfKeysym(0xffe7), MOD.Alt);
    assert.equal(modifierOfKeysym(0xffee), MOD.Super);
    assert.equal(modifierOfKeysym(0xfe03), MOD.AltGr);
    assert.equal(modifierOfKeysym(0x61), 0);
  });
  it('QEMU key codes; the right Alt key is AltGr unless the policy says it is Alt too', () => {
    assert.equal(modifierOfKeycode(0x1d, false), MOD.Ctrl);
    assert.equal(modifierOfKeycode(0x9d, false), MOD.Ctrl);
    assert.equal(modifierOfKeycode(0x38, false), MOD.Alt);
    assert.equal(modifierOfKeycode(0xdb, false), MOD.Super);
    assert.equal(modifierOfKeycode(0xb8, false), MOD.AltGr);
    assert.equal(modifierOfKeycode(0xb8, true), MOD.AltGr | MOD.Alt);
    assert.equal(modifierOfKeycode(0x14, true), 0);
  });
  it('every listed name resolves', () => {
    for (const name of keyNames()) assert.ok(resolveKey(name).keysyms.length > 0, name);
  });
});
