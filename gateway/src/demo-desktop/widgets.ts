// Rendering of the demo panel and its dirty regions. Each widget shows a small "view"
// derived from the state and draws only from that view, clipped to its own rectangle; so
// a widget whose view is unchanged has unchanged pixels, and the dirty regions of a state
// change are exactly the rectangles of widgets whose view changed.
// Pure: draws into the framebuffer it is given; no I/O, no clock.

import type { Canvas, Framebuffer } from './framebuffer.js';
import { CAP_HEIGHT, codePoints, drawText, fitScale, textWidth } from './font.js';
import { button, ellipsize, groupBox, hazardStripes, textIn } from './draw.js';
import {
  INTERLOCK_PLATE_WIDTH, logScaleFor, panelLayout, type PanelLayout, type WidgetName,
} from './layout.js';
import { BUTTON_NAMES, formatMm, MOTOR_MAX_MM, MOTOR_MIN_MM, type ButtonName, type PanelState } from './model.js';
import { intersectRects, rectContainsPoint, type Rect } from './rect.js';
import { COLOURS } from './theme.js';

export const PANEL_TITLE = 'BL-DEMO beamline control (simulated)';

export const BUTTON_LABELS: Readonly<Record<ButtonName, string>> = {
  openShutter: 'Open shutter',
  closeShutter: 'Close shutter',
  jogMinus: 'Jog -1 mm',
  jogPlus: 'Jog +1 mm',
  resetInterlock: 'Reset interlock',
};

const HELP_LINES = [
  'Simulated beamline, no hardware.',
  'Buttons act on mouse release.',
  'Jog past 0..25 mm trips interlock.',
  'Tab or click focuses sample name;',
  'Return adds the name to the log.',
  'Esc leaves the field.',
];

interface Widget {
  readonly name: WidgetName;
  /** Equal keys promise equal pixels inside the widget's rectangle. */
  key(state: PanelState, layout: PanelLayout): string;
  render(canvas: Canvas, state: PanelState, layout: PanelLayout): void;
}

function widget<V>(
  name: WidgetName,
  view: (state: PanelState, layout: PanelLayout) => V,
  draw: (c: Canvas, r: Rect, view: V, layout: PanelLayout) => void,
): Widget {
  return {
    name,
    key: (state, layout) => JSON.stringify(view(state, layout)),
    render: (canvas, state, layout) => {
      draw(canvas.clip(layout[name]), layout[name], view(state, layout), layout);
    },
  };
}

function staticWidget(name: WidgetName, draw: (c: Canvas, r: Rect, layout: PanelLayout) => void): Widget {
  return widget(name, () => null, (c, r, _view, layout) => {
    draw(c, r, layout);
  });
}

/** One scale for every button label, so the buttons look alike even at 640x480. */
function buttonScale(layout: PanelLayout): number {
  return Math.min(...BUTTON_NAMES.map(n => fitScale(BUTTON_LABELS[n], layout[n].width - 16)));
}

function buttonWidget(name: ButtonName): Widget {
  return widget(
    name,
    (s, l) => s.pressed === name && rectContainsPoint(l[name], s.pointer.x, s.pointer.y),
    (c, r, pressed, layout) => {
      button(c, r, BUTTON_LABELS[name], buttonScale(layout), pressed);
    },
  );
}

function motorX(r: Rect, mm: number): number {
  const t = (mm - MOTOR_MIN_MM) / (MOTOR_MAX_MM - MOTOR_MIN_MM);
  return r.x + 4 + Math.round(Math.min(1, Math.max(0, t)) * (r.width - 8));
}

function drawSampleField(c: Canvas, r: Rect, v: { text: string; focused: boolean }): void {
  c.fillRect(r.x, r.y, r.width, r.height, COLOURS.fieldFill);
  c.strokeRect(r.x, r.y, r.width, r.height, v.focused ? COLOURS.fieldFocus : COLOURS.fieldBorder, v.focused ? 2 : 1);
  const inner = { x: r.x + 8, y: r.y, width: r.width - 20, height: r.height };
  if (v.text === '' && !v.focused) {
    textIn(c, inner, 'click here or press Tab', COLOURS.dimText, 1);
    return;
  }
  // Show the end of a long name, where typing happens, like a one-line text input scrolls.
  const chars = codePoints(v.text);
  const visible = chars.slice(Math.max(0, chars.length - Math.floor((inner.width + 2) / 12))).join('');
  textIn(c, inner, visible, COLOURS.text, 2);
  if (v.focused) c.fillRect(inner.x + textWidth(visible, 2) + 3, r.y + 6, 2, r.height - 12, COLOURS.caret);
}

