// Desktop sessions and their recordings. A session of a desktop runs from its first viewer joining
// to its last viewer leaving (plus a grace, so a page reload does not cut a session in two); it has
// an id that its audit records carry. While a session runs and its beamline records (default on),
// a DesktopRecorder writes it to <directory>/<beamline>/<yyyy-mm-dd>/<recording id>.bgrec and the
// recordings index follows it. Start, stop, failure and deletion are audited. A failed recording
// (full disk, unreachable share) stops with an audit record and an error log; the session goes on.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { AuditWriter } from '../audit/audit-writer.js';
import type { UpstreamConnection } from '../proxy/upstream-connector.js';
import type { RecordingEntry, RecordingIndex } from '../store/types.js';
import type { RecordingHeader, TimelineEvent } from '../../../session-recorder/src/recording/format.js';
import { indexRecording } from '../../../session-recorder/src/recording/recording-reader.js';
import { DEFAULT_WRITER_OPTIONS, RecordingWriter, type RecordingWriterOptions } from '../../../session-recorder/src/recording/recording-writer.js';
import { DesktopRecorder, type DesktopRecorderOptions } from './desktop-recorder.js';
import { pruneRecordings, recordingPath } from './retention.js';
import type { DesktopSessions } from './session-context.js';
import type { MetricSample } from '../http/metrics.js';

export interface RecordedDesktop {
  readonly id: string;
  readonly name: string;
  readonly beamline: string;
}

/** Whether and how long a beamline's sessions are recorded (its policy, or the gateway's defaults). */
export interface BeamlineRecordingPolicy {
  readonly enabled: boolean;
  readonly retentionDays: number;
}

export interface RecordingServiceOptions {
  /** Absolute; created when missing. Shared file systems are fine: one file per recording, append-only. */
  readonly directory: string;
  readonly recorder: DesktopRecorderOptions;
  readonly writer?: RecordingWriterOptions | undefined;
  /** A desktop's session ends this long after its last viewer left. */
  readonly sessionCloseGraceMs: number;
  readonly policyOf: (beamline: string) => BeamlineRecordingPolicy;
  /** The beamtime running on a beamline now (for the index and the audit records), if any. */
  readonly beamtimeOf: (beamline: string, now: Date) => string | undefined;
  /** A fresh VNC connection to the desktop, for the recorder. */
  readonly connect: (desktopId: string) => Promise<UpstreamConnection>;
}

export interface RecordingServiceStats {
  active: number;
  started: number;
  failed: number;
  deleted: number;
}

interface Session {
  readonly id: string;
  readonly desktop: RecordedDesktop;
  readonly beamtime: string | undefined;
  readonly viewers: Set<string>;
  closeTimer: NodeJS.Timeout | undefined;
  recording: ActiveRecording | undefined;
}

interface ActiveRecording {
  readonly entry: RecordingEntry;
  readonly recorder: DesktopRecorder;
  readonly writer: RecordingWriter;
}

const RECORDING_EXTENSION = '.bgrec';

export class RecordingService implements DesktopSessions {
  private readonly sessions = new Map<string, Session>();
  /** Opening a session is async (audit, file creation): joins that arrive meanwhile wait for the same one. */
  private readonly opening = new Map<string, Promise<Session>>();
  readonly stats: RecordingServiceStats = { active: 0, started: 0, failed: 0, deleted: 0 };

