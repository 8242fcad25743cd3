// The reasons an access decision gives: one constructor per stable code, with the sentence shown
// to the person and the data fields a program may use (ids, ISO instants). Codes never change
// meaning once released; docs/policy.md lists each with its rule. Messages name dates in UTC, as an
// ISO date, plus the time when it is not midnight, so a remote user in another time zone reads
// the same instant the user office wrote. Pure: no clock, no I/O; never put a secret in a reason.
import type { Beamline, Beamtime, Instruction, ParticipantRole } from './user-office.js';

/** A data field of a reason: JSON-safe, so decisions can be sent to the browser and audited as they are. */
export type ReasonField = string | number | boolean | readonly string[];

export interface Reason {
  /** Stable, e.g. 'training-expired'; programs branch on this, never on the message. */
  readonly code: string;
  /** For the person: what holds or what is missing, and what to do about it. */
  readonly message: string;
  readonly [field: string]: ReasonField | undefined;
}

/** Every code decide() can give, allowing first; docs/policy.md documents each (a test checks). */
export const REASON_CODES = [
  'local-contact',
  'safety-officer-view',
  'admin-audit',
  'safety-officer-audit',
  'participant',
  'clock-invalid',
  'unknown-beamline',
  'not-local-contact',
  'audit-not-permitted',
  'safety-officer-no-control',
  'admin-not-operator',
  'not-a-participant',
  'beamtime-unknown',
  'beamline-staff-only',
  'beamline-view-only',
  'beamtime-not-started',
  'beamtime-ended',
  'grant-missing',
  'grant-pending',
  'grant-withdrawn',
  'observer-no-control',
  'training-missing',
  'training-expired',
  'instruction-not-acknowledged',
  'mfa-required',
  'onsite-experience-required',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

type Fields = Readonly<Record<string, ReasonField | undefined>>;

function reason(code: ReasonCode, message: string, fields: Fields = {}): Reason {
  return { ...fields, code, message };
}

const two = (n: number): string => String(n).padStart(2, '0');

/** The UTC clock time of an instant: "14:30", or "14:30:15" when the seconds matter. */
function clockTime(at: Date): string {
  const hm = `${two(at.getUTCHours())}:${two(at.getUTCMinutes())}`;
  const ms = at.getUTCSeconds() * 1000 + at.getUTCMilliseconds();
  if (ms === 0) return hm;
  return at.getUTCMilliseconds() === 0 ? `${hm}:${two(at.getUTCSeconds())}` : `${hm}:${two(at.getUTCSeconds())}.${String(at.getUTCMilliseconds()).padStart(3, '0')}`;
}

const isMidnight = (at: Date): boolean => at.getTime() % 86_400_000 === 0;

/** "2026-10-01" at midnight UTC, else "2026-10-01 14:30 UTC". */
export function formatInstant(at: Date): string {
  const date = at.toISOString().slice(0, 10);
  return isMidnight(at) ? date : `${date} ${clockTime(at)} UTC`;
}

/** "2026-05-01 10:00-18:00 UTC" within one day, else both ends in full. */
export function formatWindow(start: Date, end: Date): string {
  const startDate = start.toISOString().slice(0, 10);
  const endDate = end.toISOString().slice(0, 10);
  if (startDate === endDate) return `${startDate} ${clockTime(start)}-${clockTime(end)} UTC`;
  return `${formatInstant(start)} to ${formatInstant(end)}`;
}

function beamtimeLabel(bt: Beamtime): string {
  return bt.title === undefined ? `beamtime ${bt.id}` : `beamtime ${bt.id} "${bt.title}"`;
}

const ROLE_LABEL: Readonly<Record<ParticipantRole, string>> = {
  'principal-investigator': 'principal investigator',
  participant: 'participant',
  observer: 'observer',
};

// --- allowing -------------------------------------------------------------------------------

export function localContact(beamline: Beamline): Reason {
  return reason('local-contact', `local contact of ${beamline.name}`, { beamline: beamline.id });
}

export function safetyOfficerView(beamline: Beamline): Reason {
  return reason('safety-officer-view', `safety officers may watch every beamline, ${beamline.name} included`, { beamline: beamline.id });
}

export function adminAudit(beamline: Beamline): Reason {
  return reason('admin-audit', `administrators may read the audit log of every beamline, ${beamline.name} included`, { beamline: beamline.id });
}

export function safetyOfficerAudit(beamline: Beamline): Reason {
  return reason('safety-officer-audit', `safety officers may read the audit log of every beamline, ${beamline.name} included`, { beamline: beamline.id });
}

export function participant(bt: Beamtime, role: ParticipantRole, accessFrom: Date, accessUntil: Date): Reason {
  return reason('participant', `${ROLE_LABEL[role]} of ${beamtimeLabel(bt)} (${formatWindow(bt.start, bt.end)})`, {
    beamline: bt.beamline,
    beamtime: bt.id,
    role,
    accessFrom: accessFrom.toISOString(),
    accessUntil: accessUntil.toISOString(),
  });
}

// --- denying: who -----------------------------------------------------------------------------

export function clockInvalid(): Reason {
  return reason('clock-invalid', 'the gateway could not tell the time, so access is refused; tell the facility\'s Beamgate administrator');
}

export function unknownBeamline(id: string): Reason {
  return reason('unknown-beamline', `there is no beamline "${id}" in the user-office data; ask the facility to check the desktop's configuration`, { beamline: id });
}

export function notLocalContact(beamline: Beamline): Reason {
  return reason('not-local-contact', `only the local contacts of ${beamline.name} have staff rights on it, and you are not one of them`, { beamline: beamline.id });
}

export function auditNotPermitted(beamline: Beamline): Reason {
  return reason(
    'audit-not-permitted',
    `the audit log of ${beamline.name} is open to administrators, safety officers and its local contacts only`,
    { beamline: beamline.id },
  );
}

export function safetyOfficerNoControl(beamline: Beamline): Reason {
  return reason(
    'safety-officer-no-control',
    `safety officers watch but never drive; only a local contact of ${beamline.name} may control it as staff`,
    { beamline: beamline.id },
  );
}

export function adminNotOperator(beamline: Beamline): Reason {
  return reason(
    'admin-not-operator',
    `administrators configure Beamgate but do not operate beamlines: to use ${beamline.name} you must be its local contact or a participant of one of its beamtimes`,
    { beamline: beamline.id },
  );
}

export function notAParticipant(beamline: Beamline, beamtime: string | undefined): Reason {
  return beamtime === undefined
    ? reason('not-a-participant', `you are not a participant of any current or upcoming beamtime on ${beamline.name}`, { beamline: beamline.id })
    : reason('not-a-participant', `you are not a participant of beamtime ${beamtime} on ${beamline.name}`, { beamline: beamline.id, beamtime });
}

export function beamtimeUnknown(beamline: Beamline, beamtime: string): Reason {
  return reason(
    'beamtime-unknown',
    `there is no beamtime ${beamtime} on ${beamline.name} in the user-office data (it may have been cancelled or moved)`,
    { beamline: beamline.id, beamtime },
  );
}

// --- denying: the beamline ------------------------------------------------------------------

export function beamlineStaffOnly(beamline: Beamline): Reason {
  return reason('beamline-staff-only', `${beamline.name} is open to its staff only at the moment; no remote user may watch or drive it`, {
    beamline: beamline.id,
    mode: beamline.mode,
  });
}

export function beamlineViewOnly(beamline: Beamline): Reason {
  return reason('beamline-view-only', `${beamline.name} allows no remote control (view-only beamline): you may watch, and its staff drive`, {
    beamline: beamline.id,
    mode: beamline.mode,
  });
}

// --- denying: the beamtime -------------------------------------------------------------------

export function beamtimeNotStarted(bt: Beamtime, accessFrom: Date): Reason {
  const opens = accessFrom.getTime() === bt.start.getTime() ? '' : `; remote access opens ${formatInstant(accessFrom)}`;
  return reason('beamtime-not-started', `${beamtimeLabel(bt)} starts ${formatInstant(bt.start)}${opens}`, {
    beamline: bt.beamline,
    beamtime: bt.id,
    accessFrom: accessFrom.toISOString(),
  });
}

export function beamtimeEnded(bt: Beamtime, accessUntil: Date): Reason {
  const closed = accessUntil.getTime() === bt.end.getTime() ? '' : `; remote access closed ${formatInstant(accessUntil)}`;
  return reason('beamtime-ended', `${beamtimeLabel(bt)} ended ${formatInstant(bt.end)}${closed}`, {
    beamline: bt.beamline,
    beamtime: bt.id,
    accessUntil: accessUntil.toISOString(),
  });
}

export function grantMissing(bt: Beamtime): Reason {
  return reason('grant-missing', `you have no remote-access grant for ${beamtimeLabel(bt)}: request remote access in the user office`, {
    beamline: bt.beamline,
    beamtime: bt.id,
  });
}

export function grantPending(bt: Beamtime): Reason {
  return reason('grant-pending', `your remote-access request for ${beamtimeLabel(bt)} is not approved yet; the user office decides on it`, {
    beamline: bt.beamline,
    beamtime: bt.id,
    status: 'requested',
  });
}

export function grantWithdrawn(bt: Beamtime): Reason {
  return reason('grant-withdrawn', `your remote access to ${beamtimeLabel(bt)} was withdrawn; ask the user office or your local contact`, {
    beamline: bt.beamline,
    beamtime: bt.id,
    status: 'withdrawn',
  });
}

export function observerNoControl(bt: Beamtime): Reason {
  return reason('observer-no-control', `you are an observer of ${beamtimeLabel(bt)}: observers watch but do not drive; ask its principal investigator to make you a participant`, {
    beamline: bt.beamline,
    beamtime: bt.id,
    role: 'observer',
  });
}

// --- denying: the person ------------------------------------------------------------------

export function trainingMissing(kind: string, kindName: string): Reason {
  return reason('training-missing', `you have no valid "${kindName}" training on record; complete it and ask the user office to record it`, { kind });
}

export function trainingExpired(kind: string, kindName: string, validUntil: Date): Reason {
  return reason('training-expired', `your "${kindName}" training expired on ${formatInstant(validUntil)}; renew it and ask the user office to record it`, {
    kind,
    validUntil: validUntil.toISOString(),
  });
}

export function instructionNotAcknowledged(
  beamline: Beamline,
  bt: Beamtime,
  instruction: Instruction,
  earlierVersions: readonly string[],
): Reason {
  const earlier = earlierVersions.length === 0 ? '' : ` (you acknowledged an earlier version, which has changed since)`;
  const what = `"${instruction.title}" (version ${instruction.version})`;
  return reason('instruction-not-acknowledged', `read and acknowledge ${what} for ${beamtimeLabel(bt)} before you drive ${beamline.name}${earlier}`, {
    beamline: beamline.id,
    beamtime: bt.id,
    instruction: instruction.title,
    version: instruction.version,
    acknowledgedVersions: earlierVersions,
  });
}

export function mfaRequired(beamline: Beamline): Reason {
  return reason('mfa-required', `remote control of ${beamline.name} needs a login with a second factor: log out and log in again with it`, { beamline: beamline.id });
}

export function onsiteExperienceRequired(beamline: Beamline): Reason {
  return reason(
    'onsite-experience-required',
    `remote control of ${beamline.name} needs on-site experience at this beamline, which the user office has not recorded for you`,
    { beamline: beamline.id },
  );
}
