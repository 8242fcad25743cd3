// Seeking in a one-hour recording: how long after a click into the middle of the timeline the
// player shows the right frame, in Chromium, through the real gateway (login rig, loopback).
// The recording is synthetic but shaped like a control GUI's (gateway/src/testing/synthetic-recording.ts):
// 1280x800, a Hextile key frame every 30 s with GUI-like detail, 5 small Raw updates a second, so
// the right frame at any moment is known. Each seek goes to a different 30-s chunk (none cached).
// Usage: node dist/bench/recording-seek.js [seeks=9]   (npm run bench:seek builds first)
import { statSync } from 'node:fs';
import { PlaybackIndexCache } from '../gateway/src/recording/playback-index-cache.js';
import { startLoginRig } from '../gateway/src/testing/login-rig.js';
import { expectedAt, KEY_FRAME_OFFSET_MS, probes, type SyntheticRecording } from '../gateway/src/testing/synthetic-recording.js';
import { launchChromium, logInThroughPortal } from '../e2e/browser.js';
import { clickTimeline, placeRecording, waitForPicture } from '../e2e/playback.js';

const seeks = Number(process.argv[2] ?? 9);
const HOUR = 3_600_000;
const spec: SyntheticRecording = {
  width: 1280, height: 800, name: 'P11 control', durationMs: HOUR, keyFrameIntervalMs: 30_000, updateIntervalMs: 200,
  marker: { width: 64, height: 16 }, textured: true,
  events: Array.from({ length: 60 }, (_, i) => ({
    t: i * 60_000 + 30_000, kind: 'control' as const, holder: i % 2 === 0 ? 'alice' : 'carol', detail: 'held', message: `control ${i}`,
  })),
};

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] ?? NaN : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/** How far t lies from the nearest moment the picture changes (an update or a key frame). */
function marginMs(t: number): number {
  const distance = (period: number, phase: number): number => {
    const d = (((t - phase) % period) + period) % period;
    return Math.min(d, period - d);
  };
  return Math.min(distance(spec.updateIntervalMs, spec.updateIntervalMs / 2), distance(spec.keyFrameIntervalMs, KEY_FRAME_OFFSET_MS));
}

async function main(): Promise<void> {
  const rig = await startLoginRig({ reevaluateSeconds: 60 });
  const browser = await launchChromium();
  try {
    const startedAt = new Date(Date.now() - 2 * HOUR);
    let t0 = performance.now();
    const { path, bytes } = await placeRecording(rig, 'rec-bench-seek', startedAt, spec);
    const writeMs = performance.now() - t0;
    t0 = performance.now();
    const index = await new PlaybackIndexCache().get('bench', path);
    const indexMs = performance.now() - t0;
    console.log(`recording: 1 h, ${index.keyFrames.length} key frames, ${index.records} records, ${(statSync(path).size / 1e6).toFixed(1)} MB`
      + ` (${bytes} bytes written in ${(writeMs / 1000).toFixed(1)} s); indexing it cold: ${indexMs.toFixed(0)} ms`);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await logInThroughPortal(page, rig.base, 'sam.safety');
    t0 = performance.now();
    await page.goto(`${rig.base}/recording.html?id=rec-bench-seek&t=0`);
    await page.locator('body[data-player-state="paused"]').waitFor({ timeout: 30_000 });
    console.log(`page load to the first frame (gateway indexes the file cold): ${(performance.now() - t0).toFixed(0)} ms`);

    const probe = probes(spec);
    const samples: number[] = [];
    const pageSeeks: number[] = [];
    // Around the middle, each in a chunk of its own, alternating sides so no seek finds its chunk prefetched.
    const targets = Array.from({ length: seeks }, (_, i) => HOUR / 2 + (i % 2 === 0 ? 1 : -1) * Math.ceil(i / 2) * 95_000 + 1234);
    for (const target of targets) {
      let aim = target;
      let landed = 0;
      const box = await page.locator('.timeline').boundingBox();
      // A click lands on a whole pixel (~2.9 s of an hour): move the aim until the landing spot is not within 10 ms of a change.
      for (let tries = 0; tries < 20; tries++) {
        const x = Math.round((box?.x ?? 0) + (aim / HOUR) * (box?.width ?? 1));
        landed = ((x - (box?.x ?? 0)) / (box?.width ?? 1)) * HOUR;
        if (marginMs(landed) > 10) break;
        aim += HOUR / (box?.width ?? 1);
      }
      const expected = expectedAt(spec, landed);
      const started = Date.now();
      await clickTimeline(page, aim, HOUR);
      await waitForPicture(page, [{ ...probe.marker, rgb: expected.marker }, { ...probe.background, rgb: expected.background }], 10_000);
      const ms = Date.now() - started;
      samples.push(ms);
      pageSeeks.push(Number(await page.getAttribute('body', 'data-seek-ms')));
      console.log(`seek to ${(landed / 60_000).toFixed(2)} min: right frame after ${ms} ms (page: seek ${pageSeeks.at(-1) ?? '?'} ms)`);
      await page.waitForTimeout(300);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    console.log(`\n${samples.length} seeks into the middle of a 1-hour recording: median ${median(samples)} ms, min ${sorted[0] ?? NaN} ms,`
      + ` max ${sorted.at(-1) ?? NaN} ms (click to the right frame on screen, measured from the test driver);`
      + ` the page's own seek: median ${median(pageSeeks)} ms`);
  } finally {
    await browser.close();
    await rig.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
