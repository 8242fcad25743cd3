// Property tests of the arbiter over random event sequences: random people (staff or not,
// eligible or not, several tabs per person), random actions by anyone (most of them not
// allowed), random time steps with ticks. The invariants are those of the spec's "Control
// arbitration" section and docs/design/0004-control-arbiter.md.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  describeState, initialControlState, reduce,
  type ControlEffect, type ControlEvent, type ControlSettings, type ControlState,
} from './arbiter.js';

interface User { readonly staff: boolean }

/** Who acts: 0..7 picks a current participant (by position), 8 a connection that is not there, 9 the holder. */
const who = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 7 }), weight: 6 },
  { arbitrary: fc.constant(9), weight: 3 },
  { arbitrary: fc.constant(8), weight: 1 },
);
/** Requests come mostly from whoever is watching. */
const requester = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 7 }), weight: 9 }, { arbitrary: fc.constant(8), weight: 1 });
const user = fc.integer({ min: 0, max: 3 });
/** Mostly eligible, so that requests, queues and hand-overs happen often enough to test. */
const canControl = fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 });

type Action =
  | { kind: 'join'; user: number; canControl: boolean }
  | { kind: 'leave' | 'request' | 'cancel-request' | 'release' | 'accept-hand-over' | 'decline-hand-over' | 'input'; who: number }
  | { kind: 'eligibility'; who: number; canControl: boolean }
  | { kind: 'grant' | 'deny'; who: number; pick: number }
  | { kind: 'hand-over'; who: number; user: number }
  | { kind: 'take-over' | 'revoke' | 'lock' | 'unlock'; who: number }
  | { kind: 'remove'; who: number; target: number }
  | { kind: 'tick' };

const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('join' as const), user, canControl }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constantFrom('leave', 'cancel-request', 'release', 'accept-hand-over', 'decline-hand-over', 'input'), who }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('request' as const), who: requester }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant('eligibility' as const), who, canControl: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constantFrom('grant' as const, 'deny' as const), who, pick: fc.nat(3) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('hand-over' as const), who, user }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constantFrom('take-over' as const, 'revoke' as const, 'lock' as const, 'unlock' as const), who }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), who, target: who }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'tick' as const }), weight: 4 },
);

const step = fc.record({ dt: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 40_000 })), action });

const scenario = fc.record({
  users: fc.array(fc.record({ staff: fc.boolean() }), { minLength: 4, maxLength: 4 }),
  settings: fc.record({
    idleTimeoutMs: fc.constantFrom(0, 30_000),
    disconnectGraceMs: fc.constantFrom(0, 10_000),
    handOverTimeoutMs: fc.constantFrom(0, 15_000),
    autoGrantAfterMs: fc.constantFrom(undefined, 20_000),
    maxQueue: fc.integer({ min: 1, max: 3 }),
  }),
  steps: fc.array(step, { minLength: 10, maxLength: 80, size: 'max' }),
});

type Scenario = { users: User[]; settings: ControlSettings; steps: { dt: number; action: Action }[] };

/** Turns an abstract action into a concrete event against the current state. */
interface Counters { connection: number; request: number }

function concrete(state: ControlState, a: Action, at: number, users: readonly User[], counters: Counters): ControlEvent {
  const present = [...state.participants.keys()];
  const pick = (n: number): string => {
    if (n === 9 && state.holder !== undefined) return state.holder.connection;
    if (n === 8 || present.length === 0) return 'c-ghost';
    return present[n % present.length] ?? 'c-ghost';
  };
  switch (a.kind) {
    case 'join': {
      counters.connection += 1;
      const staff = users[a.user]?.staff ?? false;
      return { type: 'join', at, participant: { connection: `c${counters.connection}`, userId: `U${a.user}`, name: `User ${a.user}`, staff, canControl: a.canControl } };
    }
    case 'request':
      counters.request += 1;
      return { type: 'request', at, connection: pick(a.who), requestId: `r${counters.request}`, message: '' };
    case 'leave': case 'cancel-request': case 'release': case 'accept-hand-over': case 'decline-hand-over': case 'input':
      return { type: a.kind, at, connection: pick(a.who) };
    case 'eligibility':
      return { type: 'eligibility', at, connection: pick(a.who), canControl: a.canControl, reason: 'policy re-evaluated' };
    case 'grant':
      return { type: 'grant', at, by: pick(a.who), requestId: state.queue[a.pick]?.id ?? 'r-unknown' };
    case 'deny':
      return { type: 'deny', at, by: pick(a.who), requestId: state.queue[a.pick]?.id ?? 'r-unknown', reason: 'no' };
    case 'hand-over':
      return { type: 'hand-over', at, by: pick(a.who), toUserId: `U${a.user}` };
    case 'take-over': case 'revoke':
      return { type: a.kind, at, by: pick(a.who), reason: 'test' };
    case 'lock': case 'unlock':
      return { type: a.kind, at, by: pick(a.who) };
    case 'remove':
      return { type: 'remove', at, by: pick(a.who), connection: pick(a.target), reason: 'test' };
    case 'tick':
      return { type: 'tick', at };
  }
}

