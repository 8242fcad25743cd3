import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { z } from 'zod';
import { userOfficeSchema, type Acknowledgement, type UserOfficeData } from './user-office.js';
import {
  ACTIONS, APP_ROLES, REASON_CODES, beamtimesOf, decide, describeDecision, indexFacts,
  type Action, type AppRole, type Decision, type Reason, type Resource, type Subject,
} from './decide.js';
import { formatInstant, formatWindow } from './reasons.js';

// --- builders: the user-office data as a facility would write it, validated by the real schema ---

type OfficeIn = z.input<typeof userOfficeSchema>;
type BeamlineIn = NonNullable<OfficeIn['beamlines']>[number];
type BeamtimeIn = NonNullable<OfficeIn['beamtimes']>[number];
type GrantIn = NonNullable<OfficeIn['remoteAccessGrants']>[number];
type TrainingIn = NonNullable<OfficeIn['trainings']>[number];
type AckIn = NonNullable<OfficeIn['acknowledgements']>[number];
type UserIn = NonNullable<OfficeIn['users']>[number];

interface World {
  trainingKinds: Record<string, string>;
  users: UserIn[];
  beamlines: BeamlineIn[];
  beamtimes: BeamtimeIn[];
  remoteAccessGrants: GrantIn[];
  trainings: TrainingIn[];
  acknowledgements: AckIn[];
}

const INSTRUCTION = { version: '2', title: 'Remote operation of the demo beamline', text: 'Never open the hutch door remotely.' };

function beamline(over: Partial<BeamlineIn> & { id: string }): BeamlineIn {
  return { name: `Beamline ${over.id}`, ...over };
}

function beamtime(id: string, beamlineId: string, start: string, end: string, participants: BeamtimeIn['participants'] = []): BeamtimeIn {
  return { id, beamline: beamlineId, title: `Experiment ${id}`, start, end, participants };
}

const grant = (beamtimeId: string, user: string, status: GrantIn['status'] = 'approved'): GrantIn => ({ beamtime: beamtimeId, user, status });
const training = (user: string, kind: string, validUntil: string): TrainingIn => ({ user, kind, validUntil });
const ack = (user: string, beamtimeId: string, version = '2', beamlineId = 'BL-DEMO'): AckIn =>
  ({ user, beamline: beamlineId, beamtime: beamtimeId, version, at: '2026-04-30T09:00:00Z' });
const trained = (user: string, until = '2026-10-01T00:00:00Z'): TrainingIn[] => [training(user, 'gs', until), training(user, 'rp', until)];

/**
 * BL-DEMO: local contact lc1; view needs general safety (gs), control also radiation protection
 * (rp); grace 30 min before, 15 min after; control needs MFA, on-site experience and the
 * instruction (version 2). BT-1 (2026-05-01 10:00-18:00) has alice (PI) and olga (observer);
 * BT-2 (2026-05-03 08:00 to 05-04 08:00) has bob. Everyone is trained, granted and has acknowledged.
 */
function world(): World {
  return {
    trainingKinds: { gs: 'General safety', rp: 'Radiation protection' },
    users: [
      { id: 'alice', name: 'Alice', onsiteExperience: ['BL-DEMO'] },
      { id: 'olga', name: 'Olga', onsiteExperience: ['BL-DEMO'] },
      { id: 'bob', name: 'Bob', onsiteExperience: ['BL-DEMO'] },
    ],
    beamlines: [
      beamline({
        id: 'BL-DEMO',
        name: 'Demo beamline',
        localContacts: ['lc1'],
        requiredTraining: { view: ['gs'], control: ['rp'] },
        graceMinutes: { before: 30, after: 15 },
        requireMfaForControl: true,
        requireOnsiteExperience: true,
        instruction: INSTRUCTION,
      }),
      beamline({ id: 'BL-OTHER', localContacts: ['lc2'] }),
    ],
    beamtimes: [
      beamtime('BT-1', 'BL-DEMO', '2026-05-01T10:00:00Z', '2026-05-01T18:00:00Z', [{ user: 'alice', role: 'principal-investigator' }, { user: 'olga', role: 'observer' }]),
      beamtime('BT-2', 'BL-DEMO', '2026-05-03T08:00:00Z', '2026-05-04T08:00:00Z', [{ user: 'bob' }]),
    ],
    remoteAccessGrants: [grant('BT-1', 'alice'), grant('BT-1', 'olga'), grant('BT-2', 'bob')],
    trainings: [...trained('alice'), ...trained('olga'), ...trained('bob')],
    acknowledgements: [ack('alice', 'BT-1'), ack('olga', 'BT-1'), ack('bob', 'BT-2')],
  };
}

function demo(w: World): BeamlineIn {
  const found = w.beamlines.find(b => b.id === 'BL-DEMO');
  assert.ok(found);
  return found;
}

function office(w: World): UserOfficeData {
  return userOfficeSchema.parse({ version: 1, ...w });
}

function firstReason(d: Decision): Reason {
  const r = d.reasons[0];
  assert.ok(r, 'the decision has no reason');
  return r;
}

function person(userId: string, roles: readonly string[] = ['user'], mfa = true): Subject {
  // Roles are cast on purpose: the engine must not be fooled by role names it does not know.
  return { userId, name: userId, roles: roles as readonly AppRole[], mfa };
}

// --- the table ---------------------------------------------------------------------------------

