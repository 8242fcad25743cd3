// What the recorder made of a real session plays back as it was seen live: a person watches the
// desktop in Chromium while it changes; the picture of the live canvas at moment T is kept; later
// the safety officer opens the recording at T (the audit page's jump link form) and the played-back
// canvas must show the same picture. On the demo desktop and on a real Xvnc kiosk.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator } from 'playwright-core';
import { panelLayout, widgetCentre } from '../gateway/src/demo-desktop/layout.js';
import { startLoginRig, type LoginRig } from '../gateway/src/testing/login-rig.js';
import { RawRfbClient } from '../gateway/src/testing/raw-rfb-client.js';
import { kioskToolsMissingMessage, startKioskDesktop, xvncAvailable, type KioskDesktop } from '../gateway/src/testing/kiosk-fixture.js';
import { openX11Client } from '../gateway/src/testing/x11-client.js';
import { ARTIFACTS, launchChromium, logInThroughPortal, waitConnected } from './browser.js';

interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}

/** Every pixel of the (last) canvas matched by `canvases`, as RGBA bytes. */
async function canvasPixels(canvases: Locator): Promise<{ width: number; height: number; rgba: Buffer }> {
  const { width, height, base64 } = await canvases.evaluateAll((elements) => {
    const canvas = elements.at(-1) as unknown as CanvasLike | undefined;
    if (canvas === undefined) return { width: 0, height: 0, base64: '' };
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let binary = '';
    for (let i = 0; i < data.length; i += 0x8000) {
      binary += String.fromCharCode(...Array.from(data).slice(i, i + 0x8000));
    }
    return { width: canvas.width, height: canvas.height, base64: btoa(binary) };
  });
  return { width, height, rgba: Buffer.from(base64, 'base64') };
}

function differingPixels(a: { rgba: Buffer }, b: { rgba: Buffer }): number {
  let n = 0;
  for (let i = 0; i + 3 < Math.min(a.rgba.length, b.rgba.length); i += 4) {
    if (a.rgba[i] !== b.rgba[i] || a.rgba[i + 1] !== b.rgba[i + 1] || a.rgba[i + 2] !== b.rgba[i + 2]) n++;
  }
  return n;
}

const LIVE = '#screen canvas';
const PLAYBACK = '#screen .stream:not(.pending) canvas';

/**
 * Watches bl-demo live as alice, makes `change` happen, keeps the live picture at T, makes a later
 * change; then plays the recording at T as sam.safety and returns both pictures.
 */
async function liveAndPlayedBack(
  browser: Browser, rig: LoginRig, name: string, change: (step: number) => Promise<void>,
): Promise<{ live: Awaited<ReturnType<typeof canvasPixels>>; played: Awaited<ReturnType<typeof canvasPixels>> }> {
  const watcher = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await logInThroughPortal(watcher, rig.base, 'alice.remote');
  await watcher.goto(`${rig.base}/view/bl-demo`);
  await waitConnected(watcher);
  await change(1);
  await watcher.waitForTimeout(1500); // the change reached the viewer and the recorder
  const at = Date.now();
  const live = await canvasPixels(watcher.locator(LIVE));
  await watcher.screenshot({ path: join(ARTIFACTS, `recording-live-${name}.png`) });
  await watcher.waitForTimeout(1000);
  await change(2); // later frames differ: playback must show T, not the end
  await watcher.waitForTimeout(1500);
  const officer = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await logInThroughPortal(officer, rig.base, 'sam.safety');
  await officer.goto(`${rig.base}/recording.html?desktop=bl-demo&at=${at}`);
  await officer.locator(PLAYBACK).first().waitFor({ timeout: 10_000 });
  // Paused at T after the seek: wait until the picture stops changing.
  let played = await canvasPixels(officer.locator(PLAYBACK));
  for (let i = 0; i < 20; i++) {
    await officer.waitForTimeout(150);
    const again = await canvasPixels(officer.locator(PLAYBACK));
    if (differingPixels(again, played) === 0 && played.width > 0) break;
    played = again;
  }
  await officer.screenshot({ path: join(ARTIFACTS, `recording-played-${name}.png`) });
  await watcher.close();
  await officer.close();
  return { live, played };
}

describe('a recorded session plays back as it was seen live', () => {
  let browser: Browser;
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
  });

  it('demo desktop: the played-back frame at T is the live frame at T', async () => {
    const rig = await startLoginRig({ reevaluateSeconds: 60 });
    try {
      const layout = panelLayout(1024, 768);
      const panel = await RawRfbClient.connect({ host: '127.0.0.1', port: rig.desktop.port, password: 'demo-pw' });
      const { live, played } = await liveAndPlayedBack(browser, rig, 'demo', async (step) => {
        const { x, y } = widgetCentre(layout, step === 1 ? 'openShutter' : 'jogPlus');
        await panel.click(x, y);
      });
      await panel.close();
      assert.deepEqual([played.width, played.height], [live.width, live.height]);
      assert.equal(differingPixels(live, played), 0, 'the played-back frame is the live one, pixel for pixel');
    } finally {
      await rig.close();
    }
  });

  it('real Xvnc kiosk: the played-back frame at T is the live frame at T', { skip: xvncAvailable() ? false : kioskToolsMissingMessage() }, async () => {
    const kiosk: KioskDesktop = await startKioskDesktop({ geometry: '800x600', name: 'rec-live' });
    const rig = await startLoginRig({ reevaluateSeconds: 60, vnc: { host: kiosk.rfbHost, port: kiosk.rfbPort, password: kiosk.password } });
    const x11 = await openX11Client(kiosk.display, kiosk.xauthority);
    try {
      const { live, played } = await liveAndPlayedBack(browser, rig, 'xvnc', async (step) => {
        await x11.paint(100, 100, 300, 200, step === 1 ? 'stripes' : 0x3366cc);
      });
      assert.deepEqual([played.width, played.height], [800, 600]);
      // The recording shows the pointer as Xvnc draws it (the recorder announces no cursor encoding);
      // the live noVNC shows it as a browser cursor, not on the canvas.
      const differing = differingPixels(live, played);
      assert.ok(differing < 32 * 32, `${differing} pixels differ between the live and the played-back frame`);
      // And the picture at T is not the later one: the stripes are there.
      assert.ok(differingPixels(played, { rgba: Buffer.alloc(played.rgba.length) }) > 0);
    } finally {
      x11.close();
      await rig.close();
      await kiosk.stop();
    }
  });
});
