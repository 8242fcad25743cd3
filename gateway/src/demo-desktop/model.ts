// The demo beamline panel's state and how input and time change it: a pure reducer over
// plain readonly data. Pure: no I/O, no timers, no clock; time arrives in 'tick' events.
// Rendering and dirty regions live in widgets.ts; this module only knows geometry for
// hit-testing.

import { DEFAULT_HEIGHT, DEFAULT_WIDTH, LOG_LINES, panelLayout, type PanelLayout } from './layout.js';
import { codePoints } from './font.js';
import { rectContainsPoint } from './rect.js';
import {
  describeKeysym, isTypeableChar, keysymToChar,
  XK_BACKSPACE, XK_ESCAPE, XK_ISO_LEFT_TAB, XK_KP_ENTER, XK_RETURN, XK_TAB,
} from './keysyms.js';

export const MOTOR_MIN_MM = 0;
export const MOTOR_MAX_MM = 25;
export const MOTOR_START_MM = 12.5;
export const MOTOR_SPEED_MM_PER_S = 2;
export const JOG_STEP_MM = 1;
export const SAMPLE_MAX_LENGTH = 32;

export const BUTTON_NAMES = ['openShutter', 'closeShutter', 'jogMinus', 'jogPlus', 'resetInterlock'] as const;
export type ButtonName = (typeof BUTTON_NAMES)[number];

export interface LogEntry {
  /** Increases by one per entry, so a repeated message is still visibly new. */
  readonly seq: number;
  readonly text: string;
}

export interface PanelState {
  readonly width: number;
  readonly height: number;
  readonly shutter: 'open' | 'closed';
  readonly motor: {
    readonly position: number;
    readonly target: number;
    /** Time of the previous tick while moving; null when idle or before the first tick of a move. */
    readonly lastTickMs: number | null;
  };
  readonly interlock: 'ok' | 'tripped';
  /** How many times "Reset interlock" was clicked (whether or not it was tripped). */
  readonly interlockResets: number;
  readonly sample: { readonly text: string; readonly focused: boolean };
  /** Oldest first, at most LOG_LINES entries. */
  readonly log: readonly LogEntry[];
  readonly pointer: { readonly x: number; readonly y: number };
  /** RFB button mask as last received (bit 0 = left button). */
  readonly buttonMask: number;
  /** The button under the pointer when button 1 went down; it acts if released over the same button. */
  readonly pressed: ButtonName | null;
  /** Human-readable description of the last input, for the status line. */
  readonly lastInput: string;
}

export type PanelEvent =
  | { kind: 'pointer'; x: number; y: number; buttonMask: number }
  | { kind: 'key'; down: boolean; keysym: number }
  | { kind: 'paste'; text: string }
  | { kind: 'tick'; nowMs: number };

export function initialPanelState(width = DEFAULT_WIDTH, height = DEFAULT_HEIGHT): PanelState {
  panelLayout(width, height); // validates the size once, so the reducer can rely on it
  return {
    width,
    height,
    shutter: 'closed',
    motor: { position: MOTOR_START_MM, target: MOTOR_START_MM, lastTickMs: null },
    interlock: 'ok',
    interlockResets: 0,
    sample: { text: '', focused: false },
    log: [{ seq: 1, text: 'panel started' }],
    pointer: { x: 0, y: 0 },
    buttonMask: 0,
    pressed: null,
    lastInput: 'no input yet',
  };
}

// Targets are kept to the micrometre so repeated jogs never drift to 12.499999.
function roundMm(mm: number): number {
  return Math.round(mm * 1000) / 1000;
}

export function formatMm(mm: number): string {
  return mm.toFixed(3);
}

function addLog(state: PanelState, text: string): PanelState {
  const seq = (state.log.at(-1)?.seq ?? 0) + 1;
  return { ...state, log: [...state.log, { seq, text }].slice(-LOG_LINES) };
}

function jog(state: PanelState, direction: 1 | -1): PanelState {
  if (state.interlock === 'tripped') return addLog(state, 'jog refused: interlock tripped');
  const target = roundMm(state.motor.target + direction * JOG_STEP_MM);
  if (target < MOTOR_MIN_MM || target > MOTOR_MAX_MM) {
    // A simulated limit switch: stop where the motor is and drop the beam, like real hardware.
    const stopped = { ...state.motor, target: state.motor.position, lastTickMs: null };
    return addLog({ ...state, motor: stopped, interlock: 'tripped', shutter: 'closed' },
      'limit switch: interlock tripped');
  }
  const label = `jog ${direction > 0 ? '+' : '-'}${JOG_STEP_MM} mm`;
  return addLog({ ...state, motor: { ...state.motor, target } }, `${label} (target ${formatMm(target)})`);
}