interface Row {
  readonly name: string;
  readonly edit?: (w: World) => void;
  readonly extraAcks?: readonly Acknowledgement[];
  readonly who?: Subject;
  readonly action: Action;
  readonly resource?: Resource;
  /** Default: during BT-1. */
  readonly now?: string;
  readonly allow: boolean;
  /** Exactly these reason codes, in this order. */
  readonly codes: readonly string[];
  /** The expected validUntil; absent means the decision must carry none. */
  readonly until?: string;
  readonly check?: (d: Decision) => void;
}

const DURING_BT1 = '2026-05-01T12:00:00Z';
const END_BT1 = '2026-05-01T18:15:00.000Z'; // 18:00 + 15 min grace
const alice = person('alice');
const bob = person('bob');
const olga = person('olga');
const lc1 = person('lc1', ['staff']);
const safety = person('so1', ['safety-officer']);
const admin = person('adm', ['admin']);
const demoResource: Resource = { beamline: 'BL-DEMO' };

const rows: Row[] = [
  // unknown beamline, exact ids
  { name: 'an unknown beamline is denied', action: 'view', resource: { beamline: 'BL-NOPE' }, allow: false, codes: ['unknown-beamline'] },
  { name: 'a beamline id that is a prefix of a real one is unknown', action: 'view', resource: { beamline: 'BL-DEM' }, allow: false, codes: ['unknown-beamline'] },
  { name: 'an unknown beamline is denied even to an admin auditing', who: admin, action: 'audit', resource: { beamline: 'BL-NOPE' }, allow: false, codes: ['unknown-beamline'] },

  // local contacts: staff of their beamline, any time, any mode, no checks
  { name: 'a local contact views outside any beamtime without trainings', who: lc1, action: 'view', now: '2027-01-01T03:00:00Z', allow: true, codes: ['local-contact'] },
  { name: 'a local contact controls a staff-only beamline', who: lc1, action: 'control', edit: (w) => { demo(w).mode = 'staff-only'; }, allow: true, codes: ['local-contact'] },
  { name: 'a local contact controls a view-only beamline', who: lc1, action: 'control', edit: (w) => { demo(w).mode = 'view-only'; }, allow: true, codes: ['local-contact'] },
  { name: 'a local contact controls without MFA or on-site record', who: person('lc1', ['user'], false), action: 'control', allow: true, codes: ['local-contact'] },
  { name: 'a local contact has staff rights on their beamline', who: lc1, action: 'staff', allow: true, codes: ['local-contact'] },
  { name: 'a local contact audits their own beamline', who: lc1, action: 'audit', allow: true, codes: ['local-contact'] },
  { name: 'a local contact of another beamline may not audit this one', who: person('lc2', ['staff']), action: 'audit', allow: false, codes: ['audit-not-permitted'] },
  { name: 'a local contact of another beamline has no staff rights here', who: person('lc2', ['staff']), action: 'staff', allow: false, codes: ['not-local-contact'] },
  {
    name: 'a user id that is a prefix of a local contact is not the local contact', who: person('lc', ['staff']), action: 'view',
    allow: false, codes: ['not-a-participant', 'training-missing'],
  },
  { name: 'a user id that extends a local contact is not the local contact', who: person('lc10', ['staff']), action: 'staff', allow: false, codes: ['not-local-contact'] },

  // the staff role alone is not enough
  { name: 'the staff role without being a local contact has no staff rights', who: person('stan', ['staff']), action: 'staff', allow: false, codes: ['not-local-contact'] },
  { name: 'the staff role without being a local contact cannot view', who: person('stan', ['staff']), action: 'view', allow: false, codes: ['not-a-participant', 'training-missing'] },
  { name: 'the staff role cannot audit', who: person('stan', ['staff']), action: 'audit', allow: false, codes: ['audit-not-permitted'] },

  // admins configure; they do not operate
  { name: 'an admin may audit every beamline', who: admin, action: 'audit', allow: true, codes: ['admin-audit'] },
  { name: 'an admin may audit a beamline they are not staff of', who: admin, action: 'audit', resource: { beamline: 'BL-OTHER' }, allow: true, codes: ['admin-audit'] },
  { name: 'an admin has no implicit view', who: admin, action: 'view', allow: false, codes: ['admin-not-operator', 'training-missing'] },
  {
    name: 'an admin has no implicit control (every failing condition listed)', who: admin, action: 'control',
    allow: false, codes: ['admin-not-operator', 'training-missing', 'training-missing', 'onsite-experience-required'],
  },
  { name: 'an admin has no staff rights unless local contact', who: admin, action: 'staff', allow: false, codes: ['not-local-contact'] },
  { name: 'an admin who is a local contact controls', who: person('lc1', ['admin']), action: 'control', allow: true, codes: ['local-contact'] },
  { name: 'an admin who is a participant views as a participant', who: person('alice', ['admin']), action: 'view', allow: true, codes: ['participant'], until: END_BT1 },

  // safety officers watch everything, drive nothing
  { name: 'a safety officer views every beamline', who: safety, action: 'view', allow: true, codes: ['safety-officer-view'] },
  { name: 'a safety officer views a staff-only beamline', who: safety, action: 'view', edit: (w) => { demo(w).mode = 'staff-only'; }, allow: true, codes: ['safety-officer-view'] },
  { name: 'a safety officer views outside any beamtime', who: safety, action: 'view', now: '2030-01-01T00:00:00Z', allow: true, codes: ['safety-officer-view'] },
  { name: 'a safety officer never controls', who: safety, action: 'control', allow: false, codes: ['safety-officer-no-control'] },
  {
    name: 'a safety officer never controls, even as a beamtime participant', who: person('alice', ['safety-officer']), action: 'control',
    allow: false, codes: ['safety-officer-no-control'],
  },
  { name: 'a safety officer who is a local contact controls', who: person('lc1', ['safety-officer']), action: 'control', allow: true, codes: ['local-contact'] },
  { name: 'a safety officer audits every beamline', who: safety, action: 'audit', resource: { beamline: 'BL-OTHER' }, allow: true, codes: ['safety-officer-audit'] },
  { name: 'a safety officer has no staff rights', who: safety, action: 'staff', allow: false, codes: ['not-local-contact'] },
  { name: 'an admin and safety officer gets both audit grounds', who: person('x', ['admin', 'safety-officer']), action: 'audit', allow: true, codes: ['admin-audit', 'safety-officer-audit'] },

  // role names are matched exactly
  { name: 'a role that is a prefix of safety-officer is not it', who: person('so1', ['safety']), action: 'view', allow: false, codes: ['not-a-participant', 'training-missing'] },
  { name: 'a role that extends admin is not admin', who: person('adm', ['admin-readonly']), action: 'audit', allow: false, codes: ['audit-not-permitted'] },
  { name: 'a role that extends safety-officer is not it', who: person('so1', ['safety-officer-trainee']), action: 'audit', allow: false, codes: ['audit-not-permitted'] },
  { name: 'a role in another case is not the role', who: person('so1', ['Safety-Officer']), action: 'audit', allow: false, codes: ['audit-not-permitted'] },

  // remote users: view
  { name: 'a participant views during the beamtime until end + grace', action: 'view', allow: true, codes: ['participant'], until: END_BT1 },
  { name: 'a participant views a view-only beamline', action: 'view', edit: (w) => { demo(w).mode = 'view-only'; }, allow: true, codes: ['participant'], until: END_BT1 },
  { name: 'a participant may not view a staff-only beamline', action: 'view', edit: (w) => { demo(w).mode = 'staff-only'; }, allow: false, codes: ['beamline-staff-only'] },
  { name: 'an observer views', who: olga, action: 'view', allow: true, codes: ['participant'], until: END_BT1 },
  { name: 'view needs no control training, MFA, on-site experience or acknowledgement', who: person('alice', ['user'], false), action: 'view',
    edit: (w) => {
      w.trainings = [training('alice', 'gs', '2026-10-01T00:00:00Z')];
      w.acknowledgements = [];
      w.users = [];
    },
    allow: true, codes: ['participant'], until: END_BT1 },
  {
    name: 'one millisecond before start - grace: denied, allowed from start - grace', action: 'view', now: '2026-05-01T09:29:59.999Z',
    allow: false, codes: ['beamtime-not-started'], until: '2026-05-01T09:30:00.000Z',
  },
  { name: 'exactly at start - grace: allowed', action: 'view', now: '2026-05-01T09:30:00Z', allow: true, codes: ['participant'], until: END_BT1 },
  { name: 'one millisecond before end + grace: allowed until end + grace', action: 'view', now: '2026-05-01T18:14:59.999Z', allow: true, codes: ['participant'], until: END_BT1 },
  { name: 'exactly at end + grace: denied for good', action: 'view', now: END_BT1, allow: false, codes: ['beamtime-ended'] },
  { name: 'without grace the window is the beamtime itself', action: 'view', now: '2026-05-01T09:59:59.999Z', edit: (w) => { demo(w).graceMinutes = {}; },
    allow: false, codes: ['beamtime-not-started'], until: '2026-05-01T10:00:00.000Z' },
  { name: 'no remote-access grant', action: 'view', edit: (w) => { w.remoteAccessGrants = []; }, allow: false, codes: ['grant-missing'] },
  { name: 'a grant of another user does not count', action: 'view', edit: (w) => { w.remoteAccessGrants = [grant('BT-1', 'olga'), grant('BT-1', 'alicia')]; }, allow: false, codes: ['grant-missing'] },
  { name: 'a grant for another beamtime does not count', action: 'view', edit: (w) => { w.remoteAccessGrants = [grant('BT-2', 'alice')]; }, allow: false, codes: ['grant-missing'] },
  { name: 'a requested grant is not approved', action: 'view', edit: (w) => { w.remoteAccessGrants = [grant('BT-1', 'alice', 'requested')]; }, allow: false, codes: ['grant-pending'] },
  {
    name: 'a grant approved then withdrawn: the last record counts', action: 'view',
    edit: (w) => { w.remoteAccessGrants = [grant('BT-1', 'alice'), grant('BT-1', 'alice', 'withdrawn')]; }, allow: false, codes: ['grant-withdrawn'],
  },
  {
    name: 'a grant withdrawn then approved again: the last record counts', action: 'view',
    edit: (w) => { w.remoteAccessGrants = [grant('BT-1', 'alice', 'withdrawn'), grant('BT-1', 'alice')]; }, allow: true, codes: ['participant'], until: END_BT1,
  },
  {
    name: 'training valid one millisecond before its validUntil: allowed until then', action: 'view', now: '2026-05-01T11:59:59.999Z',
    edit: (w) => { w.trainings = [training('alice', 'gs', '2026-05-01T12:00:00Z')]; }, allow: true, codes: ['participant'], until: '2026-05-01T12:00:00.000Z',
  },
  {
    name: 'training invalid exactly at its validUntil', action: 'view', now: '2026-05-01T12:00:00Z',
    edit: (w) => { w.trainings = [training('alice', 'gs', '2026-05-01T12:00:00Z')]; }, allow: false, codes: ['training-expired'],
    check: (d) => {
      assert.equal(firstReason(d).message, 'your "General safety" training expired on 2026-05-01 12:00 UTC; renew it and ask the user office to record it');
      assert.equal(firstReason(d)['kind'], 'gs');
      assert.equal(firstReason(d)['validUntil'], '2026-05-01T12:00:00.000Z');
    },
  },
  {
    name: 'an expiry at midnight is shown as a date', action: 'view', now: '2026-12-01T00:00:00Z',
    edit: (w) => {
      w.beamtimes.push(beamtime('BT-9', 'BL-DEMO', '2026-11-30T08:00:00Z', '2026-12-02T08:00:00Z', [{ user: 'alice' }]));
      w.remoteAccessGrants.push(grant('BT-9', 'alice'));
    },
    allow: false, codes: ['training-expired'],
    check: (d) => { assert.match(firstReason(d).message, /expired on 2026-10-01;/); },
  },
  { name: 'no training record of a required kind', action: 'view', edit: (w) => { w.trainings = [training('alice', 'rp', '2026-10-01T00:00:00Z')]; }, allow: false, codes: ['training-missing'] },
  { name: 'a training of another user does not count', action: 'view', edit: (w) => { w.trainings = trained('alicia'); }, allow: false, codes: ['training-missing'] },
  {
    name: 'several records of one kind: the latest counts (expired record listed last)', action: 'view',
    edit: (w) => { w.trainings = [training('alice', 'gs', '2026-09-01T00:00:00Z'), training('alice', 'gs', '2025-01-01T00:00:00Z')]; },
    allow: true, codes: ['participant'], until: END_BT1,
  },
  {
    name: 'several records of one kind: the latest counts (expired record listed first)', action: 'view', now: '2026-05-01T12:00:00Z',
    edit: (w) => { w.trainings = [training('alice', 'gs', '2025-01-01T00:00:00Z'), training('alice', 'gs', '2026-05-01T13:00:00Z')]; },
    allow: true, codes: ['participant'], until: '2026-05-01T13:00:00.000Z',
  },
  {
    name: 'several records of one kind, all expired: the latest expiry is named', action: 'view',
    edit: (w) => { w.trainings = [training('alice', 'gs', '2026-04-01T00:00:00Z'), training('alice', 'gs', '2025-01-01T00:00:00Z')]; },
    allow: false, codes: ['training-expired'], check: (d) => { assert.equal(firstReason(d)['validUntil'], '2026-04-01T00:00:00.000Z'); },
  },

  // bound and unbound resources
  {
    name: 'bound to the participant\'s beamtime: allowed', action: 'view', resource: { beamline: 'BL-DEMO', beamtime: 'BT-1' },
    allow: true, codes: ['participant'], until: END_BT1,
  },
  {
    name: 'bound to another beamtime on the same beamline: not a participant of it', action: 'view', resource: { beamline: 'BL-DEMO', beamtime: 'BT-2' },
    allow: false, codes: ['not-a-participant'], check: (d) => { assert.equal(firstReason(d)['beamtime'], 'BT-2'); },
  },
  {
    name: 'participant of a later beamtime only, unbound: not started, allowed from its start - grace', who: bob, action: 'view',
    allow: false, codes: ['beamtime-not-started'], until: '2026-05-03T07:30:00.000Z', check: (d) => { assert.equal(firstReason(d)['beamtime'], 'BT-2'); },
  },
  {
    name: 'participant of a later beamtime, bound to the current one: not a participant', who: bob, action: 'view', resource: { beamline: 'BL-DEMO', beamtime: 'BT-1' },
    allow: false, codes: ['not-a-participant'],
  },
  { name: 'bound to a beamtime that does not exist', action: 'view', resource: { beamline: 'BL-DEMO', beamtime: 'BT-404' }, allow: false, codes: ['beamtime-unknown'] },
  {
    name: 'bound to a beamtime of another beamline', action: 'view', resource: { beamline: 'BL-DEMO', beamtime: 'BT-X' },
    edit: (w) => { w.beamtimes.push(beamtime('BT-X', 'BL-OTHER', '2026-05-01T10:00:00Z', '2026-05-01T18:00:00Z', [{ user: 'alice' }])); },
    allow: false, codes: ['beamtime-unknown'],
  },
  {
    name: 'a participant of another beamline\'s beamtime only is not a participant here', who: person('carol'), action: 'view',
    edit: (w) => {
      w.beamtimes.push(beamtime('BT-X', 'BL-OTHER', '2026-05-01T10:00:00Z', '2026-05-01T18:00:00Z', [{ user: 'carol' }]));
      w.remoteAccessGrants.push(grant('BT-X', 'carol'));
      w.trainings.push(...trained('carol'));
    },
    allow: false, codes: ['not-a-participant'],
  },
  {
    name: 'unbound, an ended and an upcoming beamtime: the reasons describe the upcoming one', action: 'view', now: '2026-05-02T00:00:00Z',
    edit: (w) => {
      w.beamtimes.push(beamtime('BT-3', 'BL-DEMO', '2026-05-05T08:00:00Z', '2026-05-05T20:00:00Z', [{ user: 'alice' }]));
    },
    allow: false, codes: ['beamtime-not-started', 'grant-missing'],
    check: (d) => { assert.equal(firstReason(d)['beamtime'], 'BT-3'); },
  },
  {
    name: 'unbound, only ended beamtimes: the reasons describe the latest', action: 'view', now: '2026-06-01T00:00:00Z',
    edit: (w) => { w.beamtimes.push(beamtime('BT-0', 'BL-DEMO', '2026-04-01T08:00:00Z', '2026-04-01T20:00:00Z', [{ user: 'alice' }])); },
    allow: false, codes: ['beamtime-ended'], check: (d) => { assert.equal(firstReason(d)['beamtime'], 'BT-1'); },
  },
  {
    name: 'unbound, a running beamtime failing and an upcoming one fine: reasons of the running one, allowed from the upcoming window', action: 'view',
    edit: (w) => {
      w.beamtimes.push(beamtime('BT-3', 'BL-DEMO', '2026-05-05T08:00:00Z', '2026-05-05T20:00:00Z', [{ user: 'alice' }]));
      w.remoteAccessGrants = [grant('BT-1', 'alice', 'requested'), grant('BT-3', 'alice')];
    },
    allow: false, codes: ['grant-pending'], until: '2026-05-05T07:30:00.000Z', check: (d) => { assert.equal(firstReason(d)['beamtime'], 'BT-1'); },
  },
  {
    name: 'unbound, two granting beamtimes: both named, valid until the later one closes', action: 'view', now: '2026-05-01T17:50:00Z',
    edit: (w) => {
      w.beamtimes.push(beamtime('BT-3', 'BL-DEMO', '2026-05-01T18:00:00Z', '2026-05-02T06:00:00Z', [{ user: 'alice' }]));
      w.remoteAccessGrants.push(grant('BT-3', 'alice'));
    },
    allow: true, codes: ['participant', 'participant'], until: '2026-05-02T06:15:00.000Z',
  },
  {
    name: 'the allow reason names the beamtime and its window in UTC', action: 'view', allow: true, codes: ['participant'], until: END_BT1,
    check: (d) => {
      assert.equal(firstReason(d).message, 'principal investigator of beamtime BT-1 "Experiment BT-1" (2026-05-01 10:00-18:00 UTC)');
      assert.equal(firstReason(d)['accessFrom'], '2026-05-01T09:30:00.000Z');
    },
  },

  // remote users: control
  { name: 'a participant with everything controls until end + grace', action: 'control', allow: true, codes: ['participant'], until: END_BT1 },
  {
    name: 'a view-only beamline allows no remote control', action: 'control', edit: (w) => { demo(w).mode = 'view-only'; }, allow: false, codes: ['beamline-view-only'],
    check: (d) => { assert.match(firstReason(d).message, /allows no remote control/); },
  },
  { name: 'a staff-only beamline: no remote control', action: 'control', edit: (w) => { demo(w).mode = 'staff-only'; }, allow: false, codes: ['beamline-staff-only'] },
  { name: 'an observer may not control', who: olga, action: 'control', allow: false, codes: ['observer-no-control'] },
  {
    name: 'an acknowledgement of the previous instruction version does not count', action: 'control',
    edit: (w) => { w.acknowledgements = [ack('alice', 'BT-1', '1')]; }, allow: false, codes: ['instruction-not-acknowledged'],
    check: (d) => {
      assert.ok(firstReason(d).message.includes('"Remote operation of the demo beamline"'));
      assert.match(firstReason(d).message, /earlier version/);
      assert.deepEqual(firstReason(d)['acknowledgedVersions'], ['1']);
    },
  },
  {
    name: 'an acknowledgement for another beamtime does not count', who: bob, action: 'control', now: '2026-05-03T12:00:00Z',
    edit: (w) => { w.acknowledgements = [ack('bob', 'BT-1')]; }, allow: false, codes: ['instruction-not-acknowledged'],
    check: (d) => { assert.doesNotMatch(firstReason(d).message, /earlier version/); },
  },
  {
    name: 'an acknowledgement by another user does not count', action: 'control',
    edit: (w) => { w.acknowledgements = [ack('olga', 'BT-1')]; }, allow: false, codes: ['instruction-not-acknowledged'],
  },
  {
    name: 'an acknowledgement from Beamgate\'s own store counts', action: 'control', edit: (w) => { w.acknowledgements = []; },
    extraAcks: [{ user: 'alice', beamline: 'BL-DEMO', beamtime: 'BT-1', version: '2', at: new Date('2026-05-01T09:45:00Z') }],
    allow: true, codes: ['participant'], until: END_BT1,
  },
  {
    name: 'without an instruction there is nothing to acknowledge', action: 'control',
    edit: (w) => {
      delete demo(w).instruction;
      w.acknowledgements = [];
    },
    allow: true, codes: ['participant'], until: END_BT1,
  },
  { name: 'control without a second factor when the beamline requires one', who: person('alice', ['user'], false), action: 'control', allow: false, codes: ['mfa-required'] },
  {
    name: 'control without a second factor when the beamline does not require one', who: person('alice', ['user'], false), action: 'control',
    edit: (w) => { demo(w).requireMfaForControl = false; }, allow: true, codes: ['participant'], until: END_BT1,
  },
  { name: 'control without on-site experience', action: 'control', edit: (w) => { w.users = [{ id: 'alice', name: 'Alice' }]; }, allow: false, codes: ['onsite-experience-required'] },
  {
    name: 'on-site experience at another beamline does not count', action: 'control',
    edit: (w) => { w.users = [{ id: 'alice', name: 'Alice', onsiteExperience: ['BL-OTHER', 'BL-DEMO-2'] }]; }, allow: false, codes: ['onsite-experience-required'],
  },
  {
    name: 'control without on-site experience when not required', action: 'control',
    edit: (w) => {
      w.users = [];
      demo(w).requireOnsiteExperience = false;
    },
    allow: true, codes: ['participant'], until: END_BT1,
  },
  {
    name: 'control needs the view trainings too', action: 'control',
    edit: (w) => { w.trainings = [training('alice', 'rp', '2026-10-01T00:00:00Z')]; }, allow: false, codes: ['training-missing'],
    check: (d) => { assert.equal(firstReason(d)['kind'], 'gs'); },
  },
  {
    name: 'control needs its own trainings', action: 'control',
    edit: (w) => { w.trainings = [training('alice', 'gs', '2026-10-01T00:00:00Z')]; }, allow: false, codes: ['training-missing'],
    check: (d) => { assert.match(firstReason(d).message, /"Radiation protection"/); },
  },
  {
    name: 'control is valid until the earliest training expiry', action: 'control',
    edit: (w) => { w.trainings = [training('alice', 'gs', '2026-10-01T00:00:00Z'), training('alice', 'rp', '2026-05-01T15:30:00Z')]; },
    allow: true, codes: ['participant'], until: '2026-05-01T15:30:00.000Z',
  },
  {
    name: 'a deny lists every failing condition at once', who: person('olga', ['user'], false), action: 'control',
    edit: (w) => {
      demo(w).mode = 'view-only';
      w.remoteAccessGrants = [grant('BT-1', 'olga', 'requested')];
      w.trainings = [training('olga', 'rp', '2026-04-01T00:00:00Z')];
      w.acknowledgements = [ack('olga', 'BT-1', '1')];
      w.users = [];
    },
    allow: false,
    codes: [
      'beamline-view-only', 'grant-pending', 'observer-no-control', 'instruction-not-acknowledged',
      'training-missing', 'training-expired', 'mfa-required', 'onsite-experience-required',
    ],
  },
  {
    name: 'a deny before the window with everything else in order opens at start - grace', action: 'control', now: '2026-05-01T06:00:00Z',
    allow: false, codes: ['beamtime-not-started'], until: '2026-05-01T09:30:00.000Z',
  },
  {
    name: 'a deny before the window that time alone cannot fix has no validUntil (no grant)', action: 'control', now: '2026-05-01T06:00:00Z',
    edit: (w) => { w.remoteAccessGrants = []; }, allow: false, codes: ['beamtime-not-started', 'grant-missing'],
  },
  {
    name: 'a deny before the window whose training runs out before it opens has no validUntil', action: 'view', now: '2026-05-01T06:00:00Z',
    edit: (w) => { w.trainings = [training('alice', 'gs', '2026-05-01T09:00:00Z')]; }, allow: false, codes: ['beamtime-not-started'],
  },
  { name: 'a participant has no staff rights', action: 'staff', allow: false, codes: ['not-local-contact'] },
  { name: 'a participant may not audit', action: 'audit', allow: false, codes: ['audit-not-permitted'] },
];

