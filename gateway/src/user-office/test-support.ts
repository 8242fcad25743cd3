// Helpers for the user-office tests: a small valid document, a schedule the test advances by
// hand, and a bounded wait for a source's next event. Test code only.
import type { Schedule, SourceEvent, UserOfficeSource } from './source.js';

/** A small consistent document, as plain JSON data (dates as strings). */
export function sampleDocument(): Record<string, unknown> & { beamtimes: Record<string, unknown>[] } {
  return {
    version: 1,
    trainingKinds: { 'general-safety': 'General safety', 'radiation-protection': 'Radiation protection' },
    users: [
      { id: 'u1001', name: 'Ada Example', onsiteExperience: ['p11'] },
      { id: 'u1002', name: 'Ben Example' },
      { id: 'staff-7', name: 'Cleo Staff' },
    ],
    beamlines: [
      {
        id: 'p11', name: 'P11 Bio-imaging', localContacts: ['staff-7'],
        requiredTraining: { view: ['general-safety'], control: ['general-safety', 'radiation-protection'] },
        graceMinutes: { before: 30, after: 15 },
        instruction: { version: '2025-03', title: 'Remote operation at P11', text: 'Never open the hutch shutter while someone is inside.' },
      },
    ],
    beamtimes: [
      {
        id: 'bt-20250101', beamline: 'p11', title: 'Protein crystals', start: '2025-06-01T08:00:00+02:00', end: '2025-06-03T08:00:00+02:00',
        participants: [{ user: 'u1001', role: 'principal-investigator' }, { user: 'u1002' }],
      },
    ],
    remoteAccessGrants: [{ beamtime: 'bt-20250101', user: 'u1001', status: 'approved' }],
    trainings: [{ user: 'u1001', kind: 'radiation-protection', validUntil: '2026-01-01T00:00:00Z' }],
    acknowledgements: [],
  };
}

/** sampleDocument() as pretty JSON (one key per line, so paths have distinct lines). */
export function sampleJson(change: (doc: ReturnType<typeof sampleDocument>) => void = () => undefined): string {
  const doc = sampleDocument();
  change(doc);
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The 1-based line of the first line containing needle (after skip earlier matches). */
export function lineOfText(text: string, needle: string, skip = 0): number {
  let from = 0;
  for (let i = 0; i <= skip; i++) {
    const at = text.indexOf(needle, from);
    if (at < 0) throw new Error(`"${needle}" not found`);
    from = at + 1;
  }
  return text.slice(0, from - 1).split('\n').length;
}

/** Timers that run only when the test says so. */
export class ManualSchedule {
  private readonly timers = new Map<number, { callback: () => void; ms: number }>();
  private nextId = 1;

  readonly schedule: Schedule = (callback, ms) => {
    const id = this.nextId++;
    this.timers.set(id, { callback, ms });
    return () => {
      this.timers.delete(id);
    };
  };

  /** The delays of the timers still waiting, in the order they were set. */
  pending(): number[] {
    return [...this.timers.values()].map(t => t.ms);
  }

  /** Runs (once) every waiting timer with this delay; returns how many ran. */
  fire(ms: number): number {
    let ran = 0;
    for (const [id, timer] of [...this.timers]) {
      if (timer.ms !== ms) continue;
      this.timers.delete(id);
      timer.callback();
      ran++;
    }
    return ran;
  }
}

/** The source's next event; rejects after ms, so a missing event fails the test instead of hanging it. */
export function nextEvent(source: UserOfficeSource, ms = 5000): Promise<SourceEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no user-office event within ${ms} ms`));
    }, ms);
    const unsubscribe = source.onChange((event) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(event);
    });
  });
}

/** Every event the source emits from now on. */
export function recordEvents(source: UserOfficeSource): SourceEvent[] {
  const events: SourceEvent[] = [];
  source.onChange((event) => {
    events.push(event);
  });
  return events;
}
