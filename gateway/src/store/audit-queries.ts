// Reading the audit log for the safety officer: filtered pages (keyset by seq, both ways),
// exports in batches, statistics, and a chain check in short reads. Only bound parameters reach
// the database; no SQL is built from a caller's strings.
//
// Why queries are split into "branches": "code is one of A, B, C" or "actor OR subject is P"
// ordered by seq cannot follow any one index, and both databases then sort every matching row
// to return the first 50. Asked instead as one query per code (and per column), each follows an
// index on (column, seq) and stops after the page; the pages are merged here. Migration
// 0003_audit_paging adds those indexes.
import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import type { AuditCode, AuditRecord, ChainCheck, ChainHead } from '../../../session-recorder/src/audit/audit-record.js';
import { parseDetails } from '../../../session-recorder/src/audit/audit-event.js';
import { ChainWalker } from '../../../session-recorder/src/audit/hash-chain.js';
import { rowToRecord } from './audit-log.js';
import { toInt, toMs, type AuditLogTable, type StoreSchema } from './schema.js';
import { reason } from './store-error.js';
import type {
  AuditPage, AuditPageRequest, AuditQueries, AuditSelection, AuditStats, AuditStatsFigures, AuditStatsRequest, AuditStatsRow,
} from './types.js';

/** More branches than this and the codes (then the beamlines) are asked with IN instead. */
const MAX_BRANCHES = 32;
const CHECK_PAGE = 1000;
const STATS_BATCH = 5000;
export const MAX_PAGE_LIMIT = 1000;

type Eb = ExpressionBuilder<StoreSchema, 'audit_log'>;

/** A selection plus what only the statistics ask: the actor alone (not actor OR subject). */
interface Selection extends AuditSelection {
  readonly actor?: string | undefined;
}

/** One conjunctive query of a selection: its alternatives fixed to one value each where possible. */
interface Branch {
  readonly codes?: readonly AuditCode[] | undefined;
  readonly person?: { readonly column: 'actor' | 'subject'; readonly value: string } | undefined;
  readonly beamlines?: readonly string[] | undefined;
}

interface SeqBounds {
  /** seq < below */
  readonly below?: number | undefined;
  /** seq > above */
  readonly above?: number | undefined;
  /** seq <= upTo */
  readonly upTo?: number | undefined;
}

/**
 * The branches whose union is the selection, or [] when it cannot match anything (no codes, an
 * empty scope, a beamline outside the scope).
 */
export function branchesOf(selection: AuditSelection): Branch[] {
  const { codes, person, beamline, beamlines } = selection;
  if (codes?.length === 0 || beamlines?.length === 0) return [];
  if (beamline !== undefined && beamlines !== undefined && !beamlines.includes(beamline)) return [];
  const beamlineList = beamline !== undefined ? [beamline] : beamlines === undefined ? undefined : [...new Set(beamlines)];
  const codeList = codes === undefined ? undefined : [...new Set(codes)];
  const people = person === undefined ? [undefined] : [{ column: 'actor' as const, value: person }, { column: 'subject' as const, value: person }];
  let codeAlternatives: (readonly AuditCode[] | undefined)[] = codeList === undefined ? [undefined] : codeList.map(c => [c]);
  let beamlineAlternatives: (readonly string[] | undefined)[] = beamlineList === undefined ? [undefined] : beamlineList.map(b => [b]);
  if (people.length * codeAlternatives.length * beamlineAlternatives.length > MAX_BRANCHES) codeAlternatives = [codeList];
  if (people.length * codeAlternatives.length * beamlineAlternatives.length > MAX_BRANCHES) beamlineAlternatives = [beamlineList];
  const branches: Branch[] = [];
  for (const c of codeAlternatives) {
    for (const p of people) {
      for (const b of beamlineAlternatives) branches.push({ codes: c, person: p, beamlines: b });
    }
  }
  return branches;
}

function equalOrIn(eb: Eb, column: 'code' | 'beamline', values: readonly string[]) {
  return values.length === 1 ? eb(column, '=', values[0] ?? '') : eb(column, 'in', [...values]);
}

