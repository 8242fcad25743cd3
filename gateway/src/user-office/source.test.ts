import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseUserOfficeJson } from './load.js';
import { countsOf, loadedEvent, SourceListeners, type SourceEvent } from './source.js';
import { sampleJson } from './test-support.js';

const data = parseUserOfficeJson(sampleJson(), 'sample');

describe('SourceListeners', () => {
  it('calls every listener even when some throw, then throws what they threw', () => {
    const listeners = new SourceListeners();
    const seen: string[] = [];
    listeners.add(() => {
      throw new Error('first');
    });
    listeners.add(e => seen.push(e.kind));
    const event: SourceEvent = { kind: 'rejected', error: 'x', source: 's' };
    assert.throws(() => {
      listeners.emit(event);
    }, /^Error: first$/);
    assert.deepEqual(seen, ['rejected']);
    listeners.add(() => {
      throw new Error('second');
    });
    assert.throws(() => {
      listeners.emit(event);
    }, (e: unknown) => e instanceof AggregateError && e.errors.length === 2);
  });

  it('calls a function added twice twice, and removes one at a time', () => {
    const listeners = new SourceListeners();
    let calls = 0;
    const listener = (): void => {
      calls++;
    };
    const removeFirst = listeners.add(listener);
    listeners.add(listener);
    listeners.emit(loadedEvent(data, 's'));
    assert.equal(calls, 2);
    removeFirst();
    removeFirst();
    listeners.emit(loadedEvent(data, 's'));
    assert.equal(calls, 3);
  });
});

describe('loadedEvent', () => {
  it('counts every list and carries a warning only when there is one', () => {
    const event = loadedEvent(data, 'uo.yaml');
    assert.deepEqual(event, { kind: 'loaded', data, source: 'uo.yaml', counts: countsOf(data) });
    assert.ok(!('warning' in event));
    assert.deepEqual(countsOf(data), { users: 3, beamlines: 1, beamtimes: 1, remoteAccessGrants: 1, trainings: 1, acknowledgements: 0 });
    assert.equal((loadedEvent(data, 'f', 'cache not written') as { warning?: string }).warning, 'cache not written');
  });
});
