// Login, callback and logout of the backend-for-frontend. The login transaction (state, nonce,
// PKCE verifier) is kept server-side by state and used once; the callback answers with a
// same-site hop so the SameSite=Strict session cookie is sent on the next request.
import express, { type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { AuditWriter } from '../audit/audit-writer.js';
import { clearedSessionCookie, readSessionCookie, sessionCookie, type CookiePolicy } from '../auth/cookies.js';
import { IdentityError } from '../auth/identity.js';
import { CALLBACK_PATH, OidcError, type OidcClient } from '../auth/oidc-client.js';
import type { SessionService } from '../auth/session-service.js';
import type { LoginTransactionStore } from '../store/types.js';
import { apiError, remoteAddress, sameOrigin } from './request-guard.js';

export interface AuthRoutesDeps {
  readonly oidc: OidcClient;
  readonly sessions: SessionService;
  readonly transactions: LoginTransactionStore;
  readonly audit: AuditWriter;
  readonly cookies: CookiePolicy;
  readonly allowedOrigins: () => ReadonlySet<string>;
  readonly publicUrl: () => string;
  readonly maxAgeMs: number;
  readonly log: Logger;
  readonly clock: () => Date;
}

/** A login started and not finished within this time must start again. */
const LOGIN_TX_MAX_AGE_MS = 10 * 60_000;

/** Only paths of this gateway: an absolute URL or //host would be an open redirect. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || !/^\/(?![/\\])[\x21-\x7e]*$/.test(value) || value.length > 500) return '/';
  return value;
}

export function authRoutes(deps: AuthRoutesDeps): Router {
  const router = express.Router();

  router.get('/auth/login', (req, res) => {
    void (async () => {
      try {
        const start = await deps.oidc.startLogin();
        const now = deps.clock();
        await deps.transactions.put({ state: start.state, codeVerifier: start.codeVerifier, nonce: start.nonce, returnTo: safeReturnTo(req.query['returnTo']), createdAt: now });
        void deps.transactions.deleteOlderThan(new Date(now.getTime() - LOGIN_TX_MAX_AGE_MS)).catch(() => undefined);
        res.redirect(303, start.url.href);
      } catch (e) {
        deps.log.error({ err: (e as Error).message }, 'cannot start a login');
        sendPage(res, 503, 'Login is not available', 'The identity provider cannot be reached right now. Try again in a minute; if it persists, tell the facility IT.');
      }
    })();
  });

  router.get(CALLBACK_PATH, (req, res) => {
    void (async () => {
      const address = remoteAddress(req);
      const refuse = async (why: string, detail: string): Promise<void> => {
        await deps.audit.tryRecord({ code: 'auth.login_failed', actor: 'anonymous', address, message: `login refused: ${why}`, details: { detail } });
        sendPage(res, 400, 'Login failed', `${why} Start again from the portal.`, '/');
      };
      const state = typeof req.query['state'] === 'string' ? req.query['state'] : undefined;
      if (typeof req.query['error'] === 'string') {
        await refuse('The identity provider did not log you in.', `provider error: ${req.query['error']}`);
        return;
      }
      if (state === undefined) {
        await refuse('The login response is incomplete.', 'no state parameter');
        return;
      }
      const now = deps.clock();
      const tx = await deps.transactions.take(state, now, LOGIN_TX_MAX_AGE_MS).catch(() => undefined);
      if (tx === undefined) {
        await refuse('This login response is unknown, expired or was already used.', 'unknown, expired or replayed state');
        return;
      }
      const callbackUrl = new URL(req.originalUrl, deps.publicUrl());
      let tokens;
      try {
        tokens = await deps.oidc.finishLogin(callbackUrl, tx, now);
      } catch (e) {
        if (e instanceof OidcError && e.kind === 'unavailable') {
          sendPage(res, 503, 'Login is not available', 'The identity provider cannot be reached right now. Try again in a minute.');
          return;
        }
        await refuse('The login response did not pass the checks.', (e as Error).message);
        return;
      }
      let created;
      try {
        created = await deps.sessions.create(tokens);
      } catch (e) {
        if (e instanceof IdentityError) {
          await refuse(`Your account cannot be used here: ${e.message}.`, e.message);
          return;
        }
        deps.log.error({ err: (e as Error).message }, 'cannot create a session');
        sendPage(res, 503, 'Login failed', 'The gateway could not store your login. Try again; if it persists, tell the facility IT.');
        return;
      }
      const { identity } = created.principal;
      try {
        await deps.audit.record({ code: 'auth.login', actor: identity.userId, address, message: `${identity.name} logged in`, details: { roles: [...identity.roles], mfa: identity.mfa } });
      } catch {
        // No record, no login.
        const session = await deps.sessions.get(created.sessionId);
        if (session !== undefined) await deps.sessions.end(session, 'revoked').catch(() => undefined);
        sendPage(res, 503, 'Login failed', 'The gateway cannot write its audit log right now, so it lets nobody in. Tell the facility IT.');
        return;
      }
      res.setHeader('Set-Cookie', sessionCookie(deps.cookies, created.sessionId, Math.floor(deps.maxAgeMs / 1000)));
      // A meta refresh, not a redirect: the browser then makes a same-site request and sends the Strict cookie.
      sendPage(res, 200, 'Logged in', 'You are logged in.', tx.returnTo);
    })();
  });

  router.post('/auth/logout', (req, res) => {
    void (async () => {
      if (!sameOrigin(req, deps.allowedOrigins())) {
        await deps.audit.tryRecord({ code: 'access.denied', actor: 'anonymous', address: remoteAddress(req), message: 'logout refused: foreign or missing Origin', details: { origin: req.headers.origin ?? null } });
        apiError(res, 403, 'GW_ERR_ORIGIN_FORBIDDEN', 'This request must come from a Beamgate page.');
        return;
      }
      const id = readSessionCookie(deps.cookies, req.headers.cookie);
      const session = id === undefined ? undefined : await deps.sessions.get(id);
      res.setHeader('Set-Cookie', clearedSessionCookie(deps.cookies));
      if (session === undefined) {
        res.json({ redirect: '/' });
        return;
      }
      if (req.get('x-csrf-token') !== session.csrfToken) {
        await deps.audit.tryRecord({ code: 'access.denied', actor: session.userId, address: remoteAddress(req), message: 'logout refused: missing or wrong CSRF token' });
        apiError(res, 403, 'GW_ERR_CSRF', 'This request lacks its CSRF token; reload the page.');
        return;
      }
      try {
        await deps.sessions.end(session, 'logout', remoteAddress(req));
      } catch {
        apiError(res, 503, 'GW_ERR_AUDIT_UNAVAILABLE', 'The gateway cannot write its audit log right now; logout did not happen. Close the browser and tell the facility IT.');
        return;
      }
      const endSession = await deps.oidc.endSessionUrl(session.tokens.idToken, '/').catch(() => undefined);
      res.json({ redirect: endSession ?? '/' });
    })();
  });

  return router;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}

/** A small self-contained page (no script, so the strict CSP holds); with `next`, it moves on by meta refresh. */
export function sendPage(res: Response, status: number, title: string, text: string, next?: string): void {
  const refresh = next === undefined ? '' : `<meta http-equiv="refresh" content="0;url=${escapeHtml(next)}">`;
  const link = next === undefined ? '<p><a href="/">Back to the portal</a></p>' : `<p><a href="${escapeHtml(next)}">Continue</a></p>`;
  res.status(status).type('html').send(`<!doctype html><html lang="en"><head><meta charset="utf-8">${refresh}<title>${escapeHtml(title)} – Beamgate</title>`
    + `<link rel="stylesheet" href="/app.css"></head><body class="page"><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${link}</main></body></html>`);
}
