// Test double of a VNC server: real TCP, real RFB handshake (VNC auth or None), records every
// client-to-server message it receives and lets the test push arbitrary server bytes.
// Test-only; never used by the gateway itself.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { C2SFramer } from '../rfb/c2s-framer.js';
import type { C2SMessage } from '../rfb/c2s-messages.js';
import { ServerHandshake, type ServerEffect } from '../rfb/handshake-server.js';
import { RGB888_LE } from '../rfb/pixel-format.js';
import type { ServerInit } from '../rfb/server-init.js';

export interface FakeVncConnection {
  readonly socket: Socket;
  readonly received: C2SMessage[];
  /** Raw bytes received after the handshake, for byte-exact assertions. */
  readonly receivedBytes: Uint8Array[];
}

export interface FakeVncServer {
  readonly port: number;
  readonly connections: FakeVncConnection[];
  /** Resolves when the n-th connection (1-based) has completed its handshake. */
  connection(n: number): Promise<FakeVncConnection>;
  close(): Promise<void>;
}

export async function startFakeVncServer(options: { password?: string; init?: ServerInit } = {}): Promise<FakeVncServer> {
  const init = options.init ?? { width: 800, height: 600, pixelFormat: RGB888_LE, name: 'fake-vnc' };
  const connections: FakeVncConnection[] = [];
  const waiters: { n: number; resolve: (c: FakeVncConnection) => void }[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const security = options.password === undefined
      ? { type: 'none' as const }
      : { type: 'vnc' as const, password: options.password, challenge: () => new Uint8Array(randomBytes(16)) };
    const handshake = new ServerHandshake(security, init);
    const framer = new C2SFramer({ maxClientCutText: 16 * 1024 * 1024, maxEncodings: 1024 });
    const connection: FakeVncConnection = { socket, received: [], receivedBytes: [] };
    let relaying = false;
    const apply = (effects: readonly ServerEffect[]): void => {
      for (const e of effects) {
        if (e.kind === 'send') socket.write(e.bytes);
        else if (e.kind === 'failed') socket.end();
        else {
          relaying = true;
          connections.push(connection);
          for (const w of waiters.filter(w => w.n === connections.length)) w.resolve(connection);
          if (e.rest.length > 0) onRelay(e.rest);
        }
      }
    };
    const onRelay = (bytes: Uint8Array): void => {
      connection.receivedBytes.push(Uint8Array.from(bytes));
      for (const f of framer.feed(bytes)) connection.received.push(f.message);
    };
    socket.on('data', (chunk) => {
      if (relaying) onRelay(chunk);
      else apply(handshake.feed(chunk));
    });
    apply(handshake.start());
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    connection: n => new Promise((resolve) => {
      const existing = connections[n - 1];
      if (existing !== undefined) resolve(existing);
      else waiters.push({ n, resolve });
    }),
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => {
        resolve();
      });
    }),
  };
}
