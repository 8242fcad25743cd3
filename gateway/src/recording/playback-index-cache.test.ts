import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticHeader, writeSyntheticRecording, type SyntheticRecording } from '../testing/synthetic-recording.js';
import { PlaybackIndexCache } from './playback-index-cache.js';

const dir = mkdtempSync(join(tmpdir(), 'beamgate-index-cache-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const spec: SyntheticRecording = {
  width: 64, height: 48, name: 'T', durationMs: 30_000, keyFrameIntervalMs: 10_000, updateIntervalMs: 1000, marker: { width: 8, height: 8 },
};

it('indexes a finished file once, reads a growing one on from where it stopped, starts over when a file is replaced', async () => {
  const source = join(dir, 'source.bgrec');
  await writeSyntheticRecording(source, syntheticHeader('rec-cache', new Date('2026-11-22T10:00:00Z'), spec), spec);
  const whole = readFileSync(source);
  const cache = new PlaybackIndexCache(2);

  assert.equal((await cache.get('rec-cache', source)).condition, 'complete');
  assert.equal((await cache.get('rec-cache', source)).condition, 'complete');
  assert.deepEqual(cache.stats, { hits: 1, extended: 0, full: 1 });

  const live = join(dir, 'live.bgrec');
  writeFileSync(live, whole.subarray(0, Math.floor(whole.length / 3)));
  const first = await cache.get('rec-live', live);
  assert.equal(first.condition, 'cut');
  appendFileSync(live, whole.subarray(Math.floor(whole.length / 3), whole.length - 5));
  const second = await cache.get('rec-live', live);
  assert.ok(second.durationMs > first.durationMs && second.keyFrames.length > first.keyFrames.length);
  appendFileSync(live, whole.subarray(whole.length - 5));
  const done = await cache.get('rec-live', live);
  assert.equal(done.condition, 'complete');
  assert.deepEqual(cache.stats, { hits: 1, extended: 2, full: 2 });

  // Replaced by a shorter file: indexed from the start.
  writeFileSync(live, whole.subarray(0, 1000));
  utimesSync(live, new Date(), new Date(Date.now() + 5000));
  assert.equal((await cache.get('rec-live', live)).validBytes <= 1000, true);
  assert.equal(cache.stats.full, 3);

  // Concurrent requests share one pass; the oldest entry is evicted beyond maxEntries.
  const [a, b] = await Promise.all([cache.get('rec-x', source), cache.get('rec-x', source)]);
  assert.equal(a, b);
  assert.equal(cache.stats.full, 4);
  await cache.get('rec-cache', source);
  assert.equal(cache.stats.full, 5, 'rec-cache was evicted (two entries kept)');
});
