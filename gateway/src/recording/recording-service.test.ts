// Desktop sessions and their recordings against the demo desktop and a real SQLite store: the
// session lifecycle with its grace, a beamline that does not record, a full disk, retention.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { AuditWriter } from '../audit/audit-writer.js';
import { startDemoDesktop, type DemoDesktop } from '../demo-desktop/rfb-server.js';
import { connectUpstream } from '../proxy/upstream-connector.js';
import { openStore } from '../store/store.js';
import type { Store } from '../store/types.js';
import { DEFAULT_WRITER_OPTIONS } from '../../../session-recorder/src/recording/recording-writer.js';
import { indexRecording } from '../../../session-recorder/src/recording/recording-reader.js';
import { RecordingService, type RecordingServiceOptions } from './recording-service.js';
import { formatMetrics } from '../http/metrics.js';
import { openFileFullAfter } from '../../../session-recorder/src/recording/testing/full-disk.js';

const DAY = 86_400_000;
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));
const desktopInfo = { id: 'demo', name: 'Demo', beamline: 'p11' };

describe('recording service', () => {
  let desktop: DemoDesktop;
  let dir: string;
  let store: Store;
  let logLines: string[];
  let audit: AuditWriter;

  before(async () => {
    desktop = await startDemoDesktop({ port: 0, width: 640, height: 480, tickMs: 60_000 });
  });
  after(async () => {
    await desktop.close();
  });

  async function setup(overrides: Partial<RecordingServiceOptions> = {}, clock?: () => Date): Promise<RecordingService> {
    dir = mkdtempSync(join(tmpdir(), 'beamgate-recsvc-'));
    store = await openStore({ kind: 'sqlite', file: join(dir, 'store.db') }, { tokenKey: Buffer.alloc(32, 1) });
    logLines = [];
    const log = pino({ level: 'info' }, new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    }));
    audit = new AuditWriter(store.audit, log, clock ?? (() => new Date()));
    return new RecordingService({
      directory: join(dir, 'recordings'),
      recorder: { keyFrameIntervalMs: 500, minUpdateIntervalMs: 20, reconnectDelayMs: 50 },
      sessionCloseGraceMs: 200,
      policyOf: () => ({ enabled: true, retentionDays: 30 }),
      beamtimeOf: () => 'bt-42',
      connect: () => connectUpstream({ host: desktop.host, port: desktop.port, security: ['none'] }, { connectTimeoutMs: 2000, handshakeTimeoutMs: 2000 }),
      ...overrides,
    }, store.recordings, audit, log, clock);
  }

  async function teardown(service: RecordingService): Promise<void> {
    await service.closeAll('test over');
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  it('one session per desktop while viewers come and go; it closes after the grace; records carry session and beamtime', async () => {
    const service = await setup();
    try {
      const [a, b] = await Promise.all([service.join(desktopInfo, 'v1'), service.join(desktopInfo, 'v2')]);
      assert.equal(a, b, 'simultaneous first joins share one session');
      service.leave('demo', 'v1');
      service.leave('demo', 'v2');
      await sleep(50);
      assert.equal(await service.join(desktopInfo, 'v3'), a, 'a viewer back within the grace keeps the session');
      await sleep(600);
      service.leave('demo', 'v3');
      await sleep(50);
      assert.equal(service.sessionOf('demo'), a, 'still open during the grace');
      await sleep(400);
      assert.equal(service.sessionOf('demo'), undefined);
      const records = await store.audit.query({ session: a });
      assert.deepEqual(records.map(r => r.code), ['session.opened', 'recording.started', 'recording.stopped', 'session.closed']);
      assert.ok(records.every(r => r.beamtime === 'bt-42' && r.target === 'demo' && r.beamline === 'p11'));
      const [entry] = await store.recordings.list({ session: a });
      assert.equal(entry?.status, 'complete');
      assert.ok(entry.bytes > 0);
      const info = await indexRecording(service.pathOf(entry));
      assert.equal(info.condition, 'complete');
      assert.equal(info.header.beamtime, 'bt-42');
    } finally {
      await teardown(service);
    }
  });

  it('a beamline whose policy says no: the session is on record, nothing is recorded', async () => {
    const service = await setup({ policyOf: () => ({ enabled: false, retentionDays: 30 }) });
    try {
      const session = await service.join(desktopInfo, 'v1');
      await sleep(200);
      service.leave('demo', 'v1');
      await sleep(400);
      assert.deepEqual((await store.audit.query({ session })).map(r => r.code), ['session.opened', 'session.closed']);
      assert.deepEqual(await store.recordings.list({}), []);
      assert.equal(desktop.connectionCount(), 0, 'no recorder connection');
    } finally {
      await teardown(service);
    }
  });

  it('a full disk stops the recording with an audit record and an alert; the session goes on', async () => {
    const service = await setup({
      writer: {
        ...DEFAULT_WRITER_OPTIONS, flushIntervalMs: 20,
        openFile: openFileFullAfter(1),
      },
    });
    try {
      const session = await service.join(desktopInfo, 'v1');
      const deadline = Date.now() + 5000;
      while (service.stats.failed === 0 && Date.now() < deadline) await sleep(20);
      assert.equal(service.stats.failed, 1);
      assert.match(formatMetrics(service.metrics()), /^beamgate_recordings_failed_total 1$/m);
      assert.equal(service.sessionOf('demo'), session, 'the session goes on');
      const failed = (await store.audit.query({ session })).find(r => r.code === 'recording.failed');
      assert.ok(failed !== undefined, 'recording.failed is on record');
      assert.match(failed.message, /disk is full/);
      assert.equal(failed.details?.['error'], 'ENOSPC');
      assert.ok(logLines.some(l => l.includes('"alert":"recording-failed"') && l.includes('"level":50')), 'an error log line with the alert tag');
      const [entry] = await store.recordings.list({ session });
      assert.equal(entry?.status, 'failed');
      const deadline2 = Date.now() + 3000;
      while (desktop.connectionCount() > 0 && Date.now() < deadline2) await sleep(20);
      assert.equal(desktop.connectionCount(), 0, 'the recorder let go of the desktop');
    } finally {
      await teardown(service);
    }
  });

  it('retention deletes expired recordings, audits each deletion and keeps the index entry', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const service = await setup({}, () => now);
    try {
      const base = join(dir, 'recordings');
      mkdirSync(join(base, 'p11', '2026-01-01'), { recursive: true });
      const file = join(base, 'p11', '2026-01-01', 'rec-old.bgrec');
      writeFileSync(file, 'recording');
      await store.recordings.add({
        id: 'rec-old', session: 'ses-old', desktop: 'demo', beamline: 'p11', path: 'p11/2026-01-01/rec-old.bgrec',
        startedAt: now, endedAt: now, bytes: 9, status: 'complete', retentionDays: 7,
      });
      await store.recordings.add({
        id: 'rec-escape', session: 'ses-x', desktop: 'demo', beamline: 'p11', path: '../../outside.bgrec',
        startedAt: now, endedAt: now, bytes: 9, status: 'complete', retentionDays: 7,
      });
      now = new Date(now.getTime() + 6 * DAY);
      assert.equal(await service.prune(), 0);
      now = new Date(now.getTime() + DAY);
      assert.equal(await service.prune(), 1, 'the expired one; a path leaving the directory is never deleted');
      assert.equal(existsSync(file), false);
      assert.equal((await store.recordings.get('rec-old'))?.status, 'deleted');
      assert.equal((await store.recordings.get('rec-escape'))?.status, 'complete');
      const deleted = await store.audit.query({ codes: ['recording.deleted'] });
      assert.equal(deleted.length, 1);
      assert.equal(deleted[0]?.session, 'ses-old');
      assert.match(deleted[0].message, /7-day retention ended/);
      assert.ok(logLines.some(l => l.includes('rec-escape')), 'the refused path is logged');
    } finally {
      await teardown(service);
    }
  });
});
