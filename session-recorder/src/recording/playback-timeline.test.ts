import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bandAt, controlBands, formatOffset, keyFrameAtOrBefore, recordingCovering, timelineMarkers, type TimedEvent,
} from './playback-timeline.js';

const events: TimedEvent[] = [
  { t: 1000, kind: 'viewer', detail: 'joined', actor: 'alice', message: 'Alice joined' },
  { t: 2000, kind: 'control', holder: 'alice', detail: 'held', message: 'Alice took control' },
  { t: 9000, kind: 'blocked', actor: 'alice', detail: 'no-ctrl-alt-del', message: 'input blocked' },
  { t: 5000, kind: 'control', holder: 'alice', detail: 'held', message: 'Alice kept control' },
  { t: 20_000, kind: 'control', holder: 'carol', detail: 'held', message: 'Carol took over' },
  { t: 30_000, kind: 'control', detail: 'free', message: 'Carol released control' },
  { t: 35_000, kind: 'control', detail: 'locked', message: 'Carol locked control' },
  { t: 38_000, kind: 'recorder', detail: 'gap', message: 'connection lost' },
  { t: 39_000, kind: 'viewer', detail: 'left', actor: 'alice', message: 'Alice left' },
];

describe('playback timeline', () => {
  it('draws a band per holder from each control event to the next, merging repeats, none before the first', () => {
    const bands = controlBands(events, 40_000);
    assert.deepEqual(bands.map(b => [b.from, b.to, b.holder, b.state]), [
      [2000, 20_000, 'alice', 'held'], [20_000, 30_000, 'carol', 'held'], [30_000, 35_000, undefined, 'free'], [35_000, 40_000, undefined, 'locked'],
    ]);
    assert.equal(bandAt(bands, 1000), undefined);
    assert.equal(bandAt(bands, 19_999)?.holder, 'alice');
    assert.equal(bandAt(bands, 20_000)?.holder, 'carol');
    assert.equal(bandAt(bands, 40_000)?.state, 'locked', 'the end of the recording is still in the last band');
    assert.deepEqual(controlBands([], 1000), []);
  });

  it('bands never leave the recording and never overlap', () => {
    const control = fc.record({
      t: fc.nat(100_000), kind: fc.constant('control' as const), message: fc.constant('m'),
      holder: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }), detail: fc.constantFrom('held', 'free', 'locked'),
    });
    fc.assert(fc.property(fc.array(control, { maxLength: 30 }), fc.nat(100_000), (list, duration) => {
      const bands = controlBands(list, duration);
      for (const [i, b] of bands.entries()) {
        assert.ok(b.from >= 0 && b.to <= duration && b.from < b.to);
        const next = bands[i + 1];
        if (next !== undefined) assert.ok(b.to <= next.from);
      }
    }));
  });

  it('marks blocked actions, viewers and recorder gaps in time order, not control changes', () => {
    assert.deepEqual(timelineMarkers(events).map(m => [m.t, m.kind]), [
      [1000, 'viewer-joined'], [9000, 'blocked'], [38_000, 'recorder'], [39_000, 'viewer-left'],
    ]);
  });

  it('finds the key frame at or before a time', () => {
    const keys = [{ t: 5 }, { t: 30_005 }, { t: 60_005 }];
    assert.deepEqual([0, 5, 6, 30_004, 30_005, 59_999, 60_005, 1e9].map(t => keyFrameAtOrBefore(keys, t)), [0, 0, 0, 0, 1, 1, 2, 2]);
    assert.equal(keyFrameAtOrBefore([], 100), -1);
    fc.assert(fc.property(fc.uniqueArray(fc.nat(1e6), { minLength: 1 }), fc.nat(1e6), (times, t) => {
      const sorted = times.sort((a, b) => a - b).map(x => ({ t: x }));
      const k = keyFrameAtOrBefore(sorted, t);
      const expected = sorted.findLastIndex(x => x.t <= t);
      assert.equal(k, Math.max(0, expected));
    }));
  });

  it('picks the recording covering an instant, the latest-starting one, a running one too', () => {
    const list = [
      { id: 'a', startedAt: '2026-11-22T10:00:00Z', endedAt: '2026-11-22T11:00:00Z' },
      { id: 'b', startedAt: '2026-11-22T10:30:00Z', endedAt: '2026-11-22T10:45:00Z' },
      { id: 'c', startedAt: '2026-11-22T12:00:00Z' },
    ];
    const at = (iso: string): string | undefined => recordingCovering(list, Date.parse(iso))?.id;
    assert.equal(at('2026-11-22T10:10:00Z'), 'a');
    assert.equal(at('2026-11-22T10:40:00Z'), 'b');
    assert.equal(at('2026-11-22T11:00:00Z'), 'a', 'the end instant is covered');
    assert.equal(at('2026-11-22T11:30:00Z'), undefined);
    assert.equal(at('2026-11-22T09:59:59Z'), undefined);
    assert.equal(at('2026-11-23T00:00:00Z'), 'c');
  });

  it('formats offsets as hh:mm:ss', () => {
    assert.deepEqual([0, 999, 61_000, 3_600_000 * 2 + 5_000, -5].map(formatOffset), ['00:00:00', '00:00:00', '00:01:01', '02:00:05', '00:00:00']);
  });
});
