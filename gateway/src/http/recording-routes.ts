// The recordings API behind the player (/recording.html): the list, one recording's index, and its
// playback chunks. Only people the policy allows `audit` on a recording's beamline get anything;
// the first chunk of each playback is audited (recording.viewed) before any picture leaves the
// gateway. Files are found through the index only, and never outside the recordings directory.
import { realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Decision } from '../../../policies/src/decide.js';
import { RecordKind } from '../../../session-recorder/src/recording/format.js';
import { encodePlaybackChunk, PLAYBACK_CHUNK_MEDIA_TYPE } from '../../../session-recorder/src/recording/playback-chunk.js';
import { formatOffset } from '../../../session-recorder/src/recording/playback-timeline.js';
import {
  readRecords, RecordingReadError, type RecordingIndex as FileIndex,
} from '../../../session-recorder/src/recording/recording-reader.js';
import type { AccessService } from '../access/access-service.js';
import { messageOf } from '../access/access-watcher.js';
import type { Identity } from '../auth/identity.js';
import { PlaybackIndexCache } from '../recording/playback-index-cache.js';
import type { RecordingEntry, RecordingIndex } from '../store/types.js';
import { apiError, remoteAddress, requireSession, type GuardDeps } from './request-guard.js';

export interface RecordingRoutesDeps extends GuardDeps {
  readonly access: Pick<AccessService, 'mayAudit'>;
  /** The beamlines this gateway serves desktops of: whoever may audit none of them gets 403 on the list. */
  readonly beamlines: () => readonly string[];
  /** The recordings directory (recordings.directory); index paths are relative to it. */
  readonly directory: string;
  readonly index: RecordingIndex;
  readonly log: Logger;
  readonly cache?: PlaybackIndexCache | undefined;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const id = z.string().regex(ID);
/** An instant as epoch milliseconds or an ISO 8601 time with zone. */
const instant = z.union([
  z.string().regex(/^\d{1,15}$/).transform(s => new Date(Number(s))),
  z.iso.datetime({ offset: true }).transform(s => new Date(s)),
]);
const listQuery = z.strictObject({
  desktop: id.optional(),
  beamline: id.optional(),
  session: id.optional(),
  from: instant.optional(),
  to: instant.optional(),
  limit: z.string().regex(/^\d{1,4}$/).transform(Number).pipe(z.number().int().min(1).max(1000)).optional(),
}).refine(q => q.from === undefined || q.to === undefined || q.from.getTime() <= q.to.getTime(), { message: 'from after to' });
const chunkQuery = z.strictObject({ playback: z.string().regex(/^[A-Za-z0-9-]{8,64}$/) });
const CHUNK = /^\d{1,6}$/;
/** Playbacks already on the audit record (web session, recording, playback id); bounded, oldest forgotten first. */
const MAX_REMEMBERED_PLAYBACKS = 10_000;

export function recordingRoutes(deps: RecordingRoutesDeps): Router {
  const router = express.Router();
  const cache = deps.cache ?? new PlaybackIndexCache();
  const audited = new Set<string>();
  const root = resolve(deps.directory);

  router.use('/api/recordings', requireSession(deps));

  /** The audit decision for one beamline, or 403 (audited) and undefined. */
  const mayAudit = async (req: Request, res: Response, identity: Identity, beamline: string, what: string): Promise<boolean> => {
    const decision = deps.access.mayAudit(identity, beamline);
    if (decision.allow) return true;
    await deny(req, res, identity, decision, what, beamline);
    return false;
  };
  /** Whether the person may audit at least one of the gateway's beamlines; otherwise 403 (audited). */
  const mayAuditSome = async (req: Request, res: Response, identity: Identity, what: string): Promise<boolean> => {
    const decisions = deps.beamlines().map(b => deps.access.mayAudit(identity, b));
    if (decisions.some(d => d.allow)) return true;
    await deny(req, res, identity, decisions[0] ?? deps.access.mayAudit(identity, undefined), what);
    return false;
  };
  const deny = async (
    req: Request, res: Response, identity: Identity, decision: Decision, what: string, beamline?: string,
  ): Promise<void> => {
    await deps.audit.tryRecord({
      code: 'access.denied', actor: identity.userId, address: remoteAddress(req), beamline,
      message: `${what} refused: ${messageOf(decision)}`, details: { status: 403, code: 'GW_ERR_ACCESS_DENIED', reasons: decision.reasons.map(r => r.message) },
    });
    apiError(res, 403, 'GW_ERR_ACCESS_DENIED', `You may not see recordings here: ${messageOf(decision)}`, { reasons: decision.reasons });
  };

  /** The entry, checked against the policy, with its file and index; or an error answer and undefined. */
  const open = async (
    req: Request, res: Response, recordingId: string,
  ): Promise<{ entry: RecordingEntry; path: string; index: FileIndex } | undefined> => {
    const principal = res.locals.principal;
    if (principal === undefined) return undefined;
    if (!ID.test(recordingId)) {
      apiError(res, 400, 'GW_ERR_BAD_REQUEST', 'A recording id is letters, digits and . _ : @ - (at most 128).');
      return undefined;
    }
    // Whoever may audit nothing learns nothing, not even whether an id exists.
    if (!await mayAuditSome(req, res, principal.identity, `recording ${recordingId}`)) return undefined;
    const entry = await deps.index.get(recordingId);
    if (entry === undefined) {
      apiError(res, 404, 'GW_ERR_UNKNOWN_RECORDING', `There is no recording "${recordingId}".`);
      return undefined;
    }
    if (!await mayAudit(req, res, principal.identity, entry.beamline, `recording ${recordingId}`)) return undefined;
    if (entry.status === 'deleted') {
      apiError(res, 404, 'GW_ERR_UNKNOWN_RECORDING', `Recording ${recordingId} was deleted when its ${entry.retentionDays}-day retention ended.`);
      return undefined;
    }
    const file = await fileOf(entry);
    if (file === 'missing') {
      apiError(res, 404, 'GW_ERR_UNKNOWN_RECORDING', `The file of recording ${recordingId} is missing; tell the facility IT (the index names ${entry.path}).`);
      return undefined;
    }
    if (file === 'outside') {
      deps.log.error({ recording: recordingId, path: entry.path, alert: 'recording-path' }, 'recordings index names a file outside the recordings directory; refused');
      apiError(res, 422, 'GW_ERR_RECORDING_UNREADABLE', `Recording ${recordingId} cannot be played: its file is not in the recordings directory. Tell the facility IT.`);
      return undefined;
    }
    try {
      return { entry, path: file.path, index: await cache.get(entry.id, file.path) };
    } catch (e) {
      if (!(e instanceof RecordingReadError)) throw e;
      deps.log.warn({ recording: recordingId, err: e.message }, 'recording unreadable');
      apiError(res, 422, 'GW_ERR_RECORDING_UNREADABLE', `Recording ${recordingId} cannot be played: ${e.message.replace(root, '<recordings>')}`);
      return undefined;
    }
  };

  /** The file's real path when it exists inside the recordings directory (symbolic links resolved on both sides). */
  const fileOf = async (entry: RecordingEntry): Promise<{ readonly path: string } | 'missing' | 'outside'> => {
    const lexical = resolve(root, entry.path);
    if (!lexical.startsWith(root + sep)) return 'outside';
    let real: string;
    let realRoot: string;
    try {
      [real, realRoot] = await Promise.all([realpath(lexical), realpath(root)]);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOENT') return 'missing';
      throw e;
    }
    return real.startsWith(realRoot + sep) ? { path: real } : 'outside';
  };

  router.get('/api/recordings', (req, res, next) => {
    void (async () => {
      const principal = res.locals.principal;
      if (principal === undefined) return;
      const query = listQuery.safeParse(req.query);
      if (!query.success) {
        apiError(res, 400, 'GW_ERR_BAD_REQUEST',
          'Filter with desktop, beamline, session (ids), from and to (epoch ms or ISO 8601 with zone, from before to) and limit (1-1000).');
        return;
      }
      const { identity } = principal;
      const q = query.data;
      if (q.beamline !== undefined) {
        if (!await mayAudit(req, res, identity, q.beamline, `recordings of ${q.beamline}`)) return;
      } else if (!await mayAuditSome(req, res, identity, 'the recordings list')) {
        return;
      }
      const allowed = new Map<string, boolean>();
      const visible = (beamline: string): boolean => {
        let allow = allowed.get(beamline);
        if (allow === undefined) {
          allow = deps.access.mayAudit(identity, beamline).allow;
          allowed.set(beamline, allow);
        }
        return allow;
      };
      const entries = await deps.index.list({
        desktop: q.desktop, beamline: q.beamline, session: q.session, from: q.from, to: q.to, limit: q.limit ?? 100,
      });
      res.set('Cache-Control', 'no-store').json({ recordings: entries.filter(e => visible(e.beamline)).map(entryJson) });
    })().catch(next);
  });

  router.get('/api/recordings/:id', (req, res, next) => {
    void (async () => {
      const found = await open(req, res, req.params.id);
      if (found === undefined) return;
      const { entry, index } = found;
      res.set('Cache-Control', 'no-store').json({
        recording: entryJson(entry),
        header: index.header,
        keyFrames: index.keyFrames.map(k => ({ t: k.t, width: k.width, height: k.height, name: k.name })),
        segments: index.segments.map(s => ({ t: s.t, width: s.width, height: s.height, name: s.name })),
        events: index.events.map(e => ({
          t: e.t, kind: e.kind, message: e.message, actor: e.actor, holder: e.holder, detail: e.detail, auditSeq: e.auditSeq,
        })),
        durationMs: index.durationMs,
        condition: index.condition,
        problem: index.problem,
        end: index.end,
      });
    })().catch(next);
  });

  router.get('/api/recordings/:id/chunks/:k', (req, res, next) => {
    void (async () => {
      const principal = res.locals.principal;
      if (principal === undefined) return;
      const query = chunkQuery.safeParse(req.query);
      if (!CHUNK.test(req.params.k) || !query.success) {
        apiError(res, 400, 'GW_ERR_BAD_REQUEST', 'Ask for /api/recordings/<id>/chunks/<key frame number>?playback=<this playback\'s id (8-64 letters, digits, -)>.');
        return;
      }
      const found = await open(req, res, req.params.id);
      if (found === undefined) return;
      const { entry, path, index } = found;
      const k = Number(req.params.k);
      const key = index.keyFrames[k];
      if (key === undefined) {
        apiError(res, 404, 'GW_ERR_UNKNOWN_RECORDING', `Recording ${entry.id} has ${index.keyFrames.length} key frames; there is no chunk ${k}.`);
        return;
      }
      await auditPlayback(req, principal.sessionId, principal.identity, entry, query.data.playback, key.t);
      const to = index.keyFrames[k + 1]?.offset ?? index.validBytes;
      let body: Uint8Array;
      try {
        // Heartbeats (empty Rfb records) only mark that the recorder was alive: playback has no use for them.
        const records = (await readRecords(path, key.offset, to)).filter(r => r.kind !== RecordKind.Rfb || r.payload.length > 0);
        body = encodePlaybackChunk(records);
      } catch (e) {
        deps.log.warn({ recording: entry.id, chunk: k, err: (e as Error).message }, 'recording chunk unreadable');
        apiError(res, 422, 'GW_ERR_RECORDING_UNREADABLE', `Chunk ${k} of recording ${entry.id} cannot be read: ${(e as Error).message.replace(root, '<recordings>')}`);
        return;
      }
      res.set('Cache-Control', 'no-store').type(PLAYBACK_CHUNK_MEDIA_TYPE).send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    })().catch(next);
  });

  /** The first chunk of a playback goes on the audit record (and fails the request when it cannot). */
  const auditPlayback = async (
    req: Request, webSession: string, identity: Identity, entry: RecordingEntry, playback: string, fromMs: number,
  ): Promise<void> => {
    const key = `${webSession}\n${entry.id}\n${playback}`;
    if (audited.has(key)) return;
    await deps.audit.record({
      code: 'recording.viewed', actor: identity.userId, target: entry.desktop, beamline: entry.beamline, beamtime: entry.beamtime,
      session: entry.session, address: remoteAddress(req),
      message: `${identity.name} played recording ${entry.id} of ${entry.desktop} (from ${formatOffset(fromMs)} into it)`,
      details: { recording: entry.id, playback, fromMs },
    });
    audited.add(key);
    if (audited.size > MAX_REMEMBERED_PLAYBACKS) {
      const oldest = audited.values().next();
      if (oldest.done !== true) audited.delete(oldest.value);
    }
  };

  return router;
}

function entryJson(e: RecordingEntry): Record<string, unknown> {
  return {
    id: e.id, session: e.session, desktop: e.desktop, beamline: e.beamline, beamtime: e.beamtime, startedAt: e.startedAt.toISOString(),
    endedAt: e.endedAt?.toISOString(), bytes: e.bytes, status: e.status, endReason: e.endReason,
  };
}
