// Checks an event before it is chained and puts it in the exact form a database gives back,
// so that the record append() returns, the stored row and its hash all agree. Pure.
// Never drops an event for its content: text a database cannot hold is replaced, not refused,
// because a refused audit write fails the action it records.
import { isAuditCode, type AuditEvent, type JsonValue } from './audit-record.js';
import { canonicalJson } from './hash-chain.js';

export class InvalidAuditEventError extends Error {
  override readonly name = 'InvalidAuditEventError';
}

const TEXT_FIELDS = ['actor', 'subject', 'beamline', 'beamtime', 'target', 'session', 'address', 'message'] as const;

/**
 * PostgreSQL text cannot hold U+0000, and both databases store UTF-8, in which a lone
 * surrogate has no encoding (it would come back as U+FFFD and no longer match its hash).
 * Both become U+FFFD before hashing. Details need no such care: they are stored as JSON
 * text, where JSON.stringify escapes both.
 */
export function storableText(text: string): string {
  return text.replace(/\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * Validates the event (known code, a real time, an actor) and returns it normalised: absent
 * optional fields omitted, text storable, details as they read back from JSON (keys sorted,
 * -0 as 0, non-finite numbers as null). Throws InvalidAuditEventError on a caller's bug.
 */
export function normalizeAuditEvent(event: AuditEvent): AuditEvent {
  if (!isAuditCode(event.code)) {
    throw new InvalidAuditEventError(`audit event code ${JSON.stringify(event.code)} is not one of AUDIT_CODES; add it there (codes are never renamed or reused)`);
  }
  if (!(event.at instanceof Date) || Number.isNaN(event.at.getTime())) {
    throw new InvalidAuditEventError(`audit event ${event.code}: "at" must be a valid Date`);
  }
  if (typeof event.actor !== 'string' || event.actor === '') {
    throw new InvalidAuditEventError(`audit event ${event.code}: "actor" must be a user id, 'system' or 'anonymous'`);
  }
  if (typeof event.message !== 'string') {
    throw new InvalidAuditEventError(`audit event ${event.code}: "message" must be a string`);
  }
  const normalized: Record<string, unknown> = { code: event.code, at: new Date(event.at.getTime()) };
  for (const field of TEXT_FIELDS) {
    const value: unknown = event[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new InvalidAuditEventError(`audit event ${event.code}: "${field}" must be a string when present`);
    normalized[field] = storableText(value);
  }
  const details: unknown = event.details;
  if (details !== undefined) {
    if (details === null || typeof details !== 'object' || Array.isArray(details)) {
      throw new InvalidAuditEventError(`audit event ${event.code}: "details" must be a JSON object when present`);
    }
    let text: string;
    try {
      text = canonicalJson(event.details);
    } catch (e) {
      throw new InvalidAuditEventError(`audit event ${event.code}: "details" must hold only JSON values (${(e as Error).message})`);
    }
    normalized['details'] = parseDetails(text);
  }
  return normalized as unknown as AuditEvent;
}

/** Details as stored (canonical JSON text) back to an object. */
export function parseDetails(text: string): { readonly [key: string]: JsonValue } {
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidAuditEventError(`stored audit details are not a JSON object: ${text.slice(0, 80)}`);
  }
  return parsed as { readonly [key: string]: JsonValue };
}
