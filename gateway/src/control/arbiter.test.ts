import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  CONTROL_TRANSITIONS, describeState, initialControlState, reduce,
  type ControlEffect, type ControlEvent, type ControlMode, type ControlSettings, type ControlState, type Participant,
} from './arbiter.js';

const settings: ControlSettings = {
  idleTimeoutMs: 60_000, disconnectGraceMs: 10_000, handOverTimeoutMs: 15_000, autoGrantAfterMs: undefined, maxQueue: 2,
};

function person(connection: string, userId: string, name: string, staff = false, canControl = true): Participant {
  return { connection, userId, name, staff, canControl };
}
// Named after the demo logins: who they are decides what they may do.
const alice = person('c-alice', 'F-1001', 'Alice');
const alice2 = person('c-alice-2', 'F-1001', 'Alice');
const bob = person('c-bob', 'F-1002', 'Bob');
const bex = person('c-bex', 'F-1003', 'Bex', false, false); // training expired: may watch, not drive
const oscar = person('c-oscar', 'F-1004', 'Oscar', false, false); // observer
const carol = person('c-carol', 'S-1', 'Carol', true);
const dan = person('c-dan', 'S-2', 'Dan', true);

const join = (p: Participant, at = 0): ControlEvent => ({ type: 'join', at, participant: p });
const req = (p: Participant, id: string, at = 100, message = ''): ControlEvent => ({ type: 'request', at, connection: p.connection, requestId: id, message });
const all = [alice, bob, bex, oscar, carol, dan].map(p => join(p));

/** Folds setup events, failing on any refusal: a test's starting point must be reached legally. */
function given(events: readonly ControlEvent[], s: ControlSettings = settings): ControlState {
  let state = initialControlState();
  for (const event of events) {
    const r = reduce(state, event, s);
    const refused = r.effects.find(e => e.kind === 'refused');
    assert.equal(refused, undefined, `setup event ${event.type} was refused: ${JSON.stringify(refused)}`);
    state = r.state;
  }
  return state;
}

const audits = (effects: readonly ControlEffect[]) => effects.filter(e => e.kind === 'audit');
const transitions = (effects: readonly ControlEffect[]) => audits(effects).map(e => e.transition);
const changes = (effects: readonly ControlEffect[]) => effects.filter(e => e.kind === 'holder-changed');
const notices = (effects: readonly ControlEffect[]) => effects.flatMap(e => (e.kind === 'notify' ? [`${e.connection}: ${e.notice}`] : []));

interface TransitionCase {
  readonly name: string;
  readonly setup: readonly ControlEvent[];
  readonly event: ControlEvent;
  readonly settings?: Partial<ControlSettings>;
  /** The audited transitions, in order. */
  readonly transitions: readonly number[];
  /** Holder connection afterwards (null: nobody). */
  readonly holder: string | null;
  readonly mode: ControlMode;
  /** holder-changed reasons, in order. */
  readonly reasons?: readonly string[];
  readonly check?: (after: ControlState, effects: readonly ControlEffect[], before: ControlState) => void;
}

