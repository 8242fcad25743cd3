// `beamgate audit export`: the audit records a filter selects, as CSV or JSON, to a file or stdout,
// with seq, prevHash and hash so the copy can be checked offline. The same filters and checks as
// the safety officer's export (GET /api/audit/export). It only reads: database access is the
// control here, and a read-only role suffices (no audit.exported record is written).
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { exportText } from './audit/audit-export.js';
import { parseExportQuery, type ExportParams } from './http/audit-params.js';
import type { Store, StoreConfig } from './store/types.js';
import type { ChainHead } from '../../session-recorder/src/audit/audit-record.js';
import { storeConfigFromArgs, UsageError, type CliIo, type StoreOpener } from './cli.js';
import { openExistingStore, parseOrExplain } from './cli-common.js';

export const AUDIT_EXPORT_USAGE = `usage: beamgate audit export [--config FILE | --sqlite FILE | --postgres URL [--schema NAME]] --format csv|json
       [--beamline ID] [--beamtime ID] [--person ID] [--session ID] [--desktop ID] [--kind KINDS] [--from TIME] [--to TIME] [--out FILE]

  Writes the audit records the filters select, oldest first, as CSV or JSON, with seq, prevHash and
  hash (docs/audit-workspace.md says how to check a copy offline). Only reads the database.

  --person ID       records the person acted in or was concerned by (actor or subject)
  --kind KINDS      codes or families, comma-separated: control.transition,input.blocked or control.*
  --from, --to      ISO 8601 times (2026-11-22T14:00:00Z; without a zone, UTC); --to is exclusive
  --out FILE        write to FILE (replaced only once the export is complete); default: stdout

exit status: 0 written, 2 usage error, 3 store unreachable or the export failed`;

interface ExportArgs {
  readonly store: StoreConfig;
  readonly params: ExportParams;
  readonly out: string | undefined;
}

const FILTERS = ['beamline', 'beamtime', 'person', 'session', 'desktop', 'from', 'to'] as const;

function parseExportArgs(argv: readonly string[]): ExportArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' }, sqlite: { type: 'string' }, postgres: { type: 'string' }, schema: { type: 'string' },
        format: { type: 'string' }, out: { type: 'string' }, kind: { type: 'string', multiple: true },
        ...Object.fromEntries(FILTERS.map(name => [name, { type: 'string' as const }])),
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = values as Record<string, string | string[] | undefined>;
  if (v['format'] === undefined) throw new UsageError('say which format: --format csv or --format json');
  const query: Record<string, string> = { format: String(v['format']) };
  for (const name of FILTERS) {
    const value = v[name];
    if (typeof value === 'string') query[name] = value;
  }
  const kinds = v['kind'];
  if (Array.isArray(kinds)) query['kind'] = kinds.join(',');
  const parsed = parseExportQuery(query);
  if (!parsed.ok) throw new UsageError(parsed.message.replace('The audit query is not valid: ', ''));
  const out = v['out'];
  if (out === '') throw new UsageError('--out needs a file name');
  return { store: storeConfigFromArgs(values), params: parsed.value, out: typeof out === 'string' ? out : undefined };
}

/** Writes text to a stream, waiting whenever it asks to. */
async function writeAll(stream: Writable, pieces: AsyncIterable<string>): Promise<void> {
  for await (const piece of pieces) {
    if (!stream.write(piece)) {
      await new Promise<void>((resolve, reject) => {
        stream.once('drain', resolve);
        stream.once('error', reject);
      });
    }
  }
}

async function exportFrom(store: Store, args: ExportArgs, stdout: Writable): Promise<{ count: number; head: ChainHead }> {
  const { selection, format, given } = args.params;
  const head = await store.auditQueries.head();
  const count = await store.auditQueries.count(selection, head.seq);
  const header = { exportedAt: new Date(), exportedBy: `cli:${userInfo().username}`, filter: given, head, count };
  const text = exportText(format, header, store.auditQueries.scan(selection, head.seq, 1000));
  if (args.out === undefined) {
    await writeAll(stdout, text);
    return { count, head };
  }
  // Into a neighbour first: a failed export leaves no file that looks complete.
  const partial = `${args.out}.partial-${randomBytes(4).toString('hex')}`;
  const file = createWriteStream(partial, { flags: 'wx', mode: 0o600 });
  try {
    await new Promise<void>((resolve, reject) => file.once('open', () => {
      resolve();
    }).once('error', reject));
    await writeAll(file, text);
    await new Promise<void>((resolve, reject) => file.end((e?: Error | null) => {
      if (e) reject(e);
      else resolve();
    }));
    await rename(partial, args.out);
  } catch (e) {
    file.destroy();
    await rm(partial, { force: true });
    throw e;
  }
  return { count, head };
}

export async function runAuditExportCli(
  argv: readonly string[], io: CliIo, open: StoreOpener, stdout: Writable = process.stdout,
): Promise<number> {
  const args = parseOrExplain(() => parseExportArgs(argv), io, AUDIT_EXPORT_USAGE);
  if (args === undefined) return 2;
  const store = await openExistingStore(args.store, io, open, 'open the audit log');
  if (store === undefined) return 3;
  try {
    const { count, head } = await exportFrom(store, args, stdout);
    // Data goes to stdout; what happened to stderr, so a pipe gets only the export.
    io.err(`exported ${count} audit records as ${args.params.format.toUpperCase()} (up to record ${head.seq}, head ${head.hash})${args.out === undefined ? '' : ` to ${args.out}`}`);
    return 0;
  } catch (e) {
    io.err(`beamgate: the export failed: ${e instanceof Error ? e.message : String(e)}`);
    return 3;
  } finally {
    await store.close().catch(() => undefined);
  }
}
