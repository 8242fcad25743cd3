// End to end in real Chromium: noVNC -> gateway -> Xtigervnc with the desktop->browser clipboard
// rule in force (the conservative fallback policy denies it), so the gateway frames the whole
// server stream while noVNC asks for its usual encodings (Tight with JPEG, ZRLE, cursors, ...).
// noVNC decodes independently of the gateway's scanner: if the scanner lost a message boundary the
// gateway would close the viewer or noVNC would fail, and the pictures an X client paints would not
// show. The desktop's clipboard changing (a notify the gateway drops) must not disturb the session.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { validateConfig } from '../gateway/src/config.js';
import { startGateway, type RunningGateway } from '../gateway/src/main.js';
import { startKioskDesktop, type KioskDesktop } from '../gateway/src/testing/kiosk-fixture.js';
import { openX11Client, type X11Client } from '../gateway/src/testing/x11-client.js';
import { ARTIFACTS, launchChromium, waitConnected, waitForPixel } from './browser.js';

describe('noVNC in Chromium through a gateway that frames the server stream (real Xvnc)', () => {
  let kiosk: KioskDesktop;
  let gateway: RunningGateway;
  let browser: Browser;
  let x11: X11Client;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    kiosk = await startKioskDesktop({ geometry: '1024x768', name: 'e2e-framing' });
    cleanups.push(() => kiosk.stop());
    x11 = await openX11Client(kiosk.display, kiosk.xauthority);
    cleanups.push(() => {
      x11.close();
      return Promise.resolve();
    });
    const dir = mkdtempSync(join(tmpdir(), 'beamgate-e2e-framing-'));
    writeFileSync(join(dir, 'pw'), `${kiosk.password}\n`);
    mkdirSync(join(dir, 'policies')); // no file for the beamline: the fallback policy, no clipboard either way
    const config = validateConfig({
      listen: { host: '127.0.0.1', port: 0 },
      insecureNoLogin: true,
      dataDir: dir,
      inputPolicies: { directory: join(dir, 'policies') },
      targets: [{ id: 'kiosk', name: 'Kiosk', host: kiosk.rfbHost, port: kiosk.rfbPort, security: ['vnc'], passwordFile: join(dir, 'pw') }],
    }, 'e2e');
    gateway = await startGateway(config, pino({ level: 'silent' }));
    cleanups.push(() => gateway.close());
    browser = await launchChromium();
    cleanups.push(() => browser.close());
  });
  after(async () => {
    for (const close of cleanups.reverse()) await close();
  });

  it('shows every picture the X server draws, through clipboard changes, and stays connected', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${gateway.url}view/kiosk`);
    await waitConnected(page);
    const steps: [number, number, number, number, 'noise' | 'stripes' | number][] = [
      [0, 0, 1024, 400, 'noise'], [600, 450, 120, 90, 0x3366cc], [50, 420, 500, 300, 'stripes'], [800, 600, 90, 90, 0xcc6633],
    ];
    let seed = 1;
    for (const [x, y, w, h, picture] of steps) {
      await x11.paint(x, y, w, h, picture, seed++);
      if (typeof picture === 'number') await waitForPixel(page, x + w / 2, y + h / 2, picture, 8000);
    }
    // The desktop's clipboard changes: the gateway drops what Xvnc announces; the session goes on.
    await x11.own('CLIPBOARD', 'stays on the beamline');
    await x11.paint(100, 500, 80, 60, 0x22aa44, seed++);
    await waitForPixel(page, 140, 530, 0x22aa44, 8000);
    assert.equal(await page.locator('body').getAttribute('data-connection'), 'connected');
    await page.screenshot({ path: join(ARTIFACTS, 'server-framing.png') });
    await page.close();
  });
});