/** The WHERE of one branch: every value a bound parameter. */
function where(eb: Eb, selection: Selection, branch: Branch, seq: SeqBounds) {
  const conditions = [];
  if (branch.codes !== undefined) conditions.push(equalOrIn(eb, 'code', branch.codes));
  if (branch.beamlines !== undefined) conditions.push(equalOrIn(eb, 'beamline', branch.beamlines));
  if (branch.person !== undefined) conditions.push(eb(branch.person.column, '=', branch.person.value));
  if (selection.actor !== undefined) conditions.push(eb('actor', '=', selection.actor));
  if (selection.beamtime !== undefined) conditions.push(eb('beamtime', '=', selection.beamtime));
  if (selection.session !== undefined) conditions.push(eb('session', '=', selection.session));
  if (selection.desktop !== undefined) conditions.push(eb('target', '=', selection.desktop));
  if (selection.from !== undefined) conditions.push(eb('at_ms', '>=', toMs(selection.from)));
  if (selection.to !== undefined) conditions.push(eb('at_ms', '<', toMs(selection.to)));
  if (seq.below !== undefined) conditions.push(eb('seq', '<', seq.below));
  if (seq.above !== undefined) conditions.push(eb('seq', '>', seq.above));
  if (seq.upTo !== undefined) conditions.push(eb('seq', '<=', seq.upTo));
  return eb.and(conditions);
}

function checkSeq(name: string, value: number | undefined): void {
  if (value !== undefined && !Number.isSafeInteger(value)) throw new RangeError(`audit query: ${name} must be an integer, got ${value}`);
}

/** The range counted, in ms: from `from` (or the beginning) to the earlier of `to` and now. */
function rangeOf(request: AuditStatsRequest): { from: number; to: number } {
  const now = toMs(request.now);
  const to = request.to === undefined ? now : Math.min(toMs(request.to), now);
  return { from: request.from === undefined ? Number.NEGATIVE_INFINITY : toMs(request.from), to };
}

class Tally {
  readonly rows = new Map<string, { key: string; beamline?: string | undefined } & { -readonly [K in keyof AuditStatsFigures]: number }>();

  add(key: string, beamline: string | undefined, figures: Partial<AuditStatsFigures>): void {
    const id = beamline === undefined ? key : JSON.stringify([beamline, key]);
    let row = this.rows.get(id);
    if (row === undefined) {
      row = { key, ...(beamline === undefined ? {} : { beamline }), remoteMs: 0, connections: 0, controlChanges: 0, blockedActions: 0 };
      this.rows.set(id, row);
    }
    row.remoteMs += figures.remoteMs ?? 0;
    row.connections += figures.connections ?? 0;
    row.controlChanges += figures.controlChanges ?? 0;
    row.blockedActions += figures.blockedActions ?? 0;
  }

  sorted(): AuditStatsRow[] {
    return [...this.rows.values()].sort((a, b) => b.remoteMs - a.remoteMs || (a.beamline ?? '').localeCompare(b.beamline ?? '') || a.key.localeCompare(b.key));
  }
}

/** What one figure is about: the beamline, beamtime and people it counts for. */
interface Counted {
  readonly beamline: string | null;
  readonly beamtime: string | null;
  readonly people: readonly string[];
}

class StatsBuilder {
  readonly totals = { remoteMs: 0, connections: 0, controlChanges: 0, blockedActions: 0 };
  readonly byBeamline = new Tally();
  readonly byBeamtime = new Tally();
  readonly byPerson = new Tally();

  add(what: Counted, figures: Partial<AuditStatsFigures>): void {
    this.totals.remoteMs += figures.remoteMs ?? 0;
    this.totals.connections += figures.connections ?? 0;
    this.totals.controlChanges += figures.controlChanges ?? 0;
    this.totals.blockedActions += figures.blockedActions ?? 0;
    this.byBeamline.add(what.beamline ?? '', undefined, figures);
    this.byBeamtime.add(what.beamtime ?? '', what.beamline ?? '', figures);
    for (const person of what.people) this.byPerson.add(person, undefined, figures);
  }
}

type StatsRow = Pick<Selectable<AuditLogTable>, 'seq' | 'at_ms' | 'actor' | 'beamline' | 'beamtime' | 'details'>;

/** details.viewer of a viewer.joined/left row, or undefined when absent or unreadable (then it pairs with nothing). */
function viewerOf(row: StatsRow): string | undefined {
  if (row.details === null) return undefined;
  try {
    const viewer = parseDetails(row.details)['viewer'];
    return typeof viewer === 'string' ? viewer : undefined;
  } catch {
    return undefined;
  }
}

