// The built-in demo desktop: an RFB server on loopback that serves the simulated beamline
// panel to any number of viewers (one shared desktop, like a kiosk X session), reacts to their
// input, and records every input message it receives so tests can check exactly what reached
// "the beamline". This is the I/O shell around the pure panel reducer.
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { C2SFramer } from '../rfb/c2s-framer.js';
import type { C2SMessage } from '../rfb/c2s-messages.js';
import { isGatewayError } from '../rfb/errors.js';
import { ServerHandshake, type ServerEffect } from '../rfb/handshake-server.js';
import { RGB888_LE, type PixelFormat } from '../rfb/pixel-format.js';
import { Framebuffer } from './framebuffer.js';
import { framebufferUpdate } from './raw-encoding.js';
import { initialPanelState, PANEL_TITLE, reducePanel, renderPanel, renderRegions, type PanelEvent, type PanelState } from './panel.js';
import { intersectRects, type Rect } from './rect.js';

export interface DemoDesktopOptions {
  readonly host?: string;
  readonly port?: number;
  /** VNC password; undefined serves security type None. */
  readonly password?: string | undefined;
  readonly width?: number;
  readonly height?: number;
  /** How often the panel's clock ticks (motor motion). */
  readonly tickMs?: number;
}

export interface ReceivedInput {
  readonly connection: number;
  readonly atMs: number;
  readonly message: C2SMessage;
}

export interface DemoDesktop {
  readonly host: string;
  readonly port: number;
  state(): PanelState;
  /** Every input message (key, pointer, clipboard, resize, ...) received, oldest first. */
  readonly inputs: ReceivedInput[];
  /** Resolves when an input matching the predicate has arrived. */
  waitForInput(predicate: (input: ReceivedInput) => boolean, timeoutMs?: number): Promise<ReceivedInput>;
  connectionCount(): number;
  close(): Promise<void>;
}

const INPUT_TYPES: ReadonlySet<C2SMessage['type']> = new Set(['KeyEvent', 'QemuExtendedKeyEvent', 'PointerEvent', 'ClientCutText', 'SetDesktopSize', 'Xvp']);
const MAX_DIRTY_RECTS = 32;

interface Viewer {
  readonly id: number;
  readonly socket: Socket;
  pixelFormat: PixelFormat;
  /** The area of a pending incremental update request, if any. */
  pending: Rect | undefined;
  dirty: Rect[];
}

