// X11 keysym helpers for the demo panel: which keysyms type a character and how to name
// a keysym in the status line. Pure: no I/O.

export const XK_BACKSPACE = 0xff08;
export const XK_TAB = 0xff09;
export const XK_RETURN = 0xff0d;
export const XK_ESCAPE = 0xff1b;
export const XK_KP_ENTER = 0xff8d;
/** Shift+Tab on most X keyboards; treated like Tab. */
export const XK_ISO_LEFT_TAB = 0xfe20;

const NAMES: ReadonlyMap<number, string> = new Map([
  [0x20, 'space'],
  [XK_BACKSPACE, 'BackSpace'],
  [XK_TAB, 'Tab'],
  [XK_RETURN, 'Return'],
  [XK_ESCAPE, 'Escape'],
  [XK_KP_ENTER, 'KP_Enter'],
  [XK_ISO_LEFT_TAB, 'ISO_Left_Tab'],
  [0xff50, 'Home'],
  [0xff51, 'Left'],
  [0xff52, 'Up'],
  [0xff53, 'Right'],
  [0xff54, 'Down'],
  [0xff57, 'End'],
  [0xffff, 'Delete'],
  [0xffe1, 'Shift_L'],
  [0xffe2, 'Shift_R'],
  [0xffe3, 'Control_L'],
  [0xffe4, 'Control_R'],
  [0xffe9, 'Alt_L'],
  [0xffea, 'Alt_R'],
  [0xffeb, 'Super_L'],
  [0xffec, 'Super_R'],
]);

/** Latin-1 keysyms equal their code point; these are the ones that type a visible character. */
export function keysymToChar(keysym: number): string | null {
  const printable = (keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff);
  return printable ? String.fromCharCode(keysym) : null;
}

/** Whether a pasted or typed character may enter the sample-name field. */
export function isTypeableChar(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return char.length === 1 && keysymToChar(code) !== null;
}

function hex(keysym: number): string {
  return `0x${(keysym >>> 0).toString(16).padStart(2, '0')}`;
}

/** e.g. "a (0x61)", "Return (0xff0d)", "keysym 0x1008ff13". */
export function describeKeysym(keysym: number): string {
  const name = NAMES.get(keysym) ?? keysymToChar(keysym);
  return name === null ? `keysym ${hex(keysym)}` : `${name} (${hex(keysym)})`;
}