describe('decide: one row per rule', () => {
  for (const row of rows) {
    it(row.name, () => {
      const w = world();
      row.edit?.(w);
      const facts = indexFacts(office(w), row.extraAcks ?? []);
      const d = decide(row.who ?? alice, row.action, row.resource ?? demoResource, new Date(row.now ?? DURING_BT1), facts);
      assert.deepEqual({ allow: d.allow, codes: d.reasons.map(r => r.code), until: d.validUntil?.toISOString() }, {
        allow: row.allow,
        codes: row.codes,
        until: row.until === undefined ? undefined : new Date(row.until).toISOString(),
      }, describeDecision(d));
      for (const r of d.reasons) assert.ok(r.message.length > 0, `reason ${r.code} has a message`);
      row.check?.(d);
    });
  }

  it('an invalid clock is a deny, not an exception', () => {
    const d = decide(person('lc1'), 'view', demoResource, new Date(Number.NaN), indexFacts(office(world())));
    assert.deepEqual(d.reasons.map(r => r.code), ['clock-invalid']);
    assert.equal(d.allow, false);
  });

  it('the same facts serve many decisions: indexing is separate from deciding', () => {
    const facts = indexFacts(office(world()));
    const now = new Date(DURING_BT1);
    assert.equal(decide(alice, 'control', demoResource, now, facts).allow, true);
    assert.equal(decide(olga, 'control', demoResource, now, facts).allow, false);
    assert.equal(decide(bob, 'view', demoResource, now, facts).allow, false);
  });
});