function activate(state: PanelState, button: ButtonName): PanelState {
  switch (button) {
    case 'openShutter':
      if (state.interlock === 'tripped') return addLog(state, 'open refused: interlock tripped');
      return state.shutter === 'open'
        ? addLog(state, 'shutter already open')
        : addLog({ ...state, shutter: 'open' }, 'shutter opened');
    case 'closeShutter':
      return state.shutter === 'closed'
        ? addLog(state, 'shutter already closed')
        : addLog({ ...state, shutter: 'closed' }, 'shutter closed');
    case 'jogMinus':
      return jog(state, -1);
    case 'jogPlus':
      return jog(state, 1);
    case 'resetInterlock': {
      const resets = state.interlockResets + 1;
      const note = state.interlock === 'ok' ? ', was ok' : '';
      return addLog({ ...state, interlock: 'ok', interlockResets: resets }, `interlock reset (#${resets}${note})`);
    }
  }
}

function buttonAt(layout: PanelLayout, x: number, y: number): ButtonName | null {
  return BUTTON_NAMES.find(name => rectContainsPoint(layout[name], x, y)) ?? null;
}

function describePress(bit: number, x: number, y: number): string {
  if (bit === 0) return `last click: ${x},${y}`;
  if (bit === 3 || bit === 4) return `last scroll: ${bit === 3 ? 'up' : 'down'} at ${x},${y}`;
  return `last click: ${x},${y} (button ${bit + 1})`;
}

function onPointer(state: PanelState, x: number, y: number, rawMask: number): PanelState {
  const mask = rawMask & 0xff;
  const layout = panelLayout(state.width, state.height);
  const pressedBits = mask & ~state.buttonMask;
  let next: PanelState = { ...state, pointer: { x, y }, buttonMask: mask };
  for (let bit = 0; bit < 8; bit++) {
    if ((pressedBits & (1 << bit)) !== 0) next = { ...next, lastInput: describePress(bit, x, y) };
  }
  if ((pressedBits & 1) !== 0) {
    const focused = rectContainsPoint(layout.sampleField, x, y);
    next = { ...next, pressed: buttonAt(layout, x, y), sample: { ...next.sample, focused } };
  }
  const released = (state.buttonMask & 1) !== 0 && (mask & 1) === 0;
  if (released && next.pressed !== null) {
    const button = next.pressed;
    next = { ...next, pressed: null };
    if (rectContainsPoint(layout[button], x, y)) next = activate(next, button);
  }
  return next;
}

function appendToSample(state: PanelState, chars: string): PanelState {
  const typed = codePoints(chars).filter(isTypeableChar).join('');
  const text = (state.sample.text + typed).slice(0, SAMPLE_MAX_LENGTH);
  return { ...state, sample: { ...state.sample, text } };
}

function onKeyDown(state: PanelState, keysym: number): PanelState {
  const next = { ...state, lastInput: `last key: ${describeKeysym(keysym)}` };
  const { focused, text } = next.sample;
  if (keysym === XK_TAB || keysym === XK_ISO_LEFT_TAB) return { ...next, sample: { text, focused: !focused } };
  if (!focused) return next;
  if (keysym === XK_ESCAPE) return { ...next, sample: { text, focused: false } };
  if (keysym === XK_BACKSPACE) return { ...next, sample: { text: text.slice(0, -1), focused } };
  if (keysym === XK_RETURN || keysym === XK_KP_ENTER) {
    return addLog(next, text === '' ? 'sample name is empty' : `sample: ${text}`);
  }
  const char = keysymToChar(keysym);
  return char === null ? next : appendToSample(next, char);
}

function onTick(state: PanelState, nowMs: number): PanelState {
  const { position, target, lastTickMs } = state.motor;
  if (position === target) return state;
  if (!Number.isFinite(nowMs)) return state;
  // The first tick of a move only starts the clock: the reducer never reads the time itself.
  if (lastTickMs === null) return { ...state, motor: { ...state.motor, lastTickMs: nowMs } };
  const step = (MOTOR_SPEED_MM_PER_S * Math.max(0, nowMs - lastTickMs)) / 1000;
  if (Math.abs(target - position) <= step) {
    return addLog({ ...state, motor: { position: target, target, lastTickMs: null } }, `motor X at ${formatMm(target)} mm`);
  }
  // Not rounded: ticks may be frequent enough that a rounded step would never move.
  const moved = position + Math.sign(target - position) * step;
  return { ...state, motor: { position: moved, target, lastTickMs: nowMs } };
}

/** The next state for one event; returns `state` itself when the event changes nothing. */
export function applyEvent(state: PanelState, event: PanelEvent): PanelState {
  switch (event.kind) {
    case 'pointer':
      return onPointer(state, event.x, event.y, event.buttonMask);
    case 'key':
      return event.down ? onKeyDown(state, event.keysym) : state;
    case 'paste': {
      const next = { ...state, lastInput: `last paste: ${codePoints(event.text).length} chars` };
      return next.sample.focused ? appendToSample(next, event.text) : next;
    }
    case 'tick':
      return onTick(state, event.nowMs);
  }
}
