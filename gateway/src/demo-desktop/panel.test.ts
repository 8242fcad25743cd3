import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialPanelState, LOG_LINES, MOTOR_MAX_MM, MOTOR_SPEED_MM_PER_S, MOTOR_START_MM, panelLayout, reducePanel,
  SAMPLE_MAX_LENGTH, widgetCentre, type PanelEvent, type PanelState, type WidgetName,
} from './panel.js';

const layout = panelLayout(1024, 768);

function run(state: PanelState, ...events: PanelEvent[]): PanelState {
  return events.reduce((s, e) => reducePanel(s, e).state, state);
}

function at(name: WidgetName, buttonMask: number): PanelEvent {
  return { kind: 'pointer', ...widgetCentre(layout, name), buttonMask };
}

function click(state: PanelState, name: WidgetName): PanelState {
  return run(state, at(name, 1), at(name, 0));
}

function key(keysym: number): PanelEvent {
  return { kind: 'key', down: true, keysym };
}

function type(state: PanelState, text: string): PanelState {
  return run(state, ...Array.from(text, c => key(c.charCodeAt(0))));
}

function lastLog(state: PanelState): string | undefined {
  return state.log.at(-1)?.text;
}

const s0 = initialPanelState();

describe('initial state', () => {
  it('is a closed shutter, a resting motor and a healthy interlock on 1024x768', () => {
    assert.equal(s0.width, 1024);
    assert.equal(s0.height, 768);
    assert.equal(s0.shutter, 'closed');
    assert.equal(s0.motor.position, MOTOR_START_MM);
    assert.equal(s0.motor.target, MOTOR_START_MM);
    assert.equal(s0.interlock, 'ok');
    assert.equal(s0.interlockResets, 0);
    assert.deepEqual(s0.sample, { text: '', focused: false });
    assert.equal(s0.log.length, 1);
    assert.throws(() => initialPanelState(320, 240), RangeError);
  });
});

describe('clicks act on release inside the same button', () => {
  it('opens and closes the shutter', () => {
    const open = click(s0, 'openShutter');
    assert.equal(open.shutter, 'open');
    assert.equal(lastLog(open), 'shutter opened');
    const closed = click(open, 'closeShutter');
    assert.equal(closed.shutter, 'closed');
    assert.equal(lastLog(closed), 'shutter closed');
    assert.equal(lastLog(click(closed, 'closeShutter')), 'shutter already closed');
  });

  it('does nothing on press alone', () => {
    const pressed = run(s0, at('openShutter', 1));
    assert.equal(pressed.shutter, 'closed');
    assert.equal(pressed.pressed, 'openShutter');
    assert.equal(pressed.buttonMask, 1);
  });

  it('cancels when released outside the pressed button, even over another button', () => {
    const dragged = run(s0, at('openShutter', 1), at('openShutter', 1), at('closeShutter', 1), at('closeShutter', 0));
    assert.equal(dragged.shutter, 'closed');
    assert.equal(dragged.pressed, null);
    assert.deepEqual(dragged.log, s0.log);
    const offAndBack = run(s0, at('openShutter', 1), at('title', 1), at('openShutter', 0));
    assert.equal(offAndBack.shutter, 'open', 'leaving and coming back before release still clicks');
  });

  it('ignores a release whose press began outside any button', () => {
    const s = run(s0, at('title', 1), at('openShutter', 1), at('openShutter', 0));
    assert.equal(s.shutter, 'closed');
  });

  it('ignores other mouse buttons for actions but reports them', () => {
    const right = run(s0, at('openShutter', 4), at('openShutter', 0));
    assert.equal(right.shutter, 'closed');
    const c = widgetCentre(layout, 'openShutter');
    assert.equal(run(s0, at('openShutter', 4)).lastInput, `last click: ${c.x},${c.y} (button 3)`);
    assert.equal(run(s0, at('openShutter', 8)).lastInput, `last scroll: up at ${c.x},${c.y}`);
  });

  it('reports the last click position and tracks the pointer', () => {
    const s = run(s0, { kind: 'pointer', x: 512, y: 300, buttonMask: 1 });
    assert.equal(s.lastInput, 'last click: 512,300');
    const moved = run(s, { kind: 'pointer', x: 600, y: 310, buttonMask: 1 });
    assert.deepEqual(moved.pointer, { x: 600, y: 310 });
    assert.equal(moved.lastInput, 'last click: 512,300', 'moving is not a new click');
  });

  it('counts interlock resets and clears a trip', () => {
    const once = click(s0, 'resetInterlock');
    assert.equal(once.interlockResets, 1);
    assert.equal(lastLog(once), 'interlock reset (#1, was ok)');
    assert.equal(click(once, 'resetInterlock').interlockResets, 2);
  });
});

