import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Framebuffer } from './framebuffer.js';
import {
  BUTTON_NAMES, COLOURS, initialPanelState, MOTOR_START_MM, panelLayout, reducePanel, renderPanel, renderRegions, widgetCentre,
  type PanelEvent, type PanelState, type Rect, type WidgetName,
} from './panel.js';
import { rectContainsPoint } from './rect.js';

function render(state: PanelState): Framebuffer {
  const fb = new Framebuffer(state.width, state.height);
  renderPanel(state, fb);
  return fb;
}

function centrePixel(fb: Framebuffer, r: Rect): number {
  return fb.getPixel(r.x + Math.floor(r.width / 2), r.y + Math.floor(r.height / 2));
}

type Step = PanelEvent | { kind: 'wait'; ms: number } | { kind: 'clicks'; name: WidgetName; count: number };

/**
 * Steps biased toward what the panel reacts to: bursts of real clicks (so jogs can reach the
 * travel limit), stray presses and drags, keys, pastes, and time passing.
 */
function stepArb(width: number, height: number): fc.Arbitrary<Step> {
  const layout = panelLayout(width, height);
  const targets: WidgetName[] = [...BUTTON_NAMES, 'sampleField', 'title', 'eventLog', 'interlockArea'];
  const onWidget = fc.record({
    name: fc.constantFrom(...targets),
    dx: fc.integer({ min: -3, max: 3 }),
    dy: fc.integer({ min: -3, max: 3 }),
    buttonMask: fc.constantFrom(0, 1, 1, 0, 4, 8),
  }).map(({ name, dx, dy, buttonMask }): PanelEvent => {
    const c = widgetCentre(layout, name);
    return { kind: 'pointer', x: c.x + dx, y: c.y + dy, buttonMask };
  });
  const anywhere = fc.record({
    x: fc.integer({ min: 0, max: width - 1 }),
    y: fc.integer({ min: 0, max: height - 1 }),
    buttonMask: fc.integer({ min: 0, max: 7 }),
  }).map((p): PanelEvent => ({ kind: 'pointer', ...p }));
  const clicks = fc.record({
    name: fc.constantFrom(...targets),
    count: fc.constantFrom(1, 1, 1, 2, 3, 13, 14),
  }).map(c => ({ kind: 'clicks' as const, ...c }));
  const keysym = fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }),
    fc.constantFrom(0xff08, 0xff09, 0xff0d, 0xff1b, 0xe9, 0xffe1),
    fc.integer({ min: 0, max: 0x1100ffff }),
  );
  return fc.oneof(
    { arbitrary: clicks, weight: 5 },
    { arbitrary: onWidget, weight: 3 },
    { arbitrary: anywhere, weight: 1 },
    { arbitrary: fc.record({ keysym, down: fc.boolean() }).map((k): PanelEvent => ({ kind: 'key', ...k })), weight: 3 },
    { arbitrary: fc.string({ maxLength: 40 }).map((text): PanelEvent => ({ kind: 'paste', text })), weight: 1 },
    { arbitrary: fc.integer({ min: 0, max: 700 }).map(ms => ({ kind: 'wait' as const, ms })), weight: 4 },
  );
}

function* expand(steps: readonly Step[], layout: ReturnType<typeof panelLayout>): Generator<PanelEvent> {
  let now = 0;
  for (const step of steps) {
    if (step.kind === 'wait') {
      now += step.ms;
      yield { kind: 'tick', nowMs: now };
    } else if (step.kind === 'clicks') {
      const c = widgetCentre(layout, step.name);
      for (let i = 0; i < step.count; i++) {
        yield { kind: 'pointer', ...c, buttonMask: 1 };
        yield { kind: 'pointer', ...c, buttonMask: 0 };
      }
    } else {
      yield step;
    }
  }
}

function sameFrame(a: Framebuffer, b: Framebuffer): boolean {
  return Buffer.from(a.pixels.buffer).equals(Buffer.from(b.pixels.buffer));
}

function differingOutside(a: Framebuffer, b: Framebuffer, dirty: readonly Rect[]): string | null {
  if (sameFrame(a, b)) return null;
  for (let i = 0; i < a.pixels.length; i++) {
    if (a.pixels[i] === b.pixels[i]) continue;
    const x = i % a.width;
    const y = Math.floor(i / a.width);
    if (!dirty.some(r => rectContainsPoint(r, x, y))) return `${x},${y}`;
  }
  return null;
}

