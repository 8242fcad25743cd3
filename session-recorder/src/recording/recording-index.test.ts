// The incremental index against the one-pass reader: equal on whole, cut and damaged files, and
// equal at every step while a file grows (in pieces that end anywhere, mid-record included).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeJson, encodeKeyFramePayload, encodeSegmentStart, RecordKind, type RecordingHeader } from './format.js';
import { IncrementalIndex, indexRecording, RecordingReadError, type RecordingIndex } from './recording-reader.js';
import { RecordingWriter } from './recording-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'beamgate-incremental-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const fresh = (): string => join(dir, `r${++n}.bgrec`);

const header: RecordingHeader = {
  format: 'beamgate-recording', version: 1, recordingId: 'rec-1', session: 'ses-1', desktop: 'p11-control', desktopName: 'P11',
  beamline: 'p11', startedAt: '2026-11-22T10:00:00.000Z', keyFrameIntervalSeconds: 30, pixelFormat: 'rgbx8888-le', notRecorded: [],
};

async function writeSample(path: string): Promise<Buffer> {
  const writer = await RecordingWriter.create(path, header);
  writer.append(RecordKind.Segment, 0, encodeSegmentStart({ width: 640, height: 480, name: 'P11' }));
  writer.append(RecordKind.KeyFrame, 10, encodeKeyFramePayload({ width: 640, height: 480 }, new Uint8Array(100_000).fill(7)));
  writer.append(RecordKind.Event, 700, encodeJson({ kind: 'control', message: 'alice took control', holder: 'alice', detail: 'held' }));
  writer.append(RecordKind.Rfb, 900, Uint8Array.from({ length: 3000 }, (_, i) => (i * 31) & 0xff));
  writer.append(RecordKind.Rfb, 1900, new Uint8Array(0));
  writer.append(RecordKind.Segment, 2000, encodeSegmentStart({ width: 800, height: 600, name: 'P11 again' }));
  writer.append(RecordKind.KeyFrame, 2010, encodeKeyFramePayload({ width: 800, height: 600 }, new Uint8Array(50_000).fill(9)));
  writer.append(RecordKind.Event, 2500, encodeJson({ kind: 'viewer', message: 'bob left', actor: 'bob', detail: 'left' }));
  writer.appendEnd(3000, { reason: 'last viewer left' });
  await writer.close();
  return readFileSync(path);
}

describe('incremental recording index', () => {
  it('equals indexRecording on a whole file, on files cut anywhere, and on a damaged one', async () => {
    const whole = await writeSample(fresh());
    const spread = Array.from({ length: 12 }, (_, i) => Math.floor((whole.length * (i + 1)) / 13));
    const cuts = [whole.length, whole.length - 1, whole.length - 20, 200, 60, ...spread];
    for (const cut of cuts) {
      const path = fresh();
      writeFileSync(path, whole.subarray(0, cut));
      const expected = await indexRecording(path).catch((e: unknown) => e);
      const actual = await new IncrementalIndex(path).update().catch((e: unknown) => e);
      if (expected instanceof RecordingReadError) {
        assert.ok(actual instanceof RecordingReadError, `cut at ${cut}: both refuse`);
        continue;
      }
      assert.deepEqual(actual, expected, `cut at ${cut}`);
    }
    const damaged = Buffer.from(whole);
    damaged[whole.length - 30] = (damaged[whole.length - 30] ?? 0) ^ 0xff;
    const path = fresh();
    writeFileSync(path, damaged);
    const index = await new IncrementalIndex(path).update();
    assert.equal(index.condition, 'corrupt');
    assert.deepEqual(index, await indexRecording(path));
  });

  it('follows a growing file, reading only what is new, equal to a fresh index at every step', async () => {
    const whole = await writeSample(fresh());
    const path = fresh();
    writeFileSync(path, whole.subarray(0, 14)); // the header is not whole yet
    const live = new IncrementalIndex(path);
    await assert.rejects(live.update(), RecordingReadError);
    let at = 14;
    for (const step of [50, 1, 333, 4096, 17, 20_000, 9, 100_000]) {
      const next = Math.min(whole.length, at + step);
      appendFileSync(path, whole.subarray(at, next));
      at = next;
      const index = await live.update().catch((e: unknown) => e);
      assert.equal(live.bytesRead, at);
      const expected: RecordingIndex | Error = await indexRecording(path).catch((e: unknown) => e as Error);
      if (expected instanceof Error) {
        assert.ok(expected instanceof RecordingReadError && index instanceof RecordingReadError, `after ${at} bytes: both refuse (header not whole)`);
        continue;
      }
      assert.deepEqual(index, expected, `after ${at} bytes`);
      assert.equal(live.open, expected.condition === 'cut');
    }
    assert.equal(at, whole.length);
    const final = await live.update();
    assert.equal(final.condition, 'complete');
    assert.deepEqual(final.keyFrames.map(k => [k.t, k.width, k.name]), [[10, 640, 'P11'], [2010, 800, 'P11 again']]);
  });
});

describe('files larger than one read', () => {
  it('records that span the 1 MiB reads are read whole (the scanner keeps its own copy of a cut record)', async () => {
    const path = fresh();
    const writer = await RecordingWriter.create(path, header);
    writer.append(RecordKind.Segment, 0, encodeSegmentStart({ width: 640, height: 480, name: 'P11' }));
    // Incompressible payloads of odd sizes, so record boundaries fall all over the 1 MiB read boundaries.
    const noise = (size: number, seed: number): Uint8Array => {
      let x = seed + 1;
      return Uint8Array.from({ length: size }, () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return x & 0xff;
      });
    };
    for (let i = 0; i < 40; i++) {
      writer.append(RecordKind.KeyFrame, i * 100, encodeKeyFramePayload({ width: 640, height: 480 }, noise(70_001 + i * 977, i)));
      writer.append(RecordKind.Rfb, i * 100 + 50, noise(3_333 + i, i + 7));
    }
    writer.appendEnd(4000, { reason: 'done' });
    await writer.close();
    assert.ok(readFileSync(path).length > 2.5 * 1024 * 1024);
    const expectedKeys = Array.from({ length: 40 }, (_, i) => i * 100);
    const read = await indexRecording(path);
    assert.equal(read.condition, 'complete', read.problem);
    assert.deepEqual(read.keyFrames.map(k => k.t), expectedKeys);
    const incremental = await new IncrementalIndex(path).update();
    assert.deepEqual(incremental, read);
  });
});