describe('motor', () => {
  it('jogs the target by 1 mm per click, accumulating, without moving until ticks arrive', () => {
    const s = click(click(s0, 'jogPlus'), 'jogPlus');
    assert.equal(s.motor.target, MOTOR_START_MM + 2);
    assert.equal(s.motor.position, MOTOR_START_MM);
    assert.equal(lastLog(s), 'jog +1 mm (target 14.500)');
    assert.equal(click(s0, 'jogMinus').motor.target, MOTOR_START_MM - 1);
  });

  it('moves toward the target at a fixed speed on ticks and stops exactly there', () => {
    let s = click(s0, 'jogPlus');
    s = run(s, { kind: 'tick', nowMs: 10_000 });
    assert.equal(s.motor.position, MOTOR_START_MM, 'the first tick only starts the clock');
    s = run(s, { kind: 'tick', nowMs: 10_100 });
    assert.ok(Math.abs(s.motor.position - (MOTOR_START_MM + MOTOR_SPEED_MM_PER_S * 0.1)) < 1e-9);
    const mid = reducePanel(s, { kind: 'tick', nowMs: 10_200 });
    assert.ok(mid.dirty.length > 0);
    s = run(mid.state, { kind: 'tick', nowMs: 20_000 });
    assert.equal(s.motor.position, MOTOR_START_MM + 1);
    assert.equal(s.motor.lastTickMs, null);
    assert.equal(lastLog(s), 'motor X at 13.500 mm');
  });

  it('moves down as well as up', () => {
    const s = run(click(s0, 'jogMinus'), { kind: 'tick', nowMs: 0 }, { kind: 'tick', nowMs: 250 });
    assert.ok(Math.abs(s.motor.position - (MOTOR_START_MM - 0.5)) < 1e-9);
  });

  it('changes nothing on ticks when idle', () => {
    const update = reducePanel(s0, { kind: 'tick', nowMs: 123 });
    assert.equal(update.state, s0);
    assert.deepEqual(update.dirty, []);
  });

  it('ignores non-finite and backward times', () => {
    let s = run(click(s0, 'jogPlus'), { kind: 'tick', nowMs: 1000 });
    assert.equal(run(s, { kind: 'tick', nowMs: Number.NaN }), s);
    s = run(s, { kind: 'tick', nowMs: 500 });
    assert.equal(s.motor.position, MOTOR_START_MM);
  });

  it('trips the interlock at the travel limit, closing the shutter and stopping motion', () => {
    let s = click(s0, 'openShutter');
    for (let i = 0; i < MOTOR_MAX_MM - MOTOR_START_MM - 0.5; i++) s = click(s, 'jogPlus');
    assert.equal(s.motor.target, 24.5);
    s = run(s, { kind: 'tick', nowMs: 0 }, { kind: 'tick', nowMs: 100 });
    s = click(s, 'jogPlus');
    assert.equal(s.interlock, 'tripped');
    assert.equal(s.shutter, 'closed');
    assert.equal(s.motor.target, s.motor.position);
    assert.equal(lastLog(s), 'limit switch: interlock tripped');

    const refused = click(click(s, 'openShutter'), 'jogMinus');
    assert.equal(refused.shutter, 'closed');
    assert.equal(refused.motor.target, s.motor.target);
    assert.deepEqual(refused.log.slice(-2).map(e => e.text), ['open refused: interlock tripped', 'jog refused: interlock tripped']);

    const reset = click(s, 'resetInterlock');
    assert.equal(reset.interlock, 'ok');
    assert.equal(reset.interlockResets, 1);
    assert.equal(lastLog(reset), 'interlock reset (#1)');
    assert.equal(click(reset, 'openShutter').shutter, 'open');
  });
});

