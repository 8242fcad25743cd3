#!/usr/bin/env node
// `beamgate`: the operator's command line. Today one command, `beamgate audit verify`, which
// recomputes the audit log's hash chain and compares it with the head row. It only reads: it
// never migrates, repairs or writes the database it checks, and never prints a password.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config.js';
import { storeConfigOf } from './store/store-config.js';
import { openStore, type StoreOptions } from './store/store.js';
import type { Store, StoreConfig } from './store/types.js';
import { RECORDINGS_USAGE, runRecordingsCli } from './cli-recordings.js';
import { AUDIT_EXPORT_USAGE, runAuditExportCli } from './cli-audit-export.js';
import { openExistingStore, parseOrExplain } from './cli-common.js';

export const CLI_USAGE = `usage: beamgate audit verify [--config FILE] [--sqlite FILE | --postgres URL [--schema NAME]]

  Recomputes the audit log's hash chain and checks it against the head row: reports the first
  record that was deleted or changed.

  --sqlite FILE     the gateway's SQLite database
  --postgres URL    postgres://USER@HOST:PORT/DATABASE (give the password in PGPASSWORD, not the URL)
  --schema NAME     the PostgreSQL schema the gateway uses (default: public)
  --config FILE     the gateway's configuration file (its dataDir and store sections)

exit status: 0 intact, 1 broken (records deleted or changed), 2 usage error, 3 could not check (database unreachable or not a Beamgate database)

${AUDIT_EXPORT_USAGE}

${RECORDINGS_USAGE}`;

export const EXIT = { ok: 0, broken: 1, usage: 2, unavailable: 3 } as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The options of `audit verify` that say where the store is. */
export interface StoreArgs {
  readonly config?: string | undefined;
  readonly sqlite?: string | undefined;
  readonly postgres?: string | undefined;
  readonly schema?: string | undefined;
}

/**
 * Where the store is, from the command line: --sqlite or --postgres name it directly; --config
 * reads the gateway's configuration file, so the command finds the store as the gateway does.
 */
export function storeConfigFromArgs(args: StoreArgs): StoreConfig {
  if (args.sqlite !== undefined && args.postgres !== undefined) throw new UsageError('give either --sqlite FILE or --postgres URL, not both');
  if (args.schema !== undefined && args.postgres === undefined) throw new UsageError('--schema goes with --postgres URL');
  if (args.sqlite !== undefined) {
    if (args.sqlite === '') throw new UsageError('--sqlite needs a file name');
    return { kind: 'sqlite', file: args.sqlite };
  }
  if (args.postgres !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(args.postgres)) throw new UsageError('--postgres expects a URL such as postgres://beamgate@db.example.org:5432/beamgate');
    return { kind: 'postgres', url: args.postgres, schema: args.schema };
  }
  if (args.config !== undefined) {
    try {
      return storeConfigOf(loadConfigFile(args.config));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  throw new UsageError('say where the audit log is: --sqlite FILE or --postgres URL');
}

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export type StoreOpener = (config: StoreConfig, options: StoreOptions) => Promise<Store>;

/** Runs the command line; returns the exit status. Never throws for what the operator typed or for an unreachable database. */
export async function runCli(argv: readonly string[], io: CliIo, open: StoreOpener = openStore): Promise<number> {
  if (argv[0] === 'recordings') return runRecordingsCli(argv.slice(1), io, open);
  if (argv[0] === 'audit' && argv[1] === 'export') return runAuditExportCli(argv.slice(2), io, open);
  const config = parseOrExplain(() => parseCommand(argv), io, CLI_USAGE);
  if (config === undefined) return EXIT.usage;
  const store = await openExistingStore(config, io, open, 'check the audit log');
  if (store === undefined) return EXIT.unavailable;
  try {
    const check = await store.audit.verify();
    if (check.ok) {
      io.out(`audit log OK: ${check.records} records, head ${check.headHash}`);
      return EXIT.ok;
    }
    io.out(`audit log BROKEN at record ${check.firstBadSeq}: ${check.problem}`);
    return EXIT.broken;
  } catch (e) {
    io.err(`beamgate: could not check the audit log: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.unavailable;
  } finally {
    await store.close().catch(() => undefined);
  }
}

function parseCommand(argv: readonly string[]): StoreConfig {
  const [group, command, ...rest] = argv;
  if (group === undefined || group === '--help' || group === '-h') throw new UsageError('no command given');
  if (group !== 'audit' || command !== 'verify') throw new UsageError(`unknown command: ${[group, command].filter(w => w !== undefined).join(' ')}`);
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { config: { type: 'string' }, sqlite: { type: 'string' }, postgres: { type: 'string' }, schema: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return storeConfigFromArgs(values);
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  process.exitCode = await runCli(process.argv.slice(2), {
    out: line => process.stdout.write(`${line}\n`),
    err: line => process.stderr.write(`${line}\n`),
  });
}
