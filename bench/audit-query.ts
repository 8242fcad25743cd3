// Audit queries on a large log: fills a fresh SQLite file and a fresh PostgreSQL schema with N
// correctly chained records (default 1,000,000: a year of a 12-beamline facility), then times the
// safety officer's queries through the store (SqlAuditQueries), median of several runs each:
// first page, a deep page by keyset, filtered pages (beamline, person, kind, time range, all of
// them), statistics over the whole range and over a week, and the chain check.
// Usage: node dist/bench/audit-query.js [records=1000000] [runs=7] [sqlite|postgres|both=both]
// PostgreSQL: BEAMGATE_TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/test (a schema
// bench_audit_<random> is created and dropped).
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { AuditCode, AuditEvent, ChainHead } from '../session-recorder/src/audit/audit-record.js';
import { exportText } from '../gateway/src/audit/audit-export.js';
import { openStore } from '../gateway/src/store/store.js';
import { bulkAppend } from '../gateway/src/store/testing/bulk-audit.js';
import { POSTGRES_TEST_URL } from '../gateway/src/store/testing/backends.js';
import type { AuditPageRequest, AuditQueries, AuditSelection, AuditStatsRequest, Store, StoreConfig } from '../gateway/src/store/types.js';

const records = Number(process.argv[2] ?? 1_000_000);
const runs = Number(process.argv[3] ?? 7);
const which = process.argv[4] ?? 'both';

const T0 = Date.UTC(2025, 10, 1);
const YEAR_MS = 365 * 24 * 3_600_000;
const BEAMLINES = Array.from({ length: 12 }, (_, i) => `p${String(i + 1).padStart(2, '0')}`);
const PEOPLE = Array.from({ length: 400 }, (_, i) => `F-${1000 + i}`);

