// The desktop->browser clipboard rule in the live relay, over real sockets: a fake VNC server
// pushes server-to-client streams through a real ViewerProxy (pooled upstream reads, as in the
// gateway) to a WebSocket RFB client. What arrives must be the stream minus exactly the refused
// ServerCutText messages, byte for byte, also under backpressure (pooled read buffers go back to
// the pool only after their last send); the browser's pixel format is tracked; unframeable bytes,
// a late SetPixelFormat and a policy reload that needs framing close the viewer with their codes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { beamlineInputPolicySchema } from '../../../policies/src/input-policy.js';
import { compilePolicy, type CompiledPolicy } from '../../../policies/src/input-rules.js';
import { framebufferUpdateRequest, setPixelFormat } from '../rfb/c2s-encode.js';
import { DEFAULT_FRAMER_LIMITS } from '../rfb/c2s-framer.js';
import { CloseCode, type GatewayError } from '../rfb/errors.js';
import { RGB888_LE, type PixelFormat } from '../rfb/pixel-format.js';
import { FRAMED_ENCODING as E } from '../rfb/s2c-scanner.js';
import { startFakeVncServer, type FakeVncConnection, type FakeVncServer } from '../testing/fake-vnc-server.js';
import * as S from '../testing/s2c-stream.js';
import { connectWsRfb, type WsRfbClient } from '../testing/ws-rfb-client.js';
import { connectUpstream, ReadBufferPool } from './upstream-connector.js';
import { ViewerProxy } from './viewer-proxy.js';

const policyOf = (desktopToBrowser: { allow: boolean; maxBytes?: number }): CompiledPolicy =>
  compilePolicy(beamlineInputPolicySchema.parse({
    version: 1, beamline: 'test', clipboard: { desktopToBrowser: { id: 'copy-out', ...desktopToBrowser } },
  }));
const DENY = policyOf({ allow: false });
const ALLOW_SMALL = policyOf({ allow: true, maxBytes: 100 });
const UNLIMITED = policyOf({ allow: true, maxBytes: 16 * 1024 * 1024 });
const text = (t: string): Uint8Array => S.serverCutText(Uint8Array.from(t, c => c.charCodeAt(0)));
const raw = (w: number, h: number, seed: number, px: S.StreamPixel = S.RGB888): Uint8Array =>
  S.framebufferUpdate([S.rect(0, 0, w, h, E.Raw, S.rawBody(w, h, px, seed))]);

/**
 * The gateway's read buffer pool, except that a buffer given back is overwritten at once: a send that
 * still referenced it (given back too early) would then deliver 0xEE bytes instead of the stream.
 */
class PoisoningPool extends ReadBufferPool {
  override give(buffer: Buffer): void {
    buffer.fill(0xee);
    super.give(buffer);
  }
}

interface Viewer {
  readonly client: WsRfbClient;
  readonly proxy: ViewerProxy;
  readonly server: FakeVncConnection;
  readonly closed: Promise<GatewayError | undefined>;
  readonly blocked: string[];
}

class Rig {
  vnc: FakeVncServer | undefined;
  http: Server | undefined;
  policy: CompiledPolicy = DENY;
  sendHighWaterBytes = 1024 * 1024;
  private readonly proxies: { proxy: ViewerProxy; blocked: string[] }[] = [];
  private readonly pool = new PoisoningPool(256 * 1024, 64);

