// End to end in real Chromium: the browser client (noVNC) -> gateway -> demo desktop.
// Screenshots are kept in test-artifacts/e2e/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { validateConfig } from '../gateway/src/config.js';
import { COLOURS, panelLayout, widgetCentre } from '../gateway/src/demo-desktop/panel.js';
import { startDemoDesktop, type DemoDesktop } from '../gateway/src/demo-desktop/rfb-server.js';
import { startGateway, type RunningGateway } from '../gateway/src/main.js';
import { ARTIFACTS, clickDesktop, launchChromium, waitConnected, waitForPixel } from './browser.js';

describe('demo desktop in Chromium through the gateway', () => {
  let desktop: DemoDesktop;
  let gateway: RunningGateway;
  let url: string;
  let browser: Browser;
  const layout = panelLayout(1024, 768);
  const lamp = { x: layout.shutterLamp.x + 4, y: layout.shutterLamp.y + 4 };

  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beamgate-e2e-'));
    writeFileSync(join(dir, 'pw'), 'e2e-pass\n');
    desktop = await startDemoDesktop({ password: 'e2e-pass' });
    cleanups.push(() => desktop.close());
    const config = validateConfig({
      listen: { host: '127.0.0.1', port: 0 },
      insecureNoLogin: true,
      dataDir: dir,
      targets: [{ id: 'bl-demo', name: 'BL-DEMO', host: '127.0.0.1', port: desktop.port, security: ['vnc'], passwordFile: join(dir, 'pw') }],
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

  it('shows the panel, and a click on "Open shutter" turns the lamp green on screen', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${url}view/bl-demo`);
    await waitConnected(page);
    await waitForPixel(page, lamp.x, lamp.y, COLOURS.lampClosed);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-before-click.png') });
    const button = widgetCentre(layout, 'openShutter');
    await clickDesktop(page, button.x, button.y);
    await waitForPixel(page, lamp.x, lamp.y, COLOURS.lampOpen);
    assert.equal(desktop.state().shutter, 'open');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-shutter-open.png') });
    await page.close();
  });

  it('types into the sample field with the real keyboard', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${url}view/bl-demo`);
    await waitConnected(page);
    const field = widgetCentre(layout, 'sampleField');
    await clickDesktop(page, field.x, field.y);
    await page.keyboard.type('LaB6');
    await desktop.waitForInput(i => (i.message.type === 'QemuExtendedKeyEvent' || i.message.type === 'KeyEvent') && i.message.keysym === 0x36 && !i.message.down);
    assert.equal(desktop.state().sample.text, 'LaB6');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-typed.png') });
    await page.close();
  });

  it('a "Watch only" viewer sees changes but its clicks never reach the desktop', async () => {
    const watcher = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await watcher.goto(`${url}view/bl-demo?view-only=1`);
    await waitConnected(watcher);
    const inputsBefore = desktop.inputs.length;
    const close = widgetCentre(layout, 'closeShutter');
    await clickDesktop(watcher, close.x, close.y);
    await watcher.keyboard.type('x');
    // A driver closes the shutter afterwards: its input arrives; the watcher's did not.
    const driver = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await driver.goto(`${url}view/bl-demo`);
    await waitConnected(driver);
    const open = widgetCentre(layout, 'openShutter');
    await clickDesktop(driver, open.x, open.y);
    // Only input from now on: the first test clicked the same button, and waitForInput searches all input.
    await desktop.waitForInput(i => desktop.inputs.indexOf(i) >= inputsBefore && i.message.type === 'PointerEvent' && i.message.x === open.x && i.message.buttonMask === 0);
    const senders = new Set(desktop.inputs.slice(inputsBefore).map(i => i.connection));
    assert.equal(senders.size, 1, `input arrived from connections ${[...senders].join(', ')}; only the driver's may`);
    assert.ok(desktop.inputs.slice(inputsBefore).every(i => i.message.type === 'PointerEvent' && i.message.x === open.x));
    await waitForPixel(watcher, lamp.x, lamp.y, COLOURS.lampOpen);
    await watcher.screenshot({ path: join(ARTIFACTS, 'demo-watcher.png') });
    await watcher.close();
    await driver.close();
  });
});
