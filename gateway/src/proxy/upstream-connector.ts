// Opens the gateway's own TCP connection to a VNC server and completes the RFB handshake
// (UpstreamHandshake does the protocol; this module does the socket, TLS and timeouts).
// Resolves with a paused socket ready for relaying, or rejects with a coded GatewayError.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { upstreamError, type GatewayError } from '../rfb/errors.js';
import { UpstreamHandshake, type UpstreamSecurity } from '../rfb/handshake-upstream.js';
import type { ServerInit } from '../rfb/server-init.js';

export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
  readonly security: readonly UpstreamSecurity[];
  readonly password?: string | undefined;
  /** PEM CA for VeNCrypt X509 subtypes. */
  readonly tlsCa?: string | undefined;
}

export interface UpstreamConnection {
  readonly socket: Socket | TLSSocket;
  readonly serverInit: ServerInit;
  /** Server bytes that arrived after ServerInit, to be relayed first. */
  readonly rest: Uint8Array;
}

export interface ConnectOptions {
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
}

const USER_UNAVAILABLE = 'The beamline desktop is not available right now. Try again shortly or contact the local contact.';

export function connectUpstream(target: UpstreamTarget, options: ConnectOptions): Promise<UpstreamConnection> {
  return new Promise((resolve, reject) => {
    const where = `${target.host}:${target.port}`;
    const handshake = new UpstreamHandshake({ security: target.security, password: target.password });
    const raw = connect({ host: target.host, port: target.port, noDelay: true });
    let stream: Socket | TLSSocket = raw;
    let settled = false;

    const finish = (error: GatewayError | undefined, connection?: UpstreamConnection): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(handshakeTimer);
      stream.removeListener('data', onData);
      stream.removeListener('close', onClose);
      stream.removeListener('error', onError);
      if (error !== undefined) {
        stream.destroy();
        raw.destroy();
        reject(error);
      } else if (connection !== undefined) {
        stream.pause();
        resolve(connection);
      }
    };

    const connectTimer = setTimeout(() => {
      finish(upstreamError('GW_ERR_UPSTREAM_TIMEOUT', `no TCP connection to VNC server ${where} within ${options.connectTimeoutMs} ms`, USER_UNAVAILABLE));
    }, options.connectTimeoutMs);
    const handshakeTimer = setTimeout(() => {
      finish(upstreamError('GW_ERR_UPSTREAM_TIMEOUT', `VNC server ${where} did not complete the RFB handshake within ${options.handshakeTimeoutMs} ms (stage ${handshake.stage})`, USER_UNAVAILABLE));
    }, options.handshakeTimeoutMs);

    const apply = (effects: ReturnType<UpstreamHandshake['feed']>): void => {
      for (const effect of effects) {
        switch (effect.kind) {
          case 'send':
            stream.write(effect.bytes);
            break;
          case 'startTls':
            startTls(effect.x509);
            break;
          case 'done':
            finish(undefined, { socket: stream, serverInit: effect.serverInit, rest: effect.rest });
            break;
          case 'failed':
            finish(effect.error);
            break;
        }
      }
    };

    function onData(chunk: Buffer): void {
      apply(handshake.feed(chunk));
    }
    function onClose(): void {
      finish(upstreamError('GW_ERR_UPSTREAM_CLOSED', `VNC server ${where} closed the connection during the handshake (stage ${handshake.stage})`, USER_UNAVAILABLE));
    }
    function onError(error: NodeJS.ErrnoException): void {
      const code = stream === raw ? 'GW_ERR_UPSTREAM_UNREACHABLE' : 'GW_ERR_UPSTREAM_TLS';
      finish(upstreamError(code, `VNC server ${where}: ${error.code ?? ''} ${error.message}`.trim(), USER_UNAVAILABLE, error));
    }

    function startTls(x509: boolean): void {
      raw.removeListener('data', onData);
      raw.removeListener('close', onClose);
      raw.removeListener('error', onError);
      const tls = tlsConnect({
        socket: raw,
        // VeNCrypt TLS* subtypes are anonymous Diffie-Hellman (no certificate), which OpenSSL only
        // allows at security level 0 and below TLS 1.3. X509* subtypes verify the server's certificate.
        ...(x509
          ? { ca: target.tlsCa, servername: target.host, rejectUnauthorized: true }
          : { ciphers: 'aNULL:@SECLEVEL=0', maxVersion: 'TLSv1.2' as const, rejectUnauthorized: false }),
      });
      stream = tls;
      tls.on('data', onData);
      tls.on('close', onClose);
      tls.on('error', onError);
      tls.once('secureConnect', () => {
        tls.setNoDelay(true);
        apply(handshake.tlsEstablished());
      });
    }

    raw.once('connect', () => {
      clearTimeout(connectTimer);
    });
    raw.on('data', onData);
    raw.on('close', onClose);
    raw.on('error', onError);
  });
}
