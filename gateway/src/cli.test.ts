// `beamgate audit verify` run as a child process, the way an operator or a cron job runs it:
// exit status and messages for an intact log, a tampered one, and usage errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { openStore } from './store/store.js';
import { runCli, storeConfigFromArgs, UsageError } from './cli.js';
import type { AuditRecord } from '../../session-recorder/src/audit/audit-record.js';
import type { Store } from './store/types.js';

const CLI = fileURLToPath(new URL('./cli.js', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function beamgate(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('beamgate audit verify', () => {
  let dir: string;
  let records: AuditRecord[];

  /** A fresh copy of a 5-record log, to tamper with. */
  async function logFile(name: string): Promise<string> {
    const file = join(dir, `${name}.db`);
    const store = await openStore({ kind: 'sqlite', file }, { tokenKey: randomBytes(32) });
    records = [];
    for (let n = 1; n <= 5; n++) {
      records.push(await store.audit.append({ code: 'viewer.joined', at: new Date(Date.UTC(2025, 0, 1, 0, n)), actor: `u${n}`, message: `joined ${n}` }));
    }
    await store.close();
    return file;
  }

  function tamper(file: string, statement: string): void {
    const db = new Database(file);
    try {
      db.prepare(statement).run();
    } finally {
      db.close();
    }
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'beamgate-cli-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('says OK with the record count and head hash, exit 0', async () => {
    const file = await logFile('intact');
    const run = await beamgate('audit', 'verify', '--sqlite', file);
    assert.equal(run.stdout, `audit log OK: 5 records, head ${records[4]!.hash}\n`);
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
  });

  it('says BROKEN at the edited record, exit 1', async () => {
    const file = await logFile('edited');
    tamper(file, `update audit_log set actor = 'mallory' where seq = 3`);
    const run = await beamgate('audit', 'verify', '--sqlite', file);
    assert.equal(run.stdout, 'audit log BROKEN at record 3: record 3 was changed after it was written: its content does not match its hash\n');
    assert.equal(run.code, 1);
  });

  it('says BROKEN at a deleted middle record and at a deleted last record, exit 1', async () => {
    const middle = await logFile('middle');
    tamper(middle, 'delete from audit_log where seq = 2');
    const runMiddle = await beamgate('audit', 'verify', '--sqlite', middle);
    assert.equal(runMiddle.stdout, 'audit log BROKEN at record 2: record 2 is missing (the log jumps from 1 to 3): deleted\n');
    assert.equal(runMiddle.code, 1);
    const last = await logFile('last');
    tamper(last, 'delete from audit_log where seq = 5');
    const runLast = await beamgate('audit', 'verify', '--sqlite', last);
    assert.equal(runLast.stdout, 'audit log BROKEN at record 5: the log ends at record 4 but its head says 5: record 5 was deleted\n');
    assert.equal(runLast.code, 1);
  });

  it('changes nothing in the database it checks', async () => {
    const file = await logFile('untouched');
    tamper(file, 'drop table kysely_migration');
    const run = await beamgate('audit', 'verify', '--sqlite', file);
    assert.equal(run.code, 3);
    const pending = ['0001_initial', '0002_sessions_and_recordings', '0003_audit_paging'].join(', ');
    assert.ok(run.stderr.includes(`is not a current Beamgate database (migrations not run: ${pending})`), run.stderr);
    assert.match(run.stderr, /\[GW_ERR_STORE_MIGRATION\]/);
    const db = new Database(file);
    try {
      assert.deepEqual(db.prepare(`select count(*) as n from sqlite_master where name = 'kysely_migration'`).get(), { n: 0 }, 'verify did not migrate');
    } finally {
      db.close();
    }
  });

  it('exits 3 when it cannot check: no such file, unreachable PostgreSQL (without printing the password)', async () => {
    const missing = await beamgate('audit', 'verify', '--sqlite', join(dir, 'nope.db'));
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /^beamgate: could not check the audit log: cannot open the SQLite file .*nope\.db/);
    assert.match(missing.stderr, /\[GW_ERR_STORE_UNAVAILABLE\]\n$/);
    const down = await beamgate('audit', 'verify', '--postgres', 'postgres://admin:hunter2@127.0.0.1:1/beamgate');
    assert.equal(down.code, 3);
    assert.match(down.stderr, /cannot reach PostgreSQL 127\.0\.0\.1:1\/beamgate schema public/);
    assert.equal(down.stderr.includes('hunter2'), false);
  });

  it('exits 2 with the usage on a usage error', async () => {
    const run = await beamgate('audit', 'verify', '--sqlite', 'a.db', '--frobnicate');
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^beamgate: Unknown option '--frobnicate'.*\nusage: beamgate audit verify/s);
  });
});

