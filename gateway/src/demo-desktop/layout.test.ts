import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PANEL_PARENT, panelLayout, WIDGET_NAMES, widgetCentre, type WidgetName } from './layout.js';
import { BUTTON_NAMES } from './model.js';
import { rectInside, rectsOverlap } from './rect.js';

const SIZES: readonly [number, number][] = [[640, 480], [800, 600], [1024, 768], [1280, 1024], [1920, 1080], [641, 1200]];

describe('panelLayout', () => {
  for (const [w, h] of SIZES) {
    it(`fits ${w}x${h}: in bounds, children inside parents, siblings apart`, () => {
      const layout = panelLayout(w, h);
      const screen = { x: 0, y: 0, width: w, height: h };
      for (const name of WIDGET_NAMES) {
        const r = layout[name];
        assert.ok(r.width > 0 && r.height > 0, `${name} is empty: ${JSON.stringify(r)}`);
        assert.ok(Number.isInteger(r.x) && Number.isInteger(r.y) && Number.isInteger(r.width) && Number.isInteger(r.height),
          `${name} has fractional geometry`);
        assert.ok(rectInside(r, screen), `${name} leaves the screen: ${JSON.stringify(r)}`);
        const parent = PANEL_PARENT[name];
        if (parent !== null) assert.ok(rectInside(r, layout[parent]), `${name} leaves its parent ${parent}`);
      }
      for (const [i, a] of WIDGET_NAMES.entries()) {
        for (const b of WIDGET_NAMES.slice(i + 1)) {
          if (PANEL_PARENT[a] !== PANEL_PARENT[b]) continue;
          assert.ok(!rectsOverlap(layout[a], layout[b]), `${a} overlaps ${b}`);
        }
      }
    });
  }

  it('has no containment cycles and every leaf is reachable from the top level', () => {
    for (const name of WIDGET_NAMES) {
      let cur: WidgetName | null = name;
      for (let depth = 0; cur !== null; depth++) {
        assert.ok(depth < WIDGET_NAMES.length, `cycle at ${name}`);
        cur = PANEL_PARENT[cur];
      }
    }
  });

  it('puts the interlock reset button inside the interlock area a policy can forbid', () => {
    const layout = panelLayout(1024, 768);
    assert.ok(rectInside(layout.resetInterlock, layout.interlockArea));
    for (const b of BUTTON_NAMES.filter(n => n !== 'resetInterlock')) {
      assert.ok(!rectsOverlap(layout[b], layout.interlockArea), `${b} must be clickable outside the interlock area`);
    }
  });

  it('keeps buttons big enough to hit and the centre inside', () => {
    for (const [w, h] of SIZES) {
      const layout = panelLayout(w, h);
      for (const b of BUTTON_NAMES) {
        assert.ok(layout[b].width >= 100 && layout[b].height >= 30, `${b} at ${w}x${h}`);
        const c = widgetCentre(layout, b);
        assert.ok(c.x > layout[b].x && c.x < layout[b].x + layout[b].width);
      }
    }
  });

  it('is deterministic and rejects sizes below 640x480', () => {
    assert.deepEqual(panelLayout(1024, 768), panelLayout(1024, 768));
    assert.throws(() => panelLayout(639, 480), RangeError);
    assert.throws(() => panelLayout(640, 479), RangeError);
  });
});
