// The gateway's side of the RFB handshake toward a VNC server (the gateway is the client).
// A stage machine: bytes and "TLS is up" arrive as events, effects (send, start TLS, done,
// failed) go out; the caller does the I/O. Stages:
//   ProtocolVersion -> SecurityTypes (3.7+) | SecurityType33 (3.3)
//   -> [VeNCryptVersion -> VeNCryptAck -> VeNCryptSubtypes -> VeNCryptTlsAck -> AwaitTls]
//   -> [VncAuthChallenge] -> [SecurityResult -> FailureReason] -> ServerInit -> Done | Failed
// Pure: no sockets; the DES response comes from vnc-auth.
import { ByteQueue } from './byte-queue.js';
import { upstreamError, type ErrorCode, type GatewayError } from './errors.js';
import { decodeServerInit, MAX_DESKTOP_NAME, SERVER_INIT_FIXED_LENGTH, type ServerInit } from './server-init.js';
import { vncAuthResponse } from './vnc-auth.js';

export type UpstreamStage =
  | 'ProtocolVersion' | 'SecurityTypes' | 'SecurityType33' | 'RefusalReason'
  | 'VeNCryptVersion' | 'VeNCryptAck' | 'VeNCryptSubtypes' | 'VeNCryptTlsAck' | 'AwaitTls'
  | 'VncAuthChallenge' | 'SecurityResult' | 'FailureReason' | 'ServerInit' | 'Done' | 'Failed';

/** Security methods toward the VNC server, in the operator's order of preference. */
export type UpstreamSecurity = 'none' | 'vnc' | 'vencrypt-tls-none' | 'vencrypt-tls-vnc' | 'vencrypt-x509-none' | 'vencrypt-x509-vnc';

export interface UpstreamHandshakeOptions {
  readonly security: readonly UpstreamSecurity[];
  /** The VNC password; held by the gateway only, never sent to a browser. */
  readonly password?: string | undefined;
}

export type UpstreamEffect =
  | { readonly kind: 'send'; readonly bytes: Uint8Array }
  /** Wrap the socket in TLS now; x509 means verify the server certificate. Then call tlsEstablished(). */
  | { readonly kind: 'startTls'; readonly x509: boolean }
  | { readonly kind: 'done'; readonly serverInit: ServerInit; readonly rest: Uint8Array }
  | { readonly kind: 'failed'; readonly error: GatewayError };

const SecurityType = { Invalid: 0, None: 1, VncAuth: 2, VeNCrypt: 19 } as const;
const VeNCryptSubtype: Record<Exclude<UpstreamSecurity, 'none' | 'vnc'>, number> = {
  'vencrypt-tls-none': 257,
  'vencrypt-tls-vnc': 258,
  'vencrypt-x509-none': 260,
  'vencrypt-x509-vnc': 261,
};
const MAX_REASON = 4096;
const USER_UNAVAILABLE = 'The beamline desktop is not available right now. Try again shortly or contact the local contact.';

export class UpstreamHandshake {
  private stageValue: UpstreamStage = 'ProtocolVersion';
  private readonly queue = new ByteQueue();
  private minor = 8;
  private innerVncAuth = false;
  private x509 = false;
  private failureCode: ErrorCode = 'GW_ERR_UPSTREAM_AUTH_FAILED';

  constructor(private readonly options: UpstreamHandshakeOptions) {}

  get stage(): UpstreamStage {
    return this.stageValue;
  }

  feed(chunk: Uint8Array): UpstreamEffect[] {
    if (this.stageValue === 'Done' || this.stageValue === 'Failed') return [];
    this.queue.push(chunk);
    const effects: UpstreamEffect[] = [];
    try {
      while (this.step(effects));
    } catch (e) {
      this.stageValue = 'Failed';
      effects.push({ kind: 'failed', error: e as GatewayError });
    }
    return effects;
  }

  /** The socket is now TLS-wrapped; the inner authentication follows. */
  tlsEstablished(): UpstreamEffect[] {
    if (this.stageValue !== 'AwaitTls') return [];
    this.stageValue = this.innerVncAuth ? 'VncAuthChallenge' : 'SecurityResult';
    return this.feed(new Uint8Array(0));
  }

