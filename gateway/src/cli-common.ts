// What every `beamgate` command does the same way: explain a usage error, and open an existing
// store without migrating it (an operator's command must not run DDL on a production database).
import { randomBytes } from 'node:crypto';
import { isStoreError } from './store/store-error.js';
import type { Store, StoreConfig } from './store/types.js';
import { UsageError, type CliIo, type StoreOpener } from './cli.js';

/** The parsed arguments, or undefined after printing the usage error and the usage (exit status 2). */
export function parseOrExplain<T>(parse: () => T, io: CliIo, usage: string): T | undefined {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`beamgate: ${e.message}`);
    io.err(usage);
    return undefined;
  }
}

/**
 * The store, opened as it is; or undefined after printing why it could not be (exit status 3).
 * `purpose` completes "could not …", e.g. "check the audit log". No session is read, so the token
 * key is a throwaway.
 */
export async function openExistingStore(config: StoreConfig, io: CliIo, open: StoreOpener, purpose: string): Promise<Store | undefined> {
  try {
    return await open(config, { tokenKey: randomBytes(32), migrate: false });
  } catch (e) {
    if (!isStoreError(e)) throw e;
    io.err(`beamgate: could not ${purpose}: ${e.message} [${e.code}]`);
    return undefined;
  }
}
