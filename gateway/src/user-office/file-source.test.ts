import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, symlink, unlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { FileUserOfficeSource, type FileUserOfficeSourceOptions } from './file-source.js';
import { UserOfficeError } from './load.js';
import type { SourceEvent } from './source.js';
import { lineOfText, ManualSchedule, nextEvent, recordEvents, sampleJson } from './test-support.js';

const TIMEOUT = { timeout: 15_000 };
const POLL_MS = 60_000;
const NO_WATCH = (): { close(): void } => ({ close: () => undefined });

/** The document with one more user, so each version is recognisable by its user count. */
function withUsers(count: number): string {
  return sampleJson((doc) => {
    doc['users'] = Array.from({ length: count }, (_, i) => ({ id: `u${i}`, name: `User ${i}` }));
  });
}

function loaded(event: SourceEvent): Extract<SourceEvent, { kind: 'loaded' }> {
  assert.equal(event.kind, 'loaded', event.kind === 'rejected' ? event.error : '');
  return event;
}

function rejected(event: SourceEvent): Extract<SourceEvent, { kind: 'rejected' }> {
  assert.equal(event.kind, 'rejected');
  return event;
}

/** As vim, VS Code and most tools save: a new file renamed over the old one (a new inode). */
async function replaceByRename(path: string, text: string): Promise<void> {
  const temporary = `${path}.saving`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

describe('FileUserOfficeSource', TIMEOUT, () => {
  let dir: string;
  let path: string;
  const sources: FileUserOfficeSource[] = [];

  const open = (options: Partial<FileUserOfficeSourceOptions> = {}): FileUserOfficeSource => {
    const source = new FileUserOfficeSource({ path, debounceMs: 20, pollMs: POLL_MS, ...options });
    sources.push(source);
    return source;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'beamgate-uo-file-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  let n = 0;
  afterEach(() => {
    for (const source of sources.splice(0)) source.close();
    n++;
  });
  const freshPath = async (text: string): Promise<string> => {
    path = join(dir, `uo-${n}.yaml`);
    await writeFile(path, text);
    return path;
  };

  it('loads the file at start and tells listeners added before', async () => {
    await freshPath(withUsers(3));
    const source = open();
    const events = recordEvents(source);
    const data = await source.start();
    assert.equal(data.users.length, 3);
    assert.equal(source.current(), data);
    assert.equal(source.describe(), path);
    assert.equal(events.length, 1);
    const event = loaded(events[0]!);
    assert.equal(event.source, path);
    assert.deepEqual(event.counts, { users: 3, beamlines: 1, beamtimes: 1, remoteAccessGrants: 1, trainings: 1, acknowledgements: 0 });
  });

  it('refuses to start on a missing file, naming it', async () => {
    path = join(dir, 'does-not-exist.yaml');
    const source = open();
    await assert.rejects(source.start(), (e: unknown) => {
      assert.ok(e instanceof UserOfficeError);
      assert.equal(e.message, `${path}: cannot read the user-office data file: ENOENT (no such file; an editor may still be saving it, or userOffice.file is wrong)`);
      return true;
    });
    assert.throws(() => source.current(), /before start\(\) succeeded/);
  });

  it('refuses to start on a bad file, naming the path and line', async () => {
    const text = withUsers(1).replace('"2025-06-03T08:00:00+02:00"', '"soon"');
    await freshPath(text);
    await assert.rejects(open().start(), (e: unknown) => {
      assert.ok(e instanceof UserOfficeError);
      assert.equal(e.message, `${path}: invalid user-office data:\n  beamtimes.0.end (line ${lineOfText(text, '"soon"')}): Invalid ISO datetime`);
      return true;
    });
  });

  it('reloads a file rewritten in place', async () => {
    await freshPath(withUsers(1));
    const source = open();
    await source.start();
    const next = nextEvent(source);
    await writeFile(path, withUsers(2));
    assert.equal(loaded(await next).data.users.length, 2);
    assert.equal(source.current().users.length, 2);
  });

  it('reloads a file replaced by rename, again and again (as editors save)', async () => {
    await freshPath(withUsers(1));
    const source = open();
    await source.start();
    for (const count of [2, 3, 4]) {
      const next = nextEvent(source);
      await replaceByRename(path, withUsers(count));
      assert.equal(loaded(await next).data.users.length, count);
    }
  });

  it('keeps the last good data on a broken edit, then loads the fixed one', async () => {
    await freshPath(withUsers(1));
    const source = open();
    await source.start();
    const broken = withUsers(5).replace('"bt-20250101",', '"bt-20250101", "x": 1,');
    let next = nextEvent(source);
    await replaceByRename(path, broken);
    const refusal = rejected(await next);
    assert.equal(refusal.source, path);
    assert.match(refusal.error, new RegExp(`^${path}: invalid user-office data:\n`));
    assert.match(refusal.error, /beamtimes\.0 \(line \d+\): Unrecognized key: "x"/);
    assert.equal(source.current().users.length, 1, 'the old data stays');

    next = nextEvent(source);
    await replaceByRename(path, withUsers(6));
    assert.equal(loaded(await next).data.users.length, 6);
  });

  it('says nothing when the content did not change', async () => {
    await freshPath(withUsers(1));
    const source = open();
    await source.start();
    const events = recordEvents(source);
    await writeFile(path, withUsers(1));
    assert.equal(await source.refresh(), undefined);
    // The next event is for the next real change, not for the rewrite of the same text.
    const next = nextEvent(source);
    await writeFile(path, withUsers(2));
    assert.equal(loaded(await next).data.users.length, 2);
    assert.equal(events.length, 1);
  });

  it('follows a Kubernetes ConfigMap update (the ..data symlink is swapped)', async () => {
    const mount = join(dir, `configmap-${n}`);
    await mkdir(join(mount, '..v1'), { recursive: true });
    await mkdir(join(mount, '..v2'));
    await writeFile(join(mount, '..v1', 'uo.yaml'), withUsers(1));
    await writeFile(join(mount, '..v2', 'uo.yaml'), withUsers(2));
    await symlink('..v1', join(mount, '..data'));
    await symlink(join('..data', 'uo.yaml'), join(mount, 'uo.yaml'));
    path = join(mount, 'uo.yaml');
    const source = open();
    assert.equal((await source.start()).users.length, 1);
    const next = nextEvent(source);
    await symlink('..v2', join(mount, '..data_tmp'));
    await rename(join(mount, '..data_tmp'), join(mount, '..data'));
    assert.equal(loaded(await next).data.users.length, 2);
  });

  it('reports a vanished file once, and loads it when it is back', async () => {
    const schedule = new ManualSchedule();
    await freshPath(withUsers(1));
    const source = open({ schedule: schedule.schedule, watchDirectory: NO_WATCH });
    await source.start();
    await unlink(path);
    let next = nextEvent(source);
    schedule.fire(POLL_MS);
    assert.match(rejected(await next).error, /cannot read the user-office data file: ENOENT/);
    assert.equal(await source.refresh(), undefined, 'the same failure is not reported twice');
    await writeFile(path, withUsers(1));
    next = nextEvent(source);
    schedule.fire(POLL_MS);
    assert.equal(loaded(await next).data.users.length, 1, 'the same text as before is news after a failure');
  });

  it('finds changes by the stat poll when watching sees nothing', async () => {
    const schedule = new ManualSchedule();
    await freshPath(withUsers(1));
    const source = open({ schedule: schedule.schedule, watchDirectory: NO_WATCH });
    await source.start();
    assert.deepEqual(schedule.pending(), [POLL_MS]);
    await replaceByRename(path, withUsers(2));
    const next = nextEvent(source);
    assert.equal(schedule.fire(POLL_MS), 1);
    assert.equal(loaded(await next).data.users.length, 2);
    assert.deepEqual(schedule.pending(), [POLL_MS], 'the poll goes on');
  });

  it('still starts, and polls, when the directory cannot be watched', async () => {
    const schedule = new ManualSchedule();
    await freshPath(withUsers(1));
    const source = open({
      schedule: schedule.schedule,
      watchDirectory: () => {
        throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
      },
    });
    await source.start();
    await writeFile(path, withUsers(2));
    const next = nextEvent(source);
    schedule.fire(POLL_MS);
    assert.equal(loaded(await next).data.users.length, 2);
  });

  it('debounces a burst of change events into one read', async () => {
    const schedule = new ManualSchedule();
    let emit: (name: string | null) => void = () => undefined;
    await freshPath(withUsers(1));
    const source = open({
      schedule: schedule.schedule,
      watchDirectory: (_dir, onEvent) => {
        emit = onEvent;
        return { close: () => undefined };
      },
    });
    await source.start();
    await writeFile(path, withUsers(2));
    emit(`uo-${n}.yaml`);
    emit(null);
    emit('unrelated.txt');
    emit(`uo-${n}.yaml`);
    assert.deepEqual(schedule.pending(), [POLL_MS, 20], 'one debounce timer for the burst');
    const next = nextEvent(source);
    assert.equal(schedule.fire(20), 1);
    assert.equal(loaded(await next).data.users.length, 2);
  });

  it('emits nothing after close and leaves no timer behind', async () => {
    const schedule = new ManualSchedule();
    let closed = 0;
    await freshPath(withUsers(1));
    const watcher = {
      close: () => {
        closed++;
      },
    };
    const source = open({ schedule: schedule.schedule, watchDirectory: () => watcher });
    await source.start();
    const events = recordEvents(source);
    source.close();
    assert.equal(closed, 1);
    assert.deepEqual(schedule.pending(), []);
    await writeFile(path, withUsers(2));
    assert.equal(await source.refresh(), undefined);
    assert.deepEqual(events, []);
    assert.equal(source.current().users.length, 1);
  });

  it('stops telling a listener that unsubscribed', async () => {
    await freshPath(withUsers(1));
    const source = open({ watchDirectory: NO_WATCH });
    await source.start();
    const events: SourceEvent[] = [];
    const unsubscribe = source.onChange((e) => {
      events.push(e);
    });
    await writeFile(path, withUsers(2));
    await source.refresh();
    unsubscribe();
    await writeFile(path, withUsers(3));
    await source.refresh();
    assert.equal(events.length, 1);
  });
});
