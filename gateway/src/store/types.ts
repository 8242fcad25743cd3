// The persistent store's interfaces, one per aggregate. SQLite (embedded, default) and
// PostgreSQL implement them with one set of Kysely queries and migrations (store.ts).
import type {
  AuditCode, AuditEvent, AuditRecord, AuditFilter, ChainCheck, ChainHead,
} from '../../../session-recorder/src/audit/audit-record.js';

/** Append-only, hash-chained audit log. */
export interface AuditLog {
  /**
   * Appends one record and resolves once it is durable (committed; SQLite synchronous=FULL).
   * Rejects when it could not be written: the caller must then fail the action it records.
   */
  append(event: AuditEvent): Promise<AuditRecord>;
  /** Records matching the filter, oldest first (or newest first with order: 'desc'), at most filter.limit. */
  query(filter: AuditFilter): Promise<AuditRecord[]>;
  /** Recomputes the whole chain; reports the first broken or missing record. */
  verify(): Promise<ChainCheck>;
}

/** What the safety officer's pages select (audit-queries.ts); every field given narrows the selection. */
export interface AuditSelection {
  readonly beamline?: string | undefined;
  /** Only records of these beamlines: the reader's scope when they may not read the whole log. */
  readonly beamlines?: readonly string[] | undefined;
  readonly beamtime?: string | undefined;
  /** Records the person acted in or was concerned by: actor OR subject. */
  readonly person?: string | undefined;
  readonly session?: string | undefined;
  /** The desktop (the record's target). */
  readonly desktop?: string | undefined;
  /** Exact codes; a family such as control.* is expanded by the caller. */
  readonly codes?: readonly AuditCode[] | undefined;
  readonly from?: Date | undefined;
  /** Exclusive. */
  readonly to?: Date | undefined;
}

/** One page of the log, keyset-paged by seq. */
export interface AuditPageRequest extends AuditSelection {
  /** Only records older than this seq (the next older page). */
  readonly before?: number | undefined;
  /** Only records newer than this seq (the next newer page). */
  readonly after?: number | undefined;
  readonly limit: number;
  /** 'desc' (default): newest first. */
  readonly order?: 'asc' | 'desc' | undefined;
}

export interface AuditPage {
  /** In the requested order. */
  readonly records: AuditRecord[];
  /** Pass as `before` for the next older page; absent when no older record matches. */
  readonly older?: number | undefined;
  /** Pass as `after` for the next newer page; absent when no newer record matches. */
  readonly newer?: number | undefined;
}

/** Statistics over a time range; codes do not apply (each figure has its own). */
export interface AuditStatsRequest extends Omit<AuditSelection, 'codes'> {
  /** A connection without a leave record counts up to the earlier of `to` and now. */
  readonly now: Date;
}

export interface AuditStatsFigures {
  /** Time viewers were connected (viewer.joined to viewer.left, clipped to the range). */
  readonly remoteMs: number;
  /** Viewer connections that overlap the range. */
  readonly connections: number;
  /** control.transition records. */
  readonly controlChanges: number;
  /** Inputs blocked by the input policy (a burst's first record counts 1, its summary its count). */
  readonly blockedActions: number;
}

export interface AuditStatsRow extends AuditStatsFigures {
  /** The beamline, beamtime or person ('' for records without one). */
  readonly key: string;
  /** Beamtime rows: the beamline the beamtime is on. */
  readonly beamline?: string | undefined;
}

export interface AuditStats {
  readonly from?: Date | undefined;
  /** The end of what was counted: the request's `to` or now, whichever is earlier. */
  readonly to: Date;
  readonly totals: AuditStatsFigures;
  readonly byBeamline: readonly AuditStatsRow[];
  readonly byBeamtime: readonly AuditStatsRow[];
  /** A person's control changes are those they made or were concerned by (actor or subject). */
  readonly byPerson: readonly AuditStatsRow[];
}

/** Reading the audit log for the safety officer's pages, exports and statistics. */
export interface AuditQueries {
  page(request: AuditPageRequest): Promise<AuditPage>;
  /** How many records match with seq <= upToSeq. */
  count(selection: AuditSelection, upToSeq: number): Promise<number>;
  /**
   * The matching records with seq <= upToSeq, oldest first, a batch at a time (for exports). Each
   * batch is its own short read: a long export never holds the database (SQLite has one connection).
   */
  scan(selection: AuditSelection, upToSeq: number, batchSize?: number): AsyncIterable<readonly AuditRecord[]>;
  /** The head row: how many records the log holds and the last one's hash. */
  head(): Promise<ChainHead>;
  stats(request: AuditStatsRequest): Promise<AuditStats>;
  /**
   * The same verdict as AuditLog.verify(), reached in short reads of one page each, so a check
   * of a large log in a running gateway does not stall its appends.
   */
  checkChain(): Promise<ChainCheck>;
}

