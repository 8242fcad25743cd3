// The user-office data model: beamlines, beamtimes, participants, remote-access grants, training
// records, the beamlines' remote-operation instructions and their acknowledgements, on-site
// experience. Validated with this schema whatever the source (embedded file or HTTP feed);
// docs/user-office-data.md documents the format. Pure: no I/O.
import { z } from 'zod';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, 'letters, digits and . _ : @ -, at most 128 characters');
/** ISO 8601 with a time zone (Z or +hh:mm): a beamtime that starts "at 08:00" must say where. */
const instant = z.iso.datetime({ offset: true }).transform(s => new Date(s));

export const BEAMLINE_MODES = ['remote-control', 'view-only', 'staff-only'] as const;
export type BeamlineMode = (typeof BEAMLINE_MODES)[number];

export const PARTICIPANT_ROLES = ['principal-investigator', 'participant', 'observer'] as const;
export type ParticipantRole = (typeof PARTICIPANT_ROLES)[number];

const instructionSchema = z.strictObject({
  /** Changes whenever the text changes; acknowledgements name the version they saw. */
  version: z.string().min(1).max(64),
  title: z.string().min(1).max(200),
  /** Plain text shown to the user before their first control in a beamtime. */
  text: z.string().min(1).max(20_000),
});

const beamlineSchema = z.strictObject({
  id,
  name: z.string().min(1).max(200),
  mode: z.enum(BEAMLINE_MODES).default('remote-control'),
  /** Facility user ids of the beamline's local contacts (staff rights on this beamline). */
  localContacts: z.array(id).default([]),
  /** Training kinds (keys of trainingKinds) a remote user needs, per action. */
  requiredTraining: z.strictObject({
    view: z.array(id).default([]),
    control: z.array(id).default([]),
  }).prefault({}),
  /** Access exists from start - before to end + after of a beamtime. */
  graceMinutes: z.strictObject({
    before: z.number().int().min(0).max(24 * 60).default(0),
    after: z.number().int().min(0).max(24 * 60).default(0),
  }).prefault({}),
  /** Control needs a second factor at login (acr/amr claims). */
  requireMfaForControl: z.boolean().default(false),
  /** Control needs the on-site-experience flag for this beamline. */
  requireOnsiteExperience: z.boolean().default(false),
  /** The current remote-operation instruction; without one there is nothing to acknowledge. */
  instruction: instructionSchema.optional(),
  /** A request for control that the holder does not answer within this many seconds is granted. */
  autoGrantRequestsAfterSeconds: z.number().int().min(5).max(3600).optional(),
});

const participantSchema = z.strictObject({
  user: id,
  role: z.enum(PARTICIPANT_ROLES).default('participant'),
});

const beamtimeSchema = z.strictObject({
  id,
  beamline: id,
  title: z.string().max(500).optional(),
  start: instant,
  end: instant,
  participants: z.array(participantSchema).default([]),
});

const grantSchema = z.strictObject({
  beamtime: id,
  user: id,
  /** Only approved grants allow remote access; requested and withdrawn ones are kept for the record. */
  status: z.enum(['requested', 'approved', 'withdrawn']),
});

const trainingSchema = z.strictObject({
  user: id,
  kind: id,
  /** The record is valid up to (not including) this instant. */
  validUntil: instant,
});

const userSchema = z.strictObject({
  id,
  name: z.string().min(1).max(200),
  /** Beamlines at which the user has on-site experience. */
  onsiteExperience: z.array(id).default([]),
});

const ackSchema = z.strictObject({
  user: id,
  beamline: id,
  beamtime: id,
  version: z.string().min(1).max(64),
  at: instant,
});

export const userOfficeSchema = z.strictObject({
  /** Format version of this document. */
  version: z.literal(1),
  /** Training kind id -> the name people know it by ("Radiation protection"). */
  trainingKinds: z.record(id, z.string().min(1).max(200)).default({}),
  users: z.array(userSchema).default([]),
  beamlines: z.array(beamlineSchema).default([]),
  beamtimes: z.array(beamtimeSchema).default([]),
  remoteAccessGrants: z.array(grantSchema).default([]),
  trainings: z.array(trainingSchema).default([]),
  acknowledgements: z.array(ackSchema).default([]),
});

export type UserOfficeData = z.output<typeof userOfficeSchema>;
export type Beamline = UserOfficeData['beamlines'][number];
export type Beamtime = UserOfficeData['beamtimes'][number];
export type Participant = Beamtime['participants'][number];
export type RemoteAccessGrant = UserOfficeData['remoteAccessGrants'][number];
export type TrainingRecord = UserOfficeData['trainings'][number];
export type UserRecord = UserOfficeData['users'][number];
export type Acknowledgement = UserOfficeData['acknowledgements'][number];
export type Instruction = NonNullable<Beamline['instruction']>;

/**
 * Cross-reference checks the schema cannot express. Returns problems as [path, message];
 * empty when the data is consistent.
 */
export function checkReferences(data: UserOfficeData): [(string | number)[], string][] {
  const problems: [(string | number)[], string][] = [];
  const dup = (list: readonly { id: string }[], name: string): void => {
    const seen = new Set<string>();
    list.forEach((item, i) => {
      if (seen.has(item.id)) problems.push([[name, i, 'id'], `the id "${item.id}" is used twice`]);
      seen.add(item.id);
    });
  };
  dup(data.users, 'users');
  dup(data.beamlines, 'beamlines');
  dup(data.beamtimes, 'beamtimes');
  const beamlines = new Set(data.beamlines.map(b => b.id));
  const beamtimes = new Set(data.beamtimes.map(b => b.id));
  const kinds = new Set(Object.keys(data.trainingKinds));
  data.beamlines.forEach((b, i) => {
    for (const action of ['view', 'control'] as const) {
      b.requiredTraining[action].forEach((kind, k) => {
        if (!kinds.has(kind)) problems.push([['beamlines', i, 'requiredTraining', action, k], `unknown training kind "${kind}" (add it to trainingKinds)`]);
      });
    }
  });
  data.beamtimes.forEach((bt, i) => {
    if (!beamlines.has(bt.beamline)) problems.push([['beamtimes', i, 'beamline'], `unknown beamline "${bt.beamline}"`]);
    if (bt.end.getTime() <= bt.start.getTime()) problems.push([['beamtimes', i, 'end'], 'the end must be after the start']);
  });
  data.remoteAccessGrants.forEach((g, i) => {
    if (!beamtimes.has(g.beamtime)) problems.push([['remoteAccessGrants', i, 'beamtime'], `unknown beamtime "${g.beamtime}"`]);
  });
  data.trainings.forEach((t, i) => {
    if (!kinds.has(t.kind)) problems.push([['trainings', i, 'kind'], `unknown training kind "${t.kind}" (add it to trainingKinds)`]);
  });
  data.acknowledgements.forEach((a, i) => {
    if (!beamlines.has(a.beamline)) problems.push([['acknowledgements', i, 'beamline'], `unknown beamline "${a.beamline}"`]);
    if (!beamtimes.has(a.beamtime)) problems.push([['acknowledgements', i, 'beamtime'], `unknown beamtime "${a.beamtime}"`]);
  });
  return problems;
}