  async start(): Promise<void> {
    const vnc = await startFakeVncServer();
    this.vnc = vnc;
    const http = createServer();
    this.http = http;
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    wss.on('connection', (ws) => {
      const upstream = connectUpstream({ host: '127.0.0.1', port: vnc.port, security: ['none'] },
        { connectTimeoutMs: 3000, handshakeTimeoutMs: 3000, readBuffers: this.pool });
      const blocked: string[] = [];
      const proxy = new ViewerProxy(ws, upstream, {
        viewOnly: false, framerLimits: DEFAULT_FRAMER_LIMITS, sendHighWaterBytes: this.sendHighWaterBytes,
        slowViewerTimeoutMs: 60_000, handshakeTimeoutMs: 5000, pingIntervalMs: 60_000,
        inputPolicy: {
          policy: () => this.policy,
          context: () => ({ staff: false, viewOnlyBeamline: false }),
          blocked: (ruleId) => {
            blocked.push(ruleId);
          },
        },
      }, pino({ level: 'silent' }));
      this.proxies.push({ proxy, blocked });
    });
    await new Promise<void>((resolve) => {
      http.listen(0, '127.0.0.1', resolve);
    });
  }

  async join(): Promise<Viewer> {
    assert.ok(this.vnc !== undefined && this.http !== undefined);
    const before = this.vnc.connections.length;
    const client = await connectWsRfb(`ws://127.0.0.1:${(this.http.address() as AddressInfo).port}/`);
    const server = await this.vnc.connection(before + 1);
    const entry = this.proxies.at(-1);
    assert.ok(entry !== undefined);
    const closed = new Promise<GatewayError | undefined>((resolve) => {
      entry.proxy.onClose(resolve);
    });
    return { client, proxy: entry.proxy, server, closed, blocked: entry.blocked };
  }

  async stop(): Promise<void> {
    for (const { proxy } of this.proxies) proxy.close();
    const http = this.http;
    if (http !== undefined) {
      http.closeAllConnections();
      await new Promise(resolve => http.close(resolve));
    }
    await this.vnc?.close();
  }
}

/** Writes `parts` one by one to the VNC side, each in its own TCP write. */
function push(viewer: Viewer, parts: readonly Uint8Array[]): void {
  for (const p of parts) viewer.server.socket.write(p);
}

async function receive(viewer: Viewer, expected: Uint8Array): Promise<void> {
  const got = await viewer.client.waitForBytes(expected.length, 10_000);
  assert.equal(got.length, expected.length, 'more bytes than expected arrived');
  assert.ok(Buffer.from(expected).equals(got), 'the bytes that arrived differ from the expected stream');
}

