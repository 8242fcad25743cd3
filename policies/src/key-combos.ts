// Key names, their X keysyms and QEMU key codes, and the parsing of combinations such as
// "Ctrl+Alt+F1". A key arrives at the gateway either as a KeyEvent (keysym only) or as a QEMU
// extended key event (keysym AND an XT key code, E0-prefixed keys as 0x80 | code, the way noVNC
// encodes them). TigerVNC acts on the keysym by default and on the key code with -RawKeyboard, so
// the filter judges a key by both: a name here stands for every keysym and every code that can
// produce it (docs/input-policy.md, "Keys").
// Pure: tables and string parsing, no I/O.

/** One modifier group as a bit; a combination needs all its bits held. */
export const MOD = {
  Ctrl: 1,
  Alt: 2,
  Shift: 4,
  Super: 8,
  /** AltGr (ISO_Level3_Shift, Mode_switch): a group of its own, so AltGr characters are never "Ctrl+Alt". */
  AltGr: 16,
} as const;
export type ModifierName = keyof typeof MOD;

/** What a name stands for: the keysyms and QEMU key codes that produce the key. */
export interface KeyDefinition {
  readonly keysyms: readonly number[];
  readonly keycodes: readonly number[];
  /** Set when the key is itself a modifier (pressing it changes the held modifier groups). */
  readonly modifier?: ModifierName;
}

// Keysyms from X11 keysymdef.h / XF86keysym.h; XT codes from noVNC's xtscancodes (E0 xx as 0x80 | xx).
const KEYS: Record<string, KeyDefinition> = {
  Control_L: { keysyms: [0xffe3], keycodes: [0x1d], modifier: 'Ctrl' },
  Control_R: { keysyms: [0xffe4], keycodes: [0x9d], modifier: 'Ctrl' },
  Shift_L: { keysyms: [0xffe1], keycodes: [0x2a], modifier: 'Shift' },
  Shift_R: { keysyms: [0xffe2], keycodes: [0x36], modifier: 'Shift' },
  Alt_L: { keysyms: [0xffe9], keycodes: [0x38], modifier: 'Alt' },
  // 0xb8 (the right Alt key) is not listed here: it is AltGr on most layouts; see modifierOfKeycode.
  Alt_R: { keysyms: [0xffea], keycodes: [], modifier: 'Alt' },
  // Xvnc types Meta_L as Shift + Alt (notes section 11), and PC keymaps put Meta on the Alt keys.
  Meta_L: { keysyms: [0xffe7], keycodes: [], modifier: 'Alt' },
  Meta_R: { keysyms: [0xffe8], keycodes: [], modifier: 'Alt' },
  Super_L: { keysyms: [0xffeb], keycodes: [0xdb], modifier: 'Super' },
  Super_R: { keysyms: [0xffec], keycodes: [0xdc], modifier: 'Super' },
  Hyper_L: { keysyms: [0xffed], keycodes: [], modifier: 'Super' },
  Hyper_R: { keysyms: [0xffee], keycodes: [], modifier: 'Super' },
  ISO_Level3_Shift: { keysyms: [0xfe03], keycodes: [0xb8], modifier: 'AltGr' },
  Mode_switch: { keysyms: [0xff7e], keycodes: [], modifier: 'AltGr' },
  BackSpace: { keysyms: [0xff08], keycodes: [0x0e] },
  Tab: { keysyms: [0xff09, 0xfe20], keycodes: [0x0f] }, // 0xfe20 ISO_Left_Tab (Shift+Tab)
  Return: { keysyms: [0xff0d, 0xff8d], keycodes: [0x1c, 0x9c] }, // with KP_Enter
  Escape: { keysyms: [0xff1b], keycodes: [0x01] },
  space: { keysyms: [0x20], keycodes: [0x39] },
  // KP_Delete too: Ctrl+Alt+numpad Del is Ctrl+Alt+Delete to most systems.
  Delete: { keysyms: [0xffff, 0xff9f], keycodes: [0xd3, 0x53] },
  Insert: { keysyms: [0xff63, 0xff9e], keycodes: [0xd2, 0x52] },
  Home: { keysyms: [0xff50], keycodes: [0xc7] },
  End: { keysyms: [0xff57], keycodes: [0xcf] },
  Print: { keysyms: [0xff61, 0xff15], keycodes: [0xb7, 0x54] }, // with Sys_Req (Alt+Print)
  Pause: { keysyms: [0xff13, 0xff6b], keycodes: [0xc6] }, // with Break
  Menu: { keysyms: [0xff67], keycodes: [0xdd] },
  Terminate_Server: { keysyms: [0xfed5], keycodes: [] },
  XF86Ungrab: { keysyms: [0x1008fe20], keycodes: [] },
  XF86ClearGrab: { keysyms: [0x1008fe21], keycodes: [] },
};