const cases: readonly TransitionCase[] = [
  {
    name: 'T1 a request while someone holds control is queued, with its message, and the holder is told',
    setup: [...all, req(alice, 'r1')], event: req(bob, 'r2', 200, 'need to align the sample'),
    transitions: [1], holder: alice.connection, mode: 'held',
    check: (after, effects) => {
      assert.deepEqual(after.queue, [{ id: 'r2', connection: bob.connection, userId: bob.userId, message: 'need to align the sample', at: 200 }]);
      assert.deepEqual(notices(effects), ['c-alice: Bob asks for control: need to align the sample']);
    },
  },
  {
    name: 'T2 a request while control is free is granted at once',
    setup: all, event: req(alice, 'r1'), transitions: [2], holder: alice.connection, mode: 'held', reasons: ['request'],
    check: (after) => { assert.deepEqual(after.queue, []); },
  },
  {
    name: 'T2 a staff request while locked and free is granted at once',
    setup: [...all, { type: 'lock', at: 10, by: carol.connection }], event: req(dan, 'r1'),
    transitions: [2], holder: dan.connection, mode: 'locked', reasons: ['request'],
  },
  {
    name: 'T3 cancel removes the own request and tells the holder',
    setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'cancel-request', at: 300, connection: bob.connection },
    transitions: [3], holder: alice.connection, mode: 'held',
    check: (after, effects) => {
      assert.deepEqual(after.queue, []);
      assert.deepEqual(notices(effects), ['c-alice: Bob cancelled their request for control']);
    },
  },
  {
    name: 'T4 the holder grants a request',
    setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'grant', at: 300, by: alice.connection, requestId: 'r2' },
    transitions: [4], holder: bob.connection, mode: 'held', reasons: ['grant'],
    check: (after) => {
      assert.deepEqual(after.queue, []);
      assert.equal(after.holder?.since, 300);
    },
  },
  {
    name: 'T4 staff grant a request although they do not hold control',
    setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'grant', at: 300, by: carol.connection, requestId: 'r2' },
    transitions: [4], holder: bob.connection, mode: 'held', reasons: ['grant'],
  },
  {
    name: 'T5 the holder denies a request; the requester hears why',
    setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'deny', at: 300, by: alice.connection, requestId: 'r2', reason: 'scan running' },
    transitions: [5], holder: alice.connection, mode: 'held',
    check: (after, effects) => {
      assert.deepEqual(after.queue, []);
      assert.deepEqual(notices(effects), ['c-bob: Alice declined your request for control: scan running']);
    },
  },
  {
    name: 'T6 release frees control',
    setup: [...all, req(alice, 'r1')], event: { type: 'release', at: 300, connection: alice.connection },
    transitions: [6], holder: null, mode: 'free', reasons: ['release'],
  },
  {
    name: 'T6+T23 release passes control to the oldest queued request',
    setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'release', at: 300, connection: alice.connection },
    transitions: [6, 23], holder: bob.connection, mode: 'held', reasons: ['release', 'next-in-queue'],
  },
  {
    name: 'T7 the holder offers control to a named eligible participant (every tab of theirs hears it)',
    setup: [...all, join(alice2), req(bob, 'r1')], event: { type: 'hand-over', at: 300, by: bob.connection, toUserId: alice.userId },
    transitions: [7], holder: bob.connection, mode: 'held',
    check: (after, effects) => {
      assert.deepEqual(after.offer, { from: bob.connection, toUserId: alice.userId, at: 300 });
      assert.deepEqual(notices(effects), ['c-alice: Bob offers you control; accept to take it', 'c-alice-2: Bob offers you control; accept to take it']);
    },
  },
  {
    name: 'T7 a new offer replaces a pending one',
    setup: [...all, req(bob, 'r1'), { type: 'hand-over', at: 200, by: bob.connection, toUserId: alice.userId }],
    event: { type: 'hand-over', at: 300, by: bob.connection, toUserId: carol.userId },
    transitions: [7], holder: bob.connection, mode: 'held',
    check: (after) => { assert.equal(after.offer?.toUserId, carol.userId); },
  },
  {
    name: 'T8 the named participant accepts and gets control',
    setup: [...all, req(bob, 'r1'), { type: 'hand-over', at: 200, by: bob.connection, toUserId: alice.userId }],
    event: { type: 'accept-hand-over', at: 300, connection: alice.connection },
    transitions: [8], holder: alice.connection, mode: 'held', reasons: ['hand-over'],
    check: (after) => { assert.equal(after.offer, undefined); },
  },
  {
    name: 'T9 the named participant declines; the holder keeps control and is told',
    setup: [...all, req(bob, 'r1'), { type: 'hand-over', at: 200, by: bob.connection, toUserId: alice.userId }],
    event: { type: 'decline-hand-over', at: 300, connection: alice.connection },
    transitions: [9], holder: bob.connection, mode: 'held',
    check: (after, effects) => {
      assert.equal(after.offer, undefined);
      assert.deepEqual(notices(effects), ['c-bob: Alice declined your offer of control']);
    },
  },
  {
    name: 'T10 an offer not accepted in time is withdrawn',
    setup: [...all, req(bob, 'r1'), { type: 'input', at: 15_000, connection: bob.connection }, { type: 'hand-over', at: 1000, by: bob.connection, toUserId: alice.userId }],
    event: { type: 'tick', at: 16_000 },
    transitions: [10], holder: bob.connection, mode: 'held',
    check: (after) => { assert.equal(after.offer, undefined); },
  },
  {
    name: 'T11 staff take over at once, without consent, also while an offer is pending',
    setup: [...all, req(bob, 'r1'), { type: 'hand-over', at: 200, by: bob.connection, toUserId: alice.userId }],
    event: { type: 'take-over', at: 300, by: carol.connection, reason: 'beam dump' },
    transitions: [11], holder: carol.connection, mode: 'held', reasons: ['take-over'],
    check: (after, effects) => {
      assert.equal(after.offer, undefined);
      assert.ok(notices(effects).includes('all: Carol took over control: beam dump'));
      assert.equal(audits(effects)[0]?.subject, bob.userId);
    },
  },
  {
    name: 'T11 staff take over from another staff member while locked',
    setup: [...all, { type: 'lock', at: 10, by: carol.connection }, req(carol, 'r1')], event: { type: 'take-over', at: 300, by: dan.connection, reason: '' },
    transitions: [11], holder: dan.connection, mode: 'locked', reasons: ['take-over'],
  },
  {
    name: 'T12 staff revoke: the holder loses control and nobody gets it, not even the queue',
    setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'revoke', at: 300, by: carol.connection, reason: 'unsafe' },
    transitions: [12], holder: null, mode: 'free', reasons: ['revoke'],
    check: (after) => { assert.deepEqual(after.queue.map(r => r.id), ['r2']); },
  },
  {
    name: 'T13 lock: a non-staff holder loses control',
    setup: [...all, req(alice, 'r1')], event: { type: 'lock', at: 300, by: carol.connection },
    transitions: [13], holder: null, mode: 'locked', reasons: ['lock'],
    check: (after) => { assert.deepEqual(after.lockedBy, { userId: carol.userId, name: 'Carol' }); },
  },
  {
    name: 'T13 lock: a staff holder keeps control, an offer to a non-staff user is withdrawn',
    setup: [...all, req(dan, 'r1'), { type: 'hand-over', at: 200, by: dan.connection, toUserId: alice.userId }],
    event: { type: 'lock', at: 300, by: carol.connection },
    transitions: [13], holder: dan.connection, mode: 'locked', reasons: [],
    check: (after) => { assert.equal(after.offer, undefined); },
  },
  {
    name: 'T14 unlock with a staff holder: held',
    setup: [...all, { type: 'lock', at: 10, by: carol.connection }, req(dan, 'r1')], event: { type: 'unlock', at: 300, by: carol.connection },
    transitions: [14], holder: dan.connection, mode: 'held',
  },
  {
    name: 'T14+T23 unlock with nobody holding: the oldest queued request may hold again and gets control',
    setup: [...all, req(carol, 'r0'), req(alice, 'r1'), { type: 'lock', at: 200, by: dan.connection }, { type: 'release', at: 250, connection: carol.connection }],
    event: { type: 'unlock', at: 300, by: dan.connection },
    transitions: [14, 23], holder: alice.connection, mode: 'held', reasons: ['next-in-queue'],
  },
  {
    name: 'T15 a holder without input for the idle timeout loses control',
    setup: [...all, req(alice, 'r1', 0), { type: 'input', at: 5000, connection: alice.connection }], event: { type: 'tick', at: 65_000 },
    transitions: [15], holder: null, mode: 'free', reasons: ['idle-timeout'],
  },
  {
    name: 'T15 input keeps the holder from timing out',
    setup: [...all, req(alice, 'r1', 0), { type: 'input', at: 5001, connection: alice.connection }], event: { type: 'tick', at: 65_000 },
    transitions: [], holder: alice.connection, mode: 'held',
  },
  {
    name: 'T15 idle timeout 0 never fires',
    settings: { idleTimeoutMs: 0 },
    setup: [...all, req(alice, 'r1', 0)], event: { type: 'tick', at: 10_000_000 }, transitions: [], holder: alice.connection, mode: 'held',
  },
  {
    name: 'T16 the holder\'s connection drops: control is kept, marked disconnected',
    setup: [...all, req(alice, 'r1')], event: { type: 'leave', at: 300, connection: alice.connection },
    transitions: [16], holder: alice.connection, mode: 'held', reasons: [],
    check: (after) => {
      assert.equal(after.holder?.disconnectedAt, 300);
      assert.equal(after.participants.has(alice.connection), false);
    },
  },
  {
    name: 'T17 the same user reconnects within the grace: the new connection holds, with a new epoch',
    setup: [...all, req(alice, 'r1'), { type: 'leave', at: 300, connection: alice.connection }], event: join(alice2, 10_299),
    transitions: [17], holder: alice2.connection, mode: 'held', reasons: ['reconnect'],
    check: (after, effects) => {
      assert.equal(after.holder?.disconnectedAt, undefined);
      assert.deepEqual(changes(effects)[0], { kind: 'holder-changed', epoch: 2, from: alice.connection, to: alice2.connection, reason: 'reconnect' });
    },
  },
  {
    name: 'T17 does not apply to a different user, nor after the grace',
    setup: [...all, req(alice, 'r1'), { type: 'leave', at: 300, connection: alice.connection }], event: join(alice2, 10_300),
    transitions: [], holder: alice.connection, mode: 'held',
  },
  {
    name: 'T18 the grace ends without a reconnect: control is free, next in queue gets it',
    setup: [...all, req(alice, 'r1', 0), req(bob, 'r2', 100), { type: 'leave', at: 300, connection: alice.connection }],
    event: { type: 'tick', at: 10_300 },
    transitions: [18, 23], holder: bob.connection, mode: 'held', reasons: ['disconnect-grace-expired', 'next-in-queue'],
  },
  {
    name: 'T18 with no grace configured, the holder leaving frees control at once',
    settings: { disconnectGraceMs: 0 },
    setup: [...all, req(alice, 'r1')], event: { type: 'leave', at: 300, connection: alice.connection },
    transitions: [18], holder: null, mode: 'free', reasons: ['disconnect'],
  },
  {
    name: 'T19 the holder loses eligibility: control is free and they are told why',
    setup: [...all, req(alice, 'r1')], event: { type: 'eligibility', at: 300, connection: alice.connection, canControl: false, reason: 'training expired' },
    transitions: [19], holder: null, mode: 'free', reasons: ['eligibility-lost'],
    check: (after, effects) => {
      assert.equal(after.participants.get(alice.connection)?.canControl, false);
      assert.ok(notices(effects).includes('c-alice: You no longer have control: training expired'));
    },
  },
  {
    name: 'T19 a queued requester loses eligibility: the request is dropped with a notice',
    setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'eligibility', at: 300, connection: bob.connection, canControl: false, reason: 'beamtime ended' },
    transitions: [19], holder: alice.connection, mode: 'held',
    check: (after, effects) => {
      assert.deepEqual(after.queue, []);
      assert.deepEqual(notices(effects), ['c-bob: Your request for control (r2) was withdrawn: beamtime ended']);
    },
  },
  {
    name: 'T19 the target of an offer loses eligibility: the offer is withdrawn',
    setup: [...all, req(bob, 'r1'), { type: 'hand-over', at: 200, by: bob.connection, toUserId: alice.userId }],
    event: { type: 'eligibility', at: 300, connection: alice.connection, canControl: false, reason: 'training expired' },
    transitions: [19], holder: bob.connection, mode: 'held',
    check: (after) => { assert.equal(after.offer, undefined); },
  },
  {
    name: 'T20 a request the holder does not answer in time is granted (option on)',
    settings: { autoGrantAfterMs: 30_000 },
    setup: [...all, req(alice, 'r1', 0), req(bob, 'r2', 1000), { type: 'input', at: 30_000, connection: alice.connection }],
    event: { type: 'tick', at: 31_000 },
    transitions: [20], holder: bob.connection, mode: 'held', reasons: ['auto-grant'],
  },
  {
    name: 'T20 the time to answer counts from when the current holder got control',
    settings: { autoGrantAfterMs: 30_000 },
    setup: [...all, req(alice, 'r1', 0), req(bob, 'r2', 1000), { type: 'take-over', at: 20_000, by: carol.connection, reason: '' }],
    event: { type: 'tick', at: 49_999 },
    transitions: [], holder: carol.connection, mode: 'held',
  },
  {
    name: 'T20 is off without the option',
    setup: [...all, req(alice, 'r1', 0), req(bob, 'r2', 1000), { type: 'input', at: 59_000, connection: alice.connection }],
    event: { type: 'tick', at: 59_500 },
    transitions: [], holder: alice.connection, mode: 'held',
  },
  {
    name: 'T20 while locked a non-staff request is not auto-granted',
    settings: { autoGrantAfterMs: 30_000 },
    setup: [...all, req(dan, 'r1', 0), req(bob, 'r2', 1000), { type: 'lock', at: 2000, by: carol.connection }, { type: 'input', at: 40_000, connection: dan.connection }],
    event: { type: 'tick', at: 45_000 },
    transitions: [], holder: dan.connection, mode: 'locked',
  },
  {
    name: 'T21 staff remove the holder: disconnected, no grace, next in queue gets control',
    setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'remove', at: 300, by: carol.connection, connection: alice.connection, reason: 'misuse' },
    transitions: [21, 23], holder: bob.connection, mode: 'held', reasons: ['removed', 'next-in-queue'],
    check: (after, effects) => {
      assert.deepEqual(effects[0], { kind: 'disconnect', connection: alice.connection, reason: 'removed by Carol: misuse' });
      assert.equal(after.participants.has(alice.connection), false);
    },
  },
  {
    name: 'T21 staff remove a watcher with a queued request: the holder is told',
    setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'remove', at: 300, by: carol.connection, connection: bob.connection, reason: '' },
    transitions: [21], holder: alice.connection, mode: 'held',
    check: (after, effects) => {
      assert.deepEqual(after.queue, []);
      assert.deepEqual(notices(effects), ['c-alice: Bob removed; their request for control (r2) was withdrawn']);
    },
  },
  {
    name: 'T22 a queued requester leaves: the request is dropped and the holder told, never silently',
    setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'leave', at: 300, connection: bob.connection },
    transitions: [22], holder: alice.connection, mode: 'held',
    check: (after, effects) => {
      assert.deepEqual(after.queue, []);
      assert.deepEqual(notices(effects), ['c-alice: Bob left; their request for control (r2) was withdrawn']);
    },
  },
  {
    name: 'T22 the only connection of an offer\'s target leaves: the offer is withdrawn',
    setup: [...all, req(bob, 'r1'), { type: 'hand-over', at: 200, by: bob.connection, toUserId: alice.userId }],
    event: { type: 'leave', at: 300, connection: alice.connection },
    transitions: [22], holder: bob.connection, mode: 'held',
    check: (after) => { assert.equal(after.offer, undefined); },
  },
  {
    name: 'T24 a viewer joins (presence: not audited here)',
    setup: [], event: join(alice), transitions: [], holder: null, mode: 'free',
    check: (after) => { assert.deepEqual(after.participants.get(alice.connection), alice); },
  },
  {
    name: 'T25 a watcher leaves (presence)',
    setup: all, event: { type: 'leave', at: 300, connection: oscar.connection }, transitions: [], holder: null, mode: 'free',
    check: (after) => { assert.equal(after.participants.has(oscar.connection), false); },
  },
  {
    name: 'T26 a watcher becomes eligible (presence)',
    setup: all, event: { type: 'eligibility', at: 300, connection: bex.connection, canControl: true, reason: 'training renewed' },
    transitions: [], holder: null, mode: 'free',
    check: (after) => { assert.equal(after.participants.get(bex.connection)?.canControl, true); },
  },
  {
    name: 'T27 the holder\'s input moves lastInputAt',
    setup: [...all, req(alice, 'r1')], event: { type: 'input', at: 900, connection: alice.connection }, transitions: [], holder: alice.connection, mode: 'held',
    check: (after) => { assert.equal(after.holder?.lastInputAt, 900); },
  },
];