  /** One stage; true when it advanced and may advance again with what is buffered. */
  private step(out: UpstreamEffect[]): boolean {
    const q = this.queue;
    switch (this.stageValue) {
      case 'ProtocolVersion': {
        if (q.length < 12) return false;
        const text = new TextDecoder('latin1').decode(q.take(12));
        const match = /^RFB (\d{3})\.(\d{3})\n$/.exec(text);
        if (!match) throw fail('GW_ERR_UPSTREAM_NOT_RFB', `upstream greeting ${JSON.stringify(text)} is not an RFB ProtocolVersion`);
        const major = Number(match[1]);
        const minor = Number(match[2]);
        if (major !== 3 || minor < 3) throw fail('GW_ERR_UPSTREAM_NOT_RFB', `upstream speaks RFB ${major}.${minor}, the gateway needs 3.3 to 3.8`);
        // 3.4-3.6 (UltraVNC and others) are to be treated as 3.3; anything newer than 3.8 gets 3.8.
        this.minor = minor >= 8 ? 8 : minor === 7 ? 7 : 3;
        out.push({ kind: 'send', bytes: ascii(`RFB 003.00${this.minor}\n`) });
        this.stageValue = this.minor >= 7 ? 'SecurityTypes' : 'SecurityType33';
        return true;
      }
      case 'SecurityTypes': {
        if (q.length < 1) return false;
        const count = q.byteAt(0);
        if (count === 0) {
          q.take(1);
          this.failureCode = 'GW_ERR_UPSTREAM_REFUSED';
          this.stageValue = 'RefusalReason';
          return true;
        }
        if (q.length < 1 + count) return false;
        const offered = Array.from(q.take(1 + count).subarray(1));
        const choice = this.chooseType(offered);
        out.push({ kind: 'send', bytes: new Uint8Array([choice]) });
        this.afterTypeChosen(choice, out);
        return true;
      }
      case 'SecurityType33': {
        if (q.length < 4) return false;
        const type = q.s32(0) >>> 0;
        q.take(4);
        if (type === SecurityType.Invalid) {
          this.failureCode = 'GW_ERR_UPSTREAM_REFUSED';
          this.stageValue = 'RefusalReason';
          return true;
        }
        if (type !== SecurityType.None && type !== SecurityType.VncAuth) {
          throw fail('GW_ERR_UPSTREAM_NO_COMMON_SECURITY', `RFB 3.3 server demands security type ${type}`);
        }
        this.chooseType([type]); // checks the configuration allows it
        this.afterTypeChosen(type, out);
        return true;
      }
      case 'RefusalReason':
      case 'FailureReason': {
        if (q.length < 4) return false;
        const length = q.s32(0) >>> 0;
        if (length > MAX_REASON) throw fail('GW_ERR_UPSTREAM_PROTOCOL', `upstream failure reason of ${length} bytes`);
        if (q.length < 4 + length) return false;
        const reason = new TextDecoder('utf-8').decode(q.take(4 + length).subarray(4));
        const what = this.stageValue === 'RefusalReason' ? 'VNC server refused the connection' : 'VNC authentication failed';
        throw fail(this.failureCode, `${what}: ${reason || '(no reason given)'}`);
      }
      case 'VeNCryptVersion': {
        if (q.length < 2) return false;
        const [major, minor] = q.take(2);
        if (major !== 0 || minor === undefined || minor < 2) {
          throw fail('GW_ERR_UPSTREAM_NO_COMMON_SECURITY', `VeNCrypt version ${major}.${minor} is not 0.2`);
        }
        out.push({ kind: 'send', bytes: new Uint8Array([0, 2]) });
        this.stageValue = 'VeNCryptAck';
        return true;
      }
      case 'VeNCryptAck': {
        if (q.length < 1) return false;
        if (q.take(1)[0] !== 0) throw fail('GW_ERR_UPSTREAM_NO_COMMON_SECURITY', 'VNC server rejected VeNCrypt version 0.2');
        this.stageValue = 'VeNCryptSubtypes';
        return true;
      }
      case 'VeNCryptSubtypes': {
        if (q.length < 1) return false;
        const count = q.byteAt(0);
        if (q.length < 1 + 4 * count) return false;
        const list = q.take(1 + 4 * count);
        const view = new DataView(list.buffer, list.byteOffset + 1, 4 * count);
        const offered = Array.from({ length: count }, (_, i) => view.getUint32(4 * i));
        const chosen = this.options.security.find(s => s.startsWith('vencrypt-') && offered.includes(VeNCryptSubtype[s as keyof typeof VeNCryptSubtype]) && this.usable(s));
        if (chosen === undefined) {
          throw fail('GW_ERR_UPSTREAM_NO_COMMON_SECURITY', `VeNCrypt subtypes offered [${offered.join(', ')}] include none configured (${this.options.security.join(', ')})`);
        }
        const subtype = VeNCryptSubtype[chosen as keyof typeof VeNCryptSubtype];
        const reply = new Uint8Array(4);
        new DataView(reply.buffer).setUint32(0, subtype);
        out.push({ kind: 'send', bytes: reply });
        this.innerVncAuth = chosen.endsWith('-vnc');
        this.x509 = chosen.startsWith('vencrypt-x509');
        this.stageValue = 'VeNCryptTlsAck';
        return true;
      }
      case 'VeNCryptTlsAck': {
        if (q.length < 1) return false;
        if (q.take(1)[0] !== 1) throw fail('GW_ERR_UPSTREAM_NO_COMMON_SECURITY', 'VNC server declined the chosen VeNCrypt subtype (X509 without a certificate?)');
        out.push({ kind: 'startTls', x509: this.x509 });
        this.stageValue = 'AwaitTls';
        return false;
      }
      case 'AwaitTls':
        return false;
      case 'VncAuthChallenge': {
        if (q.length < 16) return false;
        out.push({ kind: 'send', bytes: vncAuthResponse(this.options.password ?? '', q.take(16)) });
        this.stageValue = 'SecurityResult';
        return true;
      }
      case 'SecurityResult': {
        if (q.length < 4) return false;
        const result = q.s32(0) >>> 0;
        q.take(4);
        if (result === 0) {
          this.sendClientInit(out);
          return true;
        }
        const hint = result === 2 ? 'too many attempts' : 'wrong password?';
        if (this.minor >= 8) {
          this.failureCode = 'GW_ERR_UPSTREAM_AUTH_FAILED';
          this.stageValue = 'FailureReason';
          return true;
        }
        throw fail('GW_ERR_UPSTREAM_AUTH_FAILED', `VNC authentication failed (result ${result}: ${hint})`);
      }
      case 'ServerInit': {
        if (q.length < SERVER_INIT_FIXED_LENGTH) return false;
        const nameLength = q.s32(20) >>> 0;
        if (nameLength > MAX_DESKTOP_NAME) throw fail('GW_ERR_UPSTREAM_PROTOCOL', `ServerInit desktop name of ${nameLength} bytes`);
        if (q.length < SERVER_INIT_FIXED_LENGTH + nameLength) return false;
        const serverInit = decodeServerInit(q.take(SERVER_INIT_FIXED_LENGTH + nameLength));
        this.stageValue = 'Done';
        out.push({ kind: 'done', serverInit, rest: q.takeAll() });
        return false;
      }
      case 'Done':
      case 'Failed':
        return false;
    }
  }

