// `beamgate recordings list|verify|prune`: the operator's view of the recordings index and files.
// list and verify only read; prune deletes expired recordings and audits each deletion, as the
// gateway itself does every pruneIntervalMinutes.
import { parseArgs } from 'node:util';
import pino from 'pino';
import { AuditWriter } from './audit/audit-writer.js';
import { loadConfigFile, recordingsDirectory } from './config.js';
import { pruneRecordings, recordingPath } from './recording/retention.js';
import type { RecordingEntry, Store, StoreConfig } from './store/types.js';
import { formatMs, indexRecording } from '../../session-recorder/src/recording/recording-reader.js';
import { storeConfigFromArgs, UsageError, type CliIo, type StoreOpener } from './cli.js';
import { openExistingStore, parseOrExplain } from './cli-common.js';

export const RECORDINGS_USAGE = `usage: beamgate recordings list   [STORE] [--dir DIR] [--desktop ID] [--beamline ID] [--from ISO] [--to ISO] [--all]
       beamgate recordings verify [STORE] [--dir DIR] [ID ...]
       beamgate recordings prune  [STORE] [--dir DIR] [--dry-run]

  STORE is --config FILE (the gateway's configuration: store, dataDir, recordings.directory),
  or --sqlite FILE | --postgres URL [--schema NAME] together with --dir DIR (the recordings directory).
  list     the recordings in the index, newest first (--all: deleted ones too)
  verify   reads each file (all, or the ids given): complete, cut short (crash) or damaged, and where
  prune    deletes recordings whose retention ended and audits each deletion (--dry-run: only list them)

exit status: 0 fine, 1 verify found a damaged or missing file, 2 usage error, 3 store unreachable`;

interface RecordingsArgs {
  readonly command: 'list' | 'verify' | 'prune';
  readonly store: StoreConfig;
  readonly directory: string | undefined;
  readonly values: Record<string, string | boolean | undefined>;
  readonly ids: readonly string[];
}

function parseRecordingsArgs(argv: readonly string[]): RecordingsArgs {
  const [command, ...rest] = argv;
  if (command !== 'list' && command !== 'verify' && command !== 'prune') {
    throw new UsageError(`unknown command: recordings ${command ?? ''}`.trim());
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        config: { type: 'string' }, sqlite: { type: 'string' }, postgres: { type: 'string' }, schema: { type: 'string' }, dir: { type: 'string' },
        desktop: { type: 'string' }, beamline: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' },
        all: { type: 'boolean' }, 'dry-run': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: command === 'verify',
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const store = storeConfigFromArgs(values);
  let directory = values.dir;
  if (directory === undefined && values.config !== undefined) {
    directory = recordingsDirectory(loadConfigFile(values.config));
  }
  if (directory === undefined && command !== 'list') throw new UsageError('say where the recordings are: --config FILE or --dir DIR');
  for (const key of ['from', 'to'] as const) {
    const text = values[key];
    if (text !== undefined && Number.isNaN(Date.parse(text))) throw new UsageError(`--${key} expects a time such as 2026-11-22T10:00:00Z, got ${text}`);
  }
  return { command, store, directory, values, ids: positionals };
}

export async function runRecordingsCli(argv: readonly string[], io: CliIo, open: StoreOpener): Promise<number> {
  const args = parseOrExplain(() => parseRecordingsArgs(argv), io, RECORDINGS_USAGE);
  if (args === undefined) return 2;
  const store = await openExistingStore(args.store, io, open, 'open the store');
  if (store === undefined) return 3;
  try {
    switch (args.command) {
      case 'list':
        return await list(store, args, io);
      case 'verify':
        return await verify(store, args, io);
      case 'prune':
        return await prune(store, args, io);
    }
  } catch (e) {
    io.err(`beamgate: ${e instanceof Error ? e.message : String(e)}`);
    return 3;
  } finally {
    await store.close().catch(() => undefined);
  }
}

async function list(store: Store, args: RecordingsArgs, io: CliIo): Promise<number> {
  const v = args.values;
  const entries = await store.recordings.list({
    desktop: str(v['desktop']), beamline: str(v['beamline']), includeDeleted: v['all'] === true,
    from: dateOf(v['from']), to: dateOf(v['to']),
  });
  io.out(['id', 'desktop', 'beamline', 'beamtime', 'started', 'duration', 'size', 'status'].join('\t'));
  for (const e of entries) {
    const duration = e.endedAt === undefined ? '-' : formatMs(e.endedAt.getTime() - e.startedAt.getTime());
    io.out([e.id, e.desktop, e.beamline, e.beamtime ?? '-', e.startedAt.toISOString(), duration, humanBytes(e.bytes), e.status].join('\t'));
  }
  io.err(`${entries.length} recording(s)`);
  return 0;
}

async function verify(store: Store, args: RecordingsArgs, io: CliIo): Promise<number> {
  const directory = args.directory ?? '';
  let entries: RecordingEntry[];
  if (args.ids.length > 0) {
    entries = [];
    for (const id of args.ids) {
      const entry = await store.recordings.get(id);
      if (entry === undefined) {
        io.out(`${id}\tMISSING\tnot in the recordings index`);
        return 1;
      }
      entries.push(entry);
    }
  } else {
    entries = await store.recordings.list({});
  }
  let bad = 0;
  for (const entry of entries) {
    try {
      const info = await indexRecording(recordingPath(directory, entry));
      const span = formatMs(info.durationMs);
      if (info.condition === 'complete') io.out(`${entry.id}\tOK\t${span}, ${info.keyFrames.length} key frames, ${humanBytes(info.fileBytes)}`);
      else if (info.condition === 'cut') io.out(`${entry.id}\tCUT\t${info.problem ?? ''}`);
      else {
        io.out(`${entry.id}\tDAMAGED\t${info.problem ?? ''}`);
        bad++;
      }
    } catch (e) {
      io.out(`${entry.id}\tUNREADABLE\t${(e as Error).message}`);
      bad++;
    }
  }
  io.err(`${entries.length} recording(s) checked, ${bad} damaged or unreadable`);
  return bad > 0 ? 1 : 0;
}

async function prune(store: Store, args: RecordingsArgs, io: CliIo): Promise<number> {
  const log = pino({ level: 'warn' }, pino.destination(2));
  const audit = new AuditWriter(store.audit, log, () => new Date());
  const dryRun = args.values['dry-run'] === true;
  const deleted = await pruneRecordings({ index: store.recordings, audit, directory: args.directory ?? '', log }, new Date(), dryRun);
  for (const e of deleted) io.out(`${dryRun ? 'would delete' : 'deleted'}\t${e.id}\t${e.beamline}\t${e.startedAt.toISOString()}\t${e.retentionDays} days`);
  io.err(`${deleted.length} recording(s) ${dryRun ? 'expired' : 'deleted'}`);
  return 0;
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function dateOf(value: string | boolean | undefined): Date | undefined {
  return typeof value === 'string' ? new Date(value) : undefined;
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