describe('arbiter transitions', () => {
  for (const c of cases) {
    it(c.name, () => {
      const s = { ...settings, ...c.settings };
      const before = given(c.setup, s);
      const { state: after, effects } = reduce(before, c.event, s);
      assert.deepEqual(effects.filter(e => e.kind === 'refused'), []);
      assert.deepEqual(transitions(effects), c.transitions);
      assert.equal(after.holder?.connection ?? null, c.holder);
      assert.equal(after.mode, c.mode);
      const changed = changes(effects);
      if (c.reasons !== undefined) assert.deepEqual(changed.map(e => e.reason), c.reasons);
      assert.equal(after.epoch, before.epoch + changed.length, 'one epoch per holder change');
      for (const [i, e] of changed.entries()) assert.equal(e.epoch, before.epoch + i + 1);
      for (const a of audits(effects)) {
        assert.equal(a.code, 'control.transition');
        assert.ok(a.reason.length > 0 && a.actor.length > 0);
      }
      const last = audits(effects).at(-1);
      if (last !== undefined) assert.equal(last.to, describeState(after));
      if (audits(effects)[0] !== undefined) assert.equal(audits(effects)[0]?.from, describeState(before));
      c.check?.(after, effects, before);
    });
  }
});

interface RefusalCase {
  readonly name: string;
  readonly setup: readonly ControlEvent[];
  readonly event: ControlEvent;
  readonly transition: number;
  readonly reason: RegExp;
  readonly settings?: Partial<ControlSettings>;
}

