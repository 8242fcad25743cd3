// Logins in progress on SQL: keyed by the SHA-256 of the OAuth state, the PKCE verifier,
// nonce and return path sealed. take() deletes and returns in one statement, so a replayed
// or concurrent callback for the same state finds nothing.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { fromMs, toInt, toMs, type StoreSchema } from './schema.js';
import { lookupHash, TokenCipherError, type TokenCipher } from './token-cipher.js';
import type { LoginTransaction, LoginTransactionStore } from './types.js';

interface SealedPart {
  readonly codeVerifier: string;
  readonly nonce: string;
  readonly returnTo: string;
}

export class SqlLoginTransactionStore implements LoginTransactionStore {
  readonly #db: Kysely<StoreSchema>;
  readonly #cipher: TokenCipher;
  readonly #log: Logger | undefined;

  constructor(db: Kysely<StoreSchema>, cipher: TokenCipher, log?: Logger) {
    this.#db = db;
    this.#cipher = cipher;
    this.#log = log;
  }

  async put(tx: LoginTransaction): Promise<void> {
    const key = lookupHash(tx.state);
    const secret: SealedPart = { codeVerifier: tx.codeVerifier, nonce: tx.nonce, returnTo: tx.returnTo };
    await this.#db.insertInto('login_transactions').values({
      state_hash: key,
      sealed: this.#cipher.seal(JSON.stringify(secret), context(key)),
      created_at_ms: toMs(tx.createdAt),
    }).execute();
  }

  async take(state: string, now: Date, maxAgeMs: number): Promise<LoginTransaction | undefined> {
    const key = lookupHash(state);
    const row = await this.#db.deleteFrom('login_transactions').where('state_hash', '=', key)
      .returning(['sealed', 'created_at_ms']).executeTakeFirst();
    if (row === undefined) return undefined;
    const createdAt = fromMs(row.created_at_ms);
    if (now.getTime() - createdAt.getTime() > maxAgeMs) return undefined;
    try {
      const secret = JSON.parse(this.#cipher.open(row.sealed, context(key))) as SealedPart;
      return { state, codeVerifier: secret.codeVerifier, nonce: secret.nonce, returnTo: secret.returnTo, createdAt };
    } catch (e) {
      if (!(e instanceof TokenCipherError)) throw e;
      this.#log?.warn({ reason: e.message }, 'a login transaction does not open (token key changed?); the login must start again');
      return undefined;
    }
  }

  async deleteOlderThan(cutoff: Date): Promise<number> {
    const result = await this.#db.deleteFrom('login_transactions').where('created_at_ms', '<', toMs(cutoff)).executeTakeFirst();
    return toInt(result.numDeletedRows);
  }
}

function context(key: string): string {
  return `beamgate login_transactions ${key}`;
}
