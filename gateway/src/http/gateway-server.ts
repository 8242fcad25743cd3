// The gateway's HTTP and WebSocket front: static browser client, a small JSON API, health
// endpoints, and the desktop WebSocket that becomes a ViewerProxy. Built by the composition
// root from config and a logger; holds no globals.
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import express from 'express';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { GatewayConfig, TargetConfig } from '../config.js';
import { defaultOrigins } from '../config.js';
import { connectUpstream, createReadBufferPool, type ReadBufferPool, type UpstreamConnection } from '../proxy/upstream-connector.js';
import { ViewerProxy } from '../proxy/viewer-proxy.js';
import { CloseCode, GatewayError, upstreamError } from '../rfb/errors.js';
import { securityHeaders } from './security-headers.js';
import { decideUpgrade } from './upgrade.js';

export interface GatewayServer {
  readonly server: Server;
  listen(): Promise<AddressInfo>;
  /** Stops accepting, tells every viewer the gateway is going away, and closes. */
  close(): Promise<void>;
  viewerCount(): number;
}

export interface GatewayDeps {
  readonly config: GatewayConfig;
  readonly log: Logger;
  /** Directory of the built browser client (index.html, app.js). */
  readonly clientDir: string;
}

const STATUS_TEXT = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' } as const;

export function createGatewayServer({ config, log, clientDir }: GatewayDeps): GatewayServer {
  const targets = new Map<string, TargetConfig>(config.targets.map(t => [t.id, t]));
  const viewers = new Set<ViewerProxy>();
  // One pool for all viewers: recycled 256 KiB reads instead of a fresh buffer per read (docs/benchmarks.md).
  const readBuffers = createReadBufferPool();
  let shuttingDown = false;
  let allowedOrigins = new Set(config.allowedOrigins ?? defaultOrigins(config.listen.host, config.listen.port));

  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    res.status(shuttingDown ? 503 : 200).json({ status: shuttingDown ? 'shutting-down' : 'ready', viewers: viewers.size });
  });
  app.get('/api/targets', (_req, res) => {
    res.json({ targets: config.targets.map(t => ({ id: t.id, name: t.name })) });
  });
  app.use('/api', (_req, res) => {
    res.status(404).json({ error: { code: 'GW_ERR_BAD_PATH', message: 'No such API endpoint.' } });
  });
  app.use(express.static(clientDir, { index: 'index.html', fallthrough: true }));
  app.get('/view/:id', (_req, res) => {
    res.sendFile('index.html', { root: clientDir });
  });

  const server = createServer(app);
  // maxPayload: the largest legitimate browser message is a ClientCutText at the limit.
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.limits.maxClientCutText + 1024, perMessageDeflate: false });

  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    const decision = decideUpgrade(req, {
      allowedOrigins, hasTarget: id => targets.has(id), viewerCount: viewers.size, maxViewers: config.limits.maxViewers, shuttingDown,
    });
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    if (!decision.ok) {
      log.warn({ code: decision.code, status: decision.status, remote, path: req.url, origin: req.headers.origin }, decision.detail);
      const body = JSON.stringify({ error: { code: decision.code, message: STATUS_TEXT[decision.status] } });
      socket.end(`HTTP/1.1 ${decision.status} ${STATUS_TEXT[decision.status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    const target = targets.get(decision.targetId);
    if (target === undefined) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const viewerLog = log.child({ viewer: remote, target: target.id, viewOnly: decision.viewOnly });
      const upstream = openUpstream(target, config, readBuffers);
      const viewer = new ViewerProxy(ws, upstream, {
        viewOnly: decision.viewOnly,
        framerLimits: { maxClientCutText: config.limits.maxClientCutText, maxEncodings: 64 },
        sendHighWaterBytes: config.limits.sendHighWaterBytes,
        slowViewerTimeoutMs: config.limits.slowViewerTimeoutMs,
        handshakeTimeoutMs: config.limits.handshakeTimeoutMs,
        pingIntervalMs: config.limits.pingIntervalMs,
        desktopName: target.name,
      }, viewerLog);
      viewers.add(viewer);
      viewerLog.info('viewer connected');
      viewer.onClose((error) => {
        viewers.delete(viewer);
        const fields = { stats: viewer.stats, ...(error === undefined ? {} : { code: error.code, err: error.message }) };
        if (error === undefined || error.closeCode === CloseCode.goingAway) viewerLog.info(fields, 'viewer disconnected');
        else viewerLog.warn(fields, 'viewer disconnected with an error');
      });
    });
  });

  return {
    server,
    viewerCount: () => viewers.size,
    listen: () => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => {
        server.removeListener('error', reject);
        const address = server.address() as AddressInfo;
        if (config.allowedOrigins === undefined) allowedOrigins = new Set(defaultOrigins(config.listen.host, address.port));
        resolve(address);
      });
    }),
    close: () => new Promise((resolve) => {
      shuttingDown = true;
      for (const viewer of viewers) {
        viewer.close(new GatewayError('GW_ERR_SHUTTING_DOWN', 'gateway shutting down', 'The gateway is restarting; reconnect in a moment.', CloseCode.goingAway));
      }
      wss.close();
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    }),
  };
}

async function openUpstream(target: TargetConfig, config: GatewayConfig, readBuffers: ReadBufferPool): Promise<UpstreamConnection> {
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
