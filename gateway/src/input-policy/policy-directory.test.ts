import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createFilterState, filterInput } from '../../../policies/src/input-rules.js';
import { InputPolicyError, parseInputPolicy } from './load.js';
import { PolicyDirectory, type PolicyEvent } from './policy-directory.js';

const TIMEOUT = { timeout: 15_000 };
const NO_WATCH = (): { close(): void } => ({ close: () => undefined });

/** A policy whose single key rule is recognisable by its id. */
function policyText(beamline: string, ruleId: string): string {
  return [
    'version: 1',
    `beamline: ${beamline}`,
    'keys:',
    '  deny:',
    `    - id: ${ruleId}`,
    '      combos: [Ctrl+Alt+F1]',
    '      reason: no console switching',
    '',
  ].join('\n');
}

async function replaceByRename(path: string, text: string): Promise<void> {
  await writeFile(`${path}.saving`, text);
  await rename(`${path}.saving`, path);
}

const F1 = { type: 'QemuExtendedKeyEvent', down: true, keysym: 0xffbe, keycode: 0x3b } as const;
const CTRL = { type: 'QemuExtendedKeyEvent', down: true, keysym: 0xffe3, keycode: 0x1d } as const;
const ALT = { type: 'QemuExtendedKeyEvent', down: true, keysym: 0xffe9, keycode: 0x38 } as const;

describe('parseInputPolicy', () => {
  it('names the file, the path and the line of each mistake', () => {
    const text = policyText('bl1', 'vt').replace('Ctrl+Alt+F1', 'Ctrl+Alt+F13') + 'rateLimit:\n  burst: 0\n';
    assert.throws(() => parseInputPolicy(text, '/etc/beamgate/policies/bl1.yaml', 'bl1'), (e: unknown) => {
      assert.ok(e instanceof InputPolicyError);
      assert.match(e.message, /^\/etc\/beamgate\/policies\/bl1\.yaml: invalid beamline input policy:/);
      assert.match(e.message, /keys\.deny\.0\.combos\.0 \(line 6\): unknown key "F13"/);
      assert.match(e.message, /rateLimit\.burst \(line 9\): /);
      return true;
    });
  });

  it('refuses a file whose beamline is not the one its name says', () => {
    assert.throws(() => parseInputPolicy(policyText('bl2', 'vt'), 'bl1.yaml', 'bl1'), /beamline \(line 2\): says "bl2" but the file is named for beamline "bl1"/);
  });

  it('refuses text that is not YAML, with the file name', () => {
    assert.throws(() => parseInputPolicy('keys: [unclosed', 'bl1.yaml'), (e: unknown) => e instanceof InputPolicyError && /^bl1\.yaml: not valid YAML/.test(e.message));
  });
});