/** How many inputs an input.blocked record stands for: 1 for a burst's first, the summary's count otherwise. */
function blockedCount(details: string | null): number {
  if (details === null) return 1;
  try {
    const count = parseDetails(details)['count'];
    return typeof count === 'number' && Number.isSafeInteger(count) && count > 0 ? count : 1;
  } catch {
    return 1;
  }
}

export class SqlAuditQueries implements AuditQueries {
  readonly #db: Kysely<StoreSchema>;

  constructor(db: Kysely<StoreSchema>) {
    this.#db = db;
  }

  /**
   * Up to `limit` matching records in seq order `direction`, merged from every branch. Keys first,
   * rows after: a branch asks for seqs only, which an index on (column, seq) or (at_ms, seq)
   * answers without touching the table, and only the page's rows are read.
   */
  async #fetch(selection: AuditSelection, seq: SeqBounds, direction: 'asc' | 'desc', limit: number): Promise<AuditRecord[]> {
    const found = new Set<number>();
    for (const branch of branchesOf(selection)) {
      const rows = await this.#db.selectFrom('audit_log').select('seq')
        .where(eb => where(eb, selection, branch, seq))
        .orderBy('seq', direction).limit(limit)
        .execute();
      for (const row of rows) found.add(toInt(row.seq));
    }
    const seqs = [...found].sort((a, b) => direction === 'asc' ? a - b : b - a).slice(0, limit);
    if (seqs.length === 0) return [];
    const rows = await this.#db.selectFrom('audit_log').selectAll().where('seq', 'in', seqs).execute();
    const bySeq = new Map(rows.map(row => [toInt(row.seq), row]));
    // A row deleted between the two reads is simply not there: the page holds what exists.
    return seqs.flatMap((s) => {
      const row = bySeq.get(s);
      return row === undefined ? [] : [rowToRecord(row)];
    });
  }

  async #exists(selection: AuditSelection, seq: SeqBounds): Promise<boolean> {
    for (const branch of branchesOf(selection)) {
      const row = await this.#db.selectFrom('audit_log').select('seq').where(eb => where(eb, selection, branch, seq)).limit(1).executeTakeFirst();
      if (row !== undefined) return true;
    }
    return false;
  }

  async page(request: AuditPageRequest): Promise<AuditPage> {
    const { before, after, limit } = request;
    const order = request.order ?? 'desc';
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) throw new RangeError(`audit page limit must be 1 to ${MAX_PAGE_LIMIT}, got ${limit}`);
    checkSeq('before', before);
    checkSeq('after', after);
    // Which way the page reaches from its cursor: older from `before` (or from the newest), newer from `after` (or from the oldest).
    const travel: 'older' | 'newer' = before !== undefined && after === undefined ? 'older'
      : after !== undefined && before === undefined ? 'newer'
        : order === 'desc' ? 'older' : 'newer';
    const bounds = { below: before, above: after };
    const fetched = await this.#fetch(request, bounds, travel === 'older' ? 'desc' : 'asc', limit + 1);
    const more = fetched.length > limit;
    const records = fetched.slice(0, limit);
    const seqs = records.map(r => r.seq);
    const oldest = seqs.length === 0 ? undefined : Math.min(...seqs);
    const newest = seqs.length === 0 ? undefined : Math.max(...seqs);
    let older: number | undefined;
    let newer: number | undefined;
    // Anything on the other side of this page? Only a page that began at a cursor can have
    // something there (a first page starts at the newest or oldest match); asked with the page's
    // own edge, or the cursor's when the page is empty.
    if (travel === 'older') {
      if (more) older = oldest;
      const edge = before === undefined ? undefined : newest ?? before - 1;
      if (edge !== undefined && await this.#exists(request, { above: edge, below: undefined })) newer = edge;
    } else {
      if (more) newer = newest;
      const edge = after === undefined ? undefined : oldest ?? after + 1;
      if (edge !== undefined && await this.#exists(request, { below: edge, above: undefined })) older = edge;
    }
    records.sort((a, b) => order === 'asc' ? a.seq - b.seq : b.seq - a.seq);
    return { records, ...(older === undefined ? {} : { older }), ...(newer === undefined ? {} : { newer }) };
  }

  async count(selection: AuditSelection, upToSeq: number): Promise<number> {
    checkSeq('upToSeq', upToSeq);
    const branches = branchesOf(selection);
    if (branches.length === 0) return 0;
    // One pass with OR: counting has no order to follow, and a record in two branches counts once.
    const row = await this.#db.selectFrom('audit_log')
      .select(eb => eb.fn.countAll().as('n'))
      .where(eb => eb.or(branches.map(branch => where(eb, selection, branch, { upTo: upToSeq }))))
      .executeTakeFirst();
    return toInt(row?.n ?? 0);
  }

  async* scan(selection: AuditSelection, upToSeq: number, batchSize = 1000): AsyncGenerator<readonly AuditRecord[]> {
    checkSeq('upToSeq', upToSeq);
    let above = 0;
    for (;;) {
      const batch = await this.#fetch(selection, { above, upTo: upToSeq }, 'asc', batchSize);
      if (batch.length === 0) return;
      yield batch;
      if (batch.length < batchSize) return;
      above = batch[batch.length - 1]?.seq ?? upToSeq;
    }
  }

  async head(): Promise<ChainHead> {
    const row = await this.#db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
    if (row === undefined) throw new Error('the audit_head row is missing: the schema was changed outside the gateway');
    return { seq: toInt(row.seq), hash: row.hash };
  }

  async stats(request: AuditStatsRequest): Promise<AuditStats> {
    const { from, to } = rangeOf(request);
    const builder = new StatsBuilder();
    if (to > from && branchesOf(request).length > 0) {
      await this.#remoteTime(request, from, to, builder);
      await this.#controlChanges(request, from, to, builder);
      await this.#blockedActions(request, from, to, builder);
    }
    return {
      ...(request.from === undefined ? {} : { from: request.from }),
      to: new Date(to),
      totals: builder.totals,
      byBeamline: builder.byBeamline.sorted(),
      byBeamtime: builder.byBeamtime.sorted(),
      byPerson: builder.byPerson.sorted(),
    };
  }

  /** Rows of one code, oldest first, in batches of separate reads. */
  async* #rowsOf(code: AuditCode, selection: Selection): AsyncGenerator<StatsRow[]> {
    const coded = { ...selection, codes: [code] };
    let above = 0;
    for (;;) {
      const rows = await this.#db.selectFrom('audit_log').select(['seq', 'at_ms', 'actor', 'beamline', 'beamtime', 'details'])
        .where(eb => eb.or(branchesOf(coded).map(b => where(eb, coded, b, { above }))))
        .orderBy('seq').limit(STATS_BATCH)
        .execute();
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < STATS_BATCH) return;
      above = toInt(rows[rows.length - 1]?.seq ?? 0);
    }
  }

  /**
   * Connections from viewer.joined to the viewer.left with the same details.viewer, clipped to
   * [from, to). Joins are read from the start of the log (one that began before `from` may still
   * be open); a join without a leave lasts until `to`. Leaves are matched by viewer id only: the
   * join record decides beamline, beamtime and person.
   */
  async #remoteTime(selection: AuditSelection, from: number, to: number, builder: StatsBuilder): Promise<void> {
    const until = new Date(to);
    const joinsSelection: Selection = { ...selection, person: undefined, actor: selection.person, from: undefined, to: until };
    const leavesSelection: Selection = {
      beamlines: selection.beamlines, beamline: selection.beamline, desktop: selection.desktop, actor: selection.person, to: until,
    };
    const open = new Map<string, { at: number; counted: Counted }>();
    const finish = (start: number, end: number, counted: Counted): void => {
      const ms = Math.min(end, to) - Math.max(start, from);
      if (ms > 0 || (start >= from && start < to)) builder.add(counted, { remoteMs: Math.max(0, ms), connections: 1 });
    };
    const joins = this.#rowsOf('viewer.joined', joinsSelection);
    const leaves = this.#rowsOf('viewer.left', leavesSelection);
    // Merged by seq, so a leave meets its join (appended earlier) and the open set stays small.
    let joinBatch: StatsRow[] = [];
    let leaveBatch: StatsRow[] = [];
    let joinsDone = false;
    let leavesDone = false;
    for (;;) {
      if (joinBatch.length === 0 && !joinsDone) {
        const next = await joins.next();
        if (next.done === true) joinsDone = true;
        else joinBatch = next.value.reverse();
      }
      if (leaveBatch.length === 0 && !leavesDone) {
        const next = await leaves.next();
        if (next.done === true) leavesDone = true;
        else leaveBatch = next.value.reverse();
      }
      const join = joinBatch.at(-1);
      const leave = leaveBatch.at(-1);
      if (join === undefined && leave === undefined) break;
      if (join !== undefined && (leave === undefined || toInt(join.seq) < toInt(leave.seq))) {
        joinBatch.pop();
        const viewer = viewerOf(join);
        const counted = { beamline: join.beamline, beamtime: join.beamtime, people: [join.actor] };
        if (viewer === undefined) finish(toInt(join.at_ms), to, counted);
        else open.set(viewer, { at: toInt(join.at_ms), counted });
      } else if (leave !== undefined) {
        leaveBatch.pop();
        const viewer = viewerOf(leave);
        const started = viewer === undefined ? undefined : open.get(viewer);
        if (viewer === undefined || started === undefined) continue;
        open.delete(viewer);
        finish(started.at, toInt(leave.at_ms), started.counted);
      }
    }
    for (const started of open.values()) finish(started.at, to, started.counted);
  }

  async #controlChanges(selection: AuditSelection, from: number, to: number, builder: StatsBuilder): Promise<void> {
    const ranged = { ...selection, codes: ['control.transition' as const], from: Number.isFinite(from) ? new Date(from) : undefined, to: new Date(to) };
    const rows = await this.#db.selectFrom('audit_log')
      .select(eb => ['beamline', 'beamtime', 'actor', 'subject', eb.fn.countAll().as('n')])
      .where(eb => eb.or(branchesOf(ranged).map(b => where(eb, ranged, b, {}))))
      .groupBy(['beamline', 'beamtime', 'actor', 'subject'])
      .execute();
    for (const row of rows) {
      const involved = row.subject === null || row.subject === row.actor ? [row.actor] : [row.actor, row.subject];
      // With a person asked for, the other party of their records is not what was asked about.
      const people = selection.person === undefined ? involved : [selection.person];
      builder.add({ beamline: row.beamline, beamtime: row.beamtime, people }, { controlChanges: toInt(row.n) });
    }
  }

  async #blockedActions(selection: AuditSelection, from: number, to: number, builder: StatsBuilder): Promise<void> {
    const ranged = {
      ...selection, person: undefined, actor: selection.person, from: Number.isFinite(from) ? new Date(from) : undefined, to: new Date(to),
    };
    for await (const rows of this.#rowsOf('input.blocked', ranged)) {
      for (const row of rows) {
        builder.add({ beamline: row.beamline, beamtime: row.beamtime, people: [row.actor] }, { blockedActions: blockedCount(row.details) });
      }
    }
  }

  async checkChain(): Promise<ChainCheck> {
    const walker = new ChainWalker();
    let after = Number.MIN_SAFE_INTEGER;
    // Each page its own read: appends go on meanwhile. They only add records past the end, which
    // the final read (head and the rest, in one snapshot) sees together.
    for (;;) {
      const rows = await this.#db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(CHECK_PAGE).execute();
      const verdict = feed(walker, rows);
      if (verdict !== undefined) return verdict;
      after = rows.length === 0 ? after : toInt(rows[rows.length - 1]?.seq ?? after);
      if (rows.length < CHECK_PAGE) break;
    }
    for (;;) {
      const outcome = await this.#db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (trx) => {
        const headRow = await trx.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
        const rows = await trx.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(CHECK_PAGE).execute();
        const verdict = feed(walker, rows);
        if (verdict !== undefined) return { verdict };
        if (rows.length === CHECK_PAGE) return { after: toInt(rows[rows.length - 1]?.seq ?? after) };
        const head: ChainHead | null = headRow === undefined ? null : { seq: toInt(headRow.seq), hash: headRow.hash };
        return { verdict: walker.finish(head) };
      });
      if (outcome.verdict !== undefined) return outcome.verdict;
      after = outcome.after;
    }
  }
}

/** Feeds rows to the walker; a verdict once the chain is broken, else undefined. */
function feed(walker: ChainWalker, rows: readonly Selectable<AuditLogTable>[]): ChainCheck | undefined {
  for (const row of rows) {
    let record: AuditRecord;
    try {
      record = rowToRecord(row);
    } catch (e) {
      walker.unreadable(toInt(row.seq), reason(e));
      return walker.finish();
    }
    if (!walker.next(record)) return walker.finish();
  }
  return undefined;
}
