// Server-side login sessions (backend-for-frontend). The browser holds only a random cookie;
// tokens stay in the store (encrypted). resolve() is called for every API request and every
// desktop WebSocket: it refreshes the access token when due and ends the session when the
// provider refuses (revoked or expired login), telling listeners so connections close.
import type { Logger } from 'pino';
import type { WebSession, WebSessionStore } from '../store/types.js';
import type { AuditWriter } from '../audit/audit-writer.js';
import { randomToken } from './cookies.js';
import { mapIdentity, type ClaimMapping, type Identity } from './identity.js';
import { OidcError, type OidcClient, type TokenSet } from './oidc-client.js';

export interface Principal {
  readonly sessionId: string;
  readonly identity: Identity;
  readonly csrfToken: string;
  readonly expiresAt: Date;
}

export type SessionEndReason = 'logout' | 'expired' | 'refresh-refused' | 'revoked';

export interface SessionEnded {
  readonly sessionId: string;
  readonly userId: string;
  readonly reason: SessionEndReason;
  readonly message: string;
}

export interface SessionServiceDeps {
  readonly store: WebSessionStore;
  readonly oidc: Pick<OidcClient, 'refresh' | 'revoke'>;
  readonly mapping: ClaimMapping;
  readonly audit: AuditWriter;
  readonly log: Logger;
  /** Absolute session lifetime, whatever refreshes happen. */
  readonly maxAgeMs: number;
  readonly clock: () => Date;
}

/** Refresh this long before the access token expires. */
const REFRESH_SKEW_MS = 30_000;
/** While the provider is unreachable, a session stays usable this long past its access token. */
const UNREACHABLE_GRACE_MS = 5 * 60_000;

const END_MESSAGES: Record<SessionEndReason, string> = {
  logout: 'You logged out.',
  expired: 'Your login expired. Log in again.',
  'refresh-refused': 'Your login is no longer valid at the identity provider. Log in again.',
  revoked: 'Your login was ended by the facility. Log in again.',
};

export class SessionService {
  private readonly refreshing = new Map<string, Promise<WebSession | undefined>>();
  private readonly listeners: ((ended: SessionEnded) => void)[] = [];

  constructor(private readonly deps: SessionServiceDeps) {}

  onEnded(listener: (ended: SessionEnded) => void): void {
    this.listeners.push(listener);
  }

  /** Creates a session from a fresh login. Throws IdentityError when the claims lack the facility id. */
  async create(tokens: TokenSet): Promise<{ sessionId: string; principal: Principal }> {
    const identity = mapIdentity(tokens.claims, this.deps.mapping);
    const now = this.deps.clock();
    const session: WebSession = {
      id: randomToken(),
      userId: identity.userId,
      sub: identity.sub,
      displayName: identity.name,
      identity: { ...identity },
      tokens: { idToken: tokens.idToken, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken },
      csrfToken: randomToken(),
      createdAt: now,
      accessExpiresAt: tokens.accessExpiresAt,
      expiresAt: new Date(now.getTime() + this.deps.maxAgeMs),
    };
    await this.deps.store.create(session);
    return { sessionId: session.id, principal: toPrincipal(session) };
  }

  /** The principal of a cookie's session, refreshing its tokens when due; undefined when there is none (any more). */
  async resolve(sessionId: string | undefined): Promise<Principal | undefined> {
    if (sessionId === undefined) return undefined;
    const now = this.deps.clock();
    let session = await this.deps.store.get(sessionId, now);
    if (session === undefined) return undefined;
    if (session.accessExpiresAt.getTime() - REFRESH_SKEW_MS <= now.getTime()) {
      session = await this.refreshOnce(session);
      if (session === undefined) return undefined;
    }
    return toPrincipal(session);
  }

  /** The stored session, for logout (needs the ID token for the end-session URL). */
  async get(sessionId: string): Promise<WebSession | undefined> {
    return this.deps.store.get(sessionId, this.deps.clock());
  }