const F_KEYCODES = [0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x57, 0x58];
for (let n = 1; n <= 12; n++) {
  KEYS[`F${n}`] = { keysyms: [0xffbe + n - 1], keycodes: [F_KEYCODES[n - 1] ?? 0] };
  // What Ctrl+Alt+Fn produces on an evdev keymap; a client may send it directly.
  KEYS[`XF86Switch_VT_${n}`] = { keysyms: [0x1008fe00 + n], keycodes: [] };
}

// XT codes of the US letter and digit rows: judged by position, whatever the layout types there.
const LETTER_ROWS: readonly (readonly [string, number])[] = [['qwertyuiop', 0x10], ['asdfghjkl', 0x1e], ['zxcvbnm', 0x2c]];
for (const [row, first] of LETTER_ROWS) {
  for (let i = 0; i < row.length; i++) {
    const lower = row.charCodeAt(i);
    KEYS[String.fromCharCode(lower - 0x20)] = { keysyms: [lower, lower - 0x20], keycodes: [first + i] };
  }
}
for (let d = 0; d <= 9; d++) KEYS[String(d)] = { keysyms: [0x30 + d], keycodes: [d === 0 ? 0x0b : 0x01 + d] };

/** Names that stand for several keys: a rule on "Super" denies both Super keys and the Hyper keys. */
const GROUPS: Record<string, readonly string[]> = {
  Ctrl: ['Control_L', 'Control_R'],
  Control: ['Control_L', 'Control_R'],
  Alt: ['Alt_L', 'Alt_R', 'Meta_L', 'Meta_R'],
  Meta: ['Alt_L', 'Alt_R', 'Meta_L', 'Meta_R'],
  Shift: ['Shift_L', 'Shift_R'],
  Super: ['Super_L', 'Super_R', 'Hyper_L', 'Hyper_R'],
  Win: ['Super_L', 'Super_R', 'Hyper_L', 'Hyper_R'],
  Hyper: ['Super_L', 'Super_R', 'Hyper_L', 'Hyper_R'],
  AltGr: ['ISO_Level3_Shift', 'Mode_switch'],
  Del: ['Delete'],
  Esc: ['Escape'],
  Enter: ['Return'],
  Space: ['space'],
};

/** Modifier words in a combination; the group each one requires. */
const MODIFIER_WORDS: Record<string, ModifierName> = {
  Ctrl: 'Ctrl', Control: 'Ctrl', Alt: 'Alt', Meta: 'Alt', Shift: 'Shift', Super: 'Super', Win: 'Super', Hyper: 'Super', AltGr: 'AltGr',
};

const MODIFIER_BY_KEYSYM = new Map<number, number>();
const MODIFIER_BY_KEYCODE = new Map<number, number>();
for (const def of Object.values(KEYS)) {
  if (def.modifier === undefined) continue;
  for (const keysym of def.keysyms) MODIFIER_BY_KEYSYM.set(keysym, MOD[def.modifier]);
  for (const keycode of def.keycodes) MODIFIER_BY_KEYCODE.set(keycode, MOD[def.modifier]);
}
const RIGHT_ALT_KEYCODE = 0xb8;

/** The modifier group a keysym belongs to (0 for none). */
export function modifierOfKeysym(keysym: number): number {
  return MODIFIER_BY_KEYSYM.get(keysym) ?? 0;
}

/**
 * The modifier group a QEMU key code belongs to (0 for none). The right Alt key (0xb8) is AltGr
 * unless `altGrIsAlt` (a server with -RawKeyboard and a keymap whose right Alt is Alt).
 */
