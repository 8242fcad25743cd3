// The recording player in Chromium: a safety officer plays a recording written from known RFB
// updates (gateway/src/testing/synthetic-recording.ts), so the right picture at any moment is
// known. Seeking by a click on the timeline shows the right frame (the time it took is printed);
// the control timeline's markers are drawn and seek when clicked or activated with the keyboard;
// playing crosses a reconnect (a new RFB stream) without leaving an old canvas behind; the
// audit page's ?desktop=&at= link finds the recording; a cut recording plays up to where it ends
// and says so. Screenshots in test-artifacts/e2e/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startLoginRig, type LoginRig } from '../gateway/src/testing/login-rig.js';
import { expectedAt, probes, type SyntheticRecording } from '../gateway/src/testing/synthetic-recording.js';
import { ARTIFACTS, launchChromium, logInThroughPortal } from './browser.js';
import { clickTimeline, placeRecording, playbackPixel, positionInUrl, waitForPicture } from './playback.js';

const spec: SyntheticRecording = {
  width: 320, height: 200, name: 'BL-DEMO', durationMs: 60_000, keyFrameIntervalMs: 10_000, updateIntervalMs: 1000,
  marker: { width: 48, height: 32 }, textured: true, newSegmentAt: [4],
  events: [
    { t: 1000, kind: 'viewer', detail: 'joined', actor: 'alice', message: 'Alice Remote joined' },
    { t: 2000, kind: 'control', holder: 'alice', detail: 'held', message: 'Alice Remote took control' },
    { t: 12_000, kind: 'blocked', actor: 'alice', detail: 'no-ctrl-alt-del', message: 'input blocked by rule no-ctrl-alt-del' },
    { t: 30_000, kind: 'control', holder: 'carol', detail: 'held', message: 'Carol Contact took over' },
    { t: 39_500, kind: 'recorder', detail: 'gap', message: 'The connection to the desktop was lost' },
    { t: 50_000, kind: 'viewer', detail: 'left', actor: 'alice', message: 'Alice Remote left' },
    { t: 55_000, kind: 'control', detail: 'free', message: 'Carol Contact released control' },
  ],
};
const STARTED = new Date('2026-11-22T10:00:00.000Z');
const probe = probes(spec);
const pictureAt = (t: number): { x: number; y: number; rgb: number }[] => {
  const expected = expectedAt(spec, t);
  return [{ ...probe.marker, rgb: expected.marker }, { ...probe.background, rgb: expected.background }];
};

