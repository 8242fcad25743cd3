// Session recording through the whole gateway: a viewer opens a session, the recording follows it
// and ends with it; the audit records carry the session; a kill -9 of the gateway leaves a file
// readable up to its last seconds, which the next start marks as interrupted; on real Xvnc the
// recording ends on exactly what the X server shows.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { validateConfig, type GatewayConfig } from '../config.js';
import { startGateway } from '../main.js';
import { startDemoDesktop, type DemoDesktop } from '../demo-desktop/rfb-server.js';
import { Framebuffer } from '../demo-desktop/framebuffer.js';
import { renderPanel } from '../demo-desktop/widgets.js';
import { panelLayout, widgetCentre } from '../demo-desktop/layout.js';
import { pointerEvent } from '../rfb/c2s-encode.js';
import { connectWsRfb, pictureBarrier } from '../testing/ws-rfb-client.js';
import { startKioskDesktop, xvncAvailable, kioskToolsMissingMessage } from '../testing/kiosk-fixture.js';
import { recordedPicture } from '../testing/rfb-picture.js';
import { indexRecording } from '../../../session-recorder/src/recording/recording-reader.js';
import { recordingPath } from './retention.js';
import { until } from '../testing/within.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'beamgate-rec-it-'));
  dirs.push(d);
  return d;
};
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

function configFor(dataDir: string, target: Record<string, unknown>): GatewayConfig {
  return validateConfig({
    listen: { host: '127.0.0.1', port: 0 }, insecureNoLogin: true, dataDir,
    recordings: { keyFrameIntervalSeconds: 2, maxUpdatesPerSecond: 20, sessionCloseGraceSeconds: 0 },
    targets: [target],
  }, 'test');
}

describe('session recording through the gateway (demo desktop)', () => {
  let desktop: DemoDesktop;
  before(async () => {
    desktop = await startDemoDesktop({ port: 0, width: 640, height: 480, tickMs: 60_000 });
  });
  after(async () => {
    await desktop.close();
  });

  it('a viewer opens a session that is recorded and audited from start to end', async () => {
    const dataDir = tempDir();
    const running = await startGateway(configFor(dataDir, { id: 'demo', name: 'Demo', beamline: 'p11', host: desktop.host, port: desktop.port, security: ['none'] }),
      pino({ level: 'silent' }));
    try {
      const viewer = await connectWsRfb(`${running.url.replace('http', 'ws')}desktop/demo`, { origin: running.url.replace(/\/$/, '') });
      await pictureBarrier(viewer);
      // Someone works the panel (jog +, jog -) so the screen changes and key frames follow.
      const jog = [widgetCentre(panelLayout(640, 480), 'jogPlus'), widgetCentre(panelLayout(640, 480), 'jogMinus')];
      for (let i = 0; i < 6; i++) {
        const { x, y } = jog[i % 2] ?? { x: 0, y: 0 };
        viewer.send(pointerEvent(1, x, y));
        viewer.send(pointerEvent(0, x, y));
        await sleep(500);
      }
      await sleep(1000);
      const metrics = await (await fetch(`${running.url}metrics`)).text();
      assert.match(metrics, /^beamgate_viewers 1$/m);
      assert.match(metrics, /^beamgate_recordings_active 1$/m);
      assert.match(metrics, /^# TYPE beamgate_recordings_failed_total counter$/m);
      viewer.ws.close();
      await until(async () => (await running.store.recordings.list({}))[0]?.status === 'complete', 5000, 'the recording completes');
      const [entry] = await running.store.recordings.list({});
      assert.ok(entry !== undefined);
      assert.equal(entry.desktop, 'demo');
      assert.equal(entry.beamline, 'p11');
      const records = await running.store.audit.query({ session: entry.session });
      assert.deepEqual(records.map(r => r.code), ['session.opened', 'recording.started', 'viewer.joined', 'viewer.left', 'recording.stopped', 'session.closed']);
      const path = recordingPath(join(dataDir, 'recordings'), entry);
      const index = await indexRecording(path);
      assert.equal(index.condition, 'complete');
      assert.ok(index.keyFrames.length >= 2, `key frames every 2 s: ${index.keyFrames.length}`);
      assert.deepEqual(index.events.map(e => `${e.kind}:${e.detail ?? ''}`), ['viewer:joined', 'viewer:left']);
      const fb = new Framebuffer(640, 480);
      renderPanel(desktop.state(), fb);
      assert.equal((await recordedPicture(path)).differingFrom(fb), 0, 'the recording shows the desktop\'s picture');
    } finally {
      await running.close();
    }
  });

  it('survives kill -9 of the gateway up to its last seconds, and the next start marks it interrupted', async () => {
    const dataDir = tempDir();
    const configPath = join(dataDir, 'config.json');
    writeFileSync(configPath, JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 }, insecureNoLogin: true, dataDir,
      recordings: { keyFrameIntervalSeconds: 2, maxUpdatesPerSecond: 20, sessionCloseGraceSeconds: 0 },
      targets: [{ id: 'demo', name: 'Demo', beamline: 'p11', host: desktop.host, port: desktop.port, security: ['none'] }],
    }));
    const script = fileURLToPath(new URL('../testing/gateway-child.js', import.meta.url));
    const startChild = async (): Promise<{ child: ChildProcess; url: string }> => {
      const child = spawn(process.execPath, [script, configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      await until(() => /listening (\S+)/.test(out) || child.exitCode !== null, 15_000, 'the gateway child starts');
      const url = /listening (\S+)/.exec(out)?.[1];
      assert.ok(url !== undefined, 'the child printed its URL');
      return { child, url };
    };
    const { child, url } = await startChild();
    const viewer = await connectWsRfb(`${url.replace('http', 'ws')}desktop/demo`, { origin: url.replace(/\/$/, '') });
    await pictureBarrier(viewer);
    await sleep(3000);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await new Promise(r => child.once('exit', r));
    viewer.ws.close();
    const { child: again } = await startChild();
    try {
      const check = spawn(process.execPath, [fileURLToPath(new URL('../cli.js', import.meta.url)), 'recordings', 'list', '--config', configPath]);
      let listing = '';
      check.stdout.on('data', (d: Buffer) => {
        listing += d.toString();
      });
      await new Promise(r => check.once('exit', r));
      assert.match(listing, /\tfailed\n/, `the interrupted recording is marked failed:\n${listing}`);
      const recordingsDir = join(dataDir, 'recordings', 'p11');
      const { readdirSync } = await import('node:fs');
      const day = readdirSync(recordingsDir)[0] ?? '';
      const file = readdirSync(join(recordingsDir, day))[0] ?? '';
      const index = await indexRecording(join(recordingsDir, day, file));
      assert.equal(index.condition, 'cut');
      const startedAt = Date.parse(index.header.startedAt);
      const lost = killedAt - (startedAt + index.durationMs);
      // Batches go to the file every second; a still screen writes a heartbeat every second: at most about two seconds.
      assert.ok(lost < 2500, `at most the last seconds are lost (lost ${lost} ms)`);
      assert.ok(index.keyFrames.length >= 1);
    } finally {
      again.kill('SIGTERM');
      await new Promise(r => again.once('exit', r));
    }
  });
});

