// Decides whether a WebSocket upgrade may proceed, in a fixed order: path, Origin, target,
// capacity. Each failure has its own HTTP status and code, and is answered before ws touches
// the socket. (Issue 3 adds session and policy checks between Origin and target.)
import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../rfb/errors.js';

export type UpgradeDecision =
  | {
    readonly ok: true;
    /** desktop: the RFB stream; control: the JSON control channel of the same desktop. */
    readonly kind: 'desktop' | 'control';
    readonly targetId: string;
    readonly viewOnly: boolean;
    /** desktop: the control-channel connection this desktop socket belongs to (its input follows that token). */
    readonly connection: string | undefined;
  }
  | { readonly ok: false; readonly status: 400 | 403 | 404 | 503; readonly code: ErrorCode; readonly detail: string };

export interface UpgradeContext {
  readonly allowedOrigins: ReadonlySet<string>;
  readonly hasTarget: (id: string) => boolean;
  readonly viewerCount: number;
  readonly maxViewers: number;
  readonly shuttingDown: boolean;
}

const DESKTOP_PATH = /^\/(desktop|control)\/([a-z0-9][a-z0-9-]{0,62})$/;
const CONNECTION_ID = /^[0-9a-f-]{36}$/;

export function decideUpgrade(req: Pick<IncomingMessage, 'url' | 'headers'>, ctx: UpgradeContext): UpgradeDecision {
  const url = new URL(req.url ?? '/', 'http://gateway.invalid');
  const match = DESKTOP_PATH.exec(url.pathname);
  if (!match?.[1] || !match[2]) return { ok: false, status: 404, code: 'GW_ERR_BAD_PATH', detail: `no WebSocket endpoint at ${url.pathname}` };
  // Browsers always send Origin and attach cookies to cross-site upgrades without a preflight,
  // so a foreign Origin is refused (cross-site WebSocket hijacking). Non-browser clients send none.
  const origin = req.headers.origin;
  if (origin !== undefined && !ctx.allowedOrigins.has(origin)) {
    return { ok: false, status: 403, code: 'GW_ERR_ORIGIN_FORBIDDEN', detail: `Origin ${origin} is not allowed` };
  }
  const kind = match[1] === 'control' ? 'control' : 'desktop';
  const targetId = match[2];
  if (!ctx.hasTarget(targetId)) return { ok: false, status: 404, code: 'GW_ERR_UNKNOWN_TARGET', detail: `no desktop "${targetId}"` };
  if (ctx.shuttingDown) return { ok: false, status: 503, code: 'GW_ERR_SHUTTING_DOWN', detail: 'gateway is shutting down' };
  if (ctx.viewerCount >= ctx.maxViewers) {
    return { ok: false, status: 503, code: 'GW_ERR_TOO_MANY_CONNECTIONS', detail: `${ctx.viewerCount} viewers connected, limit ${ctx.maxViewers}` };
  }
  const viewOnly = url.searchParams.get('view-only') === '1';
  const connection = url.searchParams.get('connection') ?? undefined;
  if (connection !== undefined && !CONNECTION_ID.test(connection)) {
    return { ok: false, status: 400, code: 'GW_ERR_BAD_REQUEST', detail: 'the connection parameter is not a control-channel id' };
  }
  return { ok: true, kind, targetId, viewOnly, connection };
}
