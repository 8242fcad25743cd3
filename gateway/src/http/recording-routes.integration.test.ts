// The recordings API through the real gateway (login, store, policy): a recording written with the
// RecordingWriter into the gateway's recordings directory and entered in its index; who may see
// it (401/403), bad input (400), unknown and deleted recordings (404), files outside the directory
// (422, never read), a truncated file (played up to its last whole record), a growing one, and the
// audit record of each playback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeKeyFramePayload, RecordKind } from '../../../session-recorder/src/recording/format.js';
import { decodePlaybackChunk, PLAYBACK_CHUNK_MEDIA_TYPE } from '../../../session-recorder/src/recording/playback-chunk.js';
import { DEMO_BEAMLINE } from '../demo-idp/sample-user-office.js';
import type { RecordingEntry } from '../store/types.js';
import { startLoginRig, type LoginRig } from '../testing/login-rig.js';
import { RfbPicture } from '../testing/rfb-picture.js';
import { expectedAt, probes, syntheticHeader, writeSyntheticRecording, type SyntheticRecording } from '../testing/synthetic-recording.js';

const spec: SyntheticRecording = {
  width: 64, height: 48, name: 'BL-DEMO', durationMs: 30_000, keyFrameIntervalMs: 10_000, updateIntervalMs: 1000,
  marker: { width: 16, height: 16 },
  events: [
    { t: 1000, kind: 'viewer', detail: 'joined', actor: 'alice', message: 'Alice joined' },
    { t: 2000, kind: 'control', holder: 'alice', detail: 'held', message: 'Alice took control' },
    { t: 12_000, kind: 'blocked', actor: 'alice', detail: 'no-ctrl-alt-del', message: 'input blocked by rule no-ctrl-alt-del' },
  ],
};
const STARTED = new Date('2026-11-22T10:00:00.000Z');

interface Detail {
  recording: { id: string; desktop: string; startedAt: string };
  keyFrames: { t: number; width: number; height: number; name: string }[];
  events: { t: number; kind: string; message: string; holder?: string }[];
  durationMs: number;
  condition: string;
  problem?: string;
}

