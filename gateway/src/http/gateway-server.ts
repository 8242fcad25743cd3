// The gateway's HTTP and WebSocket front: the browser client (portal and desktop page), login,
// the JSON API, health endpoints, and the desktop WebSocket that becomes a ViewerProxy once
// path, Origin, session and policy allow it (and the audit log has it). Built by the
// composition root; holds no globals.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { GatewayConfig, TargetConfig } from '../config.js';
import { defaultOrigins } from '../config.js';
import { connectUpstream, createReadBufferPool, type ReadBufferPool, type UpstreamConnection } from '../proxy/upstream-connector.js';
import { ViewerProxy } from '../proxy/viewer-proxy.js';
import { CloseCode, GatewayError, upstreamError } from '../rfb/errors.js';
import { AuditUnavailableError, type AuditWriter } from '../audit/audit-writer.js';
import { messageOf, type AccessWatcher } from '../access/access-watcher.js';
import type { AccessService, Desktop } from '../access/access-service.js';
import { readSessionCookie, type CookiePolicy } from '../auth/cookies.js';
import type { DesktopControl } from '../control/desktop-control.js';
import { openControlChannel } from './control-channel.js';
import type { OidcClient } from '../auth/oidc-client.js';
import type { Principal, SessionService } from '../auth/session-service.js';
import type { AuditQueries, LoginTransactionStore } from '../store/types.js';
import { BlockAggregator, type BlockRecord } from '../../../policies/src/input-rules.js';
import type { PolicyDirectory } from '../input-policy/policy-directory.js';
import type { DesktopSessions } from '../recording/session-context.js';
import { apiRoutes } from './api-routes.js';
import { auditRoutes } from './audit-routes.js';
import { recordingRoutes } from './recording-routes.js';
import type { RecordingIndex } from '../store/types.js';
import { authRoutes } from './auth-routes.js';
import { rateLimit, RateLimiter } from './rate-limit.js';
import { apiError } from './request-guard.js';
import { securityHeaders } from './security-headers.js';
import { metricsHandler, type MetricSample } from './metrics.js';
import { decideUpgrade } from './upgrade.js';

export interface GatewayServer {
  readonly server: Server;
  listen(): Promise<AddressInfo>;
  /** Stops accepting, tells every viewer the gateway is going away, and closes. */
  close(): Promise<void>;
  viewerCount(): number;
  /** The origins whose pages may call the API and open desktops (known once listening). */
  allowedOrigins(): ReadonlySet<string>;
}

/** Login, sessions and policy; absent only with insecureNoLogin (loopback trials, the benchmark). */
export interface LoginServices {
  readonly oidc: OidcClient;
  readonly sessions: SessionService;
  readonly transactions: LoginTransactionStore;
  readonly access: AccessService;
  readonly watcher: AccessWatcher;
  readonly cookies: CookiePolicy;
  readonly maxAgeMs: number;
  /** The control token of each desktop, by target id. */
  readonly controls: ReadonlyMap<string, DesktopControl>;
}