export async function startDemoDesktop(options: DemoDesktopOptions = {}): Promise<DemoDesktop> {
  let state = initialPanelState(options.width ?? 1024, options.height ?? 768);
  const fb = new Framebuffer(state.width, state.height);
  renderPanel(state, fb);
  const viewers = new Set<Viewer>();
  const inputs: ReceivedInput[] = [];
  const inputWaiters = new Set<() => void>();
  let nextId = 1;

  const dispatch = (event: PanelEvent): void => {
    const update = reducePanel(state, event);
    if (update.state === state) return;
    state = update.state;
    if (update.dirty.length === 0) return;
    renderRegions(state, fb, update.dirty);
    for (const v of viewers) {
      v.dirty.push(...update.dirty);
      if (v.dirty.length > MAX_DIRTY_RECTS) v.dirty = [boundingBox(v.dirty)];
      flush(v);
    }
  };

  const flush = (v: Viewer): void => {
    const area = v.pending;
    if (area === undefined || v.dirty.length === 0) return;
    const rects = v.dirty.flatMap(r => intersectRects(r, area) ?? []);
    v.dirty = [];
    if (rects.length === 0) return;
    v.pending = undefined;
    v.socket.write(framebufferUpdate(fb, rects, v.pixelFormat));
  };

  const onMessage = (v: Viewer, message: C2SMessage): void => {
    if (INPUT_TYPES.has(message.type)) {
      inputs.push({ connection: v.id, atMs: Date.now(), message });
      for (const wake of inputWaiters) wake();
    }
    switch (message.type) {
      case 'SetPixelFormat':
        v.pixelFormat = message.pixelFormat;
        return;
      case 'FramebufferUpdateRequest': {
        const area = intersectRects(message, { x: 0, y: 0, width: fb.width, height: fb.height });
        if (area === null) return;
        if (!message.incremental) {
          v.socket.write(framebufferUpdate(fb, [area], v.pixelFormat));
          return;
        }
        v.pending = area;
        flush(v);
        return;
      }
      case 'KeyEvent':
      case 'QemuExtendedKeyEvent':
        dispatch({ kind: 'key', down: message.down, keysym: message.keysym });
        return;
      case 'PointerEvent':
        dispatch({ kind: 'pointer', x: message.x, y: message.y, buttonMask: message.buttonMask });
        return;
      case 'ClientCutText':
        if (!message.extended) dispatch({ kind: 'paste', text: Buffer.from(message.data).toString('latin1') });
        return;
      // Not advertised by this server (no fences, continuous updates, resize or xvp), so a client
      // sending them gets nothing; they are still recorded above for the tests.
      case 'SetEncodings':
      case 'EnableContinuousUpdates':
      case 'ClientFence':
      case 'SetDesktopSize':
      case 'Xvp':
        return;
    }
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const viewer: Viewer = { id: nextId++, socket, pixelFormat: RGB888_LE, pending: undefined, dirty: [] };
    const security = options.password === undefined
      ? { type: 'none' as const }
      : { type: 'vnc' as const, password: options.password, challenge: () => new Uint8Array(randomBytes(16)) };
    const handshake = new ServerHandshake(security, { width: fb.width, height: fb.height, pixelFormat: RGB888_LE, name: PANEL_TITLE });
    const framer = new C2SFramer();
    let relaying = false;
    const feed = (bytes: Uint8Array): void => {
      try {
        for (const frame of framer.feed(bytes)) onMessage(viewer, frame.message);
      } catch (e) {
        if (!isGatewayError(e)) throw e;
        socket.destroy(); // like TigerVNC: a client that breaks the protocol is disconnected
      }
    };
    const apply = (effects: readonly ServerEffect[]): void => {
      for (const e of effects) {
        if (e.kind === 'send') socket.write(e.bytes);
        else if (e.kind === 'failed') socket.end();
        else {
          relaying = true;
          viewers.add(viewer);
          if (e.rest.length > 0) feed(e.rest);
        }
      }
    };
    socket.on('data', (chunk) => {
      if (relaying) feed(chunk);
      else apply(handshake.feed(chunk));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      viewers.delete(viewer);
      sockets.delete(socket);
    });
    apply(handshake.start());
  });

  const ticker = setInterval(() => {
    dispatch({ kind: 'tick', nowMs: Date.now() });
  }, options.tickMs ?? 50);
  ticker.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    state: () => state,
    inputs,
    connectionCount: () => viewers.size,
    waitForInput: (predicate, timeoutMs = 5000) => new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = inputs.find(predicate);
        if (hit === undefined) return;
        clearTimeout(timer);
        inputWaiters.delete(check);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        inputWaiters.delete(check);
        reject(new Error(`no matching input within ${timeoutMs} ms (${inputs.length} inputs received)`));
      }, timeoutMs);
      inputWaiters.add(check);
      check();
    }),
    close: () => new Promise((resolve) => {
      clearInterval(ticker);
      for (const socket of sockets) socket.destroy();
      server.close(() => {
        resolve();
      });
    }),
  };
}

function boundingBox(rects: readonly Rect[]): Rect {
  const x0 = Math.min(...rects.map(r => r.x));
  const y0 = Math.min(...rects.map(r => r.y));
  const x1 = Math.max(...rects.map(r => r.x + r.width));
  const y1 = Math.max(...rects.map(r => r.y + r.height));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}
