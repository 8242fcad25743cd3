// The safety officer's API: the audit log filtered and paged, exported (CSV, JSON), its
// statistics and its hash chain's status. Order as everywhere: Origin, session (and CSRF for the
// POST), then the policy: only people the policy allows `audit` get anything, and a local
// contact only the records of their own beamlines. Query strings are checked (audit-params.ts)
// before they reach the store, which binds every value as a parameter.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { AUDIT_CODES } from '../../../session-recorder/src/audit/audit-record.js';
import type { AuditWriter } from '../audit/audit-writer.js';
import { exportFileName, exportText } from '../audit/audit-export.js';
import { auditScopeOf, describeScope, scopeCovers, type AuditScope } from '../audit/audit-scope.js';
import { ChainMonitor } from '../audit/chain-monitor.js';
import type { AccessService } from '../access/access-service.js';
import type { CookiePolicy } from '../auth/cookies.js';
import type { SessionService } from '../auth/session-service.js';
import type { AuditQueries, AuditSelection, AuditStatsRow } from '../store/types.js';
import { AUDIT_FAMILIES, MAX_PAGE_LIMIT, parseExportQuery, parsePageQuery, parseStatsQuery, type Parsed } from './audit-params.js';
import { apiError, remoteAddress, requireSession } from './request-guard.js';

export interface AuditRoutesDeps {
  readonly queries: AuditQueries;
  readonly sessions: SessionService;
  readonly access: Pick<AccessService, 'auditDecisions'>;
  readonly cookies: CookiePolicy;
  readonly audit: AuditWriter;
  readonly allowedOrigins: () => ReadonlySet<string>;
  readonly clock: () => Date;
  readonly log: Logger;
  /** Exports running at once, gateway-wide; more are refused with 429 (default 2). */
  readonly maxConcurrentExports?: number;
}

declare module 'express-serve-static-core' {
  interface Locals {
    auditScope?: AuditScope;
  }
}

const HOUR_MS = 3_600_000;

function hours(row: { remoteMs: number }): number {
  return Math.round((row.remoteMs / HOUR_MS) * 1000) / 1000;
}

function withHours<T extends { remoteMs: number }>(row: T): T & { remoteHours: number } {
  return { ...row, remoteHours: hours(row) };
}