describe('describeDecision', () => {
  it('puts verdict, codes, messages and the time bound on one line', () => {
    const w = world();
    w.beamtimes[0]!.title = 'Two\nlines';
    const facts = indexFacts(office(w));
    const line = describeDecision(decide(alice, 'view', demoResource, new Date(DURING_BT1), facts));
    assert.equal(line, `allow: [participant] principal investigator of beamtime BT-1 "Two lines" (2026-05-01 10:00-18:00 UTC) (until ${END_BT1})`);
    assert.doesNotMatch(line, /\n/);
  });

  it('names every reason of a deny and when time alone allows it', () => {
    const line = describeDecision({
      allow: false,
      reasons: [{ code: 'grant-missing', message: 'a' }, { code: 'mfa-required', message: 'b' }],
      validUntil: new Date('2026-05-01T09:30:00Z'),
    });
    assert.equal(line, 'deny: [grant-missing] a; [mfa-required] b (allowed from 2026-05-01T09:30:00.000Z)');
  });
});

describe('dates in messages', () => {
  const cases: [string, string][] = [
    ['2026-10-01T00:00:00Z', '2026-10-01'],
    ['2026-10-01T14:30:00Z', '2026-10-01 14:30 UTC'],
    ['2026-10-01T14:30:15Z', '2026-10-01 14:30:15 UTC'],
    ['2026-10-01T00:00:00.001Z', '2026-10-01 00:00:00.001 UTC'],
    ['2026-10-01T02:00:00+02:00', '2026-10-01'],
  ];
  for (const [input, shown] of cases) {
    it(`${input} is shown as "${shown}"`, () => {
      assert.equal(formatInstant(new Date(input)), shown);
    });
  }
  it('a window within one UTC day shows the date once', () => {
    assert.equal(formatWindow(new Date('2026-05-01T10:00:00Z'), new Date('2026-05-01T18:00:00Z')), '2026-05-01 10:00-18:00 UTC');
  });
  it('a window over several days shows both ends', () => {
    assert.equal(formatWindow(new Date('2026-05-03T08:00:00Z'), new Date('2026-05-04T00:00:00Z')), '2026-05-03 08:00 UTC to 2026-05-04');
  });
});

