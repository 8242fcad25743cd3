// The tables as Kysely sees them. One set for SQLite and PostgreSQL: integers that can grow
// past 2^31 are BIGINT, which PostgreSQL (pg) returns as strings and SQLite as numbers, so
// they are read through toInt(); times are BIGINT milliseconds since the epoch (UTC), which
// compare and sort the same in both.
import type { ColumnType } from 'kysely';

/** BIGINT: written as a number, read as whatever the driver returns. */
export type Int64 = ColumnType<number | string | bigint, number, number>;

export interface AuditLogTable {
  seq: Int64;
  code: string;
  at_ms: Int64;
  actor: string;
  subject: string | null;
  beamline: string | null;
  beamtime: string | null;
  target: string | null;
  /** Added by migration 0002 (null in older records, which hash without it). */
  session: string | null;
  address: string | null;
  message: string;
  /** Canonical JSON text (never jsonb: the text is what was hashed, key order included). */
  details: string | null;
  prev_hash: string;
  hash: string;
}

/** Exactly one row (id = 1): the last record's seq and hash, updated with every append. */
export interface AuditHeadTable {
  id: number;
  seq: Int64;
  hash: string;
}

export interface WebSessionTable {
  /** SHA-256 (hex) of the cookie's id: a database dump yields no usable cookie. */
  id_hash: string;
  user_id: string;
  sub: string;
  display_name: string;
  /** JSON text. */
  identity: string;
  /** AES-256-GCM sealed JSON of the tokens (token-cipher.ts). */
  tokens_sealed: string;
  csrf_sealed: string;
  created_at_ms: Int64;
  access_expires_at_ms: Int64;
  expires_at_ms: Int64;
}

export interface LoginTransactionTable {
  /** SHA-256 (hex) of the OAuth state parameter. */
  state_hash: string;
  /** Sealed JSON of the code verifier, nonce and return path. */
  sealed: string;
  created_at_ms: Int64;
}

export interface InstructionAckTable {
  user_id: string;
  beamline: string;
  beamtime: string;
  version: string;
  at_ms: Int64;
}

/** One desktop recording: its file and what it covers (session-recorder/src/recording). */
export interface RecordingTable {
  id: string;
  /** The desktop session recorded (audit records of the session carry the same id). */
  session: string;
  desktop: string;
  beamline: string;
  beamtime: string | null;
  /** Relative to the recordings directory. */
  path: string;
  started_at_ms: Int64;
  /** null while recording (or when the gateway died while recording: the file says how far it got). */
  ended_at_ms: Int64 | null;
  bytes: Int64;
  /** 'recording' | 'complete' | 'failed' | 'deleted' */
  status: string;
  end_reason: string | null;
  retention_days: number;
}

export interface StoreSchema {
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  web_sessions: WebSessionTable;
  login_transactions: LoginTransactionTable;
  instruction_acks: InstructionAckTable;
  recordings: RecordingTable;
}

/** A BIGINT as a JS number (every value we store is far below 2^53). */
export function toInt(value: number | string | bigint): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`expected an integer column value, got ${String(value)}`);
  return n;
}

export function toMs(date: Date): number {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError('an invalid Date cannot be stored');
  return ms;
}

export function fromMs(value: number | string | bigint): Date {
  return new Date(toInt(value));
}