/** A logged-in browser session (backend-for-frontend): tokens never leave the server. */
export interface WebSession {
  /** The random id carried by the cookie. Stored only as its SHA-256. */
  readonly id: string;
  readonly userId: string;
  readonly sub: string;
  readonly displayName: string;
  /** The mapped identity (roles, mfa, ...) as JSON; see gateway/src/auth/claims.ts. */
  readonly identity: Record<string, unknown>;
  /** Encrypted at rest (AES-256-GCM with the store's token key). */
  readonly tokens: SessionTokens;
  readonly csrfToken: string;
  readonly createdAt: Date;
  /** When the access token expires (refresh before). */
  readonly accessExpiresAt: Date;
  /** Absolute end of the session, whatever refreshes happen. */
  readonly expiresAt: Date;
}

export interface SessionTokens {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken?: string | undefined;
}

export interface WebSessionStore {
  create(session: WebSession): Promise<void>;
  /** undefined when unknown or past expiresAt. */
  get(id: string, now: Date): Promise<WebSession | undefined>;
  /** After a token refresh. Does nothing when the session is gone (logged out meanwhile). */
  updateTokens(id: string, tokens: SessionTokens, accessExpiresAt: Date, identity: Record<string, unknown>): Promise<void>;
  delete(id: string): Promise<void>;
  /**
   * The keys of all sessions of a user (to end them all, e.g. on back-channel logout). A key is
   * the SHA-256 (hex) of the cookie id, see webSessionKey(): the cookie ids themselves are not
   * stored. Keys are safe to log and to audit; pass them to deleteByKey().
   */
  idsOfUser(userId: string): Promise<string[]>;
  /** Ends a session found through idsOfUser(). */
  deleteByKey(key: string): Promise<void>;
  /** Ends every session of a user; returns how many there were. */
  deleteAllOfUser(userId: string): Promise<number>;
  deleteExpired(now: Date): Promise<number>;
}

/** A login in progress: what the callback needs to check the provider's answer. */
export interface LoginTransaction {
  readonly state: string;
  readonly codeVerifier: string;
  readonly nonce: string;
  readonly returnTo: string;
  readonly createdAt: Date;
}

export interface LoginTransactionStore {
  put(tx: LoginTransaction): Promise<void>;
  /** Returns and deletes it (single use: a replayed callback finds nothing); undefined when unknown or older than maxAgeMs. */
  take(state: string, now: Date, maxAgeMs: number): Promise<LoginTransaction | undefined>;
  deleteOlderThan(cutoff: Date): Promise<number>;
}

/** A user's acknowledgement of a beamline's remote-operation instruction, for one beamtime. */
export interface InstructionAck {
  readonly userId: string;
  readonly beamline: string;
  readonly beamtime: string;
  readonly version: string;
  readonly at: Date;
}

export interface AcknowledgementStore {
  add(ack: InstructionAck): Promise<void>;
  /** All acknowledgements (the policy engine merges them with the user office's). */
  list(): Promise<InstructionAck[]>;
}

export type RecordingStatus = 'recording' | 'complete' | 'failed' | 'deleted';

/** A desktop recording's entry in the index; the file itself lives in the recordings directory. */
export interface RecordingEntry {
  readonly id: string;
  readonly session: string;
  readonly desktop: string;
  readonly beamline: string;
  readonly beamtime?: string | undefined;
  /** Relative to the recordings directory. */
  readonly path: string;
  readonly startedAt: Date;
  readonly endedAt?: Date | undefined;
  readonly bytes: number;
  readonly status: RecordingStatus;
  readonly endReason?: string | undefined;
  readonly retentionDays: number;
}

export interface RecordingFilter {
  readonly desktop?: string | undefined;
  readonly beamline?: string | undefined;
  readonly session?: string | undefined;
  /** Recordings that overlap [from, to). */
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
  readonly includeDeleted?: boolean | undefined;
  readonly limit?: number | undefined;
}

/** Which recordings exist, for listing, playback lookup and retention. */
export interface RecordingIndex {
  add(entry: RecordingEntry): Promise<void>;
  /** Records progress or the end; does nothing for an unknown id. */
  update(id: string, changes: Partial<Pick<RecordingEntry, 'endedAt' | 'bytes' | 'status' | 'endReason'>>): Promise<void>;
  get(id: string): Promise<RecordingEntry | undefined>;
  /** Newest first. */
  list(filter: RecordingFilter): Promise<RecordingEntry[]>;
  /** Recordings not yet deleted whose retention has run out at `now` (counted from their start). */
  expired(now: Date): Promise<RecordingEntry[]>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly audit: AuditLog;
  /** Filtered, paged reading of the audit log, statistics, exports (the safety officer's pages). */
  readonly auditQueries: AuditQueries;
  readonly webSessions: WebSessionStore;
  readonly loginTransactions: LoginTransactionStore;
  readonly acknowledgements: AcknowledgementStore;
  readonly recordings: RecordingIndex;
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where the data lives. SQLite: one file (created when missing; its directory must exist).
 * PostgreSQL: a URL and the schema the tables live in (default public; created when missing).
 */
export type StoreConfig =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema?: string | undefined };