function drawLog(c: Canvas, r: Rect, entries: readonly { seq: number; text: string }[]): void {
  c.fillRect(r.x, r.y, r.width, r.height, COLOURS.logFill);
  c.strokeRect(r.x, r.y, r.width, r.height, COLOURS.groupBorder);
  const scale = logScaleFor(r.width);
  const seqW = textWidth('000 ', scale) + scale;
  entries.forEach((entry, i) => {
    const y = r.y + 5 + i * 10 * scale;
    const seq = String(entry.seq % 1000).padStart(3, ' ');
    drawText(c, r.x + 6, y, seq, COLOURS.dimText, scale);
    const colour = i === entries.length - 1 ? COLOURS.logNewest : COLOURS.dimText;
    drawText(c, r.x + 6 + seqW, y, ellipsize(entry.text, r.width - 12 - seqW, scale), colour, scale);
  });
}

function drawHelp(c: Canvas, r: Rect): void {
  const scale = HELP_LINES.every(l => textWidth(l, 2) <= r.width) ? 2 : 1;
  HELP_LINES.forEach((line, i) => {
    const y = r.y + 2 + i * 11 * scale;
    if (y + CAP_HEIGHT * scale <= r.y + r.height) drawText(c, r.x, y, line, COLOURS.dimText, scale);
  });
}

function drawMotorBar(c: Canvas, r: Rect, v: { marker: number; target: number }): void {
  c.fillRect(r.x, r.y, r.width, r.height, COLOURS.motorTrack);
  c.strokeRect(r.x, r.y, r.width, r.height, COLOURS.groupBorder);
  for (let mm = MOTOR_MIN_MM + 5; mm < MOTOR_MAX_MM; mm += 5) {
    c.fillRect(motorX(r, mm), r.y + r.height - 5, 1, 4, COLOURS.groupBorder);
  }
  c.fillRect(v.target - 1, r.y + 1, 2, r.height - 2, COLOURS.motorTarget);
  c.fillRect(v.marker - 3, r.y + 3, 6, r.height - 6, COLOURS.motorMarker);
}

