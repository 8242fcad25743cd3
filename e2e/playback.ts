// Helpers for playing recordings in Chromium (the e2e test and bench/recording-seek.ts): a
// synthetic recording placed in a login rig's recordings directory and index, the picture the
// player shows, and clicks on its timeline.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { DEMO_BEAMLINE } from '../gateway/src/demo-idp/sample-user-office.js';
import type { LoginRig } from '../gateway/src/testing/login-rig.js';
import { syntheticHeader, writeSyntheticRecording, type SyntheticRecording } from '../gateway/src/testing/synthetic-recording.js';

/** The few members of a canvas element used here (this program is type-checked without the DOM library). */
interface CanvasLike {
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}

/**
 * Writes a synthetic recording into the rig's recordings directory (the default, <dataDir>/recordings)
 * and enters it in the index, as the recorder would have. `cutAt`: keep only that share of the file.
 */
export async function placeRecording(
  rig: LoginRig, id: string, startedAt: Date, spec: SyntheticRecording,
): Promise<{ path: string; bytes: number }> {
  const relative = join(DEMO_BEAMLINE, startedAt.toISOString().slice(0, 10), `${id}.bgrec`);
  const path = join(dirname(rig.userOfficeFile), 'data', 'recordings', relative);
  mkdirSync(dirname(path), { recursive: true });
  const bytes = await writeSyntheticRecording(path, syntheticHeader(id, startedAt, spec), spec);
  await rig.gateway.store.recordings.add({
    id, session: `ses-${id}`, desktop: 'bl-demo', beamline: DEMO_BEAMLINE, path: relative, startedAt,
    endedAt: new Date(startedAt.getTime() + spec.durationMs), bytes, status: spec.end === false ? 'failed' : 'complete', retentionDays: 90,
  });
  return { path, bytes };
}

/** The colour (0xRRGGBB) the visible playback canvas has at a desktop pixel; -1 when no picture is up. */
export async function playbackPixel(page: Page, x: number, y: number): Promise<number> {
  const [r = -1, g = 0, b = 0] = await page.locator('#screen .stream:not(.pending) canvas').evaluateAll(
    (canvases, [px, py]) => {
      const canvas = canvases.at(-1) as unknown as CanvasLike | undefined;
      return canvas === undefined ? [-1] : Array.from(canvas.getContext('2d').getImageData(px, py, 1, 1).data);
    },
    [x, y] as const,
  );
  return r < 0 ? -1 : (r << 16) | (g << 8) | b;
}

/** Waits until every probe shows its colour; resolves with the milliseconds it took (rejects after timeoutMs). */
export async function waitForPicture(
  page: Page, expected: readonly { x: number; y: number; rgb: number }[], timeoutMs = 5000,
): Promise<number> {
  const start = Date.now();
  let seen: number[] = [];
  for (;;) {
    seen = [];
    for (const p of expected) seen.push(await playbackPixel(page, p.x, p.y));
    if (seen.every((rgb, i) => rgb === expected[i]?.rgb)) return Date.now() - start;
    if (Date.now() - start > timeoutMs) {
      const hex = (n: number | undefined): string => (n ?? -1).toString(16).padStart(6, '0');
      throw new Error(`the picture did not appear within ${timeoutMs} ms: saw ${seen.map(hex).join(', ')}, expected ${expected.map(p => hex(p.rgb)).join(', ')}`);
    }
    await page.waitForTimeout(10);
  }
}

/** Clicks the timeline where it shows `t` (of a bar spanning spanMs); resolves with the time the click lands on. */
export async function clickTimeline(page: Page, t: number, spanMs: number): Promise<number> {
  const box = await page.locator('.timeline').boundingBox();
  if (box === null) throw new Error('no timeline on the page');
  const x = Math.round(box.x + (t / spanMs) * box.width);
  await page.mouse.click(x, box.y + box.height / 2);
  return ((x - box.x) / box.width) * spanMs;
}

/** The position the page settled on after a seek (it keeps ?t= in its address). */
export function positionInUrl(page: Page): number {
  return Number(new URL(page.url()).searchParams.get('t'));
}