describe('desktop->browser clipboard rule in the relay', () => {
  const rig = new Rig();
  before(async () => {
    await rig.start();
  });
  after(async () => {
    await rig.stop();
  });

  it('drops refused ServerCutText and passes everything else byte for byte, in one write or cut in pieces', async () => {
    rig.policy = ALLOW_SMALL;
    const viewer = await rig.join();
    const big = text('x'.repeat(101));
    const stream = [raw(16, 16, 1), text('ok'), S.bell(), big, raw(7, 3, 2), text('also ok'), S.serverFence(1, S.filler(8))];
    const expected = S.concatBytes(stream.filter(m => m !== big));
    viewer.server.socket.write(S.concatBytes(stream));
    await receive(viewer, expected);
    // The same stream again, cut into 3-byte writes.
    const all = S.concatBytes(stream);
    for (let o = 0; o < all.length; o += 3) viewer.server.socket.write(all.subarray(o, o + 3));
    await receive(viewer, S.concatBytes([expected, expected]));
    assert.deepEqual(viewer.blocked, ['copy-out', 'copy-out']);
    assert.equal(viewer.proxy.stats.serverClipboardBlocked, 2);
    assert.equal(viewer.proxy.state, 'relay');
    viewer.client.ws.close();
  });

  it('keeps every byte right through megabytes of updates under backpressure (read buffers are reused only after their sends)', async () => {
    rig.policy = DENY;
    rig.sendHighWaterBytes = 64 * 1024;
    const viewer = await rig.join();
    rig.sendHighWaterBytes = 1024 * 1024;
    const expected: Uint8Array[] = [];
    viewer.client.socket.pause(); // the browser stops reading: sends queue up in the gateway, referencing read buffers
    for (let i = 0; i < 40; i++) {
      const update = raw(200, 200, i); // 160 KB each: reads end mid-update, mid-clipboard, anywhere
      const secret = text(`secret ${i} `.repeat(i));
      push(viewer, [update, secret]);
      expected.push(update);
    }
    await new Promise(resolve => setTimeout(resolve, 300));
    viewer.client.socket.resume();
    await receive(viewer, S.concatBytes(expected));
    assert.equal(viewer.blocked.length, 40);
    viewer.client.ws.close();
  });

  it('frames updates in the pixel format the browser set before its first request', async () => {
    rig.policy = DENY;
    const viewer = await rig.join();
    const pf16: PixelFormat = {
      ...RGB888_LE, bitsPerPixel: 16, depth: 16, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0,
    };
    viewer.client.send(Buffer.concat([setPixelFormat(pf16), framebufferUpdateRequest(false, 0, 0, 10, 10)]));
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (viewer.server.received.length >= 2) resolve();
        else setTimeout(check, 10);
      };
      check();
    });
    // 10x10 at 2 bytes per pixel; read as 4 the scanner would take the clipboard message for pixels.
    const update = raw(10, 10, 3, { pixel: 2, tightPixel: 2 });
    push(viewer, [update, text('hidden'), S.bell()]);
    await receive(viewer, S.concatBytes([update, S.bell()]));
    viewer.client.ws.close();
  });

  it('closes a viewer that changes its pixel format after asking for updates (GW_ERR_RFB_LATE_PIXEL_FORMAT)', async () => {
    rig.policy = DENY;
    const viewer = await rig.join();
    viewer.client.send(Buffer.concat([framebufferUpdateRequest(false, 0, 0, 10, 10), setPixelFormat(RGB888_LE)]));
    const error = await viewer.closed;
    assert.equal(error?.code, 'GW_ERR_RFB_LATE_PIXEL_FORMAT');
    assert.equal((await viewer.client.closed).code, CloseCode.policyViolation);
    assert.deepEqual(viewer.server.received.map(m => m.type), [], 'nothing of that message batch reached the server');
  });

  it('closes the viewer when the server stream cannot be framed (fail closed), with 4502', async () => {
    rig.policy = DENY;
    const viewer = await rig.join();
    push(viewer, [S.bell(), Uint8Array.of(253, 0, 0, 0), text('after')]);
    const error = await viewer.closed;
    assert.equal(error?.code, 'GW_ERR_RFB_UNFRAMEABLE_SERVER_MESSAGE');
    assert.equal((await viewer.client.closed).code, CloseCode.upstreamFailed);
    assert.ok(viewer.client.received() <= 1, 'at most the Bell before the bad byte arrived');
  });

  it('relays untouched when the desktop\'s clipboard is allowed without limit, and closes the viewer when a reload restricts it', async () => {
    rig.policy = UNLIMITED;
    const viewer = await rig.join();
    // Untouched: even bytes no scanner could frame pass (the relay does not look).
    const first = [text('anything'), Uint8Array.of(253, 1, 2, 3)];
    push(viewer, first);
    await receive(viewer, S.concatBytes(first));
    rig.policy = DENY;
    push(viewer, [text('now secret')]);
    const error = await viewer.closed;
    assert.equal(error?.code, 'GW_ERR_POLICY_RELOADED');
    assert.equal((await viewer.client.closed).code, CloseCode.tryAgainLater);
    assert.equal(viewer.client.received(), S.concatBytes(first).length, 'nothing after the reload arrived');
  });

  it('lets a viewer under an unlimited policy change its pixel format at any time (no framing, no ambiguity)', async () => {
    rig.policy = UNLIMITED;
    const viewer = await rig.join();
    viewer.client.send(Buffer.concat([framebufferUpdateRequest(false, 0, 0, 10, 10), setPixelFormat(RGB888_LE)]));
    await new Promise(resolve => setTimeout(resolve, 200));
    assert.equal(viewer.proxy.state, 'relay');
    viewer.client.ws.close();
  });
});
