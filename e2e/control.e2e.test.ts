// End to end in real Chromium: a remote user and the local contact (and a second remote user)
// pass the control token between them through the control bar: request of the free token,
// take-over by staff, request and grant, hand-over with acceptance. Only the holder's clicks
// reach the desktop. Screenshots in test-artifacts/e2e/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { COLOURS, panelLayout, widgetCentre } from '../gateway/src/demo-desktop/panel.js';
import { startLoginRig, type LoginRig } from '../gateway/src/testing/login-rig.js';
import { ARTIFACTS, clickDesktop, launchChromium, logInThroughPortal, waitConnected, waitForPixel } from './browser.js';

describe('passing control between people in Chromium', () => {
  let rig: LoginRig;
  let browser: Browser;
  const cleanups: (() => Promise<void>)[] = [];
  const layout = panelLayout(1024, 768);
  const lamp = { x: layout.shutterLamp.x + 4, y: layout.shutterLamp.y + 4 };

  before(async () => {
    rig = await startLoginRig();
    cleanups.push(() => rig.close());
    // The remote users have read the instruction (the portal test covers doing it in the page).
    for (const user of ['alice.remote', 'mia.mfa']) await rig.acknowledgeInstruction(await rig.login(user));
    browser = await launchChromium();
    cleanups.push(() => browser.close());
  });
  after(async () => {
    for (const close of cleanups.reverse()) await close();
  });

  async function openDesktop(user: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    cleanups.push(() => context.close());
    const page = await context.newPage();
    await logInThroughPortal(page, rig.base, user);
    await page.goto(`${rig.base}/view/bl-demo`);
    await waitConnected(page);
    await page.locator('#holder').waitFor();
    return page;
  }
  const holderText = (page: Page, text: string): Promise<void> => page.locator(`#holder:has-text("${text}")`).waitFor();

  it('request, take-over, request and grant, hand-over: the bar follows and only the holder drives', async () => {
    const alice = await openDesktop('alice.remote');
    const carol = await openDesktop('carol.contact');
    const mia = await openDesktop('mia.mfa');

    // 1. Alice takes the free token.
    await holderText(alice, 'Nobody drives');
    await alice.click('button:has-text("Request control")');
    await holderText(alice, 'You drive');
    await holderText(carol, 'Alice Remote drives');
    const open = widgetCentre(layout, 'openShutter');
    await clickDesktop(alice, open.x, open.y);
    await waitForPixel(alice, lamp.x, lamp.y, COLOURS.lampOpen);

    // 2. The local contact takes over at once; Alice's clicks no longer reach the desktop.
    await carol.click('button:has-text("Take over")');
    await holderText(carol, 'You drive');
    await holderText(alice, 'Carol Contact drives');
    await alice.screenshot({ path: join(ARTIFACTS, 'control-taken-over.png') });
    const pointerCount = (): number => rig.desktop.inputs.filter(i => i.message.type === 'PointerEvent').length;
    const before = pointerCount();
    const close = widgetCentre(layout, 'closeShutter');
    await clickDesktop(alice, close.x, close.y);
    await new Promise(r => setTimeout(r, 300)); // proving a negative: time for a stray click
    assert.equal(pointerCount(), before, 'the old holder\'s click reached the desktop');
    assert.equal(rig.desktop.state().shutter, 'open');
    await clickDesktop(carol, close.x, close.y);
    await waitForPixel(carol, lamp.x, lamp.y, COLOURS.lampClosed);

    // 3. Mia asks with a message; Carol (holder) grants.
    await mia.fill('#request-message', 'I need to align the sample');
    await mia.click('button:has-text("Request control")');
    await carol.locator('.queue li:has-text("I need to align the sample")').waitFor();
    await carol.screenshot({ path: join(ARTIFACTS, 'control-request-queued.png') });
    await carol.click('.queue li button:has-text("Grant")');
    await holderText(mia, 'You drive');
    await holderText(alice, 'Mia');

    // 4. Mia hands over to Alice, who accepts.
    await mia.selectOption('#hand-over-to', { label: 'Alice Remote' });
    await mia.click('button:has-text("Hand over")');
    await alice.locator('button:has-text("Accept")').waitFor();
    await alice.screenshot({ path: join(ARTIFACTS, 'control-hand-over-offer.png') });
    await alice.click('button:has-text("Accept")');
    await holderText(alice, 'You drive');
    await holderText(mia, 'Alice Remote drives');
    await clickDesktop(alice, open.x, open.y);
    await waitForPixel(mia, lamp.x, lamp.y, COLOURS.lampOpen);
    await mia.screenshot({ path: join(ARTIFACTS, 'control-after-hand-over.png') });

    const transitions = await rig.gateway.store.audit.query({ codes: ['control.transition'] });
    assert.ok(transitions.length >= 4, `expected the transitions on record, got ${transitions.length}`);
  });
});
