// The JSON API of the portal and the desktop page. Every route but /api/me sits behind
// requireSession (Origin, session, CSRF); each then asks the policy engine.
import express, { type Router } from 'express';
import { z } from 'zod';
import type { AuditWriter } from '../audit/audit-writer.js';
import { auditScopeOf, describeScope } from '../audit/audit-scope.js';
import { readSessionCookie, type CookiePolicy } from '../auth/cookies.js';
import type { SessionService } from '../auth/session-service.js';
import { AccessError, type AccessService } from '../access/access-service.js';
import { apiError, remoteAddress, requireSession } from './request-guard.js';

export interface ApiRoutesDeps {
  readonly sessions: SessionService;
  readonly access: AccessService;
  readonly cookies: CookiePolicy;
  readonly audit: AuditWriter;
  readonly allowedOrigins: () => ReadonlySet<string>;
}

const ackBody = z.strictObject({ version: z.string().min(1).max(64) });
const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export function apiRoutes(deps: ApiRoutesDeps): Router {
  const router = express.Router();

  // Not behind the guard: "not logged in" is a normal answer here, not a failure.
  router.get('/api/me', (req, res, next) => {
    deps.sessions.resolve(readSessionCookie(deps.cookies, req.headers.cookie)).then((principal) => {
      if (principal === undefined) {
        res.json({ authenticated: false, login: '/auth/login' });
        return;
      }
      const { identity } = principal;
      res.json({
        authenticated: true,
        user: { id: identity.userId, name: identity.name, roles: identity.roles, mfa: identity.mfa },
        csrfToken: principal.csrfToken,
        expiresAt: principal.expiresAt.toISOString(),
      });
    }, next);
  });

  router.use('/api', requireSession(deps));

  router.get('/api/portal', (_req, res) => {
    const principal = res.locals.principal;
    if (principal === undefined) return;
    // audit: whether the portal links to the audit pages, and for which beamlines ('all' or a list).
    const audit = describeScope(auditScopeOf(deps.access.auditDecisions(principal.identity)));
    res.json({ ...deps.access.portal(principal.identity), audit });
  });

  router.get('/api/targets', (_req, res) => {
    const principal = res.locals.principal;
    if (principal === undefined) return;
    const portal = deps.access.portal(principal.identity);
    const all = [...portal.beamtimes.flatMap(b => b.desktops), ...portal.beamlines.flatMap(b => b.desktops)].filter(d => d.view.allow);
    const unique = [...new Map(all.map(d => [d.id, { id: d.id, name: d.name, beamline: d.beamline, control: d.control.allow }])).values()];
    res.json({ targets: unique });
  });

  router.get('/api/desktops/:id/access', (req, res) => {
    const principal = res.locals.principal;
    if (principal === undefined) return;
    const desktop = deps.access.desktop(req.params.id);
    if (desktop === undefined) {
      apiError(res, 404, 'GW_ERR_UNKNOWN_TARGET', `There is no desktop "${req.params.id}".`);
      return;
    }
    const rights = deps.access.rights(principal.identity, desktop);
    res.json({ desktop, view: rights.view, control: rights.control });
  });

  router.post('/api/beamlines/:beamline/beamtimes/:beamtime/acknowledge', express.json({ limit: '4kb' }), (req, res, next) => {
    const principal = res.locals.principal;
    if (principal === undefined) return;
    const { beamline, beamtime } = req.params;
    const body = ackBody.safeParse(req.body);
    if (!ID.test(beamline) || !ID.test(beamtime) || !body.success) {
      apiError(res, 400, 'GW_ERR_BAD_REQUEST', 'Send {"version": "<the instruction version you read>"} to /api/beamlines/<id>/beamtimes/<id>/acknowledge.');
      return;
    }
    const { identity } = principal;
    void (async () => {
      try {
        const ack = deps.access.prepareAcknowledgement(identity, beamline, beamtime, body.data.version);
        // On the record first: an acknowledgement the audit log does not show must not count.
        await deps.audit.record({
          code: 'instruction.acknowledged', actor: identity.userId, beamline, beamtime, address: remoteAddress(req),
          message: `${identity.name} acknowledged the remote-operation instruction of ${beamline} (version ${ack.version}) for beamtime ${beamtime}`,
          details: { version: ack.version },
        });
        await deps.access.saveAcknowledgement(ack);
        res.json({ acknowledged: { beamline, beamtime, version: ack.version, at: ack.at.toISOString() } });
      } catch (e) {
        if (e instanceof AccessError) {
          await deps.audit.tryRecord({ code: 'access.denied', actor: identity.userId, beamline, beamtime, address: remoteAddress(req), message: `acknowledgement refused: ${e.message}` });
          apiError(res, e.status, e.status === 409 ? 'GW_ERR_CONFLICT' : e.status === 400 ? 'GW_ERR_BAD_REQUEST' : 'GW_ERR_ACCESS_DENIED', e.message);
          return;
        }
        next(e);
      }
    })();
  });

  router.use('/api', (_req, res) => {
    apiError(res, 404, 'GW_ERR_BAD_PATH', 'No such API endpoint.');
  });

  return router;
}
