// End to end in real Chromium: the person who drives presses a denied key combination and clicks
// a denied region; the desktop receives neither, and the page tells them why.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { panelLayout, widgetCentre } from '../gateway/src/demo-desktop/panel.js';
import { DEMO_BEAMLINE } from '../gateway/src/demo-idp/sample-user-office.js';
import { startLoginRig, type LoginRig } from '../gateway/src/testing/login-rig.js';
import { ARTIFACTS, clickDesktop, launchChromium, logInThroughPortal, waitConnected } from './browser.js';

describe('input policy in Chromium', () => {
  let rig: LoginRig;
  let browser: Browser;
  const cleanups: (() => Promise<void>)[] = [];
  const layout = panelLayout(1024, 768);
  const reset = layout.resetInterlock;

  before(async () => {
    rig = await startLoginRig({
      inputPolicy: {
        version: 1, beamline: DEMO_BEAMLINE, keys: { defaults: 'kiosk' },
        pointer: { denyRegions: [{ id: 'interlock-reset', x: reset.x, y: reset.y, width: reset.width, height: reset.height, reason: 'The interlock is reset on site only.' }] },
      },
    });
    cleanups.push(() => rig.close());
    await rig.acknowledgeInstruction(await rig.login('alice.remote'));
    browser = await launchChromium();
    cleanups.push(() => browser.close());
  });
  after(async () => {
    for (const close of cleanups.reverse()) await close();
  });

  it('a denied combination and a click on the interlock never arrive, and the notice says why', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await logInThroughPortal(page, rig.base, 'alice.remote');
    await page.goto(`${rig.base}/view/bl-demo`);
    await waitConnected(page);
    await page.click('button:has-text("Request control")');
    await page.locator('#holder:has-text("You drive")').waitFor();
    const field = widgetCentre(layout, 'sampleField');
    await clickDesktop(page, field.x, field.y); // focus the canvas
    const before = rig.desktop.inputs.length;
    await page.keyboard.press('Control+Alt+Backspace');
    await page.locator('#notice:has-text("Blocked")').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'input-policy-blocked-combo.png') });
    const c = widgetCentre(layout, 'resetInterlock');
    await clickDesktop(page, c.x, c.y);
    await page.locator('#notice:has-text("on site only")').waitFor();
    await page.keyboard.type('ok');
    await rig.desktop.waitForInput(i => (i.message.type === 'QemuExtendedKeyEvent' || i.message.type === 'KeyEvent') && i.message.keysym === 0x6b && !i.message.down);
    const arrived = rig.desktop.inputs.slice(before).map(i => i.message);
    const keysyms = arrived.flatMap(m => (m.type === 'KeyEvent' || m.type === 'QemuExtendedKeyEvent' ? [m.keysym] : []));
    assert.ok(!keysyms.includes(0xff08), 'BackSpace of Ctrl+Alt+BackSpace reached the desktop');
    const presses = arrived.filter(m => m.type === 'PointerEvent' && m.buttonMask !== 0 && m.x >= reset.x && m.x < reset.x + reset.width && m.y >= reset.y && m.y < reset.y + reset.height);
    assert.equal(presses.length, 0, 'a press on the interlock reset reached the desktop');
    await page.screenshot({ path: join(ARTIFACTS, 'input-policy-blocked-click.png') });
    await page.close();
  });
});