/** A deterministic year of events: viewers join and leave in pairs, control changes and blocks happen while they are there. */
function* facilityYear(count: number): Generator<AuditEvent> {
  let state = 42;
  const rnd = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const pick = <T>(list: readonly T[]): T => list[rnd(list.length)] as T;
  const step = YEAR_MS / count;
  const open: { viewer: string; actor: string; beamline: string; beamtime: string; session: string; leaveAt: number }[] = [];
  let t = T0;
  let viewers = 0;
  const weighted: [AuditCode, number][] = [
    ['viewer.joined', 10], ['control.transition', 15], ['control.refused', 2], ['control.joined', 5], ['control.left', 5], ['input.blocked', 5],
    ['auth.login', 10], ['auth.logout', 5], ['access.denied', 3], ['session.opened', 2], ['session.closed', 2], ['recording.started', 2],
    ['recording.stopped', 2], ['useroffice.reloaded', 10], ['instruction.acknowledged', 1], ['policy.revoked', 1],
  ];
  const total = weighted.reduce((sum, [, w]) => sum + w, 0);
  for (let n = 0; n < count; n++) {
    t += rnd(Math.ceil(2 * step));
    const due = open.findIndex(v => v.leaveAt <= t);
    const at = new Date(t);
    if (due >= 0 || open.length > 300) {
      const [v] = open.splice(Math.max(due, 0), 1);
      if (v !== undefined) {
        yield {
          code: 'viewer.left', at, actor: v.actor, beamline: v.beamline, beamtime: v.beamtime, target: `${v.beamline}-desk`, session: v.session,
          address: '192.0.2.10', message: `${v.actor} left ${v.beamline}-desk (closed by the browser)`, details: { viewer: v.viewer, bytesToBrowser: rnd(1e9), blockedByPolicy: rnd(5) },
        };
        continue;
      }
    }
    let r = rnd(total);
    let code: AuditCode = 'auth.login';
    for (const [c, w] of weighted) {
      if (r < w) {
        code = c;
        break;
      }
      r -= w;
    }
    const beamline = pick(BEAMLINES);
    const week = Math.floor((t - T0) / (7 * 24 * 3_600_000));
    const beamtime = `BT-${beamline}-${week}`;
    const actor = pick(PEOPLE);
    const base = { at, actor, beamline, beamtime, target: `${beamline}-desk`, session: `ses-${beamline}-${Math.floor((t - T0) / 3_600_000 / 8)}` };
    switch (code) {
      case 'viewer.joined': {
        const viewer = `v-${++viewers}`;
        open.push({ viewer, actor, beamline, beamtime, session: base.session, leaveAt: t + 600_000 + rnd(4 * 3_600_000) });
        yield { ...base, code, address: '192.0.2.10', message: `${actor} connected to ${beamline}-desk`, details: { viewer, interactive: rnd(2) === 0 } };
        break;
      }
      case 'control.transition':
        yield { ...base, code, subject: pick(PEOPLE), message: `${beamline}-desk: request (free -> held by ${actor})`, details: { transition: 1, from: 'free', to: `held by ${actor}`, reason: 'request' } };
        break;
      case 'input.blocked':
        yield { ...base, code, message: 'input blocked by rule no-vt-switch', details: rnd(3) === 0 ? { rule: 'no-vt-switch', viewer: 'v', count: rnd(50) + 1, from: t - 5000, to: t } : { rule: 'no-vt-switch', viewer: 'v' } };
        break;
      case 'auth.login':
      case 'auth.logout':
      case 'access.denied':
        yield { code, at, actor, address: '198.51.100.7', message: `${actor} ${code}`, details: { roles: ['user'] } };
        break;
      case 'useroffice.reloaded':
        yield { code, at, actor: 'system', message: 'user-office data reloaded from /etc/beamgate/user-office.yaml', details: { beamlines: 12, beamtimes: 600 } };
        break;
      case 'viewer.left': case 'control.refused': case 'control.joined': case 'control.left': case 'session.opened': case 'session.closed':
      case 'recording.started': case 'recording.stopped': case 'recording.failed': case 'recording.deleted': case 'recording.viewed':
      case 'instruction.acknowledged': case 'policy.revoked': case 'viewer.protocol_error': case 'auth.login_failed': case 'auth.session_ended':
      case 'useroffice.rejected': case 'input.policy_loaded': case 'input.policy_rejected': case 'gateway.started': case 'gateway.stopped':
      case 'audit.exported':
        yield { ...base, code, message: `${code} on ${beamline}` };
    }
  }
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function timed<T>(work: () => Promise<T>, times = runs): Promise<{ ms: number; result: T }> {
  let result = await work(); // warm-up, not counted
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    result = await work();
    samples.push(performance.now() - started);
  }
  return { ms: median(samples), result };
}

/** Builds the whole export text (as the HTTP export and the CLI do) and returns how many characters it has. */
async function exportLength(format: 'csv' | 'json', q: AuditQueries, selection: AuditSelection, head: ChainHead): Promise<{ chars: number }> {
  let chars = 0;
  const header = { exportedAt: new Date(), exportedBy: 'bench', filter: {}, head, count: 0 };
  for await (const piece of exportText(format, header, q.scan(selection, head.seq, 1000))) chars += piece.length;
  return { chars };
}