export interface GatewayDeps {
  readonly config: GatewayConfig;
  readonly log: Logger;
  /** Directory of the built browser client (portal.html, view.html, bundles). */
  readonly clientDir: string;
  readonly audit: AuditWriter;
  readonly login: LoginServices | undefined;
  /** Throws when a dependency (the store) is not usable: /readyz then answers 503. */
  readonly ready: () => Promise<void>;
  /** The beamlines' input policies; absent: input is not filtered beyond view-only and the control token. */
  readonly inputPolicies?: PolicyDirectory | undefined;
  /** Desktop sessions and their recordings; absent: no session ids on records, nothing recorded. */
  readonly sessions?: DesktopSessions | undefined;
  /** The recordings directory and index, for playback (/api/recordings); absent: no recordings API. */
  readonly recordings?: { readonly directory: string; readonly index: RecordingIndex } | undefined;
  /** Samples for GET /metrics besides the gateway's own (recordings, ...). */
  readonly metrics?: (() => readonly MetricSample[]) | undefined;
  /** The audit log's queries for the safety officer's pages (/api/audit); absent: no audit API. */
  readonly auditQueries?: AuditQueries | undefined;
  readonly clock: () => Date;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

interface DenyContext {
  readonly actor?: string;
  readonly target?: string;
  readonly beamline?: string | undefined;
  readonly reasons?: string[];
}

/** WebSocket close codes for a viewer whose rights ended (the page then asks /api/desktops/:id/access why). */
export const ACCESS_CLOSE = { 'login-ended': CloseCode.loginEnded, 'view-revoked': CloseCode.viewRevoked } as const;

export function createGatewayServer(deps: GatewayDeps): GatewayServer {
  const { config, log, clientDir, audit, login, ready, clock, inputPolicies, sessions } = deps;
  const targets = new Map<string, TargetConfig>(config.targets.map(t => [t.id, t]));
  const viewers = new Set<ViewerProxy>();
  // One pool for all viewers: recycled 256 KiB reads instead of a fresh buffer per read (docs/benchmarks.md).
  const readBuffers = createReadBufferPool();
  // Blocked input is audited once per burst (per viewer and rule), with a count when the burst ends.
  const blocks = new BlockAggregator();
  const blockedBy = new Map<string, { userId: string; target: TargetConfig; address: string; tell: (text: string) => void }>();
  const recordBlocks = (records: readonly BlockRecord[]): void => {
    for (const r of records) {
      const who = blockedBy.get(r.connection);
      if (who === undefined) continue;
      if (r.kind === 'first') who.tell(`Blocked: ${r.reason}`);
      const message = r.kind === 'first' ? `input blocked by rule ${r.ruleId}: ${r.reason}` : `${r.count} more inputs blocked by rule ${r.ruleId}`;
      const session = sessions?.sessionOf(who.target.id);
      void audit.tryRecord({
        code: 'input.blocked', actor: who.userId, target: who.target.id, beamline: who.target.beamline, address: who.address,
        session, beamtime: sessions?.beamtimeOf(who.target.id), message,
        details: { rule: r.ruleId, viewer: r.connection, ...(r.kind === 'repeated' ? { count: r.count, from: r.from, to: r.to } : {}) },
      }).then((record) => {
        sessions?.note(who.target.id, {
          kind: 'blocked', message, actor: who.userId, detail: r.ruleId, ...(record === undefined ? {} : { auditSeq: record.seq }),
        });
      });
    }
  };
  const blockTimer = setInterval(() => {
    recordBlocks(blocks.flush(Date.now()));
  }, 1000);
  blockTimer.unref();
  let shuttingDown = false;
  let origins = new Set(config.allowedOrigins ?? originsOf(config));
  let publicUrl = config.publicUrl ?? '';
  const allowedOrigins = (): ReadonlySet<string> => origins;

  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/metrics', metricsHandler(config.metrics.allowedAddresses, () => [
    { name: 'beamgate_viewers', help: 'Desktop viewers connected now.', type: 'gauge', value: viewers.size },
    ...(deps.metrics?.() ?? []),
  ]));
  app.get('/readyz', (_req, res) => {
    ready().then(() => {
      res.status(shuttingDown ? 503 : 200).json({ status: shuttingDown ? 'shutting-down' : 'ready', viewers: viewers.size });
    }, (e: unknown) => {
      log.warn({ err: (e as Error).message }, 'not ready');
      res.status(503).json({ status: 'not-ready', reason: 'the store is not reachable' });
    });
  });
  if (login === undefined) {
    app.get('/api/me', (_req, res) => {
      res.json({ authenticated: false, loginDisabled: true });
    });
    app.get('/api/targets', (_req, res) => {
      res.json({ targets: config.targets.map(t => ({ id: t.id, name: t.name, control: true })) });
    });
    app.use('/api', (_req, res) => {
      apiError(res, 404, 'GW_ERR_BAD_PATH', 'No such API endpoint.');
    });
  } else {
    // People click; scripts hammer. Login starts and callbacks are dearer (they reach the provider).
    app.use('/auth', rateLimit(new RateLimiter({ perSecond: config.limits.loginRequestsPerSecond, burst: config.limits.loginRequestsPerSecond * 3 })));
    app.use('/api', rateLimit(new RateLimiter({ perSecond: config.limits.apiRequestsPerSecond, burst: config.limits.apiRequestsPerSecond * 3 })));
    app.use(authRoutes({
      oidc: login.oidc, sessions: login.sessions, transactions: login.transactions, audit, cookies: login.cookies, allowedOrigins,
      publicUrl: () => publicUrl, maxAgeMs: login.maxAgeMs, log, clock,
    }));
    if (deps.recordings !== undefined) {
      // Before apiRoutes, whose router answers 404 for every /api path it does not know.
      const beamlines = [...new Set(config.targets.map(t => t.beamline ?? t.id))];
      app.use(recordingRoutes({
        sessions: login.sessions, access: login.access, cookies: login.cookies, audit, allowedOrigins, log: log.child({ part: 'playback' }),
        directory: deps.recordings.directory, index: deps.recordings.index, beamlines: () => beamlines,
      }));
    }
    if (deps.auditQueries !== undefined) {
      app.use(auditRoutes({
        queries: deps.auditQueries, sessions: login.sessions, access: login.access, cookies: login.cookies,
        audit, allowedOrigins, clock, log,
      }));
    }
    app.use(apiRoutes({ sessions: login.sessions, access: login.access, cookies: login.cookies, audit, allowedOrigins }));
  }
  app.get('/', (_req, res) => {
    res.sendFile('portal.html', { root: clientDir });
  });
  app.get('/view/:id', (_req, res) => {
    res.sendFile('view.html', { root: clientDir });
  });
  app.use(express.static(clientDir, { index: false, fallthrough: true }));
  app.use((_req: Request, res: Response) => {
    res.status(404).type('text').send('Not found');
  });
  // Last: whatever went wrong, the client gets a short JSON error and no stack trace.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: unknown }).status;
    if (error instanceof AuditUnavailableError) {
      apiError(res, 503, 'GW_ERR_AUDIT_UNAVAILABLE', 'The gateway cannot write its audit log right now, so nothing was changed. Try again later; tell the facility IT if it persists.');
    } else if (typeof status === 'number' && status >= 400 && status < 500) {
      apiError(res, status, 'GW_ERR_BAD_REQUEST', status === 413 ? 'The request body is too large.' : 'The request body is not valid JSON.');
    } else {
      log.error({ err: (error as Error).message, path: req.path }, 'request failed');
      res.status(500).json({ error: { code: 'GW_ERR_INTERNAL', message: 'Something went wrong in the gateway; it is logged. Try again.' } });
    }
  });

  const server = createServer(app);
  // maxPayload: the largest legitimate browser message is a ClientCutText at the limit.
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.limits.maxClientCutText + 1024, perMessageDeflate: false });

  const refuse = (socket: Duplex, status: number, code: string, message: string): void => {
    const body = JSON.stringify({ error: { code, message } });
    const text = STATUS_TEXT[status] ?? 'Error';
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  };

  const admit = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const address = req.socket.remoteAddress ?? 'unknown';
    const deny = async (status: number, code: string, detail: string, userMessage: string, extra: DenyContext = {}): Promise<void> => {
      log.warn({ code, status, remote, path: req.url, origin: req.headers.origin }, detail);
      await audit.tryRecord({
        code: 'access.denied', actor: extra.actor ?? 'anonymous', address, target: extra.target, beamline: extra.beamline,
        message: `desktop connection refused: ${detail}`, details: { status, code, ...(extra.reasons === undefined ? {} : { reasons: extra.reasons }) },
      });
      refuse(socket, status, code, userMessage);
    };
    const decision = decideUpgrade(req, {
      allowedOrigins: origins, hasTarget: id => targets.has(id), viewerCount: viewers.size,
      maxViewers: config.limits.maxViewers, shuttingDown,
    });
    if (!decision.ok) {
      await deny(decision.status, decision.code, decision.detail, STATUS_TEXT[decision.status] ?? 'Refused');
      return;
    }
    const target = targets.get(decision.targetId);
    if (target === undefined) return;
    if (decision.kind === 'control' && login === undefined) {
      await deny(404, 'GW_ERR_BAD_PATH', 'no control channel without login (insecureNoLogin)', 'This gateway runs without login and has no control token.');
      return;
    }
    let interactive = !decision.viewOnly;
    let principal: Principal | undefined;
    let control: { desktop: DesktopControl; connection: string | undefined } | undefined;
    let desktop: Desktop | undefined; // with login: the target as the policy knows it
    let staff = false; // a local contact of the desktop's beamline
    if (login !== undefined) {
      principal = await login.sessions.resolve(readSessionCookie(login.cookies, req.headers.cookie));
      if (principal === undefined) {
        await deny(401, 'GW_ERR_LOGIN_REQUIRED', 'no valid login session', 'Log in first.', { target: target.id });
        return;
      }
      desktop = login.access.desktop(target.id);
      if (desktop === undefined) return;
      const rights = login.access.rights(principal.identity, desktop, clock());
      if (!rights.view.allow) {
        await deny(403, 'GW_ERR_ACCESS_DENIED', `${principal.identity.userId} may not watch ${target.id}`, messageOf(rights.view), {
          actor: principal.identity.userId, target: target.id, beamline: desktop.beamline, reasons: rights.view.reasons.map(r => r.message),
        });
        return;
      }
      const desktopControl = login.controls.get(target.id);
      if (desktopControl === undefined) return;
      staff = login.access.isStaff(principal.identity, desktop);
      if (decision.kind === 'control') {
        const owner = principal;
        const channelDesktop = desktop;
        wss.handleUpgrade(req, socket, head, (ws) => {
          openControlChannel(ws, {
            control: desktopControl, watcher: login.watcher, audit, log, desktop: channelDesktop, principal: owner, address,
            canControl: rights.control.allow, staff, messagesPerSecond: config.control.messagesPerSecond,
            pingIntervalMs: config.limits.pingIntervalMs, closeCodes: ACCESS_CLOSE,
          });
        });
        return;
      }
      // With login, input follows the control token: a desktop socket drives only while the
      // control channel it belongs to holds the token.
      interactive = false;
      control = { desktop: desktopControl, connection: decision.viewOnly ? undefined : decision.connection };
    }
    const viewerId = randomUUID();
    const userId = principal?.identity.userId ?? 'anonymous';
    const who = principal?.identity.name ?? 'anonymous (no login)';
    let session: string | undefined;
    try {
      // The first viewer opens the desktop's session (and its recording); a session not on record does not start.
      session = await sessions?.join({ id: target.id, name: target.name, beamline: target.beamline ?? target.id }, viewerId);
      const joined = await audit.record({
        code: 'viewer.joined', actor: userId, target: target.id, beamline: target.beamline, address,
        session, beamtime: sessions?.beamtimeOf(target.id),
        message: `${who} ${interactive ? 'connected to' : 'is watching'} ${target.name}`,
        details: { viewer: viewerId, interactive },
      });
      sessions?.note(target.id, { kind: 'viewer', detail: 'joined', actor: userId, message: `${who} joined`, auditSeq: joined.seq });
    } catch {
      sessions?.leave(target.id, viewerId);
      refuse(socket, 503, 'GW_ERR_AUDIT_UNAVAILABLE', 'The gateway cannot write its audit log right now, so it lets nobody in.');
      return;
    }
    if (socket.destroyed) {
      sessions?.leave(target.id, viewerId);
      await audit.tryRecord({
        code: 'viewer.left', actor: userId, target: target.id, beamline: target.beamline, address, session,
        message: 'the browser went away during the checks', details: { viewer: viewerId },
      });
      return;
    }
    const policyDesktop = desktop;
    // Asked for every input message: a Map lookup in AccessService (the mode can change with the data).
    const viewOnlyBeamline = (): boolean =>
      policyDesktop !== undefined && login !== undefined && login.access.viewOnlyBeamline(policyDesktop);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const viewerLog = log.child({ viewer: viewerId, remote, target: target.id, user: userId, interactive });
      const upstream = openUpstream(target, config, readBuffers);
      const viewer = new ViewerProxy(ws, upstream, {
        viewOnly: !interactive,
        framerLimits: { maxClientCutText: config.limits.maxClientCutText, maxEncodings: 64 },
        sendHighWaterBytes: config.limits.sendHighWaterBytes,
        slowViewerTimeoutMs: config.limits.slowViewerTimeoutMs,
        handshakeTimeoutMs: config.limits.handshakeTimeoutMs,
        pingIntervalMs: config.limits.pingIntervalMs,
        desktopName: target.name,
        ...(control === undefined ? {} : { control: control.desktop.epoch }),
        ...(inputPolicies === undefined ? {} : {
          inputPolicy: {
            policy: () => inputPolicies.policy(target.beamline ?? target.id),
            context: () => ({ staff, viewOnlyBeamline: viewOnlyBeamline() }),
            blocked: (ruleId: string, reason: string) => {
              recordBlocks(blocks.add({ ruleId, reason, connection: viewerId, at: Date.now() }));
            },
          },
        }),
      }, viewerLog);
      blockedBy.set(viewerId, {
        userId, target, address,
        tell: (text) => {
          const channel = control?.connection === undefined ? undefined : control.desktop.channelOf(control.connection);
          channel?.send({ v: 1, type: 'notice', text });
        },
      });
      viewers.add(viewer);
      viewerLog.info('viewer connected');
      let leftBecause: string | undefined;
      const controlConnection = control?.connection;
      const inputSwitch = {
        grantInput: (epoch: number) => {
          viewer.grantInput(epoch);
        },
        revokeInput: () => {
          viewer.revokeInput();
        },
        close: (message: string) => {
          leftBecause = message;
          viewer.close(new GatewayError('GW_ERR_ACCESS_DENIED', message, message, CloseCode.viewRevoked));
        },
      };
      if (control !== undefined && controlConnection !== undefined && principal !== undefined) {
        if (!control.desktop.attachViewer(controlConnection, principal.sessionId, inputSwitch)) {
          viewerLog.warn('desktop socket names a control connection that is not this session\'s: it only watches');
        }
        viewer.onInputForwarded(() => {
          control.desktop.input(controlConnection);
        });
      }
      if (login !== undefined && principal !== undefined && policyDesktop !== undefined) {
        login.watcher.add({
          viewerId, sessionId: principal.sessionId, identity: principal.identity, desktop: policyDesktop, address,
          disconnect: (why, message) => {
            leftBecause = `${why}: ${message}`;
            viewer.close(new GatewayError('GW_ERR_ACCESS_DENIED', `${why}: ${message}`, message, ACCESS_CLOSE[why]));
          },
        });
      }
      viewer.onClose((error) => {
        viewers.delete(viewer);
        recordBlocks(blocks.endConnection(viewerId));
        blockedBy.delete(viewerId);
        login?.watcher.remove(viewerId);
        if (control !== undefined && controlConnection !== undefined) control.desktop.detachViewer(controlConnection, inputSwitch);
        const fields = { stats: viewer.stats, ...(error === undefined ? {} : { code: error.code, err: error.message }) };
        if (error === undefined || error.closeCode === CloseCode.goingAway) viewerLog.info(fields, 'viewer disconnected');
        else viewerLog.warn(fields, 'viewer disconnected with an error');
        const reason = leftBecause ?? (error === undefined ? 'closed by the browser' : `${error.code}: ${error.message}`);
        const leftMessage = `${principal?.identity.name ?? 'anonymous'} left ${target.name} (${reason})`;
        sessions?.note(target.id, { kind: 'viewer', detail: 'left', actor: userId, message: leftMessage });
        void audit.tryRecord({
          code: 'viewer.left', actor: userId, target: target.id, beamline: target.beamline, address,
          session, beamtime: sessions?.beamtimeOf(target.id), message: leftMessage,
          details: { viewer: viewerId, bytesToBrowser: viewer.stats.bytesToBrowser, blockedByPolicy: viewer.stats.blockedByPolicy },
        }).finally(() => {
          sessions?.leave(target.id, viewerId);
        });
        // A browser that sent malformed or unknown RFB messages is closed (fail closed) and on record as such.
        if (error?.code.startsWith('GW_ERR_RFB_') === true) {
          void audit.tryRecord({
            code: 'viewer.protocol_error', actor: userId, target: target.id, beamline: target.beamline, address, session,
            message: `${principal?.identity.name ?? 'anonymous'} was disconnected from ${target.name}: ${error.code}`,
            details: { viewer: viewerId, error: error.code, detail: error.message },
          });
        }
      });
    });
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined); // a browser that vanishes mid-check must not crash the gateway
    admit(req, socket, head).catch((e: unknown) => {
      log.error({ err: (e as Error).message }, 'desktop connection failed during the checks');
      if (!socket.destroyed) refuse(socket, 503, 'GW_ERR_INTERNAL', 'The gateway could not check this connection; try again.');
    });
  });

  return {
    server,
    viewerCount: () => viewers.size,
    allowedOrigins,
    listen: () => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => {
        server.removeListener('error', reject);
        const address = server.address() as AddressInfo;
        if (config.allowedOrigins === undefined) origins = new Set(originsOf(config, address.port));
        if (config.publicUrl === undefined) publicUrl = [...origins][0] ?? '';
        resolve(address);
      });
    }),
    close: () => new Promise((resolve) => {
      shuttingDown = true;
      clearInterval(blockTimer);
      for (const viewer of viewers) {
        viewer.close(new GatewayError('GW_ERR_SHUTTING_DOWN', 'gateway shutting down', 'The gateway is restarting; reconnect in a moment.', CloseCode.goingAway));
      }
      // Control channels (and anything else upgraded) are not HTTP connections any more: close them too.
      for (const client of wss.clients) client.close(1001, 'The gateway is restarting.');
      const force = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, 2000);
      force.unref();
      wss.close();
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeAllConnections();
    }),
  };
}