describe('sample name field', () => {
  const focused = click(s0, 'sampleField');

  it('focuses on click and unfocuses on a click elsewhere', () => {
    assert.equal(focused.sample.focused, true);
    assert.equal(run(focused, at('title', 1)).sample.focused, false);
    assert.equal(click(focused, 'openShutter').sample.focused, false);
  });

  it('takes printable keys, BackSpace, and commits on Return', () => {
    let s = type(focused, 'Lyso 7~');
    assert.equal(s.sample.text, 'Lyso 7~');
    s = run(s, key(0xff08), key(0xff08));
    assert.equal(s.sample.text, 'Lyso ');
    s = run(s, key(0xe9), { kind: 'key', down: false, keysym: 0x41 });
    assert.equal(s.sample.text, 'Lyso \u00e9', 'Latin-1 keysyms type their character; key-up types nothing');
    s = run(s, key(0xff0d));
    assert.equal(lastLog(s), 'sample: Lyso \u00e9');
    assert.equal(s.sample.text, 'Lyso \u00e9', 'the name stays after committing');
    assert.equal(lastLog(run(click(s0, 'sampleField'), key(0xff0d))), 'sample name is empty');
  });

  it('ignores non-printable keys, and BackSpace on an empty field', () => {
    const s = run(focused, key(0xffe1), key(0xff52), key(0xff08), key(0x7f), key(0x1008ff13));
    assert.equal(s.sample.text, '');
  });

  it('stops at the maximum length', () => {
    const s = type(focused, 'x'.repeat(SAMPLE_MAX_LENGTH + 5));
    assert.equal(s.sample.text.length, SAMPLE_MAX_LENGTH);
  });

  it('ignores typing without focus but reports the key', () => {
    const s = type(s0, 'a');
    assert.equal(s.sample.text, '');
    assert.equal(s.lastInput, 'last key: a (0x61)');
    assert.equal(run(s0, key(0x20)).lastInput, 'last key: space (0x20)');
    assert.equal(run(s0, key(0xff0d)).lastInput, 'last key: Return (0xff0d)');
    assert.equal(run(s0, key(0x1008ff13)).lastInput, 'last key: keysym 0x1008ff13');
    assert.deepEqual(run(s0, key(0xff0d)).log, s0.log);
  });

  it('moves focus with Tab and Shift+Tab, and leaves with Escape', () => {
    const tabbed = run(s0, key(0xff09));
    assert.equal(tabbed.sample.focused, true);
    assert.equal(type(tabbed, 'ab').sample.text, 'ab');
    assert.equal(run(tabbed, key(0xff09)).sample.focused, false);
    assert.equal(run(s0, key(0xfe20)).sample.focused, true);
    assert.equal(run(tabbed, key(0xff1b)).sample.focused, false);
  });

  it('pastes printable text when focused and only reports it otherwise', () => {
    const s = run(focused, { kind: 'paste', text: 'ab\ncd\u2603' });
    assert.equal(s.sample.text, 'abcd');
    assert.equal(s.lastInput, 'last paste: 6 chars');
    assert.equal(run(s0, { kind: 'paste', text: 'x' }).sample.text, '');
  });
});

describe('event log', () => {
  it(`keeps the last ${LOG_LINES} lines with increasing sequence numbers`, () => {
    let s = s0;
    for (let i = 0; i < 10; i++) s = click(s, i % 2 === 0 ? 'openShutter' : 'closeShutter');
    assert.equal(s.log.length, LOG_LINES);
    assert.deepEqual(s.log.map(e => e.seq), [6, 7, 8, 9, 10, 11]);
  });
});

describe('dirty regions', () => {
  it('covers the shutter lamp when the shutter opens', () => {
    const press = reducePanel(s0, at('openShutter', 1));
    const release = reducePanel(press.state, at('openShutter', 0));
    const names = (rects: readonly object[]): string[] =>
      (Object.keys(layout) as WidgetName[]).filter(n => rects.some(r => JSON.stringify(r) === JSON.stringify(layout[n])));
    assert.ok(names(press.dirty).includes('openShutter'), 'the pressed button redraws');
    assert.ok(!names(press.dirty).includes('shutterLamp'));
    for (const n of ['shutterLamp', 'shutterState', 'openShutter', 'eventLog'] as const) {
      assert.ok(names(release.dirty).includes(n), `${n} is dirty after the click`);
    }
    assert.ok(!names(release.dirty).includes('motorReadout'));
  });

  it('is empty for a key release', () => {
    const update = reducePanel(s0, { kind: 'key', down: false, keysym: 0x61 });
    assert.equal(update.state, s0);
    assert.deepEqual(update.dirty, []);
  });
});