describe('PolicyDirectory', TIMEOUT, () => {
  let root: string;
  let dir: string;
  let n = 0;
  const sources: PolicyDirectory[] = [];
  const open = (watch = false): PolicyDirectory => {
    const source = new PolicyDirectory({ directory: dir, debounceMs: 20, pollMs: 60_000, ...(watch ? {} : { watchDirectory: NO_WATCH }) });
    sources.push(source);
    return source;
  };
  const ruleIds = (source: PolicyDirectory, beamline: string): string[] => source.policy(beamline).rules.map(r => r.id);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'beamgate-input-policy-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  afterEach(() => {
    for (const source of sources.splice(0)) source.close();
  });
  const freshDir = async (files: Record<string, string>): Promise<void> => {
    dir = join(root, `d${n++}`);
    await (await import('node:fs/promises')).mkdir(dir);
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  };

  it('loads one policy per beamline at start, ignores other files, and compiles them for the filter', async () => {
    await freshDir({ 'bl1.yaml': policyText('bl1', 'one'), 'bl2.yml': policyText('bl2', 'two'), 'README.txt': 'not a policy', '.bl1.yaml.swp': 'x' });
    const source = open();
    const events: PolicyEvent[] = [];
    source.onChange(e => events.push(e));
    await source.start();
    assert.deepEqual(source.beamlines(), ['bl1', 'bl2']);
    assert.deepEqual(events.map(e => [e.kind, e.beamline]), [['loaded', 'bl1'], ['loaded', 'bl2']]);
    assert.ok(ruleIds(source, 'bl1').includes('one'));
    const state = createFilterState();
    const ctx = { now: 0, staff: false, holder: true, viewOnlyBeamline: false };
    filterInput(state, CTRL, ctx, source.policy('bl1'));
    filterInput(state, ALT, ctx, source.policy('bl1'));
    assert.equal(filterInput(state, F1, ctx, source.policy('bl1')).ruleId, 'one');
  });

  it('a beamline without a file gets the conservative fallback', async () => {
    await freshDir({});
    const source = open();
    await source.start();
    assert.ok(ruleIds(source, 'other').includes('kiosk-vt-switch'));
    assert.equal(source.policy('other'), source.policy('other'), 'compiled once');
  });

  it('a bad file stops the start, with file and line', async () => {
    await freshDir({ 'bl1.yaml': policyText('bl1', 'one'), 'bl2.yaml': policyText('bl2', 'Bad Id') });
    const source = open();
    const expected = /bl2\.yaml: invalid beamline input policy:\n {2}keys\.deny\.0\.id \(line 5\)/;
    await assert.rejects(source.start(), (e: unknown) => e instanceof InputPolicyError && expected.test(e.message));
  });

  it('a bad edit keeps the last good policy and says file and line; the fix is loaded', async () => {
    await freshDir({ 'bl1.yaml': policyText('bl1', 'one') });
    const source = open();
    await source.start();
    const good = source.policy('bl1');
    await replaceByRename(join(dir, 'bl1.yaml'), policyText('bl1', 'one').replace('Ctrl+Alt+F1', 'Ctrl+Alt+F99'));
    const [rejected] = await source.refresh();
    assert.ok(rejected?.kind === 'rejected');
    assert.match(rejected.error, /bl1\.yaml: invalid beamline input policy:\n {2}keys\.deny\.0\.combos\.0 \(line 6\): unknown key "F99"/);
    assert.equal(source.policy('bl1'), good);
    assert.deepEqual(await source.refresh(), [], 'the same bad text is reported once');
    await replaceByRename(join(dir, 'bl1.yaml'), policyText('bl1', 'fixed'));
    const [loaded] = await source.refresh();
    assert.equal(loaded?.kind, 'loaded');
    assert.ok(ruleIds(source, 'bl1').includes('fixed'));
  });

  it('a new beamline file appears; a removed file falls back; duplicates are refused', async () => {
    await freshDir({ 'bl1.yaml': policyText('bl1', 'one') });
    const source = open();
    await source.start();
    await writeFile(join(dir, 'bl3.yaml'), policyText('bl3', 'three'));
    assert.deepEqual((await source.refresh()).map(e => [e.kind, e.beamline]), [['loaded', 'bl3']]);
    assert.ok(ruleIds(source, 'bl3').includes('three'));
    await unlink(join(dir, 'bl1.yaml'));
    assert.deepEqual((await source.refresh()).map(e => [e.kind, e.beamline]), [['removed', 'bl1']]);
    assert.ok(!ruleIds(source, 'bl1').includes('one'));
    assert.ok(ruleIds(source, 'bl1').includes('kiosk-vt-switch'));
    await copyFile(join(dir, 'bl3.yaml'), join(dir, 'bl3.json'));
    const duplicate = await source.refresh();
    assert.deepEqual(duplicate.map(e => [e.kind, e.beamline]), [['rejected', 'bl3']]);
    assert.deepEqual(await source.refresh(), [], 'reported once');
    assert.ok(ruleIds(source, 'bl3').includes('three'));
  });

  it('watches the directory: an edit saved by rename is loaded without a refresh', async () => {
    await freshDir({ 'bl1.yaml': policyText('bl1', 'one') });
    const source = open(true);
    await source.start();
    // The watcher and the source's timers do not keep the process alive (the server does); this timer does, and bounds the wait.
    let timer: NodeJS.Timeout | undefined;
    const next = new Promise<PolicyEvent>((resolve, reject) => {
      source.onChange(resolve);
      timer = setTimeout(() => {
        reject(new Error('no event within 10 s of the edit'));
      }, 10_000);
    });
    await replaceByRename(join(dir, 'bl1.yaml'), policyText('bl1', 'watched'));
    const event = await next.finally(() => {
      clearTimeout(timer);
    });
    assert.equal(event.kind, 'loaded');
    assert.ok(ruleIds(source, 'bl1').includes('watched'));
  });
});