/** The origins of this gateway's pages: publicUrl's, or the listen address's. */
function originsOf(config: GatewayConfig, port = config.listen.port): string[] {
  if (config.publicUrl !== undefined) return [new URL(config.publicUrl).origin];
  return defaultOrigins(config.listen.host, port);
}

/** A new connection to a target's VNC server with the gateway's credentials (viewers pass the shared read buffers; the recorder does not). */
export async function openUpstream(target: TargetConfig, config: GatewayConfig, readBuffers?: ReadBufferPool): Promise<UpstreamConnection> {
  let password: string | undefined;
  let tlsCa: string | undefined;
  try {
    if (target.passwordFile !== undefined) password = (await readFile(target.passwordFile, 'utf8')).split(/\r?\n/, 1)[0];
    if (target.tlsCaFile !== undefined) tlsCa = await readFile(target.tlsCaFile, 'utf8');
  } catch (e) {
    throw upstreamError('GW_ERR_UPSTREAM_NO_COMMON_SECURITY', `target ${target.id}: cannot read its password or CA file (${(e as Error).message})`, 'The beamline desktop is not configured correctly; tell the facility IT.', e);
  }
  return connectUpstream(
    { host: target.host, port: target.port, security: target.security, password, tlsCa },
    { connectTimeoutMs: config.limits.upstreamConnectTimeoutMs, handshakeTimeoutMs: config.limits.handshakeTimeoutMs, readBuffers },
  );
}