describe('beamtimesOf', () => {
  const w = world();
  w.beamtimes.push(
    beamtime('BT-OLD', 'BL-DEMO', '2026-04-20T08:00:00Z', '2026-04-24T12:00:00Z', [{ user: 'alice', role: 'observer' }]),
    beamtime('BT-RECENT', 'BL-DEMO', '2026-04-25T08:00:00Z', '2026-04-25T12:00:00Z', [{ user: 'alice' }]),
    beamtime('BT-NEXT', 'BL-OTHER', '2026-06-01T08:00:00Z', '2026-06-02T08:00:00Z', [{ user: 'alice' }]),
    beamtime('BT-GONE', 'BL-GONE', '2026-06-01T08:00:00Z', '2026-06-02T08:00:00Z', [{ user: 'alice' }]),
    beamtime('BT-ALICIA', 'BL-DEMO', '2026-05-01T08:00:00Z', '2026-05-02T08:00:00Z', [{ user: 'alicia' }]),
  );
  const facts = indexFacts(office(w));

  it('lists recent, running and upcoming beamtimes by start, with beamline names and access windows', () => {
    // 2026-05-01 12:00: BT-OLD ended 7 days and 0 ms ago (gone); BT-RECENT ended 6 days ago.
    const list = beamtimesOf('alice', facts, new Date('2026-05-01T12:00:00Z'));
    assert.deepEqual(list.map(b => [b.id, b.status, b.beamline.name, b.role]), [
      ['BT-RECENT', 'ended', 'Demo beamline', 'participant'],
      ['BT-1', 'running', 'Demo beamline', 'principal-investigator'],
      ['BT-NEXT', 'upcoming', 'Beamline BL-OTHER', 'participant'],
    ]);
    const running = list[1];
    assert.ok(running);
    assert.equal(running.accessFrom.toISOString(), '2026-05-01T09:30:00.000Z');
    assert.equal(running.accessUntil.toISOString(), END_BT1);
  });

  it('keeps an ended beamtime until exactly seven days after its end', () => {
    const ids = (iso: string): string[] => beamtimesOf('alice', facts, new Date(iso)).map(b => b.id);
    assert.ok(ids('2026-05-01T11:59:59.999Z').includes('BT-OLD'));
    assert.ok(!ids('2026-05-01T12:00:00.000Z').includes('BT-OLD'));
  });

  it('is empty for an unknown user and exact about ids', () => {
    assert.deepEqual(beamtimesOf('nobody', facts, new Date(DURING_BT1)), []);
    assert.deepEqual(beamtimesOf('alic', facts, new Date(DURING_BT1)), []);
  });
});

