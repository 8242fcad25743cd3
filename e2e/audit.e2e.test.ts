// The safety officer's audit page in real Chromium: sam.safety opens it from the portal, filters
// (the filters land in the URL), exports CSV and JSON of what he filtered (the downloads are read
// and checked record by record), pages with the keyboard, reads the chain status and the
// statistics, and follows a record's link to its recording. alice.remote gets no link and is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { AuditEvent, AuditRecord } from '../session-recorder/src/audit/audit-record.js';
import { hashRecord } from '../session-recorder/src/audit/hash-chain.js';
import { EXPORT_COLUMNS } from '../gateway/src/audit/audit-export.js';
import { DEMO_BEAMLINE, DEMO_BEAMTIME } from '../gateway/src/demo-idp/sample-user-office.js';
import { parseCsv } from '../gateway/src/testing/csv.js';
import { startLoginRig, type LoginRig } from '../gateway/src/testing/login-rig.js';
import { ARTIFACTS, launchChromium, logInThroughPortal } from './browser.js';

describe('the audit page in Chromium', () => {
  let rig: LoginRig;
  let browser: Browser;
  const cleanups: (() => Promise<void>)[] = [];
  const start = Date.now() - 26 * 3_600_000;
  const at = (minutes: number): Date => new Date(start + minutes * 60_000);

  before(async () => {
    rig = await startLoginRig();
    cleanups.push(() => rig.close());
    browser = await launchChromium();
    cleanups.push(() => browser.close());
    // Yesterday on the demo beamline: alice drives, carol takes over, blocked inputs, 60 records in all.
    const base = { target: 'bl-demo', beamline: DEMO_BEAMLINE, beamtime: DEMO_BEAMTIME, session: 'ses-e2e-1' };
    const events: AuditEvent[] = [
      { ...base, code: 'viewer.joined', at: at(0), actor: 'F-1001', message: 'Alice Remote connected to BL-DEMO', details: { viewer: 'v-alice', interactive: true } },
    ];
    for (let n = 0; n < 25; n++) {
      events.push({ ...base, code: 'control.transition', at: at(1 + n * 2), actor: n % 2 === 0 ? 'F-1001' : 'F-2001', subject: 'F-1001',
        message: n % 2 === 0 ? 'BL-DEMO: request (free -> held by F-1001)' : 'BL-DEMO: take-over (held by F-1001 -> held by F-2001)', details: { transition: n } });
      events.push({ ...base, code: 'input.blocked', at: at(2 + n * 2), actor: 'F-1001', message: '=input blocked by rule no-vt-switch', details: { rule: 'no-vt-switch', viewer: 'v-alice' } });
    }
    events.push({ ...base, code: 'viewer.left', at: at(120), actor: 'F-1001', message: 'Alice Remote left BL-DEMO', details: { viewer: 'v-alice' } });
    for (const event of events) await rig.gateway.store.audit.append(event);
  });
  after(async () => {
    for (const close of cleanups.reverse()) await close();
  });

  const rows = (page: Page) => page.locator('#records tbody tr');
  const column = async (page: Page, index: number): Promise<string[]> =>
    rows(page).locator(`td:nth-child(${index})`).allTextContents();
  /** Waits until the first record shown passes the test (the table is replaced after each navigation). */
  const firstSeq = async (page: Page, test: (seq: string | null) => boolean): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      if (test(await rows(page).first().locator('td.seq').textContent())) return;
      await page.waitForTimeout(25);
    }
    throw new Error('the table did not change as expected');
  };

  it('sam.safety filters, exports CSV and JSON of the filter, pages with the keyboard and jumps to a recording', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    await logInThroughPortal(page, rig.base, 'sam.safety');
    await page.click('#audit-link');
    await page.waitForURL(`${rig.base}/audit.html`);
    await page.locator('#records tbody tr').first().waitFor();
    await page.locator('#chain[data-state="ok"]').waitFor();
    assert.match(await page.textContent('#chain-status') ?? '', /^Intact: \d+ records, head [0-9a-f]{10}…/);
    await page.locator('#stats-tables table').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'audit-page.png'), fullPage: true });

    // Filter: alice's control changes, from the form; the filters land in the URL.
    await page.fill('#f-person', 'F-1001');
    await page.selectOption('#f-kind', 'control.*');
    await page.fill('#f-from', new Date(start - 60_000).toISOString().slice(0, 19));
    await page.click('button[type=submit]');
    await page.waitForURL(url => url.searchParams.get('person') === 'F-1001' && url.searchParams.get('kind') === 'control.*');
    await page.locator('#records-status:has-text("25 records")').waitFor();
    assert.deepEqual(new Set(await column(page, 3)), new Set(['control.transition']));
    await page.screenshot({ path: join(ARTIFACTS, 'audit-filtered.png'), fullPage: true });
    assert.match(await page.textContent('#stats-status') ?? '', /2\.00 remote hours in 1 connection, 25 control changes, 25 blocked inputs/);

    // The exports carry the same filters.
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    assert.match(csvDownload.suggestedFilename(), /^beamgate-audit-\d{8}T\d{6}Z\.csv$/);
    const csv = parseCsv(readFileSync(await csvDownload.path(), 'utf8'));
    assert.deepEqual(csv[0], [...EXPORT_COLUMNS]);
    assert.equal(csv.length - 1, 25);
    assert.ok(csv.slice(1).every(r => r[EXPORT_COLUMNS.indexOf('code')] === 'control.transition'));
    assert.ok(csv.slice(1).every(r => r[EXPORT_COLUMNS.indexOf('actor')] === 'F-1001' || r[EXPORT_COLUMNS.indexOf('subject')] === 'F-1001'));
    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    const doc = JSON.parse(readFileSync(await jsonDownload.path(), 'utf8')) as { count: number; filter: Record<string, string>; records: AuditRecord[] };
    assert.equal(doc.count, 25);
    assert.equal(doc.filter['person'], 'F-1001');
    assert.deepEqual(doc.records.map(r => r.seq), csv.slice(1).map(r => Number(r[0])));
    for (const r of doc.records) assert.equal(hashRecord(r), r.hash);
    const exported = await rig.gateway.store.audit.query({ codes: ['audit.exported'], actor: 'F-3001' });
    assert.deepEqual(exported.map(r => r.details?.['format']), ['csv', 'json']);

    // Paging, by keyboard: 25 a page through the whole log.
    await page.goto(`${rig.base}/audit.html?limit=25`);
    await page.locator('#records-status:has-text("25 records")').waitFor();
    assert.equal(await page.inputValue('#f-limit'), '25');
    const firstPage = await column(page, 1);
    await page.focus('#older');
    await page.keyboard.press('Enter');
    await page.waitForURL(url => url.searchParams.has('before'));
    await firstSeq(page, seq => seq !== firstPage[0]);
    const secondPage = await column(page, 1);
    assert.ok(secondPage.length > 0);
    assert.ok(Number(secondPage[0]) < Number(firstPage.at(-1)), 'the older page starts below the first one');
    assert.equal(await page.locator('#records-section:focus').count(), 1, 'focus moves to the records');
    await page.goBack();
    await firstSeq(page, seq => seq === firstPage[0]);
    await page.click('#older');
    await page.waitForURL(url => url.searchParams.has('before'));
    await page.click('#newer');
    await page.waitForURL(url => url.searchParams.has('after'));
    await firstSeq(page, seq => seq === firstPage[0]);

    // From a record with a desktop to its recording at that moment.
    const withDesktop = page.locator('#records tbody tr', { has: page.locator('a.jump') }).first();
    const jump = withDesktop.locator('a.jump');
    const seqText = await withDesktop.locator('td.time').getAttribute('title');
    await jump.click();
    await page.waitForURL(url => url.pathname === '/recording.html');
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('desktop'), 'bl-demo');
    assert.equal(Number(url.searchParams.get('at')), Date.parse(seqText ?? ''));
    await context.close();
  });

  it('a remote user has no link and is refused, with the reason', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await logInThroughPortal(page, rig.base, 'alice.remote');
    assert.equal(await page.locator('#audit-link').count(), 0);
    await page.goto(`${rig.base}/audit.html`);
    await page.locator('#refused:not([hidden])').waitFor();
    assert.match(await page.textContent('#refused') ?? '', /You may not read the audit log: the audit log of .* is open to administrators, safety officers and its local contacts only/);
    assert.equal(await page.locator('#workspace').isHidden(), true);
    await page.screenshot({ path: join(ARTIFACTS, 'audit-refused.png') });
    await context.close();
  });
});
