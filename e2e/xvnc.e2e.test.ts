// End to end in real Chromium against a real kiosk desktop: noVNC -> gateway -> Xtigervnc,
// with xev as the kiosk application recording what the X server delivered. Against TigerVNC,
// noVNC sends most keys as QEMU extended key events, so this covers that path for real.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { validateConfig } from '../gateway/src/config.js';
import { startGateway, type RunningGateway } from '../gateway/src/main.js';
import { startKioskDesktop, waitForInput, type InputRecord, type KioskDesktop } from '../gateway/src/testing/kiosk-fixture.js';
import { ARTIFACTS, clickDesktop, launchChromium, waitConnected } from './browser.js';

const keys = (log: readonly InputRecord[]): string[] => log.flatMap(r => (r.kind === 'key' && r.down ? [r.keysym] : []));

describe('real Xvnc kiosk in Chromium through the gateway', () => {
  let kiosk: KioskDesktop;
  let gateway: RunningGateway;
  let url: string;
  let browser: Browser;

  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    kiosk = await startKioskDesktop({ geometry: '1024x768', name: 'e2e-kiosk' });
    cleanups.push(() => kiosk.stop());
    const dir = mkdtempSync(join(tmpdir(), 'beamgate-e2e-xvnc-'));
    writeFileSync(join(dir, 'pw'), `${kiosk.password}\n`);
    const config = validateConfig({
      listen: { host: '127.0.0.1', port: 0 },
      insecureNoLogin: true,
      dataDir: dir,
      targets: [{ id: 'kiosk', name: 'Kiosk', host: kiosk.rfbHost, port: kiosk.rfbPort, security: ['vnc'], passwordFile: join(dir, 'pw') }],
    }, 'e2e');
    gateway = await startGateway(config, pino({ level: 'silent' }));
    url = gateway.url;
    cleanups.push(() => gateway.close());
    browser = await launchChromium();
    cleanups.push(() => browser.close());
  });
  after(async () => {
    // before() may have failed half-way (no Chromium, say): close what did start, newest first.
    for (const close of cleanups.reverse()) await close();
  });

  it('a driver\'s click and typing arrive at the X server; a watcher\'s never do', async () => {
    const watcher = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await watcher.goto(`${url}view/kiosk?view-only=1`);
    await waitConnected(watcher);
    await clickDesktop(watcher, 100, 100);
    await watcher.keyboard.type('zz');

    const driver = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await driver.goto(`${url}view/kiosk`);
    await waitConnected(driver);
    await clickDesktop(driver, 300, 200);
    await driver.keyboard.type('beam');
    await driver.keyboard.press('Enter');
    const log = await waitForInput(kiosk, l => keys(l).includes('Return'));
    assert.deepEqual(keys(log), ['b', 'e', 'a', 'm', 'Return'], 'exactly the driver\'s keys, none of the watcher\'s');
    const presses = log.filter(r => r.kind === 'button' && r.down);
    assert.deepEqual(presses.map(r => r.kind === 'button' && [r.button, r.x, r.y]), [[1, 300, 200]], 'exactly the driver\'s click');
    await driver.screenshot({ path: join(ARTIFACTS, 'xvnc-driver.png') });
    await kiosk.screenshotPng(join(ARTIFACTS, 'xvnc-x-server.png'));
    await watcher.close();
    await driver.close();
  });
});