const refusals: readonly RefusalCase[] = [
  { name: 'a viewer granting', setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'grant', at: 300, by: oscar.connection, requestId: 'r2' }, transition: 4, reason: /only the person in control or beamline staff may grant/ },
  { name: 'a requester granting their own request', setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'grant', at: 300, by: bob.connection, requestId: 'r2' }, transition: 4, reason: /only the person in control or beamline staff/ },
  { name: 'granting an unknown request', setup: [...all, req(alice, 'r1')], event: { type: 'grant', at: 300, by: alice.connection, requestId: 'nope' }, transition: 4, reason: /no pending request nope/ },
  { name: 'staff granting a non-staff request while locked', setup: [...all, req(alice, 'r0'), req(bob, 'r1'), { type: 'lock', at: 200, by: carol.connection }], event: { type: 'grant', at: 300, by: carol.connection, requestId: 'r1' }, transition: 4, reason: /locked by Carol/ },
  { name: 'a viewer denying', setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: { type: 'deny', at: 300, by: oscar.connection, requestId: 'r2', reason: '' }, transition: 5, reason: /may deny/ },
  { name: 'a user taking over', setup: [...all, req(alice, 'r1')], event: { type: 'take-over', at: 300, by: bob.connection, reason: '' }, transition: 11, reason: /only beamline staff .* may take over/ },
  { name: 'staff taking over what they hold', setup: [...all, req(carol, 'r1')], event: { type: 'take-over', at: 300, by: carol.connection, reason: '' }, transition: 11, reason: /already have control/ },
  { name: 'a user revoking', setup: [...all, req(alice, 'r1')], event: { type: 'revoke', at: 300, by: bob.connection, reason: '' }, transition: 12, reason: /only beamline staff/ },
  { name: 'revoking when nobody holds', setup: all, event: { type: 'revoke', at: 300, by: carol.connection, reason: '' }, transition: 12, reason: /nobody has control/ },
  { name: 'a user locking', setup: all, event: { type: 'lock', at: 300, by: alice.connection }, transition: 13, reason: /only beamline staff .* may lock/ },
  { name: 'locking twice', setup: [...all, { type: 'lock', at: 10, by: carol.connection }], event: { type: 'lock', at: 300, by: dan.connection }, transition: 13, reason: /already locked by Carol/ },
  { name: 'a user unlocking', setup: [...all, { type: 'lock', at: 10, by: carol.connection }], event: { type: 'unlock', at: 300, by: alice.connection }, transition: 14, reason: /only beamline staff/ },
  { name: 'unlocking when not locked', setup: all, event: { type: 'unlock', at: 300, by: carol.connection }, transition: 14, reason: /not locked/ },
  { name: 'a user removing a viewer', setup: all, event: { type: 'remove', at: 300, by: alice.connection, connection: bob.connection, reason: '' }, transition: 21, reason: /only beamline staff .* may remove viewers/ },
  { name: 'staff removing themselves', setup: all, event: { type: 'remove', at: 300, by: carol.connection, connection: carol.connection, reason: '' }, transition: 21, reason: /cannot remove yourself/ },
  { name: 'removing someone not there', setup: all, event: { type: 'remove', at: 300, by: carol.connection, connection: 'c-ghost', reason: '' }, transition: 21, reason: /c-ghost is not watching/ },
  { name: 'a request by someone not eligible (training expired)', setup: all, event: req(bex, 'r1'), transition: 1, reason: /may not control this desktop now/ },
  { name: 'a request by an observer', setup: [...all, req(alice, 'r1')], event: req(oscar, 'r2'), transition: 1, reason: /may not control/ },
  { name: 'a request while locked', setup: [...all, { type: 'lock', at: 10, by: carol.connection }], event: req(alice, 'r1'), transition: 1, reason: /locked by Carol: only beamline staff may drive/ },
  { name: 'a request while holding', setup: [...all, req(alice, 'r1')], event: req(alice, 'r2'), transition: 1, reason: /already have control/ },
  { name: 'a request while already queued', setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: req(bob, 'r3'), transition: 1, reason: /already asked/ },
  { name: 'a request when the queue is full', setup: [...all, req(alice, 'r1'), req(bob, 'r2'), req(carol, 'r3')], event: req(dan, 'r4'), transition: 1, reason: /2 requests are already waiting/ },
  { name: 'a request with a request id in use', setup: [...all, req(alice, 'r1'), req(bob, 'r2')], event: req(carol, 'r2'), transition: 1, reason: /r2 is already in use/ },
  { name: 'a request from a connection that never joined', setup: all, event: req(person('c-ghost', 'X', 'Ghost'), 'r1'), transition: 1, reason: /not a participant/ },
  { name: 'cancelling without a request', setup: all, event: { type: 'cancel-request', at: 300, connection: bob.connection }, transition: 3, reason: /no pending request/ },
  { name: 'releasing without control', setup: [...all, req(alice, 'r1')], event: { type: 'release', at: 300, connection: bob.connection }, transition: 6, reason: /do not have control/ },
  { name: 'a hand-over by someone not holding', setup: [...all, req(alice, 'r1')], event: { type: 'hand-over', at: 300, by: bob.connection, toUserId: carol.userId }, transition: 7, reason: /only the person in control may hand it over/ },
  { name: 'a hand-over to someone without training', setup: [...all, req(alice, 'r1')], event: { type: 'hand-over', at: 300, by: alice.connection, toUserId: bex.userId }, transition: 7, reason: /Bex may not control this desktop now/ },
  { name: 'a hand-over to someone not watching', setup: [...all, req(alice, 'r1')], event: { type: 'hand-over', at: 300, by: alice.connection, toUserId: 'F-9999' }, transition: 7, reason: /F-9999 is not watching/ },
  { name: 'a hand-over to oneself', setup: [...all, join(alice2), req(alice, 'r1')], event: { type: 'hand-over', at: 300, by: alice.connection, toUserId: alice.userId }, transition: 7, reason: /already have control/ },
  { name: 'a hand-over to a non-staff user while locked', setup: [...all, { type: 'lock', at: 10, by: carol.connection }, req(dan, 'r1')], event: { type: 'hand-over', at: 300, by: dan.connection, toUserId: alice.userId }, transition: 7, reason: /locked/ },
  { name: 'accepting an offer made to someone else', setup: [...all, req(alice, 'r1'), { type: 'hand-over', at: 200, by: alice.connection, toUserId: bob.userId }], event: { type: 'accept-hand-over', at: 300, connection: carol.connection }, transition: 8, reason: /no offer of control to you/ },
  { name: 'accepting with no offer', setup: [...all, req(alice, 'r1')], event: { type: 'accept-hand-over', at: 300, connection: bob.connection }, transition: 8, reason: /no offer/ },
  { name: 'declining with no offer', setup: [...all, req(alice, 'r1')], event: { type: 'decline-hand-over', at: 300, connection: bob.connection }, transition: 9, reason: /no offer/ },
  { name: 'a connection joining twice', setup: all, event: join(alice, 300), transition: 24, reason: /already joined/ },
  { name: 'a connection leaving that never joined', setup: all, event: { type: 'leave', at: 300, connection: 'c-ghost' }, transition: 25, reason: /not a participant/ },
  { name: 'eligibility of a connection that never joined', setup: all, event: { type: 'eligibility', at: 300, connection: 'c-ghost', canControl: true, reason: '' }, transition: 26, reason: /not a participant/ },
];

