// Integration test of the kiosk fixture against a real Xtigervnc: VncAuth with the raw RFB
// client, key and pointer input arriving at the X application (xev), a wrong password refused
// with the server's own reason, screenshots, and a clean stop. It needs Debian's TigerVNC and
// X tools and FAILS (never skips) without them: CI installs them with .ci/install-deps.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  kioskToolsMissingMessage, parseXevLog, startKioskDesktop, waitForInput, xvncAvailable,
  type InputRecord, type KioskDesktop,
} from './kiosk-fixture.js';
import { RawRfbClient, RfbRefusedError } from './raw-rfb-client.js';

const XK_a = 0x61;
const XK_b = 0x62;
const XT_b = 0x30; // PC/XT set-1 scancode of the B key

/** Alive and not a zombie (an orphan's zombie waits for PID 1 to reap it, which can lag). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\S+ \(.*\) Z /s.test(stat);
}

const keyEvents = (log: InputRecord[], keysym: string): string[] =>
  log.filter(r => r.kind === 'key' && r.keysym === keysym).map(r => (r.down ? 'down' : 'up'));

describe('parseXevLog', () => {
  it('reads key and button events and skips everything else', () => {
    const text = [
      'Outer window is 0x400001, inner window is 0x400002',
      '',
      'KeymapNotify event, serial 24, synthetic NO, window 0x0,',
      '    keys:  4294967212 0   0   0   0   0   0   0   0   0   0   0   0   0   0   0   ',
      '',
      'KeyPress event, serial 28, synthetic NO, window 0x400001,',
      '    root 0x519, subw 0x0, time 474649, (400,300), root:(400,300),',
      '    state 0x0, keycode 50 (keysym 0xffe1, Shift_L), same_screen YES,',
      '    XLookupString gives 0 bytes: ',
      '',
      'KeyRelease event, serial 28, synthetic NO, window 0x400001,',
      '    root 0x519, subw 0x0, time 474668, (400,300), root:(400,300),',
      '    state 0x0, keycode 18 (keysym 0x29, parenright), same_screen YES,',
      '    XLookupString gives 1 bytes: (29) ")"',
      '',
      'ButtonPress event, serial 28, synthetic NO, window 0x400001,',
      '    root 0x519, subw 0x0, time 474679, (90,110), root:(100,120),',
      '    state 0x0, button 3, same_screen YES',
      '',
    ].join('\n');
    assert.deepEqual(parseXevLog(text), [
      { kind: 'key', down: true, keysym: 'Shift_L', keycode: 50 },
      { kind: 'key', down: false, keysym: 'parenright', keycode: 18 },
      { kind: 'button', down: true, button: 3, x: 100, y: 120 },
    ]);
  });
});

describe('kiosk desktop (real Xtigervnc)', () => {
  let desktop: KioskDesktop | undefined;
  // Fail, do not skip: a CI machine without TigerVNC must be noticed. Every test below fails
  // with the install hint (a failing before() hook would only cancel them).
  const need = (): KioskDesktop => {
    assert.ok(xvncAvailable(), kioskToolsMissingMessage());
    assert.ok(desktop, 'the kiosk desktop did not start (see the before hook\'s error)');
    return desktop;
  };

  before(async () => {
    if (xvncAvailable()) desktop = await startKioskDesktop({ geometry: '800x600', name: 'kiosk-fixture-test' });
  });

  it('has Xtigervnc, xev and the other kiosk tools installed', () => {
    assert.ok(xvncAvailable(), kioskToolsMissingMessage());
  });

  after(async () => {
    await desktop?.stop();
  });

  it('does VncAuth and reports the geometry and name in ServerInit', async () => {
    const d = need();
    const client = await RawRfbClient.connect({ host: d.rfbHost, port: d.rfbPort, password: d.password });
    try {
      assert.equal(client.securityType, 2);
      assert.equal(client.serverInit.width, 800);
      assert.equal(client.serverInit.height, 600);
      assert.equal(client.serverInit.name, 'kiosk-fixture-test');
      assert.equal(client.serverInit.pixelFormat.length, 16);
    } finally {
      await client.close();
    }
  });

  it('delivers a KeyEvent, a QEMU extended key event and a click to the X application', async () => {
    const d = need();
    const client = await RawRfbClient.connect({ host: d.rfbHost, port: d.rfbPort, password: d.password });
    try {
      await client.keyEvent(XK_a, true);
      await client.keyEvent(XK_a, false);
      await client.qemuKeyEvent(XK_b, XT_b, true);
      await client.qemuKeyEvent(XK_b, XT_b, false);
      await client.click(100, 120, 1);
      const log = await waitForInput(d, l =>
        keyEvents(l, 'a').length >= 2 && keyEvents(l, 'b').length >= 2 && l.some(r => r.kind === 'button' && !r.down));
      assert.deepEqual(keyEvents(log, 'a'), ['down', 'up']);
      assert.deepEqual(keyEvents(log, 'b'), ['down', 'up']);
      const a = log.find(r => r.kind === 'key' && r.keysym === 'a');
      assert.equal(a?.kind === 'key' ? a.keycode : -1, 38, 'keysym a on the us layout is keycode 38');
      assert.deepEqual(log.filter(r => r.kind === 'button'), [
        { kind: 'button', down: true, button: 1, x: 100, y: 120 },
        { kind: 'button', down: false, button: 1, x: 100, y: 120 },
      ]);
    } finally {
      await client.close();
    }
  });

  it('refuses a wrong password with the server\'s "Authentication failure", and keeps no blacklist', async () => {
    const d = need();
    // Six failures would trip TigerVNC's default blacklist (threshold 5); the fixture disables it.
    const wrong = d.password === 'wrongpw1' ? 'wrongpw2' : 'wrongpw1';
    for (let i = 0; i < 6; i++) {
      const attempt = RawRfbClient.connect({ host: d.rfbHost, port: d.rfbPort, password: wrong });
      await assert.rejects(attempt, (err: unknown) => {
        assert.ok(err instanceof RfbRefusedError, String(err));
        assert.equal(err.stage, 'security-result');
        assert.match(err.reason, /Authentication failure/);
        return true;
      });
    }
    const ok = await RawRfbClient.connect({ host: d.rfbHost, port: d.rfbPort, password: d.password });
    await ok.close();
  });

  it('saves a PNG screenshot of the desktop', async () => {
    const d = need();
    const path = join('test-artifacts', 'kiosk-fixture.png');
    await d.screenshotPng(path);
    const png = await readFile(path);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.toString('latin1', 12, 16), 'IHDR');
    assert.equal(png.readUInt32BE(16), 800);
    assert.equal(png.readUInt32BE(20), 600);
  });

  it('stops everything it started, removes its temp dir, and a second stop is harmless', async () => {
    const d = need();
    const pids = (await readFile(join(d.stateDir, 'pids'), 'utf8'))
      .split('\n').filter(Boolean).map(line => Number(line.split(' ')[1]));
    const supervisor = Number((await readFile(join(d.stateDir, 'supervisor.pid'), 'utf8')).split(' ')[0]);
    assert.ok(pids.length >= 3, `expected xvnc, openbox and the app in ${JSON.stringify(pids)}`);
    await d.stop();
    await d.stop();
    assert.equal(existsSync(dirname(d.stateDir)), false, 'the temp dir is gone');
    for (const pid of [supervisor, ...pids]) assert.equal(await running(pid), false, `process ${pid} is still running`);
    await assert.rejects(RawRfbClient.connect({ host: d.rfbHost, port: d.rfbPort, password: d.password, timeoutMs: 2000 }));
  });
});