describe('docs/policy.md', () => {
  it('documents every reason code', () => {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'docs', 'policy.md'))) {
      const up = dirname(dir);
      assert.notEqual(up, dir, 'docs/policy.md not found above the test');
      dir = up;
    }
    const doc = readFileSync(join(dir, 'docs', 'policy.md'), 'utf8');
    const missing = REASON_CODES.filter(code => !doc.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });
});

// --- properties over arbitrary schema-valid data ---------------------------------------------

const USERS = ['u1', 'u10', 'u2'] as const;
const BEAMLINES = ['B1', 'B2', 'B10'] as const;
const BEAMTIMES = ['T1', 'T2', 'T3'] as const;
const KINDS = ['k1', 'k2'] as const;
const FROM = Date.parse('2026-01-01T00:00:00Z');
const SPAN = 10 * 24 * 3600_000;

/** Mostly whole minutes, so that boundaries coincide often; sometimes any millisecond. */
const instantMs = fc.oneof(
  fc.integer({ min: 0, max: SPAN / 60_000 }).map(m => FROM + m * 60_000),
  fc.integer({ min: FROM, max: FROM + SPAN }),
);
const iso = instantMs.map(ms => new Date(ms).toISOString());

const participantArb = fc.record({ user: fc.constantFrom(...USERS), role: fc.constantFrom('principal-investigator', 'participant', 'observer') });
const beamtimeArb = fc.record({
  id: fc.constantFrom(...BEAMTIMES),
  beamline: fc.constantFrom(...BEAMLINES),
  start: instantMs,
  durationMs: fc.integer({ min: 1, max: 3 * 24 * 3600_000 }),
  participants: fc.array(participantArb, { maxLength: 4 }),
}).map(b => beamtime(b.id, b.beamline, new Date(b.start).toISOString(), new Date(b.start + b.durationMs).toISOString(), b.participants));