describe('arbiter refusals change nothing, say why and are audited', () => {
  for (const c of refusals) {
    it(c.name, () => {
      const s = { ...settings, ...c.settings };
      const before = given(c.setup, s);
      const { state, effects } = reduce(before, c.event, s);
      assert.equal(state, before, 'a refusal returns the same state object');
      assert.equal(effects.length, 2, JSON.stringify(effects));
      const [refused, audit] = effects;
      assert.equal(refused?.kind, 'refused');
      assert.equal(audit?.kind, 'audit');
      assert.equal(refused.action, c.event.type);
      assert.match(refused.reason, c.reason);
      assert.equal(audit.code, 'control.refused');
      assert.equal(audit.transition, c.transition);
      assert.equal(audit.reason, refused.reason);
      assert.equal(audit.from, describeState(before));
      assert.equal(audit.to, audit.from);
    });
  }
});

describe('arbiter details', () => {
  it('describes each kind of state for the audit log', () => {
    assert.equal(describeState(initialControlState()), 'free (epoch 0)');
    const held = given([...all, req(alice, 'r1'), req(bob, 'r2')]);
    assert.equal(describeState(held), 'held by F-1001 (epoch 1), 1 queued');
    const offered = given([...all, req(alice, 'r1'), { type: 'hand-over', at: 200, by: alice.connection, toUserId: bob.userId }]);
    assert.equal(describeState(offered), 'held by F-1001 (epoch 1), offered to F-1002');
    const away = given([...all, req(alice, 'r1'), { type: 'leave', at: 200, connection: alice.connection }]);
    assert.equal(describeState(away), 'held by F-1001, disconnected (epoch 1)');
    const locked = given([...all, { type: 'lock', at: 10, by: carol.connection }]);
    assert.equal(describeState(locked), 'locked by S-1 (epoch 0)');
    const lockedHeld = given([...all, { type: 'lock', at: 10, by: carol.connection }, req(dan, 'r1')]);
    assert.equal(describeState(lockedHeld), 'locked by S-1, held by S-2 (epoch 1)');
  });

  it('stale input from a former holder, and an unchanged eligibility, change nothing and say nothing', () => {
    const state = given([...all, req(alice, 'r1'), { type: 'take-over', at: 200, by: carol.connection, reason: '' }]);
    for (const event of [
      { type: 'input', at: 300, connection: alice.connection },
      { type: 'eligibility', at: 300, connection: bob.connection, canControl: true, reason: '' },
      { type: 'tick', at: 300 },
    ] satisfies ControlEvent[]) {
      const r = reduce(state, event, settings);
      assert.equal(r.state, state);
      assert.deepEqual(r.effects, []);
    }
  });

  it('a reconnecting user who is no longer eligible does not get the hold back; the grace then ends it', () => {
    let state = given([...all, req(alice, 'r1'), { type: 'leave', at: 300, connection: alice.connection }]);
    state = reduce(state, join({ ...alice2, canControl: false }, 1000), settings).state;
    assert.equal(state.holder?.connection, alice.connection);
    const end = reduce(state, { type: 'tick', at: 10_300 }, settings);
    assert.equal(end.state.holder, undefined);
    assert.deepEqual(transitions(end.effects), [18]);
  });

  it('a lock while the holder is disconnected ends the hold of a non-staff holder', () => {
    const state = given([...all, req(alice, 'r1'), { type: 'leave', at: 300, connection: alice.connection }]);
    const r = reduce(state, { type: 'lock', at: 400, by: carol.connection }, settings);
    assert.equal(r.state.holder, undefined);
    assert.deepEqual(changes(r.effects).map(e => [e.from, e.to, e.reason]), [[alice.connection, undefined, 'lock']]);
  });

  it('every numbered transition is documented in docs/design/0004-control-arbiter.md', () => {
    const doc = readFileSync('docs/design/0004-control-arbiter.md', 'utf8');
    for (const [n, name] of Object.entries(CONTROL_TRANSITIONS)) {
      assert.match(doc, new RegExp(`\\*\\*T${n}\\b[^*]*\\*\\*[^\\n]*\`${name}\``), `T${n} (${name}) is missing from the design doc`);
    }
  });
});