/** Draw order: containers before what they contain. */
const WIDGETS: readonly Widget[] = [
  staticWidget('title', (c, r, l) => {
    c.fillRect(r.x, r.y, r.width, r.height, COLOURS.titleBar);
    c.fillRect(r.x, r.y + r.height - 2, r.width, 2, COLOURS.titleAccent);
    textIn(c, { ...r, height: r.height - 2 }, PANEL_TITLE, COLOURS.titleText, 2, 'left', 16);
    textIn(c, { ...r, height: r.height - 2 }, `${r.width}x${l.statusBar.y + l.statusBar.height}`, COLOURS.groupTitle, 1, 'right', 16);
  }),
  staticWidget('shutterGroup', (c, r, l) => {
    groupBox(c, r, 'SHUTTER');
    const lamp = l.shutterLamp;
    c.strokeRect(lamp.x - 2, lamp.y - 2, lamp.width + 4, lamp.height + 4, COLOURS.lampRim, 2);
  }),
  staticWidget('motorGroup', (c, r, l) => {
    groupBox(c, r, 'MOTOR X (sample stage)');
    const bar = l.motorBar;
    const labels = { x: bar.x, y: bar.y + bar.height + 3, width: bar.width, height: CAP_HEIGHT };
    textIn(c, labels, `${MOTOR_MIN_MM} mm`, COLOURS.dimText, 1, 'left');
    textIn(c, labels, `${MOTOR_MAX_MM} mm`, COLOURS.dimText, 1, 'right');
  }),
  staticWidget('sampleGroup', (c, r) => {
    groupBox(c, r, 'SAMPLE NAME');
  }),
  staticWidget('interlockGroup', (c, r) => {
    groupBox(c, r, 'SAFETY INTERLOCK');
  }),
  staticWidget('interlockArea', (c, r, l) => {
    hazardStripes(c, r);
    const plate = { x: r.x + 10, y: r.y + 16, width: INTERLOCK_PLATE_WIDTH, height: r.height - 32 };
    c.fillRect(plate.x, plate.y, plate.width, plate.height, COLOURS.plate);
    textIn(c, plate, 'INTERLOCK', COLOURS.plateText, fitScale('INTERLOCK', plate.width - 8), 'centre');
    const reset = l.resetInterlock;
    c.strokeRect(reset.x - 2, reset.y - 2, reset.width + 4, reset.height + 4, COLOURS.plate, 2);
  }),
  staticWidget('logGroup', (c, r) => {
    groupBox(c, r, 'EVENT LOG');
  }),
  staticWidget('helpGroup', (c, r) => {
    groupBox(c, r, 'HELP');
  }),
  staticWidget('statusBar', (c, r) => {
    c.fillRect(r.x, r.y, r.width, r.height, COLOURS.statusBar);
    c.fillRect(r.x, r.y, r.width, 1, COLOURS.groupBorder);
  }),

  widget('shutterLamp', s => s.shutter, (c, r, shutter) => {
    c.fillRect(r.x, r.y, r.width, r.height, shutter === 'open' ? COLOURS.lampOpen : COLOURS.lampClosed);
  }),
  widget('shutterState', s => s.shutter, (c, r, shutter) => {
    const open = shutter === 'open';
    textIn(c, r, open ? 'OPEN' : 'CLOSED', open ? COLOURS.lampOpen : COLOURS.lampClosed, fitScale('CLOSED', r.width, 3));
  }),
  buttonWidget('openShutter'),
  buttonWidget('closeShutter'),
  widget('motorReadout', s => formatMm(s.motor.position), (c, r, mm) => {
    textIn(c, r, `Motor X: ${mm} mm`, COLOURS.text, fitScale('Motor X: 25.000 mm', r.width));
  }),
  widget('motorTarget', s => ({ target: formatMm(s.motor.target), moving: s.motor.position !== s.motor.target }),
    (c, r, v) => {
      const scale = fitScale('target 25.000 mm  moving', r.width);
      const label = `target ${v.target} mm  `;
      textIn(c, r, label, COLOURS.dimText, scale);
      const state = { ...r, x: r.x + textWidth(label, scale) + scale };
      textIn(c, state, v.moving ? 'moving' : 'idle', v.moving ? COLOURS.motorTarget : COLOURS.dimText, scale);
    }),
  widget('motorBar', (s, l) => ({ marker: motorX(l.motorBar, s.motor.position), target: motorX(l.motorBar, s.motor.target) }),
    drawMotorBar),
  buttonWidget('jogMinus'),
  buttonWidget('jogPlus'),
  widget('sampleField', s => s.sample, drawSampleField),
  buttonWidget('resetInterlock'),
  widget('interlockLamp', s => s.interlock, (c, r, interlock) => {
    c.fillRect(r.x, r.y, r.width, r.height, interlock === 'ok' ? COLOURS.interlockOk : COLOURS.interlockTripped);
  }),
  widget('interlockStatus', s => ({ interlock: s.interlock, resets: s.interlockResets }), (c, r, v) => {
    const scale = fitScale('TRIPPED  resets: 999', r.width);
    const word = v.interlock === 'ok' ? 'OK' : 'TRIPPED';
    textIn(c, r, word, v.interlock === 'ok' ? COLOURS.interlockOk : COLOURS.interlockTripped, scale);
    textIn(c, r, `resets: ${v.resets}`, COLOURS.dimText, scale, 'right', 4);
  }),
  widget('eventLog', s => s.log, drawLog),
  staticWidget('helpText', drawHelp),
  widget('statusInput', s => s.lastInput, (c, r, text) => {
    textIn(c, r, text, COLOURS.statusText, fitScale(text, r.width - 32), 'left', 16);
  }),
  widget('statusPointer', s => ({ x: s.pointer.x, y: s.pointer.y, mask: s.buttonMask }), (c, r, v) => {
    const text = `pointer ${v.x},${v.y}  buttons ${v.mask}`;
    textIn(c, r, text, COLOURS.dimText, fitScale(text, r.width - 32), 'right', 16);
  }),
];

function checkSize(state: PanelState, fb: Framebuffer): void {
  if (fb.width !== state.width || fb.height !== state.height) {
    throw new RangeError(`framebuffer is ${fb.width}x${fb.height} but the panel is ${state.width}x${state.height}`);
  }
}

/**
 * Redraws the panel inside `rects` only; pixels there end up exactly as renderPanel would
 * draw them, pixels elsewhere are untouched.
 */
export function renderRegions(state: PanelState, fb: Framebuffer, rects: readonly Rect[]): void {
  checkSize(state, fb);
  const layout = panelLayout(state.width, state.height);
  for (const area of rects) {
    const canvas = fb.clip(area);
    canvas.fillRect(area.x, area.y, area.width, area.height, COLOURS.background);
    for (const w of WIDGETS) {
      if (intersectRects(layout[w.name], area)) w.render(canvas, state, layout);
    }
  }
}

export function renderPanel(state: PanelState, fb: Framebuffer): void {
  renderRegions(state, fb, [{ x: 0, y: 0, width: fb.width, height: fb.height }]);
}

/** Rectangles of the widgets that look different in `after` than in `before` (same size). */
export function changedRegions(before: PanelState, after: PanelState): Rect[] {
  if (before === after) return [];
  if (before.width !== after.width || before.height !== after.height) {
    return [{ x: 0, y: 0, width: after.width, height: after.height }];
  }
  const layout = panelLayout(after.width, after.height);
  return WIDGETS.filter(w => w.key(before, layout) !== w.key(after, layout)).map(w => layout[w.name]);
}
