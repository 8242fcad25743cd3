// Secrets the gateway reads from files (never from the config itself, never logged).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './config.js';

/** The first line of a secret file; a clear error names the file (not its content). */
export function readSecretFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const first = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  if (first === '') throw new ConfigError(`${path}: the ${what} file is empty`);
  return first;
}

/**
 * The 32-byte key that encrypts tokens at rest: read from the file, or created there (mode 0600)
 * on first start. Losing it only logs everyone out.
 */
export function loadOrCreateTokenKey(path: string): Buffer {
  try {
    const hex = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/i.test(hex)) throw new ConfigError(`${path}: the token key must be 64 hex digits (32 bytes); delete the file to have a new one made`);
    return Buffer.from(hex, 'hex');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const key = randomBytes(32);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}