interface Run {
  readonly prev: ControlState;
  readonly event: ControlEvent;
  readonly next: ControlState;
  readonly effects: readonly ControlEffect[];
}

function play(s: Scenario): Run[] {
  let state = initialControlState();
  let at = 1_000_000;
  const counters = { connection: 0, request: 0 };
  const runs: Run[] = [];
  for (const { dt, action: a } of s.steps) {
    at += dt;
    const event = concrete(state, a, at, s.users, counters);
    const { state: next, effects } = reduce(state, event, s.settings);
    runs.push({ prev: state, event, next, effects });
    state = next;
  }
  return runs;
}

const holderChanges = (effects: readonly ControlEffect[]) => effects.filter(e => e.kind === 'holder-changed');
const auditsOf = (effects: readonly ControlEffect[]) => effects.filter(e => e.kind === 'audit');

const runs = { numRuns: 300 } as const;

describe('arbiter properties over random event sequences', () => {
  it('never two holders: the holder is a current participant, or away within the grace (gone at the first tick after it)', () => {
    fc.assert(fc.property(scenario, (s) => {
      for (const { event, next } of play(s)) {
        const h = next.holder;
        if (h === undefined) continue;
        if (h.disconnectedAt === undefined) {
          assert.ok(next.participants.has(h.connection), `holder ${h.connection} is not a participant after ${event.type}`);
        } else {
          assert.ok(!next.participants.has(h.connection));
          assert.ok(s.settings.disconnectGraceMs > 0);
          if (event.type === 'tick') assert.ok(event.at < h.disconnectedAt + s.settings.disconnectGraceMs, 'grace over but still held');
        }
        const holders = [...next.participants.values()].filter(p => p.connection === h.connection);
        assert.ok(holders.length <= 1);
      }
    }), runs);
  });

  it('the epoch moves exactly when the holder changes, by one per holder-changed effect, with consecutive epochs', () => {
    fc.assert(fc.property(scenario, (s) => {
      let lastEpoch = 0;
      for (const { prev, next, effects } of play(s)) {
        const changes = holderChanges(effects);
        assert.equal(next.epoch, prev.epoch + changes.length);
        let holder = prev.holder?.connection;
        for (const c of changes) {
          lastEpoch += 1;
          assert.equal(c.epoch, lastEpoch, 'holder-changed epochs are consecutive over the whole run');
          assert.equal(c.from, holder, 'each change starts where the last one ended');
          assert.notEqual(c.from, c.to);
          holder = c.to;
        }
        assert.equal(next.holder?.connection, holder, 'the effects end at the state\'s holder');
        if (changes.length === 0) assert.equal(next.holder?.connection, prev.holder?.connection);
      }
    }), runs);
  });

  it('no queued request disappears without a grant, deny, cancel, leave, eligibility-loss notice or auto-grant', () => {
    fc.assert(fc.property(scenario, (s) => {
      for (const { prev, event, next, effects } of play(s)) {
        const kept = new Set(next.queue.map(r => r.id));
        const refused = effects.some(e => e.kind === 'refused');
        for (const r of prev.queue.filter(q => !kept.has(q.id))) {
          assert.ok(!refused, 'a refusal removed a request');
          const noticed = effects.some(e => e.kind === 'notify' && e.notice.includes(`(${r.id})`));
          const why
            = next.holder?.connection === r.connection ? 'granted' // T4, T8, T11, T17, T20, T23
              : event.type === 'deny' && event.requestId === r.id ? 'denied'
                : event.type === 'cancel-request' && event.connection === r.connection ? 'cancelled'
                  : (event.type === 'leave' || event.type === 'remove') && event.connection === r.connection && noticed ? 'left'
                      : event.type === 'eligibility' && event.connection === r.connection && !event.canControl && noticed ? 'eligibility-lost'
                        : undefined;
          assert.ok(why !== undefined, `request ${r.id} vanished on ${JSON.stringify(event)}`);
        }
        const ids = next.queue.map(r => r.id);
        assert.equal(new Set(ids).size, ids.length, 'request ids are unique');
        assert.ok(next.queue.length <= Math.max(prev.queue.length, s.settings.maxQueue));
        assert.ok(next.queue.every(r => next.participants.has(r.connection) && r.connection !== next.holder?.connection));
      }
    }), runs);
  });

  it('a refusal leaves the state identical and emits exactly refused + control.refused audit', () => {
    fc.assert(fc.property(scenario, (s) => {
      for (const { prev, event, next, effects } of play(s)) {
        if (!effects.some(e => e.kind === 'refused')) continue;
        assert.equal(next, prev);
        assert.deepEqual(effects.map(e => e.kind), ['refused', 'audit']);
        const audit = effects[1];
        assert.ok(audit?.kind === 'audit' && audit.code === 'control.refused');
        assert.equal(effects[0]?.kind === 'refused' ? effects[0].action : '', event.type);
      }
    }), runs);
  });

  it('a holder is always eligible (and staff while locked); the mode matches holder and lock', () => {
    fc.assert(fc.property(scenario, (s) => {
      for (const { next } of play(s)) {
        const h = next.holder;
        const p = h === undefined ? undefined : next.participants.get(h.connection);
        if (p !== undefined) assert.ok(p.canControl, `${p.connection} holds control without being eligible`);
        if (next.lockedBy !== undefined && h !== undefined) {
          const staff = s.users[Number(h.userId.slice(1))]?.staff;
          assert.equal(staff, true, 'locked mode with a non-staff holder');
        }
        assert.equal(next.mode, next.lockedBy !== undefined ? 'locked' : h !== undefined ? 'held' : 'free');
        if (next.offer !== undefined) assert.equal(next.offer.from, h?.connection, 'an offer belongs to the holder');
      }
    }), runs);
  });

  it('every change of control is audited once per transition, chained from the old state to the new; presence is not', () => {
    fc.assert(fc.property(scenario, (s) => {
      for (const { prev, next, effects } of play(s)) {
        const audits = auditsOf(effects);
        if (effects.some(e => e.kind === 'refused')) continue;
        const controlChanged = prev.holder?.connection !== next.holder?.connection
          || prev.holder?.disconnectedAt !== next.holder?.disconnectedAt
          || prev.lockedBy !== next.lockedBy || prev.queue !== next.queue || prev.offer !== next.offer || prev.epoch !== next.epoch;
        assert.equal(audits.length > 0, controlChanged || effects.some(e => e.kind === 'disconnect'));
        assert.ok(audits.length >= holderChanges(effects).length);
        let from = describeState(prev);
        for (const a of audits) {
          assert.equal(a.code, 'control.transition');
          assert.equal(a.from, from);
          assert.ok(a.transition >= 1 && a.transition <= 23 && a.actor !== '' && a.reason !== '');
          from = a.to;
        }
        assert.equal(from, describeState(next));
      }
    }), runs);
  });

  it('every kind of state is reachable and can be left', () => {
    const kinds = ['free', 'held', 'locked', 'locked+held', 'offer pending', 'disconnected holder'] as const;
    const kindsOf = (state: ControlState): string[] => [
      ...(state.mode === 'free' ? ['free'] : []),
      ...(state.mode === 'held' ? ['held'] : []),
      ...(state.mode === 'locked' ? [state.holder === undefined ? 'locked' : 'locked+held'] : []),
      ...(state.offer === undefined ? [] : ['offer pending']),
      ...(state.holder?.disconnectedAt === undefined ? [] : ['disconnected holder']),
    ];
    const seen = new Set<string>();
    const left = new Set<string>();
    const samples = fc.sample(scenario, { numRuns: 3000, seed: 4 });
    for (const s of samples) {
      for (const { prev, next } of play(s)) {
        const before = kindsOf(prev);
        const after = kindsOf(next);
        for (const k of after) seen.add(k);
        for (const k of before) if (!after.includes(k)) left.add(k);
      }
      if (kinds.every(k => left.has(k))) break;
    }
    assert.deepEqual(kinds.filter(k => !seen.has(k)), [], 'kinds of state never reached');
    assert.deepEqual(kinds.filter(k => !left.has(k)), [], 'kinds of state never left');
  });
});
