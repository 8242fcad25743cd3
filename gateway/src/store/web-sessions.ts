// Logged-in browser sessions on SQL. The cookie id is stored only as its SHA-256 (the session
// key), tokens and the CSRF token only sealed (AES-256-GCM, bound to the row's key), so a
// copy of the database lets nobody ride a session. Never logs a token or a cookie id.
import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import { fromMs, toInt, toMs, type StoreSchema, type WebSessionTable } from './schema.js';
import { lookupHash, TokenCipherError, type TokenCipher } from './token-cipher.js';
import type { SessionTokens, WebSession, WebSessionStore } from './types.js';

/**
 * The key a session is stored under: SHA-256 (hex) of its cookie id. Safe to log and to put in
 * audit records (it cannot be turned back into a cookie); idsOfUser() returns these.
 */
export function webSessionKey(cookieId: string): string {
  return lookupHash(cookieId);
}

export class SqlWebSessionStore implements WebSessionStore {
  readonly #db: Kysely<StoreSchema>;
  readonly #cipher: TokenCipher;
  readonly #log: Logger | undefined;

  constructor(db: Kysely<StoreSchema>, cipher: TokenCipher, log?: Logger) {
    this.#db = db;
    this.#cipher = cipher;
    this.#log = log;
  }

  async create(session: WebSession): Promise<void> {
    const key = webSessionKey(session.id);
    await this.#db.insertInto('web_sessions').values({
      id_hash: key,
      user_id: session.userId,
      sub: session.sub,
      display_name: session.displayName,
      identity: JSON.stringify(session.identity),
      tokens_sealed: this.#cipher.seal(JSON.stringify(session.tokens), tokensContext(key)),
      csrf_sealed: this.#cipher.seal(session.csrfToken, csrfContext(key)),
      created_at_ms: toMs(session.createdAt),
      access_expires_at_ms: toMs(session.accessExpiresAt),
      expires_at_ms: toMs(session.expiresAt),
    }).execute();
  }

  async get(id: string, now: Date): Promise<WebSession | undefined> {
    const key = webSessionKey(id);
    const row = await this.#db.selectFrom('web_sessions').selectAll().where('id_hash', '=', key).executeTakeFirst();
    if (row === undefined || toInt(row.expires_at_ms) <= now.getTime()) return undefined;
    try {
      return this.#toSession(id, row);
    } catch (e) {
      if (!(e instanceof TokenCipherError)) throw e;
      // A changed token key (or an altered row) ends the session: the person logs in again.
      this.#log?.warn({ session: key, reason: e.message }, 'web session secrets do not open; treating the session as ended');
      return undefined;
    }
  }

  /** Does nothing when the session is gone (logged out while its tokens were being refreshed). */
  async updateTokens(id: string, tokens: SessionTokens, accessExpiresAt: Date, identity: Record<string, unknown>): Promise<void> {
    const key = webSessionKey(id);
    await this.#db.updateTable('web_sessions').set({
      tokens_sealed: this.#cipher.seal(JSON.stringify(tokens), tokensContext(key)),
      access_expires_at_ms: toMs(accessExpiresAt),
      identity: JSON.stringify(identity),
    }).where('id_hash', '=', key).execute();
  }

  async delete(id: string): Promise<void> {
    await this.deleteByKey(webSessionKey(id));
  }

  async deleteByKey(key: string): Promise<void> {
    await this.#db.deleteFrom('web_sessions').where('id_hash', '=', key).execute();
  }

  async idsOfUser(userId: string): Promise<string[]> {
    const rows = await this.#db.selectFrom('web_sessions').select('id_hash').where('user_id', '=', userId).orderBy('created_at_ms').orderBy('id_hash').execute();
    return rows.map(r => r.id_hash);
  }

  async deleteAllOfUser(userId: string): Promise<number> {
    const result = await this.#db.deleteFrom('web_sessions').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async deleteExpired(now: Date): Promise<number> {
    const result = await this.#db.deleteFrom('web_sessions').where('expires_at_ms', '<=', toMs(now)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  #toSession(id: string, row: Selectable<WebSessionTable>): WebSession {
    return {
      id,
      userId: row.user_id,
      sub: row.sub,
      displayName: row.display_name,
      identity: JSON.parse(row.identity) as Record<string, unknown>,
      tokens: parseTokens(this.#cipher.open(row.tokens_sealed, tokensContext(row.id_hash))),
      csrfToken: this.#cipher.open(row.csrf_sealed, csrfContext(row.id_hash)),
      createdAt: fromMs(row.created_at_ms),
      accessExpiresAt: fromMs(row.access_expires_at_ms),
      expiresAt: fromMs(row.expires_at_ms),
    };
  }
}

function tokensContext(key: string): string {
  return `beamgate web_sessions.tokens ${key}`;
}

function csrfContext(key: string): string {
  return `beamgate web_sessions.csrf ${key}`;
}

function parseTokens(json: string): SessionTokens {
  const value = JSON.parse(json) as Partial<Record<keyof SessionTokens, unknown>>;
  if (typeof value.idToken !== 'string' || typeof value.accessToken !== 'string') {
    throw new TokenCipherError('sealed session tokens lack idToken or accessToken');
  }
  return typeof value.refreshToken === 'string'
    ? { idToken: value.idToken, accessToken: value.accessToken, refreshToken: value.refreshToken }
    : { idToken: value.idToken, accessToken: value.accessToken };
}