describe('runCli', () => {
  it('returns 2 and prints the usage for every usage error, without opening a store', async () => {
    const opened: unknown[] = [];
    const open = (config: unknown): Promise<never> => {
      opened.push(config);
      return Promise.reject(new Error('must not open'));
    };
    for (const args of [
      [],
      ['--help'],
      ['audit'],
      ['audit', 'check'],
      ['verify', 'audit'],
      ['audit', 'verify'],
      ['audit', 'verify', '--sqlite', 'a.db', '--postgres', 'postgres://x@h/d'],
      ['audit', 'verify', '--sqlite'],
      ['audit', 'verify', '--sqlite', 'a.db', '--frobnicate'],
      ['audit', 'verify', '--sqlite', 'a.db', 'extra'],
      ['audit', 'verify', '--config', 'no-such-beamgate.yaml'],
      ['audit', 'verify', '--postgres', 'mysql://h/d'],
    ]) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(args, { out: line => out.push(line), err: line => err.push(line) }, open);
      assert.equal(code, 2, `beamgate ${args.join(' ')}`);
      assert.deepEqual(out, []);
      assert.match(err[0] ?? '', /^beamgate: ./, `beamgate ${args.join(' ')}`);
      assert.match(err[1] ?? '', /^usage: beamgate audit verify/);
    }
    assert.deepEqual(opened, []);
  });

  it('returns 3 when the check itself fails, and still closes the store', async () => {
    let closed = false;
    const store = {
      audit: { verify: () => Promise.reject(new Error('Connection terminated unexpectedly')) },
      close: () => {
        closed = true;
        return Promise.resolve();
      },
    } as unknown as Store;
    const err: string[] = [];
    const code = await runCli(['audit', 'verify', '--postgres', 'postgres://bg@db/bg'], { out: () => undefined, err: line => err.push(line) }, () => Promise.resolve(store));
    assert.equal(code, 3);
    assert.deepEqual(err, ['beamgate: could not check the audit log: Connection terminated unexpectedly']);
    assert.equal(closed, true);
  });
});

describe('storeConfigFromArgs', () => {
  it('maps --sqlite and --postgres/--schema to a StoreConfig', () => {
    assert.deepEqual(storeConfigFromArgs({ sqlite: '/var/lib/beamgate/beamgate.db' }), { kind: 'sqlite', file: '/var/lib/beamgate/beamgate.db' });
    assert.deepEqual(storeConfigFromArgs({ postgres: 'postgres://bg@db/bg', schema: 'gw' }), { kind: 'postgres', url: 'postgres://bg@db/bg', schema: 'gw' });
    assert.deepEqual(storeConfigFromArgs({ postgres: 'postgresql://bg@db/bg', config: 'ignored-when-a-flag-names-the-store.yaml' }), {
      kind: 'postgres', url: 'postgresql://bg@db/bg', schema: undefined,
    });
  });

  it('refuses what does not name exactly one store', () => {
    const namesBoth = /--sqlite FILE or --postgres URL/;
    assert.throws(() => storeConfigFromArgs({}), (e: unknown) => e instanceof UsageError && namesBoth.test(e.message));
    assert.throws(() => storeConfigFromArgs({ sqlite: 'a', postgres: 'postgres://b' }), /not both/);
    assert.throws(() => storeConfigFromArgs({ sqlite: 'a', schema: 's' }), /--schema goes with --postgres/);
    assert.throws(() => storeConfigFromArgs({ config: 'no-such.yaml' }), /no-such\.yaml: cannot read the configuration file/);
  });

  it('finds the store the gateway uses from its configuration file', () => {
    const config = storeConfigFromArgs({ config: 'docs/beamgate.example.yaml' });
    assert.deepEqual(config, { kind: 'sqlite', file: '/var/lib/beamgate/beamgate.sqlite' });
  });
});
