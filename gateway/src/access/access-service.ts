// Who may do what on which desktop, now: the user-office data and Beamgate's own instruction
// acknowledgements, indexed once per change, fed to the pure policy engine. Also builds the
// portal's view of a person's beamtimes and desktops, and records acknowledgements.
import { decide, hasAcknowledged, indexFacts, type Decision, type PolicyFacts, type Subject } from '../../../policies/src/decide.js';
import type { Acknowledgement, Beamtime, Instruction, UserOfficeData } from '../../../policies/src/user-office.js';
import type { AcknowledgementStore, InstructionAck } from '../store/types.js';
import type { Identity } from '../auth/identity.js';

export interface Desktop {
  readonly id: string;
  readonly name: string;
  readonly beamline: string;
}

export interface DesktopRights {
  readonly view: Decision;
  readonly control: Decision;
}

export interface PortalDesktop extends Desktop {
  readonly view: Decision;
  readonly control: Decision;
}

export interface PortalBeamtime {
  readonly id: string;
  readonly title: string | undefined;
  readonly beamline: { readonly id: string; readonly name: string; readonly mode: string };
  readonly start: string;
  readonly end: string;
  readonly status: 'running' | 'upcoming' | 'ended';
  readonly role: string;
  readonly instruction: (Instruction & { readonly acknowledged: boolean }) | undefined;
  readonly desktops: readonly PortalDesktop[];
}

export interface Portal {
  readonly user: { readonly id: string; readonly name: string; readonly roles: readonly string[]; readonly mfa: boolean };
  readonly beamtimes: readonly PortalBeamtime[];
  /** Beamlines where the person is a local contact, and every beamline for a safety officer. */
  readonly beamlines: readonly PortalBeamline[];
}

export interface PortalBeamline {
  readonly id: string;
  readonly name: string;
  readonly mode: string;
  readonly localContact: boolean;
  readonly desktops: readonly PortalDesktop[];
}

export class AccessError extends Error {
  override readonly name = 'AccessError';
  constructor(message: string, readonly status: 400 | 403 | 404 | 409) {
    super(message);
  }
}

/** Ended beamtimes stay on the portal this long, so people see why access ended. */
const RECENT_MS = 7 * 24 * 3600_000;

export class AccessService {
  private data: UserOfficeData;
  private acks: readonly InstructionAck[] = [];
  private facts: PolicyFacts;

  constructor(
    initial: UserOfficeData,
    private readonly desktops: readonly Desktop[],
    private readonly ackStore: AcknowledgementStore,
    private readonly clock: () => Date,
  ) {
    this.data = initial;
    this.facts = indexFacts(initial);
  }

  /** Loads the stored acknowledgements; call once at start. */
  async start(): Promise<void> {
    this.acks = await this.ackStore.list();
    this.reindex();
  }

  /** New user-office data (a reload). */
  update(data: UserOfficeData): void {
    this.data = data;
    this.reindex();
  }

  desktop(id: string): Desktop | undefined {
    return this.desktops.find(d => d.id === id);
  }

  rights(identity: Identity, desktop: Desktop, now: Date = this.clock()): DesktopRights {
    const subject = toSubject(identity);
    const resource = { beamline: desktop.beamline };
    return {
      view: decide(subject, 'view', resource, now, this.facts),
      control: decide(subject, 'control', resource, now, this.facts),
    };
  }

  /** Staff of the desktop's beamline (its local contacts): take over, lock, grant, remove. */
  isStaff(identity: Identity, desktop: Desktop, now: Date = this.clock()): boolean {
    return decide(toSubject(identity), 'staff', { beamline: desktop.beamline }, now, this.facts).allow;
  }

  /** A view-only beamline: no remote input at all, from anyone. */
  viewOnlyBeamline(desktop: Desktop): boolean {
    return this.facts.beamlines.get(desktop.beamline)?.mode === 'view-only';
  }

  /** The beamline's option: requests the holder leaves unanswered this long are granted. */
  autoGrantAfterMs(desktop: Desktop): number | undefined {
    const seconds = this.data.beamlines.find(b => b.id === desktop.beamline)?.autoGrantRequestsAfterSeconds;
    return seconds === undefined ? undefined : seconds * 1000;
  }

  /** The beamtime scheduled on a beamline at `now` (the latest-starting one if they overlap), for session records. */
  runningBeamtime(beamline: string, now: Date = this.clock()): string | undefined {
    let found: { id: string; start: number } | undefined;
    for (const bt of this.data.beamtimes) {
      const start = bt.start.getTime();
      if (bt.beamline !== beamline || start > now.getTime() || bt.end.getTime() <= now.getTime()) continue;
      if (found === undefined || start > found.start) found = { id: bt.id, start };
    }
    return found?.id;
  }

