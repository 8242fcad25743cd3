// The audit log's hash chain: canonical JSON of a record, its SHA-256, and the walk that
// finds the first missing, edited or unlinked record. Pure: only node:crypto, no I/O, so
// the store, the CLI and an offline export checker all agree on what "intact" means.
// The canonical form must not depend on where a record came from: SQLite and PostgreSQL
// return the same record with the same hash (Dates as ISO strings, absent fields omitted).
import { createHash } from 'node:crypto';
import type { AuditRecord, ChainCheck, ChainHead } from './audit-record.js';

/** prevHash of record 1, and the head's hash while the log is empty. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Every field the hash covers, i.e. every field of a record but `hash` itself. Listed
 * explicitly so that extra properties a caller or a driver adds never change the hash; the
 * type check below fails when AuditRecord gains a field that is not listed here.
 */
export const HASHED_FIELDS = [
  'seq', 'prevHash', 'code', 'at', 'actor', 'subject', 'beamline', 'beamtime', 'target', 'session', 'address', 'message', 'details',
] as const satisfies readonly (keyof AuditRecord)[];

type Unhashed = Exclude<keyof AuditRecord, 'hash' | (typeof HASHED_FIELDS)[number]>;
type AssertNone<T extends never> = T;
/** Does not compile while a field of AuditRecord is missing from HASHED_FIELDS. */
export type _EveryFieldIsHashed = AssertNone<Unhashed>;

/**
 * JSON with object keys sorted (by UTF-16 code unit), no whitespace, Dates as ISO strings,
 * undefined object members omitted. Strings go through JSON.stringify, which escapes lone
 * surrogates: two strings that differ only there must not collapse into the same UTF-8.
 * Numbers follow JSON (-0 is 0, non-finite is null), as a record read back from JSON text would.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item: unknown) => item === undefined ? 'null' : canonicalJson(item)).join(',')}]`;
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, member]) => member !== undefined)
        .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
      return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
    }
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      break;
  }
  throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form; audit records hold only JSON values and Dates`);
}

/** The fields the hash covers, in canonical JSON. */
export function canonicalRecord(record: Omit<AuditRecord, 'hash'>): string {
  const picked: Record<string, unknown> = {};
  for (const field of HASHED_FIELDS) picked[field] = record[field];
  return canonicalJson(picked);
}

/** SHA-256 (hex) of the canonical JSON of every field but `hash`. */
export function hashRecord(record: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(canonicalRecord(record), 'utf8').digest('hex');
}

/** Builds the record that follows `previous` (or starts the log when there is none). */
export function chainRecord(event: Omit<AuditRecord, 'seq' | 'prevHash' | 'hash'>, previous: ChainHead): AuditRecord {
  const unhashed = { ...event, seq: previous.seq + 1, prevHash: previous.hash };
  return { ...unhashed, hash: hashRecord(unhashed) };
}

/** An empty log's head. */
export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

/**
 * Checks records one at a time, in ascending seq order, so a store can page through a
 * large log without holding it in memory. Stops at the first problem.
 */
export class ChainWalker {
  #expectedSeq = 1;
  #previousHash = GENESIS_HASH;
  #checked = 0;
  #broken: { seq: number; problem: string } | undefined;

  /** false once the chain is broken (further records are ignored). */
  get intact(): boolean {
    return this.#broken === undefined;
  }

  /** Feeds the next record; returns false when this or an earlier record broke the chain. */
  next(record: AuditRecord): boolean {
    if (!this.#inSequence(record.seq)) return false;
    const expected = this.#expectedSeq;
    if (hashRecord(record) !== record.hash) {
      return this.#fail(record.seq, `record ${record.seq} was changed after it was written: its content does not match its hash`);
    }
    if (record.prevHash !== this.#previousHash) {
      const before = expected === 1 ? 'the start of the log (genesis)' : `record ${expected - 1}`;
      return this.#fail(record.seq, `record ${record.seq} does not link to ${before}: its prevHash differs, so a record before it was replaced or rewritten`);
    }
    this.#expectedSeq = expected + 1;
    this.#previousHash = record.hash;
    this.#checked += 1;
    return true;
  }

  /** How many records checked out so far. */
  get checked(): number {
    return this.#checked;
  }

  /** The next record exists but could not be decoded (a store found a row it cannot parse). */
  unreadable(seq: number, why: string): false {
    if (!this.#inSequence(seq)) return false;
    return this.#fail(seq, `record ${seq} cannot be read (${why}): it was altered outside the store`);
  }

  /** false (and broken) when `seq` is not the next one expected. */
  #inSequence(seq: number): boolean {
    if (this.#broken !== undefined) return false;
    const expected = this.#expectedSeq;
    if (seq > expected) {
      const missing = seq - expected === 1 ? `record ${expected} is missing` : `records ${expected} to ${seq - 1} are missing`;
      return this.#fail(expected, `${missing} (the log jumps from ${expected - 1} to ${seq}): deleted`);
    }
    if (seq < expected) return this.#fail(seq, `record ${seq} appears twice or out of order (expected record ${expected} next)`);
    return true;
  }

  /**
   * The verdict. With `head` (the store's head row), a log that ends early (tail deleted),
   * runs past the head (written behind the store's back) or ends on another hash is broken;
   * `null` says the head row itself is gone.
   */
  finish(head?: ChainHead | null): ChainCheck {
    if (this.#broken === undefined && head === null) {
      this.#fail(this.#checked + 1, `the head row is missing (deleted outside the store): records after ${this.#checked} may have been deleted too`);
    }
    if (this.#broken === undefined && head !== undefined && head !== null) this.#checkHead(head);
    if (this.#broken !== undefined) {
      return { ok: false, records: this.#checked, firstBadSeq: this.#broken.seq, problem: this.#broken.problem };
    }
    return { ok: true, records: this.#checked, headHash: this.#previousHash };
  }

  #checkHead(head: ChainHead): void {
    const last = this.#checked;
    if (head.seq > last) {
      const lost = head.seq - last === 1 ? `record ${head.seq} was deleted` : `records ${last + 1} to ${head.seq} were deleted`;
      this.#fail(last + 1, `the log ends at record ${last} but its head says ${head.seq}: ${lost}`);
    } else if (head.seq < last) {
      this.#fail(head.seq + 1, `record ${head.seq + 1} lies beyond the head (${head.seq}): it was written outside the store, or the head was rolled back`);
    } else if (head.hash !== this.#previousHash) {
      this.#fail(Math.max(last, 1), `the head's hash does not match record ${last}: the head or the last record was rewritten`);
    }
  }

  #fail(seq: number, problem: string): false {
    this.#broken = { seq, problem };
    return false;
  }
}

/**
 * Walks `records` in seq order (they need not arrive sorted) and reports the first problem:
 * a missing record, a record whose content no longer matches its hash, a record that does
 * not link to its predecessor, or, given the head, a log shorter or longer than the head says.
 */
export function checkChain(records: Iterable<AuditRecord>, expectedHead?: ChainHead): ChainCheck {
  const walker = new ChainWalker();
  const sorted = [...records].sort((a, b) => a.seq - b.seq);
  for (const record of sorted) {
    if (!walker.next(record)) break;
  }
  return walker.finish(expectedHead);
}