describe('recordings API', () => {
  let rig: LoginRig;
  let dir: string;
  let sam: { cookie: string; csrf: string };
  let alice: { cookie: string; csrf: string };
  let carol: { cookie: string; csrf: string };

  const get = (path: string, who: { cookie: string } | undefined): Promise<Response> =>
    fetch(`${rig.base}${path}`, { headers: who === undefined ? {} : { cookie: who.cookie } });
  const errorOf = async (res: Response): Promise<{ status: number; code: string; message: string }> => {
    const body = await res.json() as { error: { code: string; message: string } };
    return { status: res.status, code: body.error.code, message: body.error.message };
  };
  const addEntry = async (id: string, path: string, extra: Partial<RecordingEntry> = {}): Promise<void> => {
    await rig.gateway.store.recordings.add({
      id, session: `ses-${id}`, desktop: 'bl-demo', beamline: DEMO_BEAMLINE, path, startedAt: STARTED,
      endedAt: new Date(STARTED.getTime() + spec.durationMs), bytes: 0, status: 'complete', retentionDays: 90, ...extra,
    });
  };
  const write = async (id: string, relative: string, s: SyntheticRecording = spec): Promise<string> => {
    const path = join(dir, relative);
    mkdirSync(dirname(path), { recursive: true });
    await writeSyntheticRecording(path, syntheticHeader(id, STARTED, s), s);
    return path;
  };
  const chunk = async (id: string, k: number, who = sam, playback = 'playback-1'): Promise<Response> =>
    get(`/api/recordings/${id}/chunks/${k}?playback=${playback}`, who);
  const viewed = async (): Promise<{ actor: string; message: string; details?: unknown }[]> =>
    rig.gateway.store.audit.query({ codes: ['recording.viewed'] });

  before(async () => {
    rig = await startLoginRig();
    // The rig's gateway keeps recordings in <dataDir>/recordings (the default), dataDir next to the user-office file.
    dir = join(dirname(rig.userOfficeFile), 'data', 'recordings');
    await write('rec-a', 'bl-demo/2026-11-22/rec-a.bgrec');
    await addEntry('rec-a', 'bl-demo/2026-11-22/rec-a.bgrec');
    [sam, alice, carol] = await Promise.all([rig.login('sam.safety'), rig.login('alice.remote'), rig.login('carol.contact')]);
  });
  after(async () => {
    await rig.close();
  });

  it('lists recordings for those who may audit, with filters', async () => {
    const res = await get('/api/recordings', sam);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const { recordings } = await res.json() as { recordings: { id: string; startedAt: string; endedAt: string }[] };
    assert.ok(recordings.some(r => r.id === 'rec-a' && r.startedAt === STARTED.toISOString()));
    const at = STARTED.getTime() + 5000;
    const covering = await (await get(`/api/recordings?desktop=bl-demo&from=${at}&to=${at + 1}`, carol)).json() as { recordings: { id: string }[] };
    assert.ok(covering.recordings.some(r => r.id === 'rec-a'), 'the local contact sees the recordings of her beamline');
    const later = await (await get('/api/recordings?from=2026-11-23T00:00:00Z', sam)).json() as { recordings: unknown[] };
    assert.deepEqual(later.recordings, []);
  });

  it('refuses without login (401) and without the audit right (403), without telling whether a recording exists', async () => {
    for (const path of ['/api/recordings', '/api/recordings/rec-a', '/api/recordings/rec-a/chunks/0?playback=playback-1']) {
      assert.deepEqual(await errorOf(await get(path, undefined)), {
        status: 401, code: 'GW_ERR_LOGIN_REQUIRED', message: 'You are not logged in (or your login expired). Log in again.',
      });
      const denied = await errorOf(await get(path, alice));
      assert.equal(denied.status, 403, path);
      assert.equal(denied.code, 'GW_ERR_ACCESS_DENIED');
    }
    assert.equal((await errorOf(await get('/api/recordings/rec-nonexistent', alice))).status, 403);
    assert.equal((await errorOf(await get(`/api/recordings?beamline=${DEMO_BEAMLINE}`, alice))).status, 403);
    const refusals = await rig.gateway.store.audit.query({ codes: ['access.denied'], actor: (await whoAmI(alice)).id });
    assert.ok(refusals.some(r => r.message.includes('recording rec-a refused')), 'the refusal is audited');
  });

  it('answers bad input with 400 and what to send', async () => {
    for (const query of [
      'from=yesterday', 'limit=0', 'limit=5000', 'limit=-1', 'colour=red', 'desktop=a&desktop=b', 'desktop=%27%20OR%201%3D1--',
      'from=2026-11-23T00:00:00Z&to=2026-11-22T00:00:00Z', 'to=2026-11-22T10:00:00', 'session=' + 'x'.repeat(200),
    ]) {
      const e = await errorOf(await get(`/api/recordings?${query}`, sam));
      assert.equal(e.status, 400, query);
      assert.equal(e.code, 'GW_ERR_BAD_REQUEST');
      assert.match(e.message, /desktop, beamline, session/);
    }
    for (const path of [
      '/api/recordings/..%2F..%2Fuser-office.yaml', '/api/recordings/.hidden', '/api/recordings/rec-a%00', '/api/recordings/rec-a/chunks/x?playback=playback-1',
      '/api/recordings/rec-a/chunks/0', '/api/recordings/rec-a/chunks/0?playback=short', '/api/recordings/rec-a/chunks/0?playback=playback-1&extra=1',
      '/api/recordings/rec-a/chunks/1e3?playback=playback-1',
    ]) {
      const e = await errorOf(await get(path, sam));
      assert.equal(e.status, 400, path);
      assert.equal(e.code, 'GW_ERR_BAD_REQUEST');
    }
    // The URL parser folds %2e%2e into "..": the request never names a recording.
    assert.equal((await get('/api/recordings/%2e%2e', sam)).status, 404);
  });

  it('gives a recording\'s index: key frames, events, duration, condition', async () => {
    const res = await get('/api/recordings/rec-a', sam);
    assert.equal(res.status, 200);
    const detail = await res.json() as Detail;
    assert.equal(detail.recording.desktop, 'bl-demo');
    assert.deepEqual(detail.keyFrames, [5, 10_005, 20_005].map(t => ({ t, width: 64, height: 48, name: 'BL-DEMO' })));
    assert.deepEqual(detail.events.map(e => [e.t, e.kind, e.message]), spec.events?.map(e => [e.t, e.kind, e.message]));
    assert.equal(detail.events[1]?.holder, 'alice');
    assert.equal(detail.durationMs, 30_000);
    assert.equal(detail.condition, 'complete');
    assert.equal(detail.problem, undefined);
  });

  it('sends each chunk as the records from its key frame to the next, which play to the expected picture', async () => {
    const probe = probes(spec);
    for (const k of [0, 1, 2]) {
      const res = await chunk('rec-a', k);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), PLAYBACK_CHUNK_MEDIA_TYPE);
      const records = decodePlaybackChunk(new Uint8Array(await res.arrayBuffer()));
      assert.equal(records[0]?.kind, RecordKind.KeyFrame);
      assert.equal(records[0].t, k * 10_000 + 5);
      assert.ok(records.every(r => r.t >= k * 10_000 && r.t <= (k + 1) * 10_000 + 5));
      if (k === 1) assert.ok(records.some(r => r.kind === RecordKind.Event && r.t === 12_000), 'events travel with the chunk');
      if (k === 2) assert.equal(records.at(-1)?.kind, RecordKind.End);
      const picture = new RfbPicture(64, 48);
      let last = 0;
      for (const r of records) {
        if (r.kind === RecordKind.KeyFrame) picture.apply(decodeKeyFramePayload(r.payload).rfb);
        if (r.kind === RecordKind.Rfb) picture.apply(r.payload);
        if (r.kind === RecordKind.KeyFrame || r.kind === RecordKind.Rfb) last = r.t;
      }
      const [red, green, blue] = picture.rgb(probe.marker.x, probe.marker.y);
      assert.equal((red << 16) | (green << 8) | blue, expectedAt(spec, last).marker, `chunk ${k} ends on the expected marker`);
    }
    assert.deepEqual(await errorOf(await chunk('rec-a', 3)), {
      status: 404, code: 'GW_ERR_UNKNOWN_RECORDING', message: 'Recording rec-a has 3 key frames; there is no chunk 3.',
    });
  });

  it('audits each playback once, before its first picture; another playback again', async () => {
    const before = (await viewed()).length;
    await (await chunk('rec-a', 1, carol, 'carol-playback-1')).arrayBuffer();
    await (await chunk('rec-a', 2, carol, 'carol-playback-1')).arrayBuffer();
    await (await chunk('rec-a', 0, carol, 'carol-playback-1')).arrayBuffer();
    let records = await viewed();
    assert.equal(records.length, before + 1);
    const record = records.at(-1);
    assert.equal(record?.actor, (await whoAmI(carol)).id);
    assert.match(record.message, /played recording rec-a of bl-demo \(from 00:00:10 into it\)/);
    await (await chunk('rec-a', 0, carol, 'carol-playback-2')).arrayBuffer();
    records = await viewed();
    assert.equal(records.length, before + 2);
  });

  it('answers 404 for unknown and deleted recordings and missing files', async () => {
    assert.deepEqual(await errorOf(await get('/api/recordings/rec-nonexistent', sam)), {
      status: 404, code: 'GW_ERR_UNKNOWN_RECORDING', message: 'There is no recording "rec-nonexistent".',
    });
    await addEntry('rec-deleted', 'bl-demo/2026-11-22/rec-deleted.bgrec', { status: 'deleted' });
    assert.match((await errorOf(await get('/api/recordings/rec-deleted', sam))).message, /deleted when its 90-day retention ended/);
    await addEntry('rec-missing', 'bl-demo/2026-11-22/rec-missing.bgrec');
    const missing = await errorOf(await chunk('rec-missing', 0));
    assert.equal(missing.status, 404);
    assert.match(missing.message, /file of recording rec-missing is missing/);
  });

  it('never reads a file outside the recordings directory, whatever the index says', async () => {
    const secret = rig.userOfficeFile; // outside the recordings directory
    await addEntry('rec-escape', '../../user-office.yaml');
    await addEntry('rec-absolute', secret);
    symlinkSync(secret, join(dir, 'bl-demo', 'link.bgrec'));
    await addEntry('rec-link', 'bl-demo/link.bgrec');
    for (const id of ['rec-escape', 'rec-absolute', 'rec-link']) {
      for (const path of [`/api/recordings/${id}`, `/api/recordings/${id}/chunks/0?playback=playback-1`]) {
        const res = await get(path, sam);
        const text = await res.text();
        assert.equal(res.status, 422, `${path}: ${text}`);
        assert.match(text, /GW_ERR_RECORDING_UNREADABLE/);
        assert.doesNotMatch(text, /beamtimes|facilityUserId|BT-DEMO/, 'nothing of the file leaks');
      }
    }
  });

  it('a file that is not a recording is refused with 422', async () => {
    writeFileSync(join(dir, 'bl-demo', 'garbage.bgrec'), 'this is not a recording at all, just text of some length');
    await addEntry('rec-garbage', 'bl-demo/garbage.bgrec');
    const e = await errorOf(await get('/api/recordings/rec-garbage', sam));
    assert.equal(e.status, 422);
    assert.match(e.message, /not a readable recording: not a Beamgate recording \(wrong magic bytes\)/);
    assert.doesNotMatch(e.message, new RegExp(dir), 'the message names no server path');
  });

  it('plays a truncated file up to its last whole record and says where it ends; follows it as it grows', async () => {
    const whole = readFileSync(join(dir, 'bl-demo/2026-11-22/rec-a.bgrec'));
    const cut = join(dir, 'bl-demo', 'rec-cut.bgrec');
    const half = Math.floor(whole.length * 0.6);
    writeFileSync(cut, whole.subarray(0, half));
    await addEntry('rec-cut', 'bl-demo/rec-cut.bgrec', { status: 'recording', endedAt: undefined });
    const detail = await (await get('/api/recordings/rec-cut', sam)).json() as Detail;
    assert.equal(detail.condition, 'cut');
    assert.match(detail.problem ?? '', /^ends without an end record at 00:00:\d\d\.\d{3}/);
    assert.ok(detail.durationMs < 30_000 && detail.durationMs > 0);
    const lastChunk = detail.keyFrames.length - 1;
    const records = decodePlaybackChunk(new Uint8Array(await (await chunk('rec-cut', lastChunk)).arrayBuffer()));
    assert.equal(records.at(-1)?.t, detail.durationMs, 'the last chunk ends at the last whole record');

    writeFileSync(cut, whole); // the recorder wrote on (same file, grown)
    const grown = await (await get('/api/recordings/rec-cut', sam)).json() as Detail;
    assert.equal(grown.condition, 'complete');
    assert.equal(grown.durationMs, 30_000);
    assert.equal(grown.keyFrames.length, 3);
  });

  async function whoAmI(who: { cookie: string }): Promise<{ id: string }> {
    const me = await (await get('/api/me', who)).json() as { user: { id: string } };
    return me.user;
  }
});
