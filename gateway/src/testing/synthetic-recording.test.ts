// The synthetic recordings the player tests rely on show what expectedAt says, decoded by the
// independent RfbPicture: key frames (Hextile, textured or not) and the marker updates after them.
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeKeyFramePayload, RecordKind } from '../../../session-recorder/src/recording/format.js';
import { indexRecording, readRecords } from '../../../session-recorder/src/recording/recording-reader.js';
import { RfbPicture } from './rfb-picture.js';
import { expectedAt, probes, syntheticHeader, writeSyntheticRecording, type SyntheticRecording } from './synthetic-recording.js';

const dir = mkdtempSync(join(tmpdir(), 'beamgate-synthetic-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const rgb = (p: RfbPicture, at: { x: number; y: number }): number => {
  const [r, g, b] = p.rgb(at.x, at.y);
  return (r << 16) | (g << 8) | b;
};

it('every moment of a synthetic recording shows the picture expectedAt names', async () => {
  const spec: SyntheticRecording = {
    width: 100, height: 70, name: 'Synthetic', durationMs: 25_000, keyFrameIntervalMs: 10_000, updateIntervalMs: 700,
    marker: { width: 20, height: 10 }, textured: true, newSegmentAt: [2],
  };
  const path = join(dir, 'a.bgrec');
  await writeSyntheticRecording(path, syntheticHeader('rec-synthetic', new Date('2026-11-22T10:00:00Z'), spec), spec);
  const index = await indexRecording(path);
  assert.equal(index.condition, 'complete');
  assert.deepEqual(index.keyFrames.map(k => k.t), [5, 10_005, 20_005]);
  assert.deepEqual(index.segments.map(s => s.t), [0, 20_000]);
  const probe = probes(spec);
  let checked = 0;
  for (const [k, key] of index.keyFrames.entries()) {
    const picture = new RfbPicture(key.width, key.height);
    const to = index.keyFrames[k + 1]?.offset ?? index.validBytes;
    for (const record of await readRecords(path, key.offset, to)) {
      if (record.kind === RecordKind.KeyFrame) picture.apply(decodeKeyFramePayload(record.payload).rfb);
      else if (record.kind === RecordKind.Rfb) picture.apply(record.payload);
      else continue;
      const expected = expectedAt(spec, record.t);
      assert.equal(rgb(picture, probe.marker), expected.marker, `marker at ${record.t} ms`);
      assert.equal(rgb(picture, probe.background), expected.background, `background at ${record.t} ms`);
      checked++;
    }
  }
  assert.ok(checked > 35, `${checked} records checked`);
});