describe('session recording on real Xvnc', { skip: xvncAvailable() ? false : kioskToolsMissingMessage() }, () => {
  it('the recording ends on what the X server shows', async () => {
    const kiosk = await startKioskDesktop({ geometry: '800x600', name: 'rec-kiosk' });
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'pw'), `${kiosk.password}\n`);
    const running = await startGateway(configFor(dataDir, {
      id: 'kiosk', name: 'Kiosk', beamline: 'p21', host: kiosk.rfbHost, port: kiosk.rfbPort, security: ['vnc'], passwordFile: join(dataDir, 'pw'),
    }), pino({ level: 'silent' }));
    try {
      const viewer = await connectWsRfb(`${running.url.replace('http', 'ws')}desktop/kiosk`, { origin: running.url.replace(/\/$/, '') });
      await pictureBarrier(viewer);
      await sleep(3000);
      const screen = await kiosk.screenshot();
      viewer.ws.close();
      await until(async () => (await running.store.recordings.list({}))[0]?.status === 'complete', 5000, 'the recording completes');
      const [entry] = await running.store.recordings.list({});
      assert.ok(entry !== undefined);
      const path = recordingPath(join(dataDir, 'recordings'), entry);
      // The kiosk's screen does not change: its first key frame alone, and the recording played from its
      // last key frame to the end, both show the X server's picture.
      for (const from of ['first-alone', 'last'] as const) {
        const picture = await recordedPicture(path, from);
        assert.deepEqual([picture.width, picture.height], [800, 600]);
        const differing = picture.differingFrom({
          width: 800, height: 600,
          getPixel: (x, y) => {
            const o = (y * 800 + x) * 3;
            return ((screen.rgb[o] ?? 0) << 16) | ((screen.rgb[o + 1] ?? 0) << 8) | (screen.rgb[o + 2] ?? 0);
          },
        });
        // The recording shows the pointer (Xvnc draws it for a client without cursor encodings); xwd does not.
        assert.ok(differing < 32 * 32, `from the ${from} key frame: ${differing} pixels differ from the X screen`);
      }
    } finally {
      await running.close();
      await kiosk.stop();
    }
  });
});
