// The writer and the reader on real files: round trip, deflate, a file cut anywhere, a full disk.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeJson, encodeKeyFramePayload, encodeSegmentStart, RecordKind, type RecordingHeader } from './format.js';
import { indexRecording, payloadOf, readRecords, RecordingReadError } from './recording-reader.js';
import { DEFAULT_WRITER_OPTIONS, RecordingWriter, type RecordingWriterError } from './recording-writer.js';
import { openFileFullAfter } from './testing/full-disk.js';

const dir = mkdtempSync(join(tmpdir(), 'beamgate-recording-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const fresh = (): string => join(dir, `r${++n}.bgrec`);

const header: RecordingHeader = {
  format: 'beamgate-recording', version: 1, recordingId: 'rec-1', session: 'ses-1', desktop: 'p11-control', desktopName: 'P11',
  beamline: 'p11', startedAt: '2026-11-22T10:00:00.000Z', keyFrameIntervalSeconds: 30, pixelFormat: 'rgbx8888-le', notRecorded: [],
};

/** A flat-coloured full-screen Raw update: what deflate is good at. */
const bigFrame = new Uint8Array(200_000).fill(0x42);
const noise = (size: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i * 2_654_435_761) >>> 24);

async function writeSample(path: string): Promise<void> {
  const writer = await RecordingWriter.create(path, header);
  writer.append(RecordKind.Segment, 0, encodeSegmentStart({ width: 640, height: 480, name: 'P11' }));
  writer.append(RecordKind.KeyFrame, 10, encodeKeyFramePayload({ width: 640, height: 480 }, bigFrame));
  writer.append(RecordKind.Rfb, 500, Uint8Array.of(2)); // a Bell
  writer.append(RecordKind.Event, 700, encodeJson({ kind: 'control', message: 'alice took control', holder: 'alice', detail: 'held' }));
  writer.append(RecordKind.Rfb, 900, noise(5000));
  writer.append(RecordKind.KeyFrame, 30_010, encodeKeyFramePayload({ width: 800, height: 600 }, bigFrame));
  writer.appendEnd(31_000, { reason: 'last viewer left' });
  await writer.close();
}

describe('recording files', () => {
  it('indexes key frames, events and the end, and reads records back inflated', async () => {
    const path = fresh();
    await writeSample(path);
    const index = await indexRecording(path);
    assert.equal(index.condition, 'complete');
    assert.equal(index.problem, undefined);
    assert.equal(index.durationMs, 31_000);
    assert.deepEqual(index.keyFrames.map(k => [k.t, k.width, k.height, k.name]), [[10, 640, 480, 'P11'], [30_010, 800, 600, 'P11']]);
    assert.deepEqual(index.events, [{ kind: 'control', message: 'alice took control', holder: 'alice', detail: 'held', t: 700 }]);
    assert.deepEqual(index.end, { reason: 'last viewer left' });
    assert.ok(index.fileBytes < 20_000, `flat frames are stored deflated (${index.fileBytes} bytes for two 200 kB frames)`);
    const second = index.keyFrames[1]!;
    const chunk = await readRecords(path, index.keyFrames[0]!.offset, second.offset);
    assert.deepEqual(chunk.map(r => [r.kind, r.t]), [
      [RecordKind.KeyFrame, 10], [RecordKind.Rfb, 500], [RecordKind.Event, 700], [RecordKind.Rfb, 900],
    ]);
    assert.ok(Buffer.from(chunk[0]!.payload.subarray(4)).equals(bigFrame), 'key frame inflated');
    assert.ok(Buffer.from(chunk[3]!.payload).equals(noise(5000)), 'incompressible update stored as is');
  });

  it('a file cut at any point reads up to its last whole record and says where it ends', async () => {
    const path = fresh();
    await writeSample(path);
    const whole = readFileSync(path);
    const full = await indexRecording(path);
    for (const cut of [full.keyFrames[1]!.offset + 100, full.keyFrames[1]!.offset, whole.length - 3]) {
      const copy = fresh();
      writeFileSync(copy, whole.subarray(0, cut));
      const index = await indexRecording(copy);
      assert.equal(index.condition, 'cut', `cut at ${cut}`);
      assert.match(index.problem ?? '', /ends without an end record at 00:00:/);
      assert.ok(index.validBytes <= cut);
    }
    const damaged = fresh();
    const copy = Buffer.from(whole);
    const at = full.keyFrames[1]!.offset + 20;
    copy[at] = (copy[at] ?? 0) ^ 0xff;
    writeFileSync(damaged, copy);
    const index = await indexRecording(damaged);
    assert.equal(index.condition, 'corrupt');
    const where = full.keyFrames[1]!.offset;
    assert.match(index.problem ?? '', new RegExp(`damaged at byte ${where} \\(checksum mismatch\\); readable up to 00:00:00.900`));
    assert.equal(index.keyFrames.length, 1);
    const notOurs = fresh();
    writeFileSync(notOurs, 'hello');
    await assert.rejects(indexRecording(notOurs), RecordingReadError);
    truncateSync(notOurs, 0);
    await assert.rejects(indexRecording(notOurs), /ends inside its header/);
  });

  it('stops on a full disk, reports it once with what to do, and keeps what was written readable', async () => {
    const path = fresh();
    const writer = await RecordingWriter.create(path, header, {
      ...DEFAULT_WRITER_OPTIONS,
      flushIntervalMs: 10,
      openFile: openFileFullAfter(2),
    });
    const failures: RecordingWriterError[] = [];
    writer.onFailure(e => failures.push(e));
    writer.append(RecordKind.Segment, 0, encodeSegmentStart({ width: 640, height: 480, name: 'P11' }));
    await writer.flush();
    writer.append(RecordKind.Rfb, 100, Uint8Array.of(2));
    await writer.flush();
    writer.append(RecordKind.Rfb, 200, Uint8Array.of(2));
    await writer.close();
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.code, 'ENOSPC');
    assert.match(failures[0]!.message, /the disk is full: free space or point recordings.directory elsewhere/);
    const index = await indexRecording(path);
    assert.equal(index.records, 1);
    assert.equal(index.condition, 'cut');
  });

  it('refuses to overwrite an existing file', async () => {
    const path = fresh();
    writeFileSync(path, 'precious');
    await assert.rejects(RecordingWriter.create(path, header), /cannot create the recording/);
    assert.equal(readFileSync(path, 'utf8'), 'precious');
  });

  it('payloadOf leaves stored payloads as they are', () => {
    const record = { kind: RecordKind.Rfb, flags: 0, t: 0, payload: Uint8Array.of(1, 2), offset: 0, size: 16 };
    assert.equal(payloadOf(record), record.payload);
  });
});
