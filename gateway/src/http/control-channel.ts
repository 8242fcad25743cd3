// The control channel of one browser tab on one desktop: JSON over a WebSocket, validated with
// control/protocol.ts, rate limited, feeding the desktop's control token (DesktopControl) and
// kept under the access watcher (a person who may no longer watch is disconnected; one who may
// no longer drive loses eligibility in place).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { AccessWatcher } from '../access/access-watcher.js';
import type { Desktop } from '../access/access-service.js';
import type { AuditWriter } from '../audit/audit-writer.js';
import type { Principal } from '../auth/session-service.js';
import type { DesktopControl } from '../control/desktop-control.js';
import { parseClientMessage, type ServerMessage } from '../control/protocol.js';

export interface ControlChannelDeps {
  readonly control: DesktopControl;
  readonly watcher: AccessWatcher;
  readonly audit: AuditWriter;
  readonly log: Logger;
  readonly desktop: Desktop;
  readonly principal: Principal;
  readonly address: string;
  readonly canControl: boolean;
  readonly staff: boolean;
  readonly messagesPerSecond: number;
  readonly pingIntervalMs: number;
  readonly closeCodes: { readonly 'login-ended': number; readonly 'view-revoked': number };
}

/** A browser that keeps sending past its allowance this many times is disconnected. */
const MAX_OVER_LIMIT = 50;
const MAX_MESSAGE_BYTES = 4096;

export function openControlChannel(ws: WebSocket, deps: ControlChannelDeps): string {
  const connection = randomUUID();
  const { identity } = deps.principal;
  const log = deps.log.child({ control: connection, user: identity.userId, target: deps.desktop.id });
  const send = (message: ServerMessage): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  // Token bucket: messagesPerSecond, bursts of twice that.
  const capacity = deps.messagesPerSecond * 2;
  let tokens = capacity;
  let refilledAt = Date.now();
  let overLimit = 0;
  const allow = (): boolean => {
    const now = Date.now();
    tokens = Math.min(capacity, tokens + ((now - refilledAt) / 1000) * deps.messagesPerSecond);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  deps.control.join({
    connection, sessionId: deps.principal.sessionId, userId: identity.userId, name: identity.name, staff: deps.staff, address: deps.address,
    send,
    close: (code, reason) => {
      ws.close(code, reason);
    },
  }, deps.canControl);
  deps.watcher.add({
    viewerId: connection, sessionId: deps.principal.sessionId, identity, desktop: deps.desktop, address: deps.address,
    disconnect: (why, message) => {
      send({ v: 1, type: 'notice', text: message });
      ws.close(deps.closeCodes[why], message.slice(0, 120));
    },
    onControlDecision: (allowed, message) => {
      deps.control.eligibility(connection, allowed, message);
    },
  });
  void deps.audit.tryRecord({
    code: 'control.joined', actor: identity.userId, beamline: deps.desktop.beamline, target: deps.desktop.id, address: deps.address,
    message: `${identity.name} opened the control channel of ${deps.desktop.name}`, details: { connection, staff: deps.staff, canControl: deps.canControl },
  });

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!allow()) {
      overLimit += 1;
      if (overLimit === 1) log.warn('control messages over the rate limit');
      send({ v: 1, type: 'refused', action: 'any', reason: `Too many control messages; at most ${deps.messagesPerSecond} a second.` });
      if (overLimit > MAX_OVER_LIMIT) ws.close(1008, 'too many control messages');
      return;
    }
    if (isBinary || data.length > MAX_MESSAGE_BYTES) {
      send({ v: 1, type: 'error', code: 'GW_ERR_BAD_REQUEST', message: 'control messages are JSON text of at most 4 KiB' });
      return;
    }
    const parsed = parseClientMessage(data.toString('utf8'));
    if (!parsed.ok) {
      send({ v: 1, type: 'error', code: 'GW_ERR_BAD_REQUEST', message: parsed.error });
      return;
    }
    deps.control.handle(connection, parsed.message);
  });

  let alive = true;
  ws.on('pong', () => {
    alive = true;
  });
  const ping = setInterval(() => {
    if (!alive) {
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, deps.pingIntervalMs);
  ping.unref();

  ws.on('close', () => {
    clearInterval(ping);
    deps.watcher.remove(connection);
    deps.control.leave(connection);
    void deps.audit.tryRecord({
      code: 'control.left', actor: identity.userId, beamline: deps.desktop.beamline, target: deps.desktop.id, address: deps.address,
      message: `${identity.name} closed the control channel of ${deps.desktop.name}`, details: { connection },
    });
  });
  ws.on('error', (e: Error) => {
    log.warn({ err: e.message }, 'control channel error');
  });
  return connection;
}
