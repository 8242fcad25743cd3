// Retention: recordings whose beamline's retention period (counted from their start) has run out
// are deleted and the deletion is audited. Used by the gateway (every pruneIntervalMinutes) and by
// `beamgate recordings prune`.
import { rm } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import type { AuditWriter } from '../audit/audit-writer.js';
import type { RecordingEntry, RecordingIndex } from '../store/types.js';

export interface RetentionDeps {
  readonly index: RecordingIndex;
  readonly audit: AuditWriter;
  readonly directory: string;
  readonly log: Logger;
}

/** The file of an index entry; throws for a path that leaves the recordings directory. */
export function recordingPath(directory: string, entry: Pick<RecordingEntry, 'path'>): string {
  const root = resolve(directory);
  const path = resolve(root, entry.path);
  if (!path.startsWith(root + sep)) throw new Error(`recording path ${entry.path} leaves the recordings directory ${root}`);
  return path;
}

/** Deletes every expired recording; returns those deleted. A file that cannot be deleted stays listed and is retried next time. */
export async function pruneRecordings(deps: RetentionDeps, now: Date, dryRun = false): Promise<RecordingEntry[]> {
  const deleted: RecordingEntry[] = [];
  for (const entry of await deps.index.expired(now)) {
    if (dryRun) {
      deleted.push(entry);
      continue;
    }
    try {
      await rm(recordingPath(deps.directory, entry), { force: true });
    } catch (e) {
      deps.log.error({ err: e, recording: entry.id, path: entry.path }, 'cannot delete an expired recording; it is retried at the next prune');
      continue;
    }
    await deps.index.update(entry.id, { status: 'deleted' });
    await deps.audit.tryRecord({
      code: 'recording.deleted', actor: 'system', target: entry.desktop, beamline: entry.beamline, beamtime: entry.beamtime,
      session: entry.session, message: `Recording ${entry.id} deleted: its ${entry.retentionDays}-day retention ended`,
      details: { recording: entry.id, path: entry.path, bytes: entry.bytes, startedAt: entry.startedAt.toISOString() },
    });
    deleted.push(entry);
  }
  return deleted;
}
