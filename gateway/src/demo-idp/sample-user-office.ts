// The user-office data that goes with the demo accounts: one remote-control beamline with a
// running beamtime, one view-only beamline, the trainings and grants that make each demo account
// show its situation (policies/src/user-office.ts is the format). Built relative to `now` so the
// beamtime is always running when the demo starts. Returns the document as a facility would
// write it (JSON, instants as ISO strings in UTC); the gateway validates it like any other.
import type { z } from 'zod';
import type { userOfficeSchema } from '../../../policies/src/user-office.js';
import { DEMO_ACCOUNTS, demoAccount } from './accounts.js';

/** The user-office document before validation: what the YAML/JSON file or the feed holds. */
export type UserOfficeDocument = z.input<typeof userOfficeSchema>;

export const DEMO_BEAMLINE = 'bl-demo';
export const VIEW_ONLY_BEAMLINE = 'bl-view';
export const DEMO_BEAMTIME = 'BT-DEMO-1';
export const DEMO_INSTRUCTION_VERSION = '2026-11';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const INSTRUCTION_TEXT = [
  'You are about to operate the demo beamline from outside the facility.',
  '',
  '1. Before you open the shutter, make sure with the local contact that nobody is in the experimental hutch',
  '   and that the hutch is searched and closed.',
  '2. Move motors only within the ranges agreed in your beamtime proposal. Never change the interlock settings.',
  '3. Keep the video call or chat with the local contact open the whole time you hold control.',
  '4. If anything looks wrong, release control at once and call the local contact (ext. 2001).',
  '   The local contact can take control back at any moment, without asking.',
  '',
  'Your actions are recorded in the audit log of the facility.',
].join('\n');

export function sampleUserOffice(now: Date): UserOfficeDocument {
  const at = (ms: number): string => new Date(now.getTime() + ms).toISOString();
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const yesterdayMidnight = new Date(today - DAY_MS).toISOString();
  const inAYear = new Date(today + 365 * DAY_MS).toISOString();
  const id = (login: string): string => demoAccount(login).facilityUserId;
  const remoteUsers = ['alice.remote', 'bob.expired', 'oscar.observer', 'mia.mfa'].map(id);

  return {
    version: 1,
    trainingKinds: {
      'general-safety': 'General safety',
      'radiation-protection': 'Radiation protection',
    },
    users: DEMO_ACCOUNTS.map(a => ({
      id: a.facilityUserId,
      name: a.name,
      onsiteExperience: a.login === 'alice.remote' ? [DEMO_BEAMLINE] : [],
    })),
    beamlines: [
      {
        id: DEMO_BEAMLINE,
        name: 'Demo beamline (simulated)',
        mode: 'remote-control',
        localContacts: [id('carol.contact')],
        requiredTraining: { view: ['general-safety'], control: ['general-safety', 'radiation-protection'] },
        graceMinutes: { before: 30, after: 30 },
        requireMfaForControl: false,
        requireOnsiteExperience: false,
        instruction: { version: DEMO_INSTRUCTION_VERSION, title: 'Remote operation of the demo beamline', text: INSTRUCTION_TEXT },
      },
      {
        id: VIEW_ONLY_BEAMLINE,
        name: 'View-only beamline (remote control not permitted)',
        mode: 'view-only',
        localContacts: [id('carol.contact')],
        requiredTraining: { view: ['general-safety'], control: [] },
        graceMinutes: { before: 30, after: 30 },
      },
    ],
    beamtimes: [
      {
        id: DEMO_BEAMTIME,
        beamline: DEMO_BEAMLINE,
        title: 'Demo beamtime: powder diffraction on the simulated beamline',
        start: at(-2 * HOUR_MS),
        end: at(2 * DAY_MS),
        participants: [
          { user: id('alice.remote'), role: 'principal-investigator' },
          { user: id('bob.expired'), role: 'participant' },
          { user: id('oscar.observer'), role: 'observer' },
          { user: id('mia.mfa'), role: 'participant' },
        ],
      },
    ],
    remoteAccessGrants: remoteUsers.map(user => ({ beamtime: DEMO_BEAMTIME, user, status: 'approved' as const })),
    trainings: DEMO_ACCOUNTS.flatMap(a => [
      { user: a.facilityUserId, kind: 'general-safety', validUntil: inAYear },
      {
        user: a.facilityUserId,
        kind: 'radiation-protection',
        validUntil: a.login === 'bob.expired' ? yesterdayMidnight : inAYear,
      },
    ]),
    acknowledgements: [],
  };
}