  mayAudit(identity: Identity, beamline: string | undefined, now: Date = this.clock()): Decision {
    const subject = toSubject(identity);
    if (beamline !== undefined) return decide(subject, 'audit', { beamline }, now, this.facts);
    // The whole log: only who may audit every beamline (the first beamline's reasons stand for all).
    const decisions = this.data.beamlines.map(b => decide(subject, 'audit', { beamline: b.id }, now, this.facts));
    return decisions.find(d => !d.allow) ?? decisions[0] ?? decide(subject, 'audit', { beamline: '' }, now, this.facts);
  }

  /** The `audit` decision for every beamline of the user-office data (auditScopeOf() turns them into what a reader may see). */
  auditDecisions(identity: Identity, now: Date = this.clock()): Map<string, Decision> {
    const subject = toSubject(identity);
    return new Map(this.data.beamlines.map(b => [b.id, decide(subject, 'audit', { beamline: b.id }, now, this.facts)]));
  }

  portal(identity: Identity, now: Date = this.clock()): Portal {
    const beamlineById = new Map(this.data.beamlines.map(b => [b.id, b]));
    const withRights = (beamline: string): PortalDesktop[] =>
      this.desktops.filter(d => d.beamline === beamline).map(d => ({ ...d, ...this.rights(identity, d, now) }));
    const mine = this.data.beamtimes
      .map(bt => ({ bt, participant: bt.participants.find(p => p.user === identity.userId) }))
      .filter((x): x is { bt: Beamtime; participant: Beamtime['participants'][number] } => x.participant !== undefined)
      .filter(({ bt }) => bt.end.getTime() + RECENT_MS > now.getTime())
      .sort((a, b) => a.bt.start.getTime() - b.bt.start.getTime());
    const beamtimes = mine.flatMap(({ bt, participant }): PortalBeamtime[] => {
      const beamline = beamlineById.get(bt.beamline);
      if (beamline === undefined) return [];
      const instruction = beamline.instruction;
      return [{
        id: bt.id,
        title: bt.title,
        beamline: { id: beamline.id, name: beamline.name, mode: beamline.mode },
        start: bt.start.toISOString(),
        end: bt.end.toISOString(),
        status: now < bt.start ? 'upcoming' : now >= bt.end ? 'ended' : 'running',
        role: participant.role,
        instruction: instruction === undefined ? undefined : {
          ...instruction,
          acknowledged: hasAcknowledged(this.facts, identity.userId, beamline.id, bt.id, instruction.version),
        },
        desktops: withRights(beamline.id),
      }];
    });
    const safetyOfficer = identity.roles.includes('safety-officer');
    const beamlines = this.data.beamlines
      .filter(b => safetyOfficer || b.localContacts.includes(identity.userId))
      .map(b => ({
        id: b.id, name: b.name, mode: b.mode, localContact: b.localContacts.includes(identity.userId), desktops: withRights(b.id),
      }));
    return { user: { id: identity.userId, name: identity.name, roles: identity.roles, mfa: identity.mfa }, beamtimes, beamlines };
  }

  /**
   * Checks that the person may acknowledge the current instruction of a beamline for one of their
   * beamtimes. Throws AccessError when there is no such instruction/beamtime or the version is stale.
   */
  prepareAcknowledgement(identity: Identity, beamlineId: string, beamtimeId: string, version: string): InstructionAck {
    const beamline = this.data.beamlines.find(b => b.id === beamlineId);
    if (beamline === undefined) throw new AccessError(`there is no beamline "${beamlineId}"`, 404);
    if (beamline.instruction === undefined) throw new AccessError(`${beamline.name} has no remote-operation instruction to acknowledge`, 404);
    if (beamline.instruction.version !== version) {
      throw new AccessError(`the instruction changed (now version ${beamline.instruction.version}); read the current text and acknowledge again`, 409);
    }
    const beamtime = this.data.beamtimes.find(bt => bt.id === beamtimeId && bt.beamline === beamlineId);
    if (beamtime?.participants.some(p => p.user === identity.userId) !== true) {
      throw new AccessError(`you are not a participant of beamtime ${beamtimeId} on ${beamline.name}`, 403);
    }
    return { userId: identity.userId, beamline: beamlineId, beamtime: beamtimeId, version, at: this.clock() };
  }

  /** Stores an acknowledgement from prepareAcknowledgement (after it is on the audit record). */
  async saveAcknowledgement(ack: InstructionAck): Promise<void> {
    await this.ackStore.add(ack);
    this.acks = [...this.acks, ack];
    this.reindex();
  }

  private reindex(): void {
    this.facts = indexFacts(this.data, this.acks.map(toAcknowledgement));
  }
}

function toAcknowledgement(a: InstructionAck): Acknowledgement {
  return { user: a.userId, beamline: a.beamline, beamtime: a.beamtime, version: a.version, at: a.at };
}

export function toSubject(identity: Identity): Subject {
  return { userId: identity.userId, name: identity.name, roles: identity.roles, mfa: identity.mfa };
}
