// The server side of the RFB 3.8 handshake. The gateway plays it toward each browser with
// security type None (the WebSocket is already authenticated), and the demo desktop plays it
// with VNC Authentication. The ServerInit may arrive late (the gateway learns it from the VNC
// server while the browser is already talking), and a failure before security negotiation is
// reported the way RFB 3.8 allows: an empty security-type list plus a reason, which noVNC
// shows as a security failure. Stages:
//   ClientVersion -> [AwaitServerInit] -> SecurityChoice -> [VncAuthResponse] -> ClientInit -> Done | Failed
// Pure: effects out, caller does the I/O.
import { timingSafeEqual } from 'node:crypto';
import { ByteQueue } from './byte-queue.js';
import { CloseCode, GatewayError, protocolError } from './errors.js';
import { encodeServerInit, type ServerInit } from './server-init.js';
import { vncAuthResponse } from './vnc-auth.js';

export type ServerStage = 'ClientVersion' | 'AwaitServerInit' | 'SecurityChoice' | 'VncAuthResponse' | 'ClientInit' | 'Done' | 'Failed';

export type ServerSecurity = { readonly type: 'none' } | { readonly type: 'vnc'; readonly password: string; readonly challenge: () => Uint8Array };

export type ServerEffect =
  | { readonly kind: 'send'; readonly bytes: Uint8Array }
  | { readonly kind: 'done'; readonly shared: boolean; readonly rest: Uint8Array }
  | { readonly kind: 'failed'; readonly error: GatewayError };

export const RFB_VERSION_38 = 'RFB 003.008\n';

export class ServerHandshake {
  private stageValue: ServerStage = 'ClientVersion';
  private readonly queue = new ByteQueue();
  private serverInit: ServerInit | undefined;
  private refusal: GatewayError | undefined;
  private challenge: Uint8Array | undefined;

  constructor(private readonly security: ServerSecurity, serverInit?: ServerInit) {
    this.serverInit = serverInit;
  }

  get stage(): ServerStage {
    return this.stageValue;
  }

  /** The greeting to send as soon as the connection is open. */
  start(): ServerEffect[] {
    return [{ kind: 'send', bytes: new TextEncoder().encode(RFB_VERSION_38) }];
  }

  /** The desktop behind us is ready: its geometry, pixel format and name. */
  serverInitReady(serverInit: ServerInit): ServerEffect[] {
    this.serverInit = serverInit;
    return this.advance();
  }

  /** The desktop behind us is unavailable: refuse with this error's user message. */
  refuse(error: GatewayError): ServerEffect[] {
    this.refusal = error;
    return this.advance();
  }

  feed(chunk: Uint8Array): ServerEffect[] {
    this.queue.push(chunk);
    return this.advance();
  }

  private advance(): ServerEffect[] {
    const out: ServerEffect[] = [];
    try {
      while (this.step(out));
    } catch (e) {
      this.stageValue = 'Failed';
      out.push({ kind: 'failed', error: e as GatewayError });
    }
    return out;
  }

  private step(out: ServerEffect[]): boolean {
    const q = this.queue;
    switch (this.stageValue) {
      case 'ClientVersion': {
        if (q.length < 12) return false;
        const text = new TextDecoder('latin1').decode(q.take(12));
        if (text !== RFB_VERSION_38) {
          throw protocolError('GW_ERR_RFB_BAD_VERSION', `viewer answered ProtocolVersion ${JSON.stringify(text)}, only ${JSON.stringify(RFB_VERSION_38)} is served`);
        }
        this.stageValue = 'AwaitServerInit';
        return true;
      }
      case 'AwaitServerInit': {
        if (this.refusal !== undefined) {
          const reason = new TextEncoder().encode(this.refusal.userMessage);
          const bytes = new Uint8Array(5 + reason.length);
          new DataView(bytes.buffer).setUint32(1, reason.length);
          bytes.set(reason, 5);
          out.push({ kind: 'send', bytes });
          throw this.refusal;
        }
        if (this.serverInit === undefined) return false;
        out.push({ kind: 'send', bytes: new Uint8Array([1, this.security.type === 'none' ? 1 : 2]) });
        this.stageValue = 'SecurityChoice';
        return true;
      }
      case 'SecurityChoice': {
        if (q.length < 1) return false;
        const choice = q.take(1)[0];
        const offered = this.security.type === 'none' ? 1 : 2;
        if (choice !== offered) {
          out.push({ kind: 'send', bytes: securityFailure('Unsupported security type') });
          throw protocolError('GW_ERR_RFB_BAD_SECURITY_CHOICE', `viewer chose security type ${choice}, offered ${offered}`);
        }
        if (this.security.type === 'vnc') {
          this.challenge = this.security.challenge();
          out.push({ kind: 'send', bytes: this.challenge });
          this.stageValue = 'VncAuthResponse';
        } else {
          out.push({ kind: 'send', bytes: new Uint8Array(4) });
          this.stageValue = 'ClientInit';
        }
        return true;
      }
      case 'VncAuthResponse': {
        if (q.length < 16 || this.security.type !== 'vnc' || this.challenge === undefined) return false;
        const expected = vncAuthResponse(this.security.password, this.challenge);
        if (!timingSafeEqual(q.take(16), expected)) {
          out.push({ kind: 'send', bytes: securityFailure('Authentication failure') });
          throw new GatewayError('GW_ERR_UPSTREAM_AUTH_FAILED', 'VNC authentication failed: wrong password', 'Authentication failure', CloseCode.policyViolation);
        }
        out.push({ kind: 'send', bytes: new Uint8Array(4) });
        this.stageValue = 'ClientInit';
        return true;
      }
      case 'ClientInit': {
        if (q.length < 1 || this.serverInit === undefined) return false;
        const shared = q.take(1)[0] !== 0;
        out.push({ kind: 'send', bytes: encodeServerInit(this.serverInit) });
        this.stageValue = 'Done';
        out.push({ kind: 'done', shared, rest: q.takeAll() });
        return false;
      }
      case 'Done':
      case 'Failed':
        return false;
    }
  }
}

/** SecurityResult "failed" with a reason (RFB 3.8). */
function securityFailure(reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason);
  const bytes = new Uint8Array(8 + text.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 1);
  view.setUint32(4, text.length);
  bytes.set(text, 8);
  return bytes;
}