  constructor(
    private readonly options: RecordingServiceOptions,
    private readonly index: RecordingIndex,
    private readonly audit: AuditWriter,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** For GET /metrics. */
  metrics(): MetricSample[] {
    return [
      { name: 'beamgate_sessions_open', help: 'Desktop sessions open now.', type: 'gauge', value: this.sessions.size },
      { name: 'beamgate_recordings_active', help: 'Recordings being written now.', type: 'gauge', value: this.stats.active },
      { name: 'beamgate_recordings_started_total', help: 'Recordings started since the gateway started.', type: 'counter', value: this.stats.started },
      {
        name: 'beamgate_recordings_failed_total', help: 'Recordings that stopped on an error (full disk, unwritable directory) since start.',
        type: 'counter', value: this.stats.failed,
      },
      { name: 'beamgate_recordings_deleted_total', help: 'Recordings deleted by retention since start.', type: 'counter', value: this.stats.deleted },
    ];
  }

  /** The session a desktop's viewers are in now, if any. */
  sessionOf(desktopId: string): string | undefined {
    return this.sessions.get(desktopId)?.id;
  }

  /** The beamtime the desktop's current session was opened for. */
  beamtimeOf(desktopId: string): string | undefined {
    return this.sessions.get(desktopId)?.beamtime;
  }

  /** A viewer joined: returns the session id, opening the session (and its recording) for the first viewer. */
  async join(desktop: RecordedDesktop, viewerId: string): Promise<string> {
    const session = await this.sessionFor(desktop);
    session.viewers.add(viewerId);
    if (session.closeTimer !== undefined) {
      clearTimeout(session.closeTimer);
      session.closeTimer = undefined;
    }
    return session.id;
  }

  leave(desktopId: string, viewerId: string): void {
    const session = this.sessions.get(desktopId);
    if (session === undefined || !session.viewers.delete(viewerId) || session.viewers.size > 0) return;
    session.closeTimer = setTimeout(() => {
      void this.close(session, 'the last viewer left');
    }, this.options.sessionCloseGraceMs);
  }

  /** A timeline event for the desktop's recording (control change, blocked action, viewer). */
  note(desktopId: string, event: TimelineEvent): void {
    this.sessions.get(desktopId)?.recording?.recorder.event(event);
  }

  /** Ends every session (gateway shutdown): recordings get their End record. */
  async closeAll(reason: string): Promise<void> {
    await Promise.all([...this.sessions.values()].map(s => this.close(s, reason)));
  }

  /**
   * After a crash, index entries still say 'recording'. Each becomes 'failed' with the end its
   * file shows (the file stays readable up to its last whole record).
   */
  async recoverInterrupted(): Promise<number> {
    const stale = (await this.index.list({})).filter(e => e.status === 'recording' && !this.isActive(e.id));
    for (const entry of stale) {
      const path = this.pathOf(entry);
      let endedAt = entry.startedAt;
      let bytes = entry.bytes;
      let problem = 'the file is unreadable';
      try {
        const info = await indexRecording(path);
        endedAt = new Date(entry.startedAt.getTime() + info.durationMs);
        bytes = info.fileBytes;
        problem = info.problem ?? 'complete';
      } catch (e) {
        problem = (e as Error).message;
      }
      const reason = `the gateway stopped while recording; readable up to ${endedAt.toISOString()} (${problem})`;
      await this.index.update(entry.id, { status: 'failed', endedAt, bytes, endReason: reason });
      await this.audit.tryRecord({
        code: 'recording.failed', actor: 'system', target: entry.desktop, beamline: entry.beamline, beamtime: entry.beamtime,
        session: entry.session, message: `Recording ${entry.id} was interrupted: ${reason}`, details: { recording: entry.id, path: entry.path },
      });
    }
    return stale.length;
  }

  /** Deletes recordings whose retention ran out; each deletion is audited. Returns how many were deleted. */
  async prune(now: Date = this.clock()): Promise<number> {
    const deleted = await pruneRecordings({ index: this.index, audit: this.audit, directory: this.options.directory, log: this.log }, now);
    this.stats.deleted += deleted.length;
    return deleted.length;
  }

  /** The file of an index entry; refuses paths that leave the recordings directory. */
  pathOf(entry: Pick<RecordingEntry, 'path'>): string {
    return recordingPath(this.options.directory, entry);
  }

  private isActive(recordingId: string): boolean {
    for (const session of this.sessions.values()) if (session.recording?.entry.id === recordingId) return true;
    return false;
  }

  private async sessionFor(desktop: RecordedDesktop): Promise<Session> {
    const existing = this.sessions.get(desktop.id);
    if (existing !== undefined) return existing;
    const pending = this.opening.get(desktop.id);
    if (pending !== undefined) return pending;
    const opening = this.open(desktop).finally(() => this.opening.delete(desktop.id));
    this.opening.set(desktop.id, opening);
    return opening;
  }

  private async open(desktop: RecordedDesktop): Promise<Session> {
    const now = this.clock();
    const session: Session = {
      id: newId('ses', now), desktop, beamtime: this.options.beamtimeOf(desktop.beamline, now), viewers: new Set(), closeTimer: undefined, recording: undefined,
    };
    // Audited before anyone joins it: a session that cannot be on record does not start (record() rejects).
    await this.audit.record({
      code: 'session.opened', actor: 'system', target: desktop.id, beamline: desktop.beamline, beamtime: session.beamtime, session: session.id,
      message: `Session ${session.id} on ${desktop.name} opened`,
    });
    this.sessions.set(desktop.id, session);
    const policy = this.options.policyOf(desktop.beamline);
    if (policy.enabled) await this.startRecording(session, policy, now);
    return session;
  }

  private async startRecording(session: Session, policy: BeamlineRecordingPolicy, now: Date): Promise<void> {
    const { desktop } = session;
    const id = newId('rec', now);
    const relativePath = join(safeSegment(desktop.beamline), now.toISOString().slice(0, 10), `${id}${RECORDING_EXTENSION}`);
    const entry: RecordingEntry = {
      id, session: session.id, desktop: desktop.id, beamline: desktop.beamline, beamtime: session.beamtime, path: relativePath,
      startedAt: now, bytes: 0, status: 'recording', retentionDays: policy.retentionDays,
    };
    const header: RecordingHeader = {
      format: 'beamgate-recording', version: 1, recordingId: id, session: session.id, desktop: desktop.id, desktopName: desktop.name,
      beamline: desktop.beamline, beamtime: session.beamtime, startedAt: now.toISOString(),
      keyFrameIntervalSeconds: this.options.recorder.keyFrameIntervalMs / 1000, pixelFormat: 'rgbx8888-le',
      notRecorded: ['key strokes', 'clipboard contents', 'pointer movements except as drawn on the screen'],
    };
    const path = this.pathOf(entry);
    let writer: RecordingWriter;
    try {
      await mkdir(resolve(path, '..'), { recursive: true });
      writer = await RecordingWriter.create(path, header, this.options.writer ?? DEFAULT_WRITER_OPTIONS);
    } catch (e) {
      this.reportFailure(session, entry, (e as Error).message, (e as { code?: string }).code);
      return;
    }
    await this.index.add(entry);
    const startedAtMs = now.getTime();
    const recorder = new DesktopRecorder(
      () => this.options.connect(desktop.id), writer, startedAtMs, this.options.recorder,
      this.log.child({ recording: id, target: desktop.id }), () => this.clock().getTime(),
    );
    session.recording = { entry, recorder, writer };
    this.stats.active++;
    this.stats.started++;
    recorder.onFailure((error) => {
      if (session.recording?.entry.id !== id) return;
      session.recording = undefined;
      this.stats.active--;
      void this.index.update(id, { status: 'failed', endedAt: this.clock(), bytes: writer.bytes, endReason: error.message }).catch(() => undefined);
      this.reportFailure(session, entry, error.message, (error as { code?: string }).code);
    });
    recorder.start();
    await this.audit.tryRecord({
      code: 'recording.started', actor: 'system', target: desktop.id, beamline: desktop.beamline, beamtime: session.beamtime, session: session.id,
      message: `Recording ${id} of ${desktop.name} started`,
      details: { recording: id, path: relativePath, retentionDays: policy.retentionDays },
    });
  }

  private reportFailure(session: Session, entry: RecordingEntry, message: string, code: string | undefined): void {
    this.stats.failed++;
    // An alert for whoever watches the logs: the session is no longer recorded.
    this.log.error({ recording: entry.id, target: session.desktop.id, path: entry.path, code, alert: 'recording-failed' }, `recording stopped: ${message}`);
    void this.audit.tryRecord({
      code: 'recording.failed', actor: 'system', target: session.desktop.id, beamline: session.desktop.beamline, beamtime: session.beamtime,
      session: session.id, message: `Recording ${entry.id} of ${session.desktop.name} stopped: ${message}`,
      details: { recording: entry.id, path: entry.path, ...(code === undefined ? {} : { error: code }) },
    });
  }

  private async close(session: Session, reason: string): Promise<void> {
    if (this.sessions.get(session.desktop.id) !== session) return;
    this.sessions.delete(session.desktop.id);
    if (session.closeTimer !== undefined) clearTimeout(session.closeTimer);
    const recording = session.recording;
    session.recording = undefined;
    const { desktop } = session;
    if (recording !== undefined) {
      this.stats.active--;
      await recording.recorder.stop(reason);
      const endedAt = this.clock();
      const failed = recording.writer.failed;
      await this.index.update(recording.entry.id, {
        status: failed === undefined ? 'complete' : 'failed', endedAt, bytes: recording.writer.bytes, endReason: failed?.message ?? reason,
      }).catch((e: unknown) => {
        this.log.error({ err: e, recording: recording.entry.id }, 'cannot update the recordings index');
      });
      await this.audit.tryRecord({
        code: 'recording.stopped', actor: 'system', target: desktop.id, beamline: desktop.beamline, beamtime: session.beamtime, session: session.id,
        message: `Recording ${recording.entry.id} of ${desktop.name} stopped (${reason})`,
        details: {
          recording: recording.entry.id, bytes: recording.writer.bytes, durationMs: endedAt.getTime() - recording.entry.startedAt.getTime(),
          keyFrames: recording.recorder.stats.keyFrames, segments: recording.recorder.stats.segments,
        },
      });
    }
    await this.audit.tryRecord({
      code: 'session.closed', actor: 'system', target: desktop.id, beamline: desktop.beamline, beamtime: session.beamtime, session: session.id,
      message: `Session ${session.id} on ${desktop.name} closed (${reason})`,
    });
  }
}

/** Sortable, unguessable ids: rec-20261122T101500Z-3f9a1c2b. */
function newId(prefix: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `${prefix}-${stamp}-${randomBytes(4).toString('hex')}`;
}

/** A beamline id as one directory name (ids come from configuration; still never let one climb out). */
function safeSegment(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? '_' : cleaned;
}