const officeArb = fc.record({
  beamlines: fc.array(fc.record({
    id: fc.constantFrom(...BEAMLINES),
    name: fc.constant('A beamline'),
    mode: fc.constantFrom('remote-control', 'view-only', 'staff-only'),
    localContacts: fc.subarray([...USERS]),
    requiredTraining: fc.record({ view: fc.subarray([...KINDS]), control: fc.subarray([...KINDS]) }),
    graceMinutes: fc.record({ before: fc.integer({ min: 0, max: 24 * 60 }), after: fc.integer({ min: 0, max: 24 * 60 }) }),
    requireMfaForControl: fc.boolean(),
    requireOnsiteExperience: fc.boolean(),
    instruction: fc.option(fc.record({ version: fc.constantFrom('1', '2'), title: fc.constant('Instruction'), text: fc.constant('Text') }), { nil: undefined }),
  }, { requiredKeys: ['id', 'name'] }), { maxLength: 4 }),
  beamtimes: fc.array(beamtimeArb, { maxLength: 5 }),
  remoteAccessGrants: fc.array(fc.record({
    beamtime: fc.constantFrom(...BEAMTIMES),
    user: fc.constantFrom(...USERS),
    status: fc.constantFrom('requested', 'approved', 'withdrawn'),
  }), { maxLength: 8 }),
  trainings: fc.array(fc.record({ user: fc.constantFrom(...USERS), kind: fc.constantFrom(...KINDS), validUntil: iso }), { maxLength: 8 }),
  acknowledgements: fc.array(fc.record({
    user: fc.constantFrom(...USERS), beamline: fc.constantFrom(...BEAMLINES), beamtime: fc.constantFrom(...BEAMTIMES), version: fc.constantFrom('1', '2'), at: iso,
  }), { maxLength: 8 }),
  users: fc.array(fc.record({ id: fc.constantFrom(...USERS), name: fc.constant('Someone'), onsiteExperience: fc.subarray([...BEAMLINES]) }), { maxLength: 4 }),
}).map(parts => userOfficeSchema.parse({ version: 1, trainingKinds: { k1: 'Kind one', k2: 'Kind two' }, ...parts }));