export function modifierOfKeycode(keycode: number, altGrIsAlt: boolean): number {
  if (keycode === RIGHT_ALT_KEYCODE) return altGrIsAlt ? MOD.Alt | MOD.AltGr : MOD.AltGr;
  return MODIFIER_BY_KEYCODE.get(keycode) ?? 0;
}

/** Every key name the policy format accepts (besides single characters and 0x keysyms), for docs and errors. */
export function keyNames(): string[] {
  return [...Object.keys(KEYS), ...Object.keys(GROUPS)];
}

/** One parsed combination: the modifier groups it needs and the key that completes it. */
export interface KeyCombo {
  /** As written in the policy, for messages. */
  readonly text: string;
  /** Bits of MOD that must all be held. */
  readonly modifiers: number;
  /** The completing key (for a combination of modifiers only, see `alternatives`). */
  readonly key: KeyDefinition;
  /**
   * The same combination completed by each of its keys in turn. A combination of modifiers
   * only ("Shift+Alt") is complete whichever is pressed last, so each order is one alternative.
   */
  readonly alternatives: readonly { readonly modifiers: number; readonly key: KeyDefinition }[];
}

export class KeyComboError extends Error {
  override readonly name: string = 'KeyComboError';
}

/** A key name, a group, a single printable character, or a keysym written as 0x.... */
export function resolveKey(name: string): KeyDefinition {
  const group = GROUPS[name];
  if (group !== undefined) return merge(group.map(member => resolveKey(member)));
  const def = KEYS[name] ?? KEYS[name.toUpperCase()];
  if (def !== undefined) return def;
  if (/^0x[0-9a-fA-F]{1,8}$/.test(name)) return { keysyms: [Number.parseInt(name, 16)], keycodes: [] };
  const code = name.codePointAt(0);
  // One code point (a single character outside the BMP is two UTF-16 units).
  if (code !== undefined && name.length === (code > 0xffff ? 2 : 1) && code >= 0x20) {
    // Latin-1 keysyms equal their code point; the rest of Unicode is 0x01000000 + code point.
    return { keysyms: [code <= 0xff ? code : 0x01000000 + code], keycodes: [] };
  }
  throw new KeyComboError(`unknown key "${name}": use a key name such as F1, Delete, BackSpace, T, a single character, or a keysym as 0xNNNN`);
}

/** Parses "Ctrl+Alt+F1" (any order of modifiers, case as written; "+" itself is "plus"). */
export function parseCombo(text: string): KeyCombo {
  const parts = text.split('+').map(p => p.trim());
  if (parts.some(p => p === '')) throw new KeyComboError(`"${text}": empty part; write keys joined by +, e.g. Ctrl+Alt+F1 (the key + is "plus")`);
  const last = parts[parts.length - 1] ?? '';
  const modifierParts = parts.slice(0, -1);
  let modifiers = 0;
  for (const part of modifierParts) {
    const bit = MODIFIER_WORDS[part];
    if (bit === undefined) throw new KeyComboError(`"${text}": "${part}" is not a modifier (Ctrl, Alt, Shift, Super, Meta, Hyper, AltGr); only the last key may be another key`);
    if ((modifiers & MOD[bit]) !== 0) throw new KeyComboError(`"${text}": "${part}" appears twice`);
    modifiers |= MOD[bit];
  }
  const key = resolveKey(last === 'plus' ? '+' : last);
  const lastModifier = MODIFIER_WORDS[last];
  const alternatives: { modifiers: number; key: KeyDefinition }[] = [{ modifiers, key }];
  if (lastModifier !== undefined && modifierParts.length > 0) {
    // Every modifier of the set may be the one pressed last.
    for (const part of modifierParts) {
      const bit = MOD[MODIFIER_WORDS[part] ?? 'Ctrl'];
      alternatives.push({ modifiers: (modifiers & ~bit) | MOD[lastModifier], key: resolveKey(part) });
    }
  }
  return { text, modifiers, key, alternatives };
}

function merge(defs: readonly KeyDefinition[]): KeyDefinition {
  const keysyms = [...new Set(defs.flatMap(d => d.keysyms))];
  const keycodes = [...new Set(defs.flatMap(d => d.keycodes))];
  const modifier = defs[0]?.modifier;
  return modifier === undefined || defs.some(d => d.modifier !== modifier) ? { keysyms, keycodes } : { keysyms, keycodes, modifier };
}