export function auditRoutes(deps: AuditRoutesDeps): Router {
  const router = express.Router();
  const chain = new ChainMonitor(() => deps.queries.checkChain(), deps.clock, deps.log.child({ part: 'audit-chain' }));
  const maxExports = deps.maxConcurrentExports ?? 2;
  let exporting = 0;

  const handle = (work: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction): void => {
    work(req, res).catch(next);
  };

  router.use('/api/audit', requireSession(deps));

  // The policy: the scope of what this person may read, or 403 with the policy's reasons.
  const authorize = async (req: Request, res: Response): Promise<boolean> => {
    const principal = res.locals.principal;
    if (principal === undefined) return false;
    const scope = auditScopeOf(deps.access.auditDecisions(principal.identity, deps.clock()));
    if (scope.kind !== 'none') {
      res.locals.auditScope = scope;
      return true;
    }
    const reasons = scope.reasons.map(r => r.message);
    await deps.audit.tryRecord({
      code: 'access.denied', actor: principal.identity.userId, address: remoteAddress(req),
      message: `${req.method} ${req.baseUrl}${req.path} refused: may not read the audit log`, details: { status: 403, code: 'GW_ERR_ACCESS_DENIED', reasons },
    });
    apiError(res, 403, 'GW_ERR_ACCESS_DENIED', `You may not read the audit log: ${reasons.join('; ')}.`, { reasons: scope.reasons });
    return false;
  };
  router.use('/api/audit', (req, res, next) => {
    authorize(req, res).then((allowed) => {
      if (allowed) next();
    }, next);
  });

  /** The request's selection narrowed to the reader's scope; undefined (403 sent) when it names a beamline outside it. */
  const scoped = async (req: Request, res: Response, selection: AuditSelection): Promise<AuditSelection | undefined> => {
    const scope = res.locals.auditScope;
    const principal = res.locals.principal;
    if (scope === undefined || principal === undefined) return undefined;
    if (scope.kind === 'all') return selection;
    if (scope.kind === 'none') return undefined;
    if (selection.beamline !== undefined && !scopeCovers(scope, selection.beamline)) {
      const message = `You may read the audit log of ${scope.beamlines.join(', ')} only, not of ${selection.beamline}.`;
      await deps.audit.tryRecord({
        code: 'access.denied', actor: principal.identity.userId, address: remoteAddress(req), beamline: selection.beamline,
        message: `${req.method} ${req.baseUrl}${req.path} refused: beamline outside the reader's audit scope`, details: { status: 403, code: 'GW_ERR_ACCESS_DENIED' },
      });
      apiError(res, 403, 'GW_ERR_ACCESS_DENIED', message);
      return undefined;
    }
    return { ...selection, beamlines: scope.beamlines };
  };

  const parsedOr400 = <T>(res: Response, parsed: Parsed<T>): T | undefined => {
    if (parsed.ok) return parsed.value;
    apiError(res, 400, 'GW_ERR_BAD_REQUEST', parsed.message);
    return undefined;
  };

  router.get('/api/audit', handle(async (req, res) => {
    const params = parsedOr400(res, parsePageQuery(req.query));
    if (params === undefined) return;
    const selection = await scoped(req, res, params.selection);
    if (selection === undefined) return;
    const { before, after, limit, order } = params;
    const page = await deps.queries.page({ ...selection, before, after, limit, order });
    res.setHeader('Cache-Control', 'no-store');
    res.json({ records: page.records, older: page.older, newer: page.newer, limit: params.limit, order: params.order });
  }));

  router.get('/api/audit/options', (_req, res) => {
    const scope = res.locals.auditScope;
    if (scope === undefined) return;
    res.json({
      scope: describeScope(scope).beamlines,
      kinds: Object.entries(AUDIT_CODES).map(([code, description]) => ({ code, description })),
      families: AUDIT_FAMILIES,
      maxLimit: MAX_PAGE_LIMIT,
    });
  });

  router.get('/api/audit/stats', handle(async (req, res) => {
    const query = parsedOr400(res, parseStatsQuery(req.query));
    if (query === undefined) return;
    const selection = await scoped(req, res, query);
    if (selection === undefined) return;
    const stats = await deps.queries.stats({ ...selection, now: deps.clock() });
    res.setHeader('Cache-Control', 'no-store');
    const rows = (list: readonly AuditStatsRow[]) => list.map(withHours);
    res.json({
      from: stats.from?.toISOString(), to: stats.to.toISOString(), totals: withHours(stats.totals),
      byBeamline: rows(stats.byBeamline), byBeamtime: rows(stats.byBeamtime), byPerson: rows(stats.byPerson),
    });
  }));

  router.get('/api/audit/chain', (_req, res) => {
    // Checked once on first demand; afterwards the last verdict stands until someone asks again (POST).
    const status = chain.status();
    res.setHeader('Cache-Control', 'no-store');
    res.json(status.state === 'unchecked' ? chain.start() : status);
  });

  router.post('/api/audit/chain', (_req, res) => {
    res.status(202).json(chain.start());
  });

  router.get('/api/audit/export', handle(async (req, res) => {
    const params = parsedOr400(res, parseExportQuery(req.query));
    if (params === undefined) return;
    const selection = await scoped(req, res, params.selection);
    const principal = res.locals.principal;
    if (selection === undefined || principal === undefined) return;
    if (exporting >= maxExports) {
      res.setHeader('Retry-After', '5');
      res.status(429).json({ error: { code: 'GW_ERR_RATE_LIMITED', message: `${maxExports} exports are running; try again when one has finished.` } });
      return;
    }
    exporting++;
    try {
      await exportTo(req, res, params.format, params.given, selection, principal.identity);
    } finally {
      exporting--;
    }
  }));

  async function exportTo(
    req: Request, res: Response, format: 'csv' | 'json', given: Readonly<Record<string, string>>, selection: AuditSelection,
    who: { userId: string; name: string },
  ): Promise<void> {
    const now = deps.clock();
    // The head first: the export holds exactly the records up to it, however many are appended meanwhile.
    const head = await deps.queries.head();
    const count = await deps.queries.count(selection, head.seq);
    const scope = selection.beamlines === undefined ? {} : { scope: [...selection.beamlines] };
    // On record before a byte leaves (record() rejects, and the export fails, when it cannot be written).
    await deps.audit.record({
      code: 'audit.exported', actor: who.userId, address: remoteAddress(req), beamline: selection.beamline, beamtime: selection.beamtime,
      session: selection.session, target: selection.desktop,
      message: `${who.name} exported ${count} audit records as ${format.toUpperCase()}`,
      details: { format, filter: { ...given }, ...scope, count, upToSeq: head.seq },
    });
    res.status(200);
    res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${exportFileName(format, now)}"`);
    res.setHeader('Cache-Control', 'no-store');
    const client = { gone: false };
    res.on('close', () => {
      client.gone = true;
    });
    const header = { exportedAt: now, exportedBy: who.userId, filter: given, head, count };
    const text = exportText(format, header, deps.queries.scan(selection, head.seq, 1000));
    try {
      for await (const piece of text) {
        if (client.gone) break;
        if (!res.write(piece)) await new Promise<void>(resolve => res.once('drain', resolve).once('close', resolve));
      }
      res.end();
    } catch (e) {
      // Headers are out: all that is left is to cut the download short, which the client sees as a failed download.
      deps.log.error({ err: (e as Error).message, format, count }, 'audit export failed midway');
      res.destroy();
    }
  }

  router.use('/api/audit', (_req, res) => {
    apiError(res, 404, 'GW_ERR_BAD_PATH', 'No such audit API endpoint: /api/audit, /api/audit/export, /api/audit/stats, /api/audit/chain, /api/audit/options.');
  });

  return router;
}
