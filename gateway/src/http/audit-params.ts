// The audit API's query strings, checked before anything reaches the store: known parameters
// only, one value each, ids in the user office's id alphabet, event kinds from AUDIT_CODES (or a
// family such as control.*), ISO 8601 times, cursors and limits within range. Whatever does not
// fit is a 400 that says which parameter and why. Pure.
import { z } from 'zod';
import { AUDIT_CODES, isAuditCode, type AuditCode } from '../../../session-recorder/src/audit/audit-record.js';
import type { AuditSelection } from '../store/types.js';

/** The id alphabet of the user-office data and the configuration: ids in records are never anything else. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
/** 2026-11-22, 2026-11-22T14:32, 2026-11-22T14:32:05.123Z, 2026-11-22T14:32+01:00; without a zone, UTC. */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?)?$/;
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;
const MAX_KINDS = 40;

/** The families of AUDIT_CODES: 'control' for control.transition, control.refused, ... */
export const AUDIT_FAMILIES: readonly string[] = [...new Set(Object.keys(AUDIT_CODES).map(code => code.split('.')[0] ?? code))].sort();

const id = z.string().regex(ID, 'must be an id: letters, digits and . _ : @ -, at most 128 characters');

const instant = z.string().max(40).transform((text, ctx) => {
  const date = parseInstant(text);
  if (date === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a time such as 2026-11-22T14:32:00Z (ISO 8601; without a zone, UTC)' });
    return z.NEVER;
  }
  return date;
});

/** An ISO 8601 time as INSTANT describes it, or undefined (also for dates that do not exist, such as 2026-02-30). */
export function parseInstant(text: string): Date | undefined {
  const m = INSTANT.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map(i => Number(m[i] ?? '0')) as [number, number, number, number, number, number];
  const milli = Number((m[7] ?? '0').padEnd(3, '0'));
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const fields = Date.UTC(year, month - 1, day, hour, minute, second, milli);
  if (new Date(fields).getUTCDate() !== day) return undefined;
  const zone = m[8];
  let offsetMs = 0;
  if (zone !== undefined && zone !== 'Z') {
    const [zh, zm] = zone.slice(1).split(':').map(Number) as [number, number];
    if (zh > 23 || zm > 59) return undefined;
    offsetMs = (zone.startsWith('-') ? -1 : 1) * (zh * 60 + zm) * 60_000;
  }
  return new Date(fields - offsetMs);
}

const seq = z.string().regex(/^\d{1,15}$/, 'must be a record number (seq)').transform(Number);

const kinds = z.string().max(2000).transform((text, ctx) => {
  const items = text.split(',').map(s => s.trim());
  const codes = new Set<AuditCode>();
  for (const item of items) {
    if (isAuditCode(item)) {
      codes.add(item);
      continue;
    }
    const family = /^([a-z]+)\.\*$/.exec(item)?.[1];
    if (family !== undefined && AUDIT_FAMILIES.includes(family)) {
      for (const code of Object.keys(AUDIT_CODES) as AuditCode[]) if (code.startsWith(`${family}.`)) codes.add(code);
      continue;
    }
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(item.slice(0, 40))} is not an event kind: use codes such as control.transition or families such as control.*, separated by commas` });
    return z.NEVER;
  }
  if (items.length > MAX_KINDS) {
    ctx.addIssue({ code: 'custom', message: `at most ${MAX_KINDS} kinds` });
    return z.NEVER;
  }
  return [...codes];
});

const selectionShape = {
  beamline: id.optional(),
  beamtime: id.optional(),
  person: id.optional(),
  session: id.optional(),
  desktop: id.optional(),
  from: instant.optional(),
  to: instant.optional(),
};

const orderedRange = (q: { from?: Date | undefined; to?: Date | undefined }): boolean =>
  q.from === undefined || q.to === undefined || q.from.getTime() < q.to.getTime();
const RANGE_MESSAGE = { message: '"from" must be before "to"', path: ['from'] };

const pageSchema = z.strictObject({
  ...selectionShape,
  kind: kinds.optional(),
  before: seq.optional(),
  after: seq.optional(),
  limit: z.string().regex(/^\d{1,4}$/, 'must be a number').transform(Number)
    .refine(n => n >= 1 && n <= MAX_PAGE_LIMIT, `must be 1 to ${MAX_PAGE_LIMIT}`).optional(),
  order: z.enum(['asc', 'desc']).optional(),
}).refine(orderedRange, RANGE_MESSAGE);

const exportSchema = z.strictObject({ ...selectionShape, kind: kinds.optional(), format: z.enum(['csv', 'json']) }).refine(orderedRange, RANGE_MESSAGE);

const statsSchema = z.strictObject(selectionShape).refine(orderedRange, RANGE_MESSAGE);

export interface PageParams {
  readonly selection: AuditSelection;
  readonly before?: number | undefined;
  readonly after?: number | undefined;
  readonly limit: number;
  readonly order: 'asc' | 'desc';
}

export interface ExportParams {
  readonly selection: AuditSelection;
  readonly format: 'csv' | 'json';
  /** The filters as given, for the export's header and its audit record. */
  readonly given: Readonly<Record<string, string>>;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

function failure(error: z.ZodError, known: readonly string[]): { ok: false; message: string } {
  const problems = error.issues.slice(0, 5).map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const names = issue.keys.slice(0, 5).map(k => JSON.stringify(k.slice(0, 40))).join(', ');
      return `unknown parameter${issue.keys.length > 1 ? 's' : ''} ${names} (known: ${known.join(', ')})`;
    }
    const name = issue.path.map(String).join('.') || 'query';
    return `${name}: ${issue.message}`;
  });
  return { ok: false, message: `The audit query is not valid: ${problems.join('; ')}.` };
}

function selectionOf(q: z.infer<typeof statsSchema> & { kind?: AuditCode[] | undefined }): AuditSelection {
  const all: AuditSelection = {
    beamline: q.beamline, beamtime: q.beamtime, person: q.person, session: q.session, desktop: q.desktop,
    codes: q.kind, from: q.from, to: q.to,
  };
  // Absent filters are left out rather than undefined: the selection reads (and is recorded) as given.
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
}

/** The query of GET /api/audit. */
export function parsePageQuery(query: unknown): Parsed<PageParams> {
  const parsed = pageSchema.safeParse(query);
  if (!parsed.success) return failure(parsed.error, Object.keys(pageSchema.shape));
  const q = parsed.data;
  return {
    ok: true,
    value: { selection: selectionOf(q), before: q.before, after: q.after, limit: q.limit ?? DEFAULT_PAGE_LIMIT, order: q.order ?? 'desc' },
  };
}

/** The query of GET /api/audit/export. */
export function parseExportQuery(query: unknown): Parsed<ExportParams> {
  const parsed = exportSchema.safeParse(query);
  if (!parsed.success) return failure(parsed.error, Object.keys(exportSchema.shape));
  const given: Record<string, string> = {};
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    if (key !== 'format' && typeof value === 'string') given[key] = value;
  }
  return { ok: true, value: { selection: selectionOf(parsed.data), format: parsed.data.format, given } };
}

/** The query of GET /api/audit/stats. */
export function parseStatsQuery(query: unknown): Parsed<AuditSelection> {
  const parsed = statsSchema.safeParse(query);
  return parsed.success ? { ok: true, value: selectionOf(parsed.data) } : failure(parsed.error, Object.keys(statsSchema.shape));
}
