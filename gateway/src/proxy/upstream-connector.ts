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
  /**
   * Plain TCP: the socket reads into buffers from upstreamReadBuffers and emits no 'data' events;
   * set onChunk to receive them. Undefined when TLS may be negotiated: use 'data' events.
   */
  readonly reader: PooledReader | undefined;
}

/**
 * Receives each read of the upstream socket: bytes [0, length) of buffer, which is the receiver's
 * until it gives it back to pool.
 */
export interface PooledReader {
  readonly pool: ReadBufferPool;
  onChunk: ((buffer: Buffer, length: number) => void) | undefined;
}

/**
 * Read buffers for upstream sockets, shared by all viewers and recycled once ws has written their
 * bytes to the browser. Node's default reads allocate a fresh 64 KiB buffer per read; at 1-2 GB/s
 * that churn costs page faults (glibc returns the freed heap top to the kernel), external-memory
 * scavenges and mark-compacts: about 1 ms of CPU per MB relayed instead of about 0.35.
 */
export class ReadBufferPool {
  private readonly free: Buffer[] = [];

  constructor(readonly size: number, private readonly maxFree: number) {}

  readonly take = (): Buffer => this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);

  give(buffer: Buffer): void {
    if (buffer.length === this.size && this.free.length < this.maxFree) this.free.push(buffer);
  }
}

/** 256 KiB reads (Node's own are 64 KiB): fewer, larger sends; at most 16 MiB kept for reuse. */
export function createReadBufferPool(): ReadBufferPool {
  return new ReadBufferPool(256 * 1024, 64);
}

export interface ConnectOptions {
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  /** Read buffers shared by the gateway's upstream sockets; without it, Node's default reads. */
  readonly readBuffers?: ReadBufferPool | undefined;
}

const USER_UNAVAILABLE = 'The beamline desktop is not available right now. Try again shortly or contact the local contact.';

export function connectUpstream(target: UpstreamTarget, options: ConnectOptions): Promise<UpstreamConnection> {
  return new Promise((resolve, reject) => {
    const where = `${target.host}:${target.port}`;
    const handshake = new UpstreamHandshake({ security: target.security, password: target.password });
    // TLS (VeNCrypt) wraps the socket after connecting, which onread does not survive.
    const pool = target.security.some(s => s.startsWith('vencrypt')) ? undefined : options.readBuffers;
    const reader: PooledReader | undefined = pool === undefined ? undefined : { pool, onChunk: undefined };
    const raw = connect({
      host: target.host, port: target.port, noDelay: true,
      ...(reader === undefined ? {} : {
        onread: {
          buffer: reader.pool.take,
          callback: (length: number, buffer: Uint8Array): boolean => {
            const chunk = buffer as Buffer;
            if (reader.onChunk !== undefined) {
              reader.onChunk(chunk, length);
            } else { // handshake: the buffer is reused, so the handshake gets a copy
              const copy = Buffer.from(chunk.subarray(0, length));
              reader.pool.give(chunk);
              onData(copy);
            }
            return true; // false would stop reading
          },
        },
      }),
    });
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
            finish(undefined, { socket: stream, serverInit: effect.serverInit, rest: effect.rest, reader });
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