  private usable(s: UpstreamSecurity): boolean {
    return !s.endsWith('vnc') || (this.options.password !== undefined && this.options.password !== '');
  }

  /** Picks the first configured method whose RFB security type the server offers. */
  private chooseType(offered: readonly number[]): number {
    for (const s of this.options.security) {
      if (!this.usable(s)) continue;
      const type = s === 'none' ? SecurityType.None : s === 'vnc' ? SecurityType.VncAuth : SecurityType.VeNCrypt;
      if (offered.includes(type)) return type;
    }
    const noPassword = this.options.password === undefined || this.options.password === '';
    throw fail(
      'GW_ERR_UPSTREAM_NO_COMMON_SECURITY',
      `VNC server offers security types [${offered.join(', ')}], the target allows ${this.options.security.join(', ')}${noPassword ? ' and has no password' : ''}`,
    );
  }

  private afterTypeChosen(type: number, out: UpstreamEffect[]): void {
    if (type === SecurityType.VeNCrypt) this.stageValue = 'VeNCryptVersion';
    else if (type === SecurityType.VncAuth) this.stageValue = 'VncAuthChallenge';
    // None: 3.8 sends a SecurityResult, 3.3 and 3.7 go straight on.
    else if (this.minor >= 8) this.stageValue = 'SecurityResult';
    else this.sendClientInit(out);
  }

  private sendClientInit(out: UpstreamEffect[]): void {
    // shared=1 always: a 0 would make TigerVNC (DisconnectClients=1) drop every other viewer.
    out.push({ kind: 'send', bytes: new Uint8Array([1]) });
    this.stageValue = 'ServerInit';
  }
}

function fail(code: ErrorCode, message: string): GatewayError {
  return upstreamError(code, message, USER_UNAVAILABLE);
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
