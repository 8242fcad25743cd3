// Launching Debian's Chromium for end-to-end tests (browser downloads do not work here), and
// small helpers to act on the noVNC canvas in desktop coordinates.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { demoAccount } from '../gateway/src/demo-idp/accounts.js';

/** The few members of a canvas element used here (this program is type-checked without the DOM library). */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}

export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'e2e');

export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run',
      '--disable-component-update', '--disable-sync'],
  });
}

/** Waits until the page reports a connected desktop (or fails with the page's status text). */
export async function waitConnected(page: Page): Promise<void> {
  await page.locator('body[data-connection="connected"], body[data-connection="error"]').waitFor({ timeout: 15_000 });
  const state = await page.locator('body').getAttribute('data-connection');
  if (state !== 'connected') throw new Error(`desktop did not connect: ${await page.textContent('#status') ?? ''}`);
}

/** Page coordinates of a desktop pixel, whatever noVNC's scaling. */
export async function desktopToPage(page: Page, x: number, y: number): Promise<{ x: number; y: number }> {
  const canvas = page.locator('#screen canvas');
  const box = await canvas.boundingBox();
  const size = await canvas.evaluate(c => [(c as unknown as CanvasLike).width, (c as unknown as CanvasLike).height]);
  if (box === null) throw new Error('no desktop canvas on the page');
  const [w = 1, h = 1] = size;
  return { x: box.x + ((x + 0.5) * box.width) / w, y: box.y + ((y + 0.5) * box.height) / h };
}

export async function clickDesktop(page: Page, x: number, y: number): Promise<void> {
  const p = await desktopToPage(page, x, y);
  await page.mouse.click(p.x, p.y);
}

/** The colour noVNC shows at a desktop pixel, as 0xRRGGBB. */
export async function desktopPixel(page: Page, x: number, y: number): Promise<number> {
  // Function form, not a string: the gateway's CSP forbids eval, and Playwright honours it.
  const [r = 0, g = 0, b = 0] = await page.locator('#screen canvas').evaluate(
    (c, [px, py]) => Array.from((c as unknown as CanvasLike).getContext('2d').getImageData(px, py, 1, 1).data),
    [x, y] as const,
  );
  return (r << 16) | (g << 8) | b;
}

export async function waitForPixel(page: Page, x: number, y: number, rgb: number, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < end) {
    last = await desktopPixel(page, x, y);
    if (last === rgb) return;
    await page.waitForTimeout(50);
  }
  throw new Error(`pixel ${x},${y} is #${last.toString(16).padStart(6, '0')}, expected #${rgb.toString(16).padStart(6, '0')}`);
}

/** Logs a demo account in the way a person does: portal, the provider's form, back to the portal. */
export async function logInThroughPortal(page: Page, base: string, user: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.click('#login');
  await page.fill('input[name=login]', user);
  await page.fill('input[name=password]', demoAccount(user).password);
  await page.click('button[type=submit]:has-text("Log in")');
  await page.waitForURL(`${base}/`);
  await page.locator('#who').waitFor();
}
