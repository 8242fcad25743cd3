// The recordings index against both databases: add, update, list with filters, playback
// lookup by time, and which recordings retention may delete.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachBackend } from './testing/backends.js';
import type { RecordingEntry, RecordingFilter } from './types.js';

const T0 = Date.UTC(2026, 10, 2, 8, 0, 0);
const DAY = 86_400_000;
const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);

function entry(id: string, extra: Partial<RecordingEntry> = {}): RecordingEntry {
  return {
    id, session: `ses-${id}`, desktop: 'p11-control', beamline: 'p11', beamtime: 'bt-1', path: `p11/${id}.bgrec`,
    startedAt: at(0), bytes: 0, status: 'recording', retentionDays: 30, ...extra,
  };
}

describeEachBackend('recordings index', (backend) => {
  it('reads back what was added and updated; unknown ids are ignored', async () => {
    const { store } = await backend.open();
    await store.recordings.add(entry('r1'));
    assert.deepEqual(await store.recordings.get('r1'), entry('r1'));
    await store.recordings.update('r1', { endedAt: at(60), bytes: 123_456_789_012, status: 'complete', endReason: 'last viewer left' });
    assert.deepEqual(await store.recordings.get('r1'), entry('r1', { endedAt: at(60), bytes: 123_456_789_012, status: 'complete', endReason: 'last viewer left' }));
    await store.recordings.update('nope', { status: 'failed' });
    assert.equal(await store.recordings.get('nope'), undefined);
    const noBeamtime = entry('r2', { beamtime: undefined });
    delete (noBeamtime as { beamtime?: string }).beamtime;
    await store.recordings.add(noBeamtime);
    assert.equal(Object.hasOwn((await store.recordings.get('r2'))!, 'beamtime'), false);
  });

  it('lists newest first, by desktop, beamline, session and overlap with a time range, without deleted ones', async () => {
    const { store } = await backend.open();
    await store.recordings.add(entry('a', { startedAt: at(0), endedAt: at(60), status: 'complete' }));
    await store.recordings.add(entry('b', { startedAt: at(120), endedAt: at(180), status: 'complete', desktop: 'p21-control', beamline: 'p21' }));
    await store.recordings.add(entry('c', { startedAt: at(240) })); // still recording
    await store.recordings.add(entry('d', { startedAt: at(300), endedAt: at(310), status: 'deleted' }));
    const ids = async (filter: RecordingFilter): Promise<string[]> => (await store.recordings.list(filter)).map(r => r.id);
    assert.deepEqual(await ids({}), ['c', 'b', 'a']);
    assert.deepEqual(await ids({ includeDeleted: true }), ['d', 'c', 'b', 'a']);
    assert.deepEqual(await ids({ desktop: 'p11-control' }), ['c', 'a']);
    assert.deepEqual(await ids({ beamline: 'p21' }), ['b']);
    assert.deepEqual(await ids({ session: 'ses-a' }), ['a']);
    assert.deepEqual(await ids({ desktop: 'p11-control', from: at(30), to: at(31) }), ['a'], 'the recording that covers a moment');
    assert.deepEqual(await ids({ desktop: 'p11-control', from: at(61), to: at(62) }), [], 'a gap between recordings');
    assert.deepEqual(await ids({ from: at(1000), to: at(1001) }), ['c'], 'one still recording covers every later moment');
    assert.deepEqual(await ids({ limit: 1 }), ['c']);
  });

  it('expires finished recordings once their retention (from their start) has run out', async () => {
    const { store } = await backend.open();
    await store.recordings.add(entry('short', { retentionDays: 1, status: 'complete', endedAt: at(10) }));
    await store.recordings.add(entry('long', { retentionDays: 90, status: 'complete', endedAt: at(10) }));
    await store.recordings.add(entry('live', { retentionDays: 1 }));
    await store.recordings.add(entry('gone', { retentionDays: 1, status: 'deleted' }));
    assert.deepEqual((await store.recordings.expired(new Date(T0 + DAY - 1))).map(r => r.id), []);
    assert.deepEqual((await store.recordings.expired(new Date(T0 + DAY))).map(r => r.id), ['short']);
    assert.deepEqual((await store.recordings.expired(new Date(T0 + 90 * DAY))).map(r => r.id).sort(), ['long', 'short']);
  });
});