describe('recording playback in Chromium', () => {
  let rig: LoginRig;
  let browser: Browser;
  let page: Page;
  const cleanups: (() => Promise<void>)[] = [];
  /** What the player's page (and noVNC in it) complained about: nothing, when all goes well. */
  const complaints: string[] = [];

  before(async () => {
    rig = await startLoginRig();
    cleanups.push(() => rig.close());
    await placeRecording(rig, 'rec-e2e', STARTED, spec);
    await placeRecording(rig, 'rec-e2e-cut', new Date(STARTED.getTime() + 3_600_000), { ...spec, durationMs: 25_000, end: false });
    browser = await launchChromium();
    cleanups.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('console', (message) => {
      // The test's own pixel probes make Chromium suggest willReadFrequently: not the page's doing.
      if (message.text().includes('willReadFrequently')) return;
      if (message.type() === 'error' || message.type() === 'warning') complaints.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => {
      complaints.push(`page error: ${error.message}`);
    });
    await logInThroughPortal(page, rig.base, 'sam.safety');
  });
  after(async () => {
    for (const close of cleanups.reverse()) await close();
  });

  const open = async (query: string): Promise<void> => {
    await page.goto(`${rig.base}/recording.html?${query}`);
    await page.locator('body[data-player-state="paused"], body[data-player-state="ended"], body[data-player="error"]').waitFor();
  };

  it('a click into the middle of the timeline shows the frame of that moment', async () => {
    await open('id=rec-e2e&t=0');
    await waitForPicture(page, pictureAt(5));
    assert.match(await page.textContent('#title') ?? '', /BL-DEMO: recording of 2026-11-22 10:00:00 UTC/);
    assert.equal(await page.textContent('#duration'), '00:01:00');

    const clicked = Date.now();
    const landed = await clickTimeline(page, 25_000, 60_000);
    // 25 s lies half a second from the marker updates on either side: a pixel's worth of rounding cannot change the frame.
    assert.ok(Math.abs(landed - 25_000) < 200);
    await waitForPicture(page, pictureAt(landed), 1000);
    const tookMs = Date.now() - clicked;
    console.log(`seek to ${Math.round(landed)} ms: the right frame was on screen ${tookMs} ms after the click`
      + ` (the page measured ${await page.getAttribute('body', 'data-seek-ms') ?? '?'} ms for the seek)`);
    await page.waitForURL(/t=2\d{4}$/);
    const t = positionInUrl(page);
    assert.ok(Math.abs(t - landed) < 2, `the player went to ${t} ms, where the click landed (${Math.round(landed)} ms)`);
    assert.match(await page.textContent('#wall') ?? '', /2026-11-22 10:00:2[45] UTC/);
    assert.match(await page.textContent('#holder') ?? '', /alice drives/);
    await page.screenshot({ path: join(ARTIFACTS, 'recording-seek.png') });
  });

  it('draws the control timeline: bands, a legend, and markers that seek by click or keyboard', async () => {
    await open('id=rec-e2e&t=0');
    assert.equal(await page.locator('.timeline .band').count(), 3, 'alice, carol, nobody');
    assert.deepEqual(await page.locator('.legend li').allTextContents(), ['alice drives', 'carol drives', 'nobody drives']);
    const markers = page.locator('.markers .marker');
    assert.equal(await markers.count(), 4);
    const blocked = page.locator('.marker.blocked');
    assert.match(await blocked.getAttribute('title') ?? '', /^Blocked at 00:00:12 \(2026-11-22 10:00:12 UTC\): input blocked by rule no-ctrl-alt-del$/);
    await blocked.hover();
    await page.locator('.marker.blocked .label').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'recording-marker.png') });
    await blocked.click();
    await page.waitForURL(/t=12000$/);
    await waitForPicture(page, pictureAt(12_000), 1000);

    await page.locator('.marker.viewer-left').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/t=50000$/);
    await waitForPicture(page, pictureAt(50_000), 1000);

    await page.locator('.timeline').focus();
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL(/t=45000$/);
    await waitForPicture(page, pictureAt(45_000), 1000);
    assert.equal(await page.getAttribute('.timeline', 'aria-valuetext'), '00:00:45 of 00:01:00, carol drives');
  });

  it('plays on at speed across a reconnect (a new RFB stream) and leaves one canvas', async () => {
    await open('id=rec-e2e&t=38000');
    await waitForPicture(page, pictureAt(38_000), 1000);
    await page.click('button[data-speed="4"]');
    await page.click('#play');
    await page.locator('body[data-player-state="playing"]').waitFor();
    // Past the new segment's key frame (40.005 s): the new stream's picture.
    await waitForPicture(page, [{ ...probe.background, rgb: expectedAt(spec, 41_000).background }], 5000);
    await page.locator('#elapsed:has-text("00:00:43")').waitFor({ timeout: 5000 });
    await page.click('#play');
    await page.locator('body[data-player-state="paused"]').waitFor();
    assert.equal(await page.locator('#screen canvas').count(), 1, 'the streams before the reconnect are gone');
    const elapsed = await page.textContent('#elapsed') ?? '';
    const [h = 0, m = 0, s = 0] = elapsed.split(':').map(Number);
    const seconds = h * 3600 + m * 60 + s;
    const marker = await playbackPixel(page, probe.marker.x, probe.marker.y);
    const candidates = [seconds * 1000, seconds * 1000 + 999].map(t => expectedAt(spec, t).marker);
    assert.ok(candidates.includes(marker), `after pausing at ${elapsed} the marker shows an update of that second`);
  });

  it('finds the recording covering a moment (the audit page\'s link), and says when none does', async () => {
    await open(`desktop=bl-demo&at=${STARTED.getTime() + 33_000}`);
    assert.equal(new URL(page.url()).searchParams.get('id'), 'rec-e2e');
    assert.equal(positionInUrl(page), 33_000);
    await waitForPicture(page, pictureAt(33_000), 1000);

    await page.goto(`${rig.base}/recording.html?desktop=bl-demo&at=${encodeURIComponent('2026-11-22T10:30:00Z')}`);
    await page.locator('#list h2').waitFor();
    assert.match(await page.textContent('#list h2') ?? '', /^No recording of desktop bl-demo covers 2026-11-22 10:30:00 UTC\. Recordings of it within 12 hours:$/);
    assert.equal(await page.locator('#list tbody tr').count(), 2);
  });

  it('a cut recording plays what is whole and says where it ends', async () => {
    await open('id=rec-e2e-cut&t=20000');
    // Its last record is the marker update at 24.5 s; the index entry says it ran to 25 s (hatched on the bar).
    assert.match(await page.textContent('#problem') ?? '', /no proper end, playable up to 00:00:24 \(2026-11-22 11:00:24 UTC\): the file ends without an end record at 00:00:24\.500/);
    assert.equal(await page.locator('.timeline .unreadable').count(), 1);
    await waitForPicture(page, pictureAt(20_000), 1000);
    await page.click('button[data-speed="16"]');
    await page.click('#play');
    await page.locator('body[data-player-state="ended"]').waitFor({ timeout: 5000 });
    assert.match(await page.textContent('#notice') ?? '', /The recording ends here, at 00:00:24: ends without an end record/);
    await waitForPicture(page, pictureAt(24_500), 1000);
    await page.screenshot({ path: join(ARTIFACTS, 'recording-cut.png') });
  });

  it('the page logged no errors or warnings (noVNC included) while seeking, playing and swapping streams', () => {
    assert.deepEqual(complaints, []);
  });

  it('someone who may not audit sees why, and no picture', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    cleanups.push(() => context.close());
    const other = await context.newPage();
    await logInThroughPortal(other, rig.base, 'alice.remote');
    await other.goto(`${rig.base}/recording.html?id=rec-e2e&t=0`);
    await other.locator('body[data-player="error"]').waitFor();
    assert.match(await other.textContent('#notice') ?? '', /You may not see recordings here/);
    assert.equal(await other.locator('#screen canvas').count(), 0);
  });
});
