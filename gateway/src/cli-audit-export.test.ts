// `beamgate audit export` run as a child process, the way an operator runs it, against SQLite and
// PostgreSQL: CSV to stdout, JSON to a file whose records check out offline, the filters, usage
// errors, an unreachable database; and that it writes nothing into the log it reads.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuditEvent, AuditRecord } from '../../session-recorder/src/audit/audit-record.js';
import { checkChain, hashRecord } from '../../session-recorder/src/audit/hash-chain.js';
import { EXPORT_COLUMNS } from './audit/audit-export.js';
import { runCli } from './cli.js';
import { describeEachBackend } from './store/testing/backends.js';
import type { StoreConfig } from './store/types.js';
import { parseCsv } from './testing/csv.js';

const CLI = fileURLToPath(new URL('./cli.js', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function beamgate(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function storeArgs(config: StoreConfig): string[] {
  return config.kind === 'sqlite' ? ['--sqlite', config.file] : ['--postgres', config.url, '--schema', config.schema ?? 'public'];
}

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);
const EVENTS: AuditEvent[] = [
  { code: 'auth.login', at: at(0), actor: 'F-1001', message: 'Alice logged in' },
  { code: 'viewer.joined', at: at(1), actor: 'F-1001', beamline: 'p11', target: 'p11-desk', message: 'joined', details: { viewer: 'v1' } },
  { code: 'control.transition', at: at(2), actor: 'F-2001', subject: 'F-1001', beamline: 'p11', message: '=take-over, "quoted", two\nlines' },
  { code: 'input.blocked', at: at(3), actor: 'F-1001', beamline: 'p11', message: '-blocked', details: { rule: 'r', count: 3 } },
  { code: 'control.transition', at: at(70), actor: 'F-1001', subject: 'F-1001', beamline: 'p21', message: 'request' },
];

describeEachBackend('beamgate audit export', (backend) => {
  let config: StoreConfig;
  let records: AuditRecord[];
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'beamgate-export-'));
    const opened = await backend.open();
    config = opened.config;
    records = [];
    for (const event of EVENTS) records.push(await opened.store.audit.append(event));
    await opened.store.close();
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every record as CSV to stdout, oldest first, and says what it wrote on stderr', async () => {
    const run = await beamgate('audit', 'export', ...storeArgs(config), '--format', 'csv');
    assert.equal(run.code, 0, run.stderr);
    const rows = parseCsv(run.stdout);
    assert.deepEqual(rows[0], [...EXPORT_COLUMNS]);
    assert.deepEqual(rows.slice(1).map(r => Number(r[0])), [1, 2, 3, 4, 5]);
    assert.equal(rows[3]?.[EXPORT_COLUMNS.indexOf('message')], '\'=take-over, "quoted", two\nlines');
    assert.equal(rows[4]?.[EXPORT_COLUMNS.indexOf('message')], '\'-blocked');
    assert.equal(run.stderr, `exported 5 audit records as CSV (up to record 5, head ${records[4]!.hash})\n`);
  });

  it('writes the filtered records as JSON to a file, which checks out offline; nothing is left half-written', async () => {
    const out = join(dir, `export-${backend.kind}.json`);
    const run = await beamgate('audit', 'export', ...storeArgs(config), '--format', 'json', '--person', 'F-1001', '--kind', 'control.*',
      '--kind', 'input.blocked', '--from', '2026-01-05T08:00', '--to', '2026-01-05T09:00Z', '--out', out);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, new RegExp(`exported 2 audit records as JSON \\(up to record 5, head [0-9a-f]{64}\\) to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { count: number; filter: Record<string, string>; exportedBy: string; records: (AuditRecord & { at: string })[] };
    assert.equal(doc.count, 2);
    assert.deepEqual(doc.filter, { person: 'F-1001', from: '2026-01-05T08:00', to: '2026-01-05T09:00Z', kind: 'control.*,input.blocked' });
    assert.match(doc.exportedBy, /^cli:/);
    assert.deepEqual(doc.records.map(r => r.seq), [3, 4]);
    for (const r of doc.records) assert.equal(hashRecord(r as unknown as AuditRecord), r.hash);
    // Consecutive records link: 3 and 4 form an intact run after record 2.
    const run34 = doc.records.map(r => ({ ...r, at: new Date(r.at) })) as AuditRecord[];
    assert.equal(run34[1]?.prevHash, run34[0]?.hash);
    assert.equal(checkChain([...records.slice(0, 2), ...run34]).ok, true);
    assert.deepEqual(readdirSync(dir).filter(name => name.includes('.partial')), []);
  });

  it('reads only: the log has the same records and verifies afterwards', async () => {
    const check = await beamgate('audit', 'verify', ...storeArgs(config));
    assert.equal(check.stdout, `audit log OK: 5 records, head ${records[4]!.hash}\n`);
  });

  it('fails with exit 3 and leaves no file when the output cannot be written', async () => {
    const out = join(dir, 'no-such-dir', 'x.csv');
    const run = await beamgate('audit', 'export', ...storeArgs(config), '--format', 'csv', '--out', out);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /^beamgate: the export failed: .*ENOENT/);
    assert.equal(existsSync(out), false);
  });
});

describe('beamgate audit export: usage', () => {
  it('returns 2 with the reason and the usage, without opening a store', async () => {
    const opened: unknown[] = [];
    const open = (c: unknown): Promise<never> => {
      opened.push(c);
      return Promise.reject(new Error('must not open'));
    };
    for (const [args, reason] of [
      [['--sqlite', 'a.db'], /--format csv or --format json/],
      [['--sqlite', 'a.db', '--format', 'xml'], /format: Invalid option/],
      [['--sqlite', 'a.db', '--format', 'csv', '--kind', 'nope'], /"nope" is not an event kind/],
      [['--sqlite', 'a.db', '--format', 'csv', '--from', 'last tuesday'], /from: must be a time/],
      [['--sqlite', 'a.db', '--format', 'csv', '--person', 'x\' OR 1=1'], /person: must be an id/],
      [['--sqlite', 'a.db', '--format', 'csv', '--limit', '5'], /Unknown option '--limit'/],
      [['--format', 'csv'], /say where the audit log is/],
      [['--sqlite', 'a.db', '--format', 'csv', '--out', ''], /--out needs a file name/],
    ] as const) {
      const err: string[] = [];
      const code = await runCli(['audit', 'export', ...args], { out: () => undefined, err: line => err.push(line) }, open);
      assert.equal(code, 2, args.join(' '));
      assert.match(err[0] ?? '', reason, args.join(' '));
      assert.match(err[1] ?? '', /^usage: beamgate audit export/);
    }
    assert.deepEqual(opened, []);
  });

  it('exits 3 when the database cannot be opened, without printing the password', async () => {
    const run = await beamgate('audit', 'export', '--postgres', 'postgres://admin:hunter2@127.0.0.1:1/beamgate', '--format', 'csv');
    assert.equal(run.code, 3);
    assert.match(run.stderr, /^beamgate: could not open the audit log: cannot reach PostgreSQL 127\.0\.0\.1:1\/beamgate/);
    assert.equal(run.stderr.includes('hunter2'), false);
    assert.equal(run.stdout, '');
  });
});
