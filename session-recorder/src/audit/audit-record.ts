// Audit events: typed, with stable codes that reports and the safety officer's filters rely on.
// Codes are never renamed or reused; new capabilities add theirs (control.*, filter.*, recording.*).

/** code -> what it records. The control and input-filter issues add their codes here. */
export const AUDIT_CODES = {
  'auth.login': 'a person logged in through the identity provider',
  'auth.login_failed': 'a login callback was refused (forged, expired or replayed response, wrong state or nonce)',
  'auth.logout': 'a person logged out',
  'auth.session_ended': 'a login ended without logout: expired, refresh refused by the identity provider, or revoked',
  'access.denied': 'a request or desktop connection was refused (origin, session or policy), with the reasons',
  'viewer.joined': 'a viewer connected to a desktop (with address and whether it may drive)',
  'viewer.left': 'a viewer disconnected (with the reason)',
  'viewer.protocol_error': 'a browser sent a malformed or unknown RFB message and was disconnected (fail closed), with the error code',
  'policy.revoked': 'a connected viewer lost a right it had (training expired, beamtime ended, ...), with the reasons',
  'instruction.acknowledged': 'a person acknowledged a beamline\'s remote-operation instruction (version, beamtime)',
  'useroffice.reloaded': 'user-office data was (re)loaded from its source',
  'useroffice.rejected': 'a user-office reload was refused (the last good data stays), with the reason',
  'control.transition': 'control of a desktop changed (request, grant, hand-over, take-over, release, timeout, ...): actor, subject, reason, old and new state',
  'control.refused': 'a control action was refused (not allowed, not eligible, ...): actor, reason; nothing changed',
  'control.joined': 'a person opened the control channel of a desktop (presence)',
  'control.left': 'a person closed the control channel of a desktop',
  'input.blocked': 'the beamline\'s input policy blocked input (rule id, person, desktop): the first of a burst, then a count',
  'input.policy_loaded': 'a beamline input policy was loaded or changed (rule ids in force)',
  'input.policy_rejected': 'a beamline input policy file was refused (the last good policy stays), with the reason',
  'session.opened': 'a desktop session opened (its first viewer joined); the session id is on every record of the session',
  'session.closed': 'a desktop session closed (its last viewer left, or the gateway stopped)',
  'recording.started': 'a session recording started (recording id, file, retention)',
  'recording.stopped': 'a session recording ended normally (bytes, duration, key frames)',
  'recording.failed': 'a session recording stopped on an error (full disk, unwritable directory, gateway crash): the session went on unrecorded',
  'recording.deleted': 'a recording was deleted because its retention ended',
  'recording.viewed': 'a person played a recording (once per playback: recording id, where playback started)',
  'audit.exported': 'a person exported audit records (format, filters, how many)',
  'gateway.started': 'the gateway started',
  'gateway.stopped': 'the gateway stopped (graceful shutdown)',
} as const;

export type AuditCode = keyof typeof AUDIT_CODES;

export function isAuditCode(value: unknown): value is AuditCode {
  return typeof value === 'string' && Object.hasOwn(AUDIT_CODES, value);
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a caller appends. */
export interface AuditEvent {
  readonly code: AuditCode;
  readonly at: Date;
  /** Who acted: a facility user id, or 'system', or 'anonymous' (not logged in). */
  readonly actor: string;
  /** Whom or what it concerns, when not the actor (a user id, a viewer id). */
  readonly subject?: string | undefined;
  readonly beamline?: string | undefined;
  readonly beamtime?: string | undefined;
  /** The desktop (target id) or web session it concerns. */
  readonly target?: string | undefined;
  /**
   * The desktop session it belongs to: one session runs from the first viewer joining a desktop to
   * the last one leaving; its recording (if any) carries the same id.
   */
  readonly session?: string | undefined;
  /** Remote address of the browser, where there is one. */
  readonly address?: string | undefined;
  /** Human-readable summary; also what the safety officer reads first. */
  readonly message: string;
  readonly details?: { readonly [key: string]: JsonValue } | undefined;
}

/** A stored record: the event, its position and the chain. */
export interface AuditRecord extends AuditEvent {
  /** 1, 2, 3, ... without gaps. */
  readonly seq: number;
  /** hash of record seq-1 (64 hex zeros for seq 1). */
  readonly prevHash: string;
  /** SHA-256 (hex) over the canonical JSON of every other field, prevHash included. */
  readonly hash: string;
}

export interface AuditFilter {
  readonly codes?: readonly AuditCode[] | undefined;
  readonly actor?: string | undefined;
  readonly subject?: string | undefined;
  readonly beamline?: string | undefined;
  readonly beamtime?: string | undefined;
  readonly target?: string | undefined;
  readonly session?: string | undefined;
  readonly from?: Date | undefined;
  /** exclusive */
  readonly to?: Date | undefined;
  readonly afterSeq?: number | undefined;
  readonly limit?: number | undefined;
  readonly order?: 'asc' | 'desc' | undefined;
}

/** The audit_head row: how many records the log must hold and the hash of the last one. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * The result of walking the chain. When broken, `records` counts the records before
 * `firstBadSeq` that checked out; `problem` says what is wrong in words an operator can act on.
 */
export type ChainCheck =
  | { readonly ok: true; readonly records: number; readonly headHash: string }
  | { readonly ok: false; readonly records: number; readonly firstBadSeq: number; readonly problem: string };
