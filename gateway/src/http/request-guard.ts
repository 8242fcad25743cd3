// Checks every API request passes, in the fixed order path (express routing) -> Origin ->
// session -> (the route's own) policy decision, plus CSRF for state-changing requests.
// Each failure answers with its status and a JSON error, and is audited.
import type { NextFunction, Request, Response } from 'express';
import type { AuditWriter } from '../audit/audit-writer.js';
import { readSessionCookie, type CookiePolicy } from '../auth/cookies.js';
import type { Principal, SessionService } from '../auth/session-service.js';

export type ApiErrorCode =
  | 'GW_ERR_BAD_PATH' | 'GW_ERR_ORIGIN_FORBIDDEN' | 'GW_ERR_LOGIN_REQUIRED' | 'GW_ERR_CSRF' | 'GW_ERR_ACCESS_DENIED'
  | 'GW_ERR_BAD_REQUEST' | 'GW_ERR_AUDIT_UNAVAILABLE' | 'GW_ERR_CONFLICT' | 'GW_ERR_UNKNOWN_TARGET'
  | 'GW_ERR_UNKNOWN_RECORDING' | 'GW_ERR_RECORDING_UNREADABLE';

export function apiError(res: Response, status: number, code: ApiErrorCode, message: string, extra: Record<string, unknown> = {}): void {
  res.status(status).json({ error: { code, message, ...extra } });
}

export function remoteAddress(req: Pick<Request, 'socket'>): string {
  return req.socket.remoteAddress ?? 'unknown';
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A browser always sends Origin on cross-origin requests and on same-origin non-GET ones; a
 * request without one is either same-origin GET or not from a browser. State-changing requests
 * must carry a matching Origin.
 */
export function sameOrigin(req: Pick<Request, 'headers' | 'method'>, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return SAFE_METHODS.has(req.method);
  return allowed.has(origin);
}

export interface GuardDeps {
  readonly sessions: SessionService;
  readonly cookies: CookiePolicy;
  readonly audit: AuditWriter;
  readonly allowedOrigins: () => ReadonlySet<string>;
}

declare module 'express-serve-static-core' {
  interface Locals {
    principal?: Principal;
  }
}

/** Origin, then session, then CSRF (non-GET). Sets res.locals.principal. */
export function requireSession(deps: GuardDeps) {
  return (req: Request, res: Response, next: NextFunction): void => {
    void (async () => {
      const address = remoteAddress(req);
      const denied = async (status: number, code: ApiErrorCode, message: string, actor: string, detail: string): Promise<void> => {
        await deps.audit.tryRecord({ code: 'access.denied', actor, address, message: `${req.method} ${req.path} refused: ${detail}`, details: { status, code } });
        apiError(res, status, code, message);
      };
      if (!sameOrigin(req, deps.allowedOrigins())) {
        await denied(403, 'GW_ERR_ORIGIN_FORBIDDEN', 'This request must come from a Beamgate page.', 'anonymous', `foreign or missing Origin ${req.headers.origin ?? '(none)'}`);
        return;
      }
      const id = readSessionCookie(deps.cookies, req.headers.cookie);
      const principal = await deps.sessions.resolve(id);
      if (principal === undefined) {
        await denied(401, 'GW_ERR_LOGIN_REQUIRED', 'You are not logged in (or your login expired). Log in again.', 'anonymous', id === undefined ? 'no session cookie' : 'unknown or expired session');
        return;
      }
      if (!SAFE_METHODS.has(req.method) && req.get('x-csrf-token') !== principal.csrfToken) {
        await denied(403, 'GW_ERR_CSRF', 'This request lacks its CSRF token; reload the page.', principal.identity.userId, 'missing or wrong CSRF token');
        return;
      }
      res.locals.principal = principal;
      next();
    })().catch(next);
  };
}