const subjectArb = fc.record({
  userId: fc.constantFrom(...USERS, 'u'),
  name: fc.constant('Someone'),
  roles: fc.subarray([...APP_ROLES]),
  mfa: fc.boolean(),
});
const resourceArb = fc.record({ beamline: fc.constantFrom(...BEAMLINES), beamtime: fc.option(fc.constantFrom(...BEAMTIMES, 'T404'), { nil: undefined }) });
const questionArb = fc.record({
  data: officeArb,
  subject: subjectArb,
  action: fc.constantFrom(...ACTIONS),
  resource: resourceArb,
  now: instantMs,
});

describe('decide: properties', () => {
  it('never throws; an allow has a reason; a deny has a reason with a code; validUntil lies ahead', () => {
    fc.assert(fc.property(questionArb, ({ data, subject, action, resource, now }) => {
      const d = decide(subject, action, resource, new Date(now), indexFacts(data));
      assert.ok(d.reasons.length > 0);
      if (!d.allow) assert.ok(d.reasons.some(r => r.code !== ''));
      for (const r of d.reasons) assert.ok(r.message !== '');
      if (d.validUntil !== undefined) assert.ok(d.validUntil.getTime() > now);
    }), { numRuns: 500 });
  });

  it('an allow still holds one millisecond before its validUntil; a deny is an allow at its validUntil', () => {
    fc.assert(fc.property(questionArb, ({ data, subject, action, resource, now }) => {
      const facts = indexFacts(data);
      const d = decide(subject, action, resource, new Date(now), facts);
      if (d.validUntil === undefined) return;
      const probe = d.allow ? d.validUntil.getTime() - 1 : d.validUntil.getTime();
      assert.equal(decide(subject, action, resource, new Date(probe), facts).allow, true, describeDecision(d));
    }), { numRuns: 500 });
  });

  it('a local contact may always view and control their beamline', () => {
    fc.assert(fc.property(questionArb, ({ data, subject, resource, now }) => {
      const beamline = data.beamlines.find(b => b.id === resource.beamline);
      fc.pre(beamline !== undefined && beamline.localContacts.includes(subject.userId));
      for (const action of ['view', 'control'] as const) assert.equal(decide(subject, action, resource, new Date(now), indexFacts(data)).allow, true);
    }), { numRuns: 200 });
  });
});
