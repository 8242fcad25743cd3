// Test client that talks RFB over a WebSocket the way noVNC does: it completes the handshake
// through the gateway (security None) and then sends raw client messages and collects what
// the server sends. Test-only.
import { connect as netConnect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { framebufferUpdateRequest } from '../rfb/c2s-encode.js';
import { UpstreamHandshake } from '../rfb/handshake-upstream.js';
import type { GatewayError } from '../rfb/errors.js';
import type { ServerInit } from '../rfb/server-init.js';

export interface WsRfbClient {
  readonly ws: WebSocket;
  readonly serverInit: ServerInit;
  /** The client's TCP socket, so a test can stop reading (pause) like a stalled browser. */
  readonly socket: Socket;
  send(bytes: Uint8Array): void;
  /** Bytes received after ServerInit. */
  received(): number;
  /** Resolves once at least n bytes arrived after ServerInit. */
  waitForBytes(n: number, timeoutMs?: number): Promise<Buffer>;
  closed: Promise<{ code: number; reason: string }>;
}

export type RefusedRfb = { refused: true; reason: string; close: { code: number; reason: string } };

export async function connectWsRfb(url: string, headers: Record<string, string> = {}): Promise<WsRfbClient> {
  const result = await tryConnectWsRfb(url, headers);
  if ('refused' in result) throw new Error(`refused: ${result.reason}`);
  return result;
}

export function tryConnectWsRfb(url: string, headers: Record<string, string> = {}): Promise<WsRfbClient | RefusedRfb> {
  let socket: Socket | undefined;
  const ws = new WebSocket(url, {
    headers,
    perMessageDeflate: false,
    createConnection: (options: { host?: string; port?: number }) => {
      socket = netConnect({ host: options.host ?? '127.0.0.1', port: options.port ?? 80 });
      return socket;
    },
  } as ConstructorParameters<typeof WebSocket>[2]);
  ws.binaryType = 'nodebuffer';
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
    });
  });
  return new Promise((resolve, reject) => {
    const handshake = new UpstreamHandshake({ security: ['none'] });
    const chunks: Buffer[] = [];
    let total = 0;
    let notify: (() => void) | undefined;
    let done = false;
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => {
      reject(new Error(`HTTP ${res.statusCode}`));
    });
    ws.on('message', (data: Buffer) => {
      if (done) {
        chunks.push(data);
        total += data.length;
        notify?.();
        return;
      }
      for (const effect of handshake.feed(data)) {
        if (effect.kind === 'send') ws.send(effect.bytes);
        else if (effect.kind === 'failed') {
          failWith(effect.error);
          return;
        } else if (effect.kind === 'done') {
          done = true;
          if (effect.rest.length > 0) {
            chunks.push(Buffer.from(effect.rest));
            total += effect.rest.length;
          }
          const s = socket;
          if (s === undefined) throw new Error('no socket');
          resolve({
            ws, serverInit: effect.serverInit, socket: s, closed,
            send: (bytes) => {
              ws.send(bytes);
            },
            received: () => total,
            waitForBytes: (n, timeoutMs = 5000) => new Promise((res, rej) => {
              const timer = setTimeout(() => {
                rej(new Error(`waited ${timeoutMs} ms for ${n} bytes, have ${total}`));
              }, timeoutMs);
              const check = (): void => {
                if (total >= n) {
                  clearTimeout(timer);
                  notify = undefined;
                  res(Buffer.concat(chunks));
                }
              };
              notify = check;
              check();
            }),
          });
        }
      }
    });
    function failWith(error: GatewayError): void {
      void closed.then((close) => {
        resolve({ refused: true, reason: error.message, close });
      });
    }
  });
}

/**
 * Resolves once the VNC server has answered a 1x1 picture request sent after everything this
 * client sent before: the server handles one connection's messages in order, so by then it has
 * acted on all of them. Needs Raw encoding and a 32-bit pixel format (the answer is then exactly
 * a FramebufferUpdate header, one rectangle header and one pixel).
 */
export async function pictureBarrier(client: WsRfbClient, timeoutMs = 5000): Promise<void> {
  const have = client.received();
  client.send(framebufferUpdateRequest(false, 0, 0, 1, 1));
  await client.waitForBytes(have + 4 + 12 + 4, timeoutMs);
}
