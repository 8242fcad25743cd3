import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { ChainCheck } from '../../../session-recorder/src/audit/audit-record.js';
import { ChainMonitor } from './chain-monitor.js';

function deferred(): { promise: Promise<ChainCheck>; resolve: (c: ChainCheck) => void; reject: (e: Error) => void } {
  let resolve!: (c: ChainCheck) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<ChainCheck>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('ChainMonitor', () => {
  const clock = (): Date => new Date(Date.UTC(2026, 10, 22, 10));

  it('runs one check at a time and keeps the last verdict while the next runs', async () => {
    const runs: ReturnType<typeof deferred>[] = [];
    const monitor = new ChainMonitor(() => {
      const run = deferred();
      runs.push(run);
      return run.promise;
    }, clock, pino({ level: 'silent' }));
    assert.equal(monitor.status().state, 'unchecked');
    assert.equal(monitor.start().state, 'running');
    assert.equal(monitor.start().state, 'running');
    assert.equal(runs.length, 1, 'a second start while running does not start another check');
    runs[0]!.resolve({ ok: true, records: 10, headHash: 'h' });
    await monitor.settled();
    assert.deepEqual({ ...monitor.status(), last: { ...monitor.status().last, durationMs: 0 } }, {
      state: 'ok', running: false,
      last: { outcome: 'ok', records: 10, headHash: 'h', startedAt: '2026-11-22T10:00:00.000Z', checkedAt: '2026-11-22T10:00:00.000Z', durationMs: 0 },
    });
    const during = monitor.start();
    assert.equal(during.state, 'running');
    assert.equal(during.last?.outcome, 'ok');
    runs[1]!.resolve({ ok: false, records: 4, firstBadSeq: 5, problem: 'record 5 was changed' });
    await monitor.settled();
    assert.equal(monitor.status().state, 'broken');
    const last = monitor.status().last;
    assert.equal(last?.outcome === 'broken' ? last.firstBadSeq : undefined, 5);
  });

  it('reports a check that could not run as failed, without the database\'s error text', async () => {
    const monitor = new ChainMonitor(() => Promise.reject(new Error('SQLITE_CORRUPT at /var/lib/secret/path')), clock, pino({ level: 'silent' }));
    monitor.start();
    await monitor.settled();
    const status = monitor.status();
    assert.equal(status.state, 'failed');
    assert.doesNotMatch(JSON.stringify(status), /secret/);
  });
});
