// The access policy: may this person view, control, act as staff on, or audit a beamline's desktop
// at this instant? One pure function over facts indexed once per user-office snapshot, because the
// gateway asks again for every connected viewer every few seconds. A deny lists every failing
// condition (people fix them all at once); every decision says until when time alone cannot change
// it, so the gateway can re-evaluate exactly then. docs/policy.md states each rule with its code.
// Pure: no clock (now is an argument), no I/O, no logging; never throws for schema-valid data.
import type { Acknowledgement, Beamline, BeamlineMode, Beamtime, Instruction, ParticipantRole, UserOfficeData } from './user-office.js';
import * as reasons from './reasons.js';
import type { Reason } from './reasons.js';

export type { Reason, ReasonCode, ReasonField } from './reasons.js';
export { REASON_CODES } from './reasons.js';

export const APP_ROLES = ['admin', 'safety-officer', 'staff', 'user'] as const;
/** Beamgate's application roles, from the identity provider's claims. */
export type AppRole = (typeof APP_ROLES)[number];

export const ACTIONS = ['view', 'control', 'staff', 'audit'] as const;
export type Action = (typeof ACTIONS)[number];

export interface Subject {
  /** The facility user id, as the user office knows it; matched exactly. */
  readonly userId: string;
  readonly name: string;
  readonly roles: readonly AppRole[];
  /** The login used a second factor. */
  readonly mfa: boolean;
}

/** A desktop session on a beamline, optionally bound to one beamtime. */
export interface Resource {
  readonly beamline: string;
  /** When absent, any of the subject's beamtimes on the beamline counts. */
  readonly beamtime?: string | undefined;
}

export interface Decision {
  readonly allow: boolean;
  /** Allow: why (at least one). Deny: every failing condition (at least one). */
  readonly reasons: Reason[];
  /**
   * Allow: the earliest instant at which time alone could turn it into a deny. Deny: the instant at
   * which time alone turns it into an allow. Absent when time alone changes nothing.
   */
  readonly validUntil?: Date;
}

type GrantStatus = 'requested' | 'approved' | 'withdrawn';

interface Participation {
  readonly beamtime: Beamtime;
  readonly role: ParticipantRole;
}

