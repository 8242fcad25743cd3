// What the rest of the gateway needs to know of desktop sessions: the session (and beamtime) a
// desktop's audit records belong to, and where timeline events for its recording go. Implemented
// by RecordingService; absent when sessions are not tracked (then records carry no session).
import type { TimelineEvent } from '../../../session-recorder/src/recording/format.js';

export interface SessionContext {
  sessionOf(desktopId: string): string | undefined;
  beamtimeOf(desktopId: string): string | undefined;
  /** A timeline event for the desktop's recording, if one is running. */
  note(desktopId: string, event: TimelineEvent): void;
}

/** The gateway's side: viewers join and leave desktops; the first join opens a session, the last leave closes it. */
export interface DesktopSessions extends SessionContext {
  /** Resolves with the session id; rejects when the session cannot be put on record (the viewer is then refused). */
  join(desktop: { readonly id: string; readonly name: string; readonly beamline: string }, viewerId: string): Promise<string>;
  leave(desktopId: string, viewerId: string): void;
}
