// What every user-office source (the edited file, the HTTP feed) offers the gateway: the data at
// start, the current data, and events when it changes or a reload is refused. Sources never log:
// the composition root logs and audits the events.
import type { UserOfficeData } from '../../../policies/src/user-office.js';

/** How much of each kind a document holds: enough for a log line or an audit record, no names. */
export interface UserOfficeCounts {
  readonly users: number;
  readonly beamlines: number;
  readonly beamtimes: number;
  readonly remoteAccessGrants: number;
  readonly trainings: number;
  readonly acknowledgements: number;
}

export type SourceEvent =
  | {
    readonly kind: 'loaded';
    readonly data: UserOfficeData;
    /** Where this data came from (a path, or a URL without credentials or query). */
    readonly source: string;
    readonly counts: UserOfficeCounts;
    /** Something went wrong that does not affect the data (e.g. the feed's cache file could not be written). */
    readonly warning?: string;
  }
  | {
    readonly kind: 'rejected';
    /** What was wrong and what to do; the last good data stays in force. */
    readonly error: string;
    readonly source: string;
  };

export type SourceListener = (event: SourceEvent) => void;

export interface UserOfficeSource {
  /** Loads the first data; rejects (with a UserOfficeError) when there is none, so the gateway does not start. */
  start(): Promise<UserOfficeData>;
  /** The last good data; throws before start() has succeeded. */
  current(): UserOfficeData;
  /** Reloads now (as the schedule or the file watcher would); resolves with the event, or undefined when nothing changed. */
  refresh(): Promise<SourceEvent | undefined>;
  /**
   * Every load and refusal from now on (a listener added before start() also sees start's own);
   * returns a function that unsubscribes. A listener that throws is a bug: after every other
   * listener has been called, the error rejects start() or refresh(), or is an unhandled rejection
   * when the reload was the watcher's or the schedule's (as EventEmitter would throw it).
   */
  onChange(listener: SourceListener): () => void;
  /** Names the source for logs and audit, without credentials. */
  describe(): string;
  /** Stops watching or pulling; no event is emitted afterwards. */
  close(): void;
}

export function countsOf(data: UserOfficeData): UserOfficeCounts {
  return {
    users: data.users.length,
    beamlines: data.beamlines.length,
    beamtimes: data.beamtimes.length,
    remoteAccessGrants: data.remoteAccessGrants.length,
    trainings: data.trainings.length,
    acknowledgements: data.acknowledgements.length,
  };
}

/** Runs callback once after ms; returns a function that cancels it. Injected so tests decide when time passes. */
export type Schedule = (callback: () => void, ms: number) => () => void;

/** Real timers that do not keep the process alive on their own (the server does). */
export const realSchedule: Schedule = (callback, ms) => {
  const timer = setTimeout(callback, ms);
  timer.unref();
  return () => {
    clearTimeout(timer);
  };
};

/**
 * The listeners of one source. Every listener sees every event even when an earlier one throws;
 * the errors are then thrown together, as EventEmitter would throw the first.
 */
export class SourceListeners<E = SourceEvent> {
  private readonly listeners = new Set<(event: E) => void>();

  /** `what` names the source in the error thrown when several listeners fail. */
  constructor(private readonly what = 'user-office') {}

  add(listener: (event: E) => void): () => void {
    // A wrapper, so the same function added twice is called twice and unsubscribes once.
    const entry = (event: E): void => {
      listener(event);
    };
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  emit(event: E): void {
    const errors: unknown[] = [];
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} ${this.what} listeners failed`);
  }
}

export function loadedEvent(data: UserOfficeData, source: string, warning?: string): SourceEvent {
  return { kind: 'loaded', data, source, counts: countsOf(data), ...(warning === undefined ? {} : { warning }) };
}