  async end(session: WebSession, reason: SessionEndReason, address?: string): Promise<void> {
    // Logout is recorded before the session is gone, so an audit failure leaves the user logged in
    // (and told so) rather than logged out without a record.
    await this.deps.audit.record({
      code: reason === 'logout' ? 'auth.logout' : 'auth.session_ended',
      actor: reason === 'logout' ? session.userId : 'system',
      subject: session.userId,
      address,
      message: reason === 'logout' ? `${session.displayName} logged out` : `login of ${session.displayName} ended: ${reason}`,
      details: { reason },
    });
    await this.deps.store.delete(session.id);
    if (session.tokens.refreshToken !== undefined && reason === 'logout') {
      await this.deps.oidc.revoke(session.tokens.refreshToken).catch((e: unknown) => {
        this.deps.log.warn({ err: (e as Error).message }, 'could not revoke the refresh token at the identity provider');
      });
    }
    const ended: SessionEnded = { sessionId: session.id, userId: session.userId, reason, message: END_MESSAGES[reason] };
    for (const listener of this.listeners) listener(ended);
  }

  private refreshOnce(session: WebSession): Promise<WebSession | undefined> {
    let pending = this.refreshing.get(session.id);
    if (pending === undefined) {
      pending = this.refresh(session).finally(() => this.refreshing.delete(session.id));
      this.refreshing.set(session.id, pending);
    }
    return pending;
  }

  private async refresh(session: WebSession): Promise<WebSession | undefined> {
    const now = this.deps.clock();
    const refreshToken = session.tokens.refreshToken;
    if (refreshToken === undefined) {
      if (session.accessExpiresAt.getTime() > now.getTime()) return session;
      await this.endQuietly(session, 'expired');
      return undefined;
    }
    let tokens: TokenSet;
    try {
      tokens = await this.deps.oidc.refresh(refreshToken, session.tokens.idToken, now);
    } catch (e) {
      if (e instanceof OidcError && e.kind === 'unavailable' && session.accessExpiresAt.getTime() + UNREACHABLE_GRACE_MS > now.getTime()) {
        this.deps.log.warn({ user: session.userId, err: e.message }, 'identity provider unreachable; the session stays valid for a grace period');
        return session;
      }
      this.deps.log.info({ user: session.userId, err: (e as Error).message }, 'refresh refused: the session ends');
      await this.endQuietly(session, e instanceof OidcError && e.kind === 'unavailable' ? 'expired' : 'refresh-refused');
      return undefined;
    }
    // A refreshed ID token may carry changed roles; without one the previous identity stands.
    let identity = session.identity;
    if (Object.keys(tokens.claims).length > 0) {
      try {
        identity = { ...mapIdentity(tokens.claims, this.deps.mapping) };
      } catch (e) {
        this.deps.log.warn({ user: session.userId, err: (e as Error).message }, 'refreshed claims unusable; the session ends');
        await this.endQuietly(session, 'refresh-refused');
        return undefined;
      }
    }
    const refreshed = { idToken: tokens.idToken, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken ?? refreshToken };
    await this.deps.store.updateTokens(session.id, refreshed, tokens.accessExpiresAt, identity);
    return { ...session, tokens: refreshed, accessExpiresAt: tokens.accessExpiresAt, identity };
  }

  private async endQuietly(session: WebSession, reason: SessionEndReason): Promise<void> {
    try {
      await this.end(session, reason);
    } catch (e) {
      // The session is unusable either way; deleting it must not wait for the audit log.
      this.deps.log.error({ user: session.userId, err: (e as Error).message }, 'could not end the session cleanly');
      await this.deps.store.delete(session.id).catch(() => undefined);
    }
  }
}

function toPrincipal(session: WebSession): Principal {
  // The store keeps the identity as JSON; it was written from an Identity by create() or refresh().
  const identity = session.identity as unknown as Identity;
  return { sessionId: session.id, identity, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
}