/** The user-office data indexed for decide(); build it with indexFacts() once per snapshot. */
export interface PolicyFacts {
  readonly beamlines: ReadonlyMap<string, Beamline>;
  readonly beamtimes: ReadonlyMap<string, Beamtime>;
  /** user -> beamline -> the user's beamtimes there, by start. */
  readonly participations: ReadonlyMap<string, ReadonlyMap<string, readonly Participation[]>>;
  /** key(beamtime, user) -> the status of the last grant record for that pair. */
  readonly grants: ReadonlyMap<string, GrantStatus>;
  /** user -> training kind -> the latest validUntil among the user's records of that kind. */
  readonly trainings: ReadonlyMap<string, ReadonlyMap<string, Date>>;
  readonly trainingNames: ReadonlyMap<string, string>;
  /** key(user, beamline, beamtime) -> the instruction versions acknowledged. */
  readonly acknowledged: ReadonlyMap<string, ReadonlySet<string>>;
  /** user -> beamlines with on-site experience. */
  readonly onsiteExperience: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Unambiguous whatever the parts contain (acknowledgements from the store are not schema-checked). */
const key = (...parts: string[]): string => JSON.stringify(parts);

const MINUTE_MS = 60_000;

/**
 * Indexes a user-office snapshot and the acknowledgements from Beamgate's own store. Where the data
 * repeats itself, the first beamline, beamtime or participant entry with an id counts, the last
 * grant record for a beamtime and user counts (the list is their history), and of several
 * training records of one kind the one valid longest counts.
 */
export function indexFacts(data: UserOfficeData, extraAcks: readonly Acknowledgement[] = []): PolicyFacts {
  const beamlines = new Map<string, Beamline>();
  for (const b of data.beamlines) if (!beamlines.has(b.id)) beamlines.set(b.id, b);
  const beamtimes = new Map<string, Beamtime>();
  for (const bt of data.beamtimes) if (!beamtimes.has(bt.id)) beamtimes.set(bt.id, bt);

  const participations = new Map<string, Map<string, Participation[]>>();
  for (const bt of beamtimes.values()) {
    const seen = new Set<string>();
    for (const p of bt.participants) {
      if (seen.has(p.user)) continue;
      seen.add(p.user);
      const byBeamline = participations.get(p.user) ?? new Map<string, Participation[]>();
      participations.set(p.user, byBeamline);
      const list = byBeamline.get(bt.beamline) ?? [];
      byBeamline.set(bt.beamline, list);
      list.push({ beamtime: bt, role: p.role });
    }
  }
  for (const byBeamline of participations.values()) {
    for (const list of byBeamline.values()) list.sort((a, b) => a.beamtime.start.getTime() - b.beamtime.start.getTime());
  }

  const grants = new Map<string, GrantStatus>();
  for (const g of data.remoteAccessGrants) grants.set(key(g.beamtime, g.user), g.status);

  const trainings = new Map<string, Map<string, Date>>();
  for (const t of data.trainings) {
    const byKind = trainings.get(t.user) ?? new Map<string, Date>();
    trainings.set(t.user, byKind);
    const known = byKind.get(t.kind);
    if (known === undefined || t.validUntil.getTime() > known.getTime()) byKind.set(t.kind, t.validUntil);
  }

  const acknowledged = new Map<string, Set<string>>();
  for (const a of [...data.acknowledgements, ...extraAcks]) {
    const k = key(a.user, a.beamline, a.beamtime);
    const versions = acknowledged.get(k) ?? new Set<string>();
    acknowledged.set(k, versions);
    versions.add(a.version);
  }

  const onsiteExperience = new Map<string, Set<string>>();
  for (const u of data.users) if (!onsiteExperience.has(u.id)) onsiteExperience.set(u.id, new Set(u.onsiteExperience));

  return {
    beamlines,
    beamtimes,
    participations,
    grants,
    trainings,
    trainingNames: new Map(Object.entries(data.trainingKinds)),
    acknowledged,
    onsiteExperience,
  };
}

function allow(why: Reason[], validUntil: number): Decision {
  return Number.isFinite(validUntil) ? { allow: true, reasons: why, validUntil: new Date(validUntil) } : { allow: true, reasons: why };
}

function deny(why: Reason[], validUntil = Infinity): Decision {
  return Number.isFinite(validUntil) ? { allow: false, reasons: why, validUntil: new Date(validUntil) } : { allow: false, reasons: why };
}

/** Who may do what on which beamline at `now`; see docs/policy.md for the rules and codes. */
export function decide(subject: Subject, action: Action, resource: Resource, now: Date, facts: PolicyFacts): Decision {
  // Fail closed rather than throw: a caller that catches and carries on would keep a viewer connected.
  if (Number.isNaN(now.getTime())) return deny([reasons.clockInvalid()]);
  const beamline = facts.beamlines.get(resource.beamline);
  if (beamline === undefined) return deny([reasons.unknownBeamline(resource.beamline)]);
  const isLocalContact = beamline.localContacts.includes(subject.userId);
  switch (action) {
    case 'audit': {
      const grounds = [
        ...(subject.roles.includes('admin') ? [reasons.adminAudit(beamline)] : []),
        ...(subject.roles.includes('safety-officer') ? [reasons.safetyOfficerAudit(beamline)] : []),
        ...(isLocalContact ? [reasons.localContact(beamline)] : []),
      ];
      return grounds.length > 0 ? allow(grounds, Infinity) : deny([reasons.auditNotPermitted(beamline)]);
    }
    case 'staff':
      return isLocalContact ? allow([reasons.localContact(beamline)], Infinity) : deny([reasons.notLocalContact(beamline)]);
    case 'view':
    case 'control':
      // Local contacts are the beamline's staff: no beamtime, training or mode applies to them.
      if (isLocalContact) return allow([reasons.localContact(beamline)], Infinity);
      if (subject.roles.includes('safety-officer')) {
        return action === 'view'
          ? allow([reasons.safetyOfficerView(beamline)], Infinity)
          : deny([reasons.safetyOfficerNoControl(beamline)]);
      }
      return decideAsParticipant({ subject, action, beamline, facts }, resource.beamtime, now.getTime());
  }
}

/** One remote user's question about one beamline's desktop. */
interface Ask {
  readonly subject: Subject;
  readonly action: 'view' | 'control';
  readonly beamline: Beamline;
  readonly facts: PolicyFacts;
}

/** Every failing condition when there is no beamtime to check: the beamline's, the missing beamtime, the person's. */
function withoutBeamtime(ask: Ask, noBeamtime: Reason, now: number): Reason[] {
  return [...modeFailures(ask), noBeamtime, ...personFailures(ask, now).failures];
}

/** What a remote user's access to one beamtime rests on: failing conditions, or until when it holds. */
interface Evaluation {
  readonly participation: Participation;
  readonly failures: readonly Reason[];
  /** When failures is empty: the earliest instant (ms) at which a condition runs out by time. */
  readonly holdsUntil: number;
  readonly accessFrom: number;
  readonly accessUntil: number;
}

function decideAsParticipant(ask: Ask, bound: string | undefined, now: number): Decision {
  const { subject, beamline, facts } = ask;
  const mine = facts.participations.get(subject.userId)?.get(beamline.id) ?? [];
  let candidates = mine;
  if (bound !== undefined) {
    const bt = facts.beamtimes.get(bound);
    if (bt?.beamline !== beamline.id) return deny(withoutBeamtime(ask, reasons.beamtimeUnknown(beamline, bound), now));
    candidates = mine.filter(p => p.beamtime.id === bound);
  }
  if (candidates.length === 0) {
    const noAccess = subject.roles.includes('admin') ? reasons.adminNotOperator(beamline) : reasons.notAParticipant(beamline, bound);
    return deny(withoutBeamtime(ask, noAccess, now));
  }

  const evaluations = candidates.map(p => evaluate(ask, p, now));
  const granting = evaluations.filter(e => e.failures.length === 0);
  if (granting.length > 0) {
    // Any one granting beamtime suffices, so the decision holds at least as long as the longest.
    const holdsUntil = Math.max(...granting.map(e => e.holdsUntil));
    const why = granting.map(({ participation: { beamtime, role }, accessFrom, accessUntil }) =>
      reasons.participant(beamtime, role, new Date(accessFrom), new Date(accessUntil)));
    return allow(why, holdsUntil);
  }

  // Time alone only ever opens a beamtime's window; whether everything else then holds is checked
  // by deciding at that instant.
  let opensAt = Infinity;
  for (const e of evaluations) {
    if (now < e.accessFrom && e.accessFrom < opensAt && evaluate(ask, e.participation, e.accessFrom).failures.length === 0) {
      opensAt = e.accessFrom;
    }
  }
  const closest = [...evaluations].sort((a, b) => closer(a, b, now))[0];
  return deny([...(closest?.failures ?? [reasons.notAParticipant(beamline, bound)])], opensAt);
}

/**
 * Orders beamtimes for the reasons of a deny: those whose window is open now first (fewest failures
 * first), then the next one to open, then the one that closed last. Negative when a is closer.
 */
function closer(a: Evaluation, b: Evaluation, now: number): number {
  const phase = (e: Evaluation): number => now < e.accessFrom ? 1 : now < e.accessUntil ? 0 : 2;
  const byPhase = phase(a) - phase(b);
  if (byPhase !== 0) return byPhase;
  const byTime = phase(a) === 1 ? a.accessFrom - b.accessFrom : phase(a) === 2 ? b.accessUntil - a.accessUntil : 0;
  return byTime !== 0 ? byTime : a.failures.length - b.failures.length;
}

function evaluate(ask: Ask, p: Participation, at: number): Evaluation {
  const { subject, action, beamline, facts } = ask;
  const bt = p.beamtime;
  const accessFrom = bt.start.getTime() - beamline.graceMinutes.before * MINUTE_MS;
  const accessUntil = bt.end.getTime() + beamline.graceMinutes.after * MINUTE_MS;
  const failures = modeFailures(ask);

  if (at < accessFrom) failures.push(reasons.beamtimeNotStarted(bt, new Date(accessFrom)));
  else if (at >= accessUntil) failures.push(reasons.beamtimeEnded(bt, new Date(accessUntil)));

  const grant = facts.grants.get(key(bt.id, subject.userId));
  if (grant === undefined) failures.push(reasons.grantMissing(bt));
  else if (grant === 'requested') failures.push(reasons.grantPending(bt));
  else if (grant === 'withdrawn') failures.push(reasons.grantWithdrawn(bt));

  if (action === 'control') {
    if (p.role === 'observer') failures.push(reasons.observerNoControl(bt));
    if (beamline.instruction !== undefined) {
      const missing = unacknowledged(ask, bt, beamline.instruction);
      if (missing !== undefined) failures.push(missing);
    }
  }
  const person = personFailures(ask, at);
  failures.push(...person.failures);
  return { participation: p, failures, holdsUntil: Math.min(accessUntil, person.holdsUntil), accessFrom, accessUntil };
}

function modeFailures({ action, beamline }: Ask): Reason[] {
  const mode: BeamlineMode = beamline.mode;
  switch (mode) {
    case 'remote-control':
      return [];
    case 'view-only':
      return action === 'control' ? [reasons.beamlineViewOnly(beamline)] : [];
    case 'staff-only':
      return [reasons.beamlineStaffOnly(beamline)];
  }
}

/** The conditions on the person alone (trainings, second factor, on-site experience) at `at`. */
function personFailures({ subject, action, beamline, facts }: Ask, at: number): { failures: Reason[]; holdsUntil: number } {
  const failures: Reason[] = [];
  let holdsUntil = Infinity;
  const kinds = new Set(action === 'view'
    ? beamline.requiredTraining.view
    : [...beamline.requiredTraining.view, ...beamline.requiredTraining.control]);
  const records = facts.trainings.get(subject.userId);
  for (const kind of kinds) {
    const name = facts.trainingNames.get(kind) ?? kind;
    const validUntil = records?.get(kind);
    if (validUntil === undefined) failures.push(reasons.trainingMissing(kind, name));
    else if (at >= validUntil.getTime()) failures.push(reasons.trainingExpired(kind, name, validUntil));
    else holdsUntil = Math.min(holdsUntil, validUntil.getTime());
  }
  if (action === 'control') {
    if (beamline.requireMfaForControl && !subject.mfa) failures.push(reasons.mfaRequired(beamline));
    if (beamline.requireOnsiteExperience && facts.onsiteExperience.get(subject.userId)?.has(beamline.id) !== true) {
      failures.push(reasons.onsiteExperienceRequired(beamline));
    }
  }
  return { failures, holdsUntil };
}

/** Whether the user acknowledged this version of the beamline's instruction for this beamtime. */
export function hasAcknowledged(facts: PolicyFacts, userId: string, beamline: string, beamtime: string, version: string): boolean {
  return facts.acknowledged.get(key(userId, beamline, beamtime))?.has(version) ?? false;
}

/** The instruction is acknowledged only in its current version, for this very beamtime. */
function unacknowledged({ subject, beamline, facts }: Ask, bt: Beamtime, instruction: Instruction): Reason | undefined {
  const versions = facts.acknowledged.get(key(subject.userId, beamline.id, bt.id));
  if (versions?.has(instruction.version) === true) return undefined;
  return reasons.instructionNotAcknowledged(beamline, bt, instruction, [...(versions ?? [])]);
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ');

/** One line for logs and audit records: verdict, each reason as [code] message, and the time bound. */
export function describeDecision(d: Decision): string {
  const why = d.reasons.map(r => `[${r.code}] ${oneLine(r.message)}`).join('; ');
  const until = d.validUntil === undefined ? '' : d.allow ? ` (until ${d.validUntil.toISOString()})` : ` (allowed from ${d.validUntil.toISOString()})`;
  return `${d.allow ? 'allow' : 'deny'}: ${why === '' ? '(no reason given)' : why}${until}`;
}

/** How long an ended beamtime stays on the person's list, so they see why access ended. */
export const RECENT_BEAMTIME_MS = 7 * 24 * 3600_000;

export interface UserBeamtime {
  readonly id: string;
  readonly title: string | undefined;
  readonly beamline: { readonly id: string; readonly name: string; readonly mode: BeamlineMode };
  readonly role: ParticipantRole;
  readonly start: Date;
  readonly end: Date;
  /** The remote-access window: start - grace before to end + grace after (end exclusive). */
  readonly accessFrom: Date;
  readonly accessUntil: Date;
  /** By the beamtime's own start and end, without grace. */
  readonly status: 'upcoming' | 'running' | 'ended';
}

/**
 * The person's beamtimes for the portal: those that ended within RECENT_BEAMTIME_MS, the running
 * and the upcoming ones, by start, with their beamlines. Beamtimes on unknown beamlines are left out.
 */
export function beamtimesOf(userId: string, facts: PolicyFacts, now: Date): UserBeamtime[] {
  const t = now.getTime();
  const result: UserBeamtime[] = [];
  for (const [beamlineId, list] of facts.participations.get(userId) ?? []) {
    const beamline = facts.beamlines.get(beamlineId);
    if (beamline === undefined) continue;
    for (const { beamtime: bt, role } of list) {
      if (bt.end.getTime() + RECENT_BEAMTIME_MS <= t) continue;
      result.push({
        id: bt.id,
        title: bt.title,
        beamline: { id: beamline.id, name: beamline.name, mode: beamline.mode },
        role,
        start: bt.start,
        end: bt.end,
        accessFrom: new Date(bt.start.getTime() - beamline.graceMinutes.before * MINUTE_MS),
        accessUntil: new Date(bt.end.getTime() + beamline.graceMinutes.after * MINUTE_MS),
        status: t < bt.start.getTime() ? 'upcoming' : t < bt.end.getTime() ? 'running' : 'ended',
      });
    }
  }
  return result.sort((a, b) => a.start.getTime() - b.start.getTime() || a.id.localeCompare(b.id));
}