async function measure(kind: string, store: Store): Promise<Record<string, number>> {
  const q: AuditQueries = store.auditQueries;
  const head = await q.head();
  const middle = Math.floor(head.seq / 2);
  const day = new Date(T0 + YEAR_MS / 2);
  const page = (request: Omit<AuditPageRequest, 'limit'>) => () => q.page({ limit: 50, ...request });
  const stats = (request: Omit<AuditStatsRequest, 'now'>) => () => q.stats({ now: new Date(T0 + YEAR_MS + 86_400_000), ...request });
  const cases: [string, () => Promise<unknown>, number?][] = [
    ['first page (newest 50)', page({})],
    ['deep page (before the middle seq)', page({ before: middle })],
    ['oldest page (order asc)', page({ order: 'asc' })],
    ['beamline, first page', page({ beamline: 'p07' })],
    ['beamline, deep page', page({ beamline: 'p07', before: middle })],
    ['person (actor or subject), first page', page({ person: 'F-1234' })],
    ['person, deep page', page({ person: 'F-1234', before: middle })],
    ['kind control.* (4 codes), first page', page({ codes: ['control.transition', 'control.refused', 'control.joined', 'control.left'] })],
    ['kind input.blocked, deep page', page({ codes: ['input.blocked'], before: middle })],
    ['time range (one day mid-year), first page', page({ from: day, to: new Date(day.getTime() + 86_400_000) })],
    ['time range (one day mid-year), deep page', page({ from: day, to: new Date(day.getTime() + 86_400_000), before: middle })],
    ['time range (half a year), first page', page({ from: new Date(T0 + YEAR_MS / 4), to: new Date(T0 + (3 * YEAR_MS) / 4) })],
    ['time range (the first month only), first page', page({ to: new Date(T0 + YEAR_MS / 12) })],
    ['beamline + kind (3 codes) + week', page({ beamline: 'p07', codes: ['viewer.joined', 'viewer.left', 'control.transition'], from: day, to: new Date(day.getTime() + 7 * 86_400_000) })],
    ['person + kind control.transition', page({ person: 'F-1234', codes: ['control.transition'] })],
    ['beamline scope of 3 (local contact), first page', page({ beamlines: ['p01', 'p02', 'p03'] })],
    ['count (export pre-count), one beamline', () => q.count({ beamline: 'p07' }, head.seq), 3],
    ['export one beamline as CSV text (all its records)', () => exportLength('csv', q, { beamline: 'p07' }, head), 1],
    ['export one beamline as JSON text (all its records)', () => exportLength('json', q, { beamline: 'p07' }, head), 1],
    ['stats, whole range', stats({}), 3],
    ['stats, one week mid-year', stats({ from: day, to: new Date(day.getTime() + 7 * 86_400_000) }), 3],
    ['stats, one beamline, whole range', stats({ beamline: 'p07' }), 3],
    ['chain check (whole log, short reads)', () => q.checkChain(), 1],
  ];
  const results: Record<string, number> = {};
  for (const [name, work, times] of cases) {
    const { ms, result } = await timed(work, times ?? runs);
    results[name] = Math.round(ms * 10) / 10;
    const shown = result as { records?: unknown[]; chars?: number } | undefined;
    const size = Array.isArray(shown?.records) ? ` (${shown.records.length} records)` : shown?.chars === undefined ? '' : ` (${shown.chars} characters)`;
    process.stderr.write(`${kind}\t${name}\t${results[name]} ms${size}\n`);
    const verdict = result as { ok?: boolean; problem?: string };
    if (verdict.ok === false) throw new Error(`the filled log does not verify: ${verdict.problem ?? ''}`);
  }
  return results;
}

async function fill(config: StoreConfig): Promise<{ store: Store; fillSeconds: number }> {
  const store = await openStore(config, { tokenKey: randomBytes(32) });
  const started = performance.now();
  await bulkAppend(config, facilityYear(records), { perTransaction: 20_000, rebuildIndexes: true });
  return { store, fillSeconds: Math.round((performance.now() - started) / 100) / 10 };
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = { records, runs };
  if (which === 'sqlite' || which === 'both') {
    const dir = mkdtempSync(join(tmpdir(), 'beamgate-bench-audit-'));
    try {
      const { store, fillSeconds } = await fill({ kind: 'sqlite', file: join(dir, 'audit.sqlite') });
      process.stderr.write(`sqlite\tfilled ${records} records in ${fillSeconds} s\n`);
      out['sqlite'] = { fillSeconds, ...(await measure('sqlite', store)) };
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (which === 'postgres' || which === 'both') {
    const schema = `bench_audit_${randomBytes(4).toString('hex')}`;
    try {
      const { store, fillSeconds } = await fill({ kind: 'postgres', url: POSTGRES_TEST_URL, schema });
      process.stderr.write(`postgres\tfilled ${records} records in ${fillSeconds} s\n`);
      out['postgres'] = { fillSeconds, ...(await measure('postgres', store)) };
      await store.close();
    } finally {
      const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
