// The recorder against the demo desktop (a real RFB server): segments, key frames, a change on the
// screen that the recording shows, timeline events, reconnecting after the server went away, and a
// writer failure that stops the recorder and reports it once.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startDemoDesktop, type DemoDesktop } from '../demo-desktop/rfb-server.js';
import { Framebuffer } from '../demo-desktop/framebuffer.js';
import { panelLayout, widgetCentre } from '../demo-desktop/layout.js';
import { renderPanel } from '../demo-desktop/widgets.js';
import { connectUpstream } from '../proxy/upstream-connector.js';
import { RawRfbClient } from '../testing/raw-rfb-client.js';
import { recordedPicture } from '../testing/rfb-picture.js';
import type { RecordingHeader } from '../../../session-recorder/src/recording/format.js';
import { indexRecording } from '../../../session-recorder/src/recording/recording-reader.js';
import { RecordingWriter } from '../../../session-recorder/src/recording/recording-writer.js';
import { DesktopRecorder } from './desktop-recorder.js';
import { until } from '../testing/within.js';
import { openFileFullAfter } from '../../../session-recorder/src/recording/testing/full-disk.js';

const dir = mkdtempSync(join(tmpdir(), 'beamgate-recorder-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const silent = pino({ level: 'silent' });

let n = 0;

function header(startedAt: number): RecordingHeader {
  return {
    format: 'beamgate-recording', version: 1, recordingId: `rec-${n}`, session: 'ses-1', desktop: 'demo', desktopName: 'Demo',
    beamline: 'demo', startedAt: new Date(startedAt).toISOString(), keyFrameIntervalSeconds: 0.3, pixelFormat: 'rgbx8888-le', notRecorded: [],
  };
}

async function record(desktop: DemoDesktop, during: (recorder: DesktopRecorder) => Promise<void>): Promise<string> {
  const path = join(dir, `r${++n}.bgrec`);
  const startedAt = Date.now();
  const writer = await RecordingWriter.create(path, header(startedAt));
  const recorder = new DesktopRecorder(
    () => connectUpstream({ host: desktop.host, port: desktop.port, security: ['none'] }, { connectTimeoutMs: 2000, handshakeTimeoutMs: 2000 }),
    writer, startedAt, { keyFrameIntervalMs: 300, minUpdateIntervalMs: 20, reconnectDelayMs: 50 }, silent,
  );
  recorder.start();
  await during(recorder);
  await recorder.stop('test over');
  return path;
}

describe('desktop recorder (demo desktop)', () => {
  it('records key frames and a change on the screen exactly as the desktop drew it, with timeline events', async () => {
    const desktop = await startDemoDesktop({ port: 0, width: 640, height: 480, tickMs: 60_000 });
    try {
      const path = await record(desktop, async (recorder) => {
        await until(() => desktop.connectionCount() > 0, 3000, 'the recorder connects');
        await new Promise(r => setTimeout(r, 400));
        const client = await RawRfbClient.connect({ host: desktop.host, port: desktop.port });
        const { x, y } = widgetCentre(panelLayout(640, 480), 'openShutter');
        await client.click(x, y);
        recorder.event({ kind: 'control', message: 'alice took control', holder: 'alice', detail: 'held' });
        await new Promise(r => setTimeout(r, 700));
        await client.close();
      });
      const index = await indexRecording(path);
      assert.equal(index.condition, 'complete');
      assert.deepEqual(index.end, { reason: 'test over' });
      // Every key frame starts a segment of its own (a fresh connection: a fresh compression stream).
      assert.equal(index.segments.length, index.keyFrames.length);
      assert.deepEqual([index.segments[0]?.width, index.segments[0]?.height], [640, 480]);
      assert.ok(index.keyFrames.length >= 2, `key frames: ${index.keyFrames.length}`);
      assert.deepEqual(index.events.map(e => e.message), ['alice took control']);
      const fb = new Framebuffer(640, 480);
      renderPanel(desktop.state(), fb);
      assert.equal((await recordedPicture(path)).differingFrom(fb), 0, 'the recording ends on the desktop\'s own picture');
      assert.equal(desktop.state().shutter, 'open', 'the click changed the panel');
    } finally {
      await desktop.close();
    }
  });

  it('starts a new segment when the VNC server comes back after going away', async () => {
    const first = await startDemoDesktop({ port: 0, width: 640, height: 480, tickMs: 60_000 });
    const port = first.port;
    let second: DemoDesktop | undefined;
    try {
      const path = await record(first, async () => {
        await new Promise(r => setTimeout(r, 300));
        await first.close();
        await new Promise(r => setTimeout(r, 200));
        second = await startDemoDesktop({ port, width: 800, height: 600, tickMs: 60_000 });
        await until(() => second?.connectionCount() === 1, 5000, 'the recorder reconnects');
        await new Promise(r => setTimeout(r, 400));
      });
      const index = await indexRecording(path);
      assert.deepEqual(index.segments.map(s => [s.width, s.height]), [[640, 480], [800, 600]]);
      assert.ok(index.events.some(e => e.kind === 'recorder' && e.detail === 'gap'), 'the gap is on the timeline');
      assert.equal(index.keyFrames.at(-1)?.width, 800);
    } finally {
      await second?.close();
    }
  });

  it('stops and reports once when the writer fails; the desktop connection is released', async () => {
    const desktop = await startDemoDesktop({ port: 0, width: 640, height: 480, tickMs: 60_000 });
    try {
      const path = join(dir, `r${++n}.bgrec`);
      const startedAt = Date.now();
      const writer = await RecordingWriter.create(path, header(startedAt), {
        flushIntervalMs: 20, syncIntervalMs: 10_000, flushBytes: 1 << 20, maxQueuedBytes: 1 << 26,
        openFile: openFileFullAfter(2),
      });
      const recorder = new DesktopRecorder(
        () => connectUpstream({ host: desktop.host, port: desktop.port, security: ['none'] }, { connectTimeoutMs: 2000, handshakeTimeoutMs: 2000 }),
        writer, startedAt, { keyFrameIntervalMs: 100, minUpdateIntervalMs: 10, reconnectDelayMs: 50 }, silent,
      );
      const failures: Error[] = [];
      recorder.onFailure(e => failures.push(e));
      recorder.start();
      // A static screen sends nothing after the first key frame: timeline events make the writes that fail.
      const events = setInterval(() => {
        recorder.event({ kind: 'viewer', detail: 'joined', message: 'someone joined' });
      }, 30);
      await until(() => failures.length > 0, 5000, 'the failure is reported').finally(() => {
        clearInterval(events);
      });
      await until(() => desktop.connectionCount() === 0, 3000, 'the recorder lets go of the desktop');
      await recorder.stop('after failure');
      assert.equal(failures.length, 1);
      assert.match(failures[0]?.message ?? '', /disk is full/);
      const index = await indexRecording(path);
      assert.equal(index.condition, 'cut', 'what was written stays readable');
    } finally {
      await desktop.close();
    }
  });
});