/** Always checked besides the random runs: reaches motion, the limit trip, a reset and typing. */
const SCENARIO: Step[] = [
  { kind: 'clicks', name: 'openShutter', count: 1 },
  { kind: 'clicks', name: 'jogMinus', count: 2 },
  { kind: 'wait', ms: 100 }, { kind: 'wait', ms: 300 }, { kind: 'wait', ms: 2000 },
  { kind: 'clicks', name: 'jogPlus', count: 16 }, // 12.5 - 2 + 16 = 26.5 mm: past the 25 mm limit, so the interlock trips
  { kind: 'wait', ms: 100 }, { kind: 'wait', ms: 250 },
  { kind: 'clicks', name: 'resetInterlock', count: 1 },
  { kind: 'clicks', name: 'sampleField', count: 1 },
  { kind: 'key', down: true, keysym: 0x41 }, { kind: 'key', down: true, keysym: 0xff0d },
  { kind: 'paste', text: 'x'.repeat(40) }, { kind: 'key', down: true, keysym: 0xff08 },
  { kind: 'pointer', x: 5, y: 5, buttonMask: 1 }, { kind: 'pointer', x: 6, y: 6, buttonMask: 0 },
];

for (const [width, height, runs] of [[1024, 768, 15], [640, 480, 30]] as const) {
  describe(`dirty regions at ${width}x${height}`, () => {
    const layout = panelLayout(width, height);
    const reached = { moved: 0, opened: 0, tripped: 0, reset: 0, typed: 0 };

    it('cover every pixel that changes, and redrawing just them equals a full render', () => {
      const steps = fc.array(stepArb(width, height), { minLength: 1, maxLength: 30, size: 'medium' });
      fc.assert(fc.property(steps, (list) => {
        let state = initialPanelState(width, height);
        let frame = render(state);
        const incremental = render(state);
        const seen = new Set<string>();
        for (const event of expand(list, layout)) {
          const { state: next, dirty } = reducePanel(state, event);
          const nextFrame = render(next);
          const outside = differingOutside(frame, nextFrame, dirty);
          assert.equal(outside, null, `pixel ${outside ?? ''} changed outside the dirty regions after ${JSON.stringify(event)}`);
          renderRegions(next, incremental, dirty);
          assert.ok(sameFrame(incremental, nextFrame), 'incremental render differs from full');
          state = next;
          frame = nextFrame;
          if (state.motor.position !== MOTOR_START_MM) seen.add('moved');
          if (state.shutter === 'open') seen.add('opened');
          if (state.interlock === 'tripped') seen.add('tripped');
          if (state.interlockResets > 0) seen.add('reset');
          if (state.sample.text !== '') seen.add('typed');
        }
        for (const what of seen) reached[what as keyof typeof reached]++;
      }), { numRuns: runs, examples: [[SCENARIO]] });
    });

    it('exercised the interesting states (or the property above proves little)', () => {
      for (const [what, count] of Object.entries(reached)) assert.ok(count > 0, `no run ever ${what}`);
    });
  });
}

describe('renderPanel', () => {
  const layout = panelLayout(1024, 768);

  it('paints the shutter lamp solid red when closed and solid green when open', () => {
    const lamp = layout.shutterLamp;
    const closed = render(initialPanelState());
    const c = widgetCentre(layout, 'openShutter');
    const open = render([1, 0].reduce((s, buttonMask) => reducePanel(s, { kind: 'pointer', ...c, buttonMask }).state,
      initialPanelState()));
    for (const [fb, colour] of [[closed, COLOURS.lampClosed], [open, COLOURS.lampOpen]] as const) {
      assert.equal(centrePixel(fb, lamp), colour);
      assert.ok(fb.copyRegion(lamp.x, lamp.y, lamp.width, lamp.height).every(p => p === colour), 'the whole lamp is one colour');
    }
  });

  it('draws the interlock area in red and yellow stripes and labels every button', () => {
    const fb = render(initialPanelState());
    const area = layout.interlockArea;
    const colours = new Set(fb.copyRegion(area.x, area.y, 60, area.height));
    assert.ok(colours.has(COLOURS.stripeRed) && colours.has(COLOURS.stripeYellow));
    for (const b of BUTTON_NAMES) {
      const r = layout[b];
      assert.ok(fb.copyRegion(r.x, r.y, r.width, r.height).includes(COLOURS.buttonText), `${b} has a label`);
    }
  });

  it('refuses a framebuffer of another size', () => {
    assert.throws(() => {
      renderPanel(initialPanelState(), new Framebuffer(800, 600));
    }, RangeError);
  });

  it('renders a full 1024x768 frame well under 20 ms', () => {
    const state = initialPanelState();
    const fb = new Framebuffer(1024, 768);
    for (let i = 0; i < 5; i++) renderPanel(state, fb);
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      renderPanel(state, fb);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] ?? Infinity;
    assert.ok(median < 20, `median render took ${median.toFixed(2)} ms`);
  });
});
