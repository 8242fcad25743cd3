// The beamline's clipboard and resize rules against a real TigerVNC Xvnc kiosk, with the X server
// as the oracle: text an X application puts on the CLIPBOARD reaches a viewer whose policy allows
// desktop->browser and never one whose policy denies it or whose limit it exceeds (plain
// ServerCutText and the Extended Clipboard noVNC uses); a paste reaches the X selection only when
// browser->desktop allows it; SetDesktopSize changes the X screen only for a permitted role within
// the bounds. Viewers go through real ViewerProxies with the policy hook (a minimal gateway of this
// file's own, one policy and role per WebSocket path). Needs Debian's TigerVNC and X tools and FAILS
// (never skips) without them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { beamlineInputPolicySchema } from '../../../policies/src/input-policy.js';
import { compilePolicy, type CompiledPolicy } from '../../../policies/src/input-rules.js';
import { clientCutText, framebufferUpdateRequest, setDesktopSize, setEncodings, setPixelFormat } from '../rfb/c2s-encode.js';
import { DEFAULT_FRAMER_LIMITS } from '../rfb/c2s-framer.js';
import { Encoding } from '../rfb/encodings.js';
import { RGB888_LE } from '../rfb/pixel-format.js';
import { S2CScanner } from '../rfb/s2c-scanner.js';
import { kioskToolsMissingMessage, startKioskDesktop, xvncAvailable, type KioskDesktop } from '../testing/kiosk-fixture.js';
import { connectWsRfb, type WsRfbClient } from '../testing/ws-rfb-client.js';
import { openX11Client, type X11Client } from '../testing/x11-client.js';
import { connectUpstream } from './upstream-connector.js';
import { ViewerProxy } from './viewer-proxy.js';
import { until } from '../testing/within.js';

const RESIZE = { who: 'staff', minWidth: 640, minHeight: 480, maxWidth: 1024, maxHeight: 768 } as const;
const policy = (clipboard: object): CompiledPolicy =>
  compilePolicy(beamlineInputPolicySchema.parse({ version: 1, beamline: 'test', clipboard, resize: RESIZE }));
/** One policy and role per WebSocket path. */
const ROUTES: Record<string, { policy: CompiledPolicy; staff: boolean }> = {
  '/deny': { policy: policy({}), staff: false },
  '/allow': { policy: policy({ desktopToBrowser: { allow: true, maxBytes: 64 }, browserToDesktop: { allow: true, maxBytes: 64 } }), staff: false },
  '/tiny': { policy: policy({ desktopToBrowser: { allow: true, maxBytes: 8 } }), staff: false },
  '/staff': { policy: policy({}), staff: true },
};
// Extended Clipboard flags (rfbproto): actions from bit 24, text = bit 0.
const [CAPS, REQUEST, PEEK, NOTIFY, PROVIDE, TEXT] = [1 << 24, 1 << 25, 1 << 26, 1 << 27, 1 << 28, 1];

interface ServerMessage {
  readonly type: number;
  readonly bytes: Uint8Array;
}

/** What the gateway side of one viewer reports: its proxy and the blocks its policy hook was told of. */
interface Slot {
  readonly blocked: { ruleId: string; reason: string }[];
  proxy: ViewerProxy | undefined;
}

/** A WebSocket RFB client through the gateway, with what its policy hook reported and its server messages. */
class Viewer {
  constructor(readonly client: WsRfbClient, private readonly slot: Slot) {}

  get blocked(): readonly { ruleId: string; reason: string }[] {
    return this.slot.blocked;
  }

  get proxy(): ViewerProxy | undefined {
    return this.slot.proxy;
  }

  /** Every whole server message received so far (the client set RGB888 before asking for pictures). */
  async messages(): Promise<ServerMessage[]> {
    const bytes = await this.client.waitForBytes(this.client.received());
    const scanner = new S2CScanner(this.client.serverInit.pixelFormat);
    scanner.setPixelFormat(RGB888_LE);
    return scanner.scan(bytes).map(s => ({ type: s.type, bytes: bytes.subarray(s.start, s.end) }));
  }

  /** Clipboard messages received: plain text as a string, Extended Clipboard as flags and payload. */
  async clipboard(): Promise<({ text: string } | { flags: number; payload: Uint8Array })[]> {
    return (await this.messages()).filter(m => m.type === 3).map((m) => {
      const view = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
      if (view.getInt32(4) >= 0) return { text: Buffer.from(m.bytes.subarray(8)).toString('latin1') };
      return { flags: view.getUint32(8), payload: m.bytes.subarray(12) };
    });
  }

  /**
   * Resolves once the VNC server answered a picture request sent after everything this viewer sent
   * before: Xvnc handles one connection's messages in order, so it has acted on all of them.
   */
  async barrier(): Promise<void> {
    const updates = (await this.messages()).filter(m => m.type === 0).length;
    this.client.send(framebufferUpdateRequest(false, 0, 0, 1, 1));
    await until(async () => (await this.messages()).filter(m => m.type === 0).length > updates, 5000, 'the picture barrier');
  }
}

const resizeTo = (width: number, height: number): Uint8Array =>
  setDesktopSize(width, height, [{ id: 0, x: 0, y: 0, width, height, flags: 0 }]);
const extendedCut = (flags: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array => {
  const data = new Uint8Array(4 + payload.length);
  new DataView(data.buffer).setUint32(0, flags >>> 0);
  data.set(payload, 4);
  return clientCutText(data, true);
};

describe('clipboard and resize rules on a real Xvnc', () => {
  let desktop: KioskDesktop | undefined;
  let server: Server | undefined;
  let x11: X11Client | undefined;
  const slots: Slot[] = [];
  const proxies: ViewerProxy[] = [];

  before(async () => {
    if (!xvncAvailable()) return;
    const kiosk = await startKioskDesktop({ geometry: '800x600', name: 'gw-clipboard-test', allowResize: true });
    desktop = kiosk;
    x11 = await openX11Client(kiosk.display, kiosk.xauthority);
    server = createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    wss.on('connection', (ws, req) => {
      const route = ROUTES[req.url ?? ''];
      const slot = slots.shift();
      if (route === undefined || slot === undefined) {
        ws.close();
        return;
      }
      const upstream = connectUpstream(
        { host: kiosk.rfbHost, port: kiosk.rfbPort, security: ['vnc'], password: kiosk.password },
        { connectTimeoutMs: 3000, handshakeTimeoutMs: 5000 },
      );
      const proxy = new ViewerProxy(ws, upstream, {
        viewOnly: false, framerLimits: DEFAULT_FRAMER_LIMITS, sendHighWaterBytes: 1024 * 1024,
        slowViewerTimeoutMs: 60_000, handshakeTimeoutMs: 5000, pingIntervalMs: 60_000,
        inputPolicy: {
          policy: () => route.policy, context: () => ({ staff: route.staff, viewOnlyBeamline: false }),
          blocked: (ruleId, reason) => {
            slot.blocked.push({ ruleId, reason });
          },
        },
      }, pino({ level: 'silent' }));
      slot.proxy = proxy;
      proxies.push(proxy);
    });
    const s = server;
    await new Promise<void>((resolve) => {
      s.listen(0, '127.0.0.1', resolve);
    });
  });
  after(async () => {
    x11?.close();
    for (const p of proxies) p.close();
    const s = server;
    if (s !== undefined) {
      s.closeAllConnections();
      await new Promise(resolve => s.close(resolve));
    }
    await desktop?.stop();
  });

  /** Connects a viewer on `path` that announces `encodings`, set up and settled (one picture back). */
  async function connect(path: string, encodings: readonly number[]): Promise<Viewer> {
    assert.ok(server !== undefined);
    const slot: Slot = { blocked: [], proxy: undefined };
    slots.push(slot); // connections come one at a time: the next one to arrive takes it
    const client = await connectWsRfb(`ws://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    const viewer = new Viewer(client, slot);
    client.send(Buffer.concat([setPixelFormat(RGB888_LE), setEncodings(encodings)]));
    await viewer.barrier();
    return viewer;
  }

  it('has Xtigervnc, xev and the other kiosk tools installed', () => {
    assert.ok(xvncAvailable(), kioskToolsMissingMessage());
  });

  it('desktop->browser, plain ServerCutText: reaches the allowed viewer, never the denied one or the one whose limit it exceeds', async () => {
    assert.ok(xvncAvailable(), kioskToolsMissingMessage());
    assert.ok(desktop !== undefined && x11 !== undefined, 'the kiosk did not start');
    const plain = [Encoding.Raw, Encoding.ExtendedDesktopSize];
    const [denied, allowed, tiny] = [await connect('/deny', plain), await connect('/allow', plain), await connect('/tiny', plain)];
    const secret = 'sample S-1234 dose'; // 18 bytes: over /tiny's 8, under /allow's 64
    await x11.own('CLIPBOARD', secret);
    await until(async () => (await allowed.clipboard()).some(c => 'text' in c && c.text === secret), 5000, 'the allowed viewer gets the text');
    // Xvnc sent the same text to the other two: the gateway took it out.
    await until(() => (denied.proxy?.stats.serverClipboardBlocked ?? 0) > 0 && (tiny.proxy?.stats.serverClipboardBlocked ?? 0) > 0, 5000,
      'the gateway blocks the text for the other two viewers');
    for (const v of [denied, tiny]) {
      await v.barrier();
      assert.deepEqual(await v.clipboard(), [], 'a clipboard message reached a viewer whose policy refuses it');
      assert.equal((await v.client.waitForBytes(0)).indexOf(Buffer.from(secret, 'latin1')), -1, 'the text is in the bytes the viewer got');
    }
    assert.deepEqual(denied.blocked.map(b => b.ruleId), ['clipboard-to-browser']);
    assert.match(tiny.blocked[0]?.reason ?? '', /larger than 8 bytes/);
    assert.deepEqual(allowed.blocked, []);
    assert.ok(x11.served >= 1, 'Xvnc asked the X application for the text');
    for (const v of [denied, allowed, tiny]) v.client.ws.close();
  });

  it('desktop->browser, Extended Clipboard (as noVNC): caps pass to all, the notify and the provide only where allowed', async () => {
    assert.ok(desktop !== undefined && x11 !== undefined, 'the kiosk did not start');
    const extended = [Encoding.Raw, Encoding.ExtendedDesktopSize, Encoding.ExtendedClipboard];
    const [denied, allowed] = [await connect('/deny', extended), await connect('/allow', extended)];
    for (const v of [denied, allowed]) {
      const caps = (await v.clipboard()).find(c => 'flags' in c && (c.flags & CAPS) !== 0);
      assert.ok(caps !== undefined, 'Xvnc\'s caps did not pass');
      // noVNC's answer (rfb.js _handleServerCutText): every action it knows, text with no unsolicited size,
      // so Xvnc announces with notify instead of sending the text. It must pass the gateway too.
      v.client.send(extendedCut(CAPS | REQUEST | PEEK | NOTIFY | PROVIDE | TEXT, new Uint8Array(4)));
      await v.barrier();
    }
    assert.deepEqual([...denied.blocked, ...allowed.blocked], [], 'caps were blocked');
    const secret = 'extended clipboard text';
    await x11.own('CLIPBOARD', secret);
    await until(async () => (await allowed.clipboard()).some(c => 'flags' in c && c.flags === (NOTIFY | TEXT)), 5000,
      `the notify reaches the allowed viewer (it got ${JSON.stringify(await allowed.clipboard())})`);
    await until(() => denied.blocked.length > 0, 5000, 'the notify is blocked for the denied viewer');
    // Both ask for the text, as noVNC does after a notify; only the allowed viewer's request may pass.
    for (const v of [denied, allowed]) v.client.send(extendedCut(REQUEST | TEXT));
    await until(async () => (await allowed.clipboard()).some(c => 'flags' in c && c.flags === (PROVIDE | TEXT)), 5000, 'the provide reaches the allowed viewer');
    const provide = (await allowed.clipboard()).find(c => 'flags' in c && c.flags === (PROVIDE | TEXT));
    assert.ok(provide !== undefined && 'payload' in provide);
    const inflated = inflateSync(provide.payload, { finishFlush: zlibConstants.Z_SYNC_FLUSH }); // TigerVNC flushes, never ends the stream
    assert.equal(inflated.subarray(4, 4 + inflated.readUInt32BE(0)).toString('utf8').replace(/\0$/, ''), secret);
    await denied.barrier();
    assert.deepEqual((await denied.clipboard()).filter(c => 'flags' in c && (c.flags & CAPS) === 0), [], 'only caps reached the denied viewer');
    assert.deepEqual([...new Set(denied.blocked.map(b => b.ruleId))], ['clipboard-to-browser'], 'the notify and the request were blocked by the copy rule');
    for (const v of [denied, allowed]) v.client.ws.close();
  });

  it('browser->desktop: a denied or too large paste leaves the X selection alone; an allowed one becomes its contents', async () => {
    assert.ok(desktop !== undefined && x11 !== undefined, 'the kiosk did not start');
    const plain = [Encoding.Raw, Encoding.ExtendedDesktopSize];
    const [denied, allowed] = [await connect('/deny', plain), await connect('/allow', plain)];
    await x11.own('CLIPBOARD', 'what the desktop had');
    denied.client.send(clientCutText(Buffer.from('denied paste', 'latin1')));
    allowed.client.send(clientCutText(Buffer.from('x'.repeat(65), 'latin1'))); // over /allow's 64
    await denied.barrier();
    await allowed.barrier();
    assert.equal(await x11.read('CLIPBOARD'), 'what the desktop had');
    // (Taking the selection above also sent the desktop's text to both viewers: the copy rule's blocks are not counted here.)
    const pasteBlocks = (v: Viewer): string[] => v.blocked.filter(b => b.ruleId === 'clipboard-to-desktop').map(b => b.reason);
    assert.equal(pasteBlocks(denied).length, 1);
    assert.match(pasteBlocks(allowed)[0] ?? '', /larger than 64 bytes/);
    allowed.client.send(clientCutText(Buffer.from('allowed paste', 'latin1')));
    await allowed.barrier();
    await until(async () => (await x11?.read('CLIPBOARD')) === 'allowed paste', 3000, 'the X clipboard holds the allowed paste');
    for (const v of [denied, allowed]) v.client.ws.close();
  });

  it('SetDesktopSize: only staff (the policy\'s role), only within the bounds, changes the X screen', async () => {
    assert.ok(desktop !== undefined, 'the kiosk did not start');
    const resizing = [Encoding.Raw, Encoding.ExtendedDesktopSize, Encoding.DesktopSize];
    const [holder, staff] = [await connect('/deny', resizing), await connect('/staff', resizing)];
    assert.deepEqual(await desktop.screenSize(), { width: 800, height: 600 });
    holder.client.send(resizeTo(700, 500));
    await holder.barrier();
    assert.deepEqual(await desktop.screenSize(), { width: 800, height: 600 }, 'a non-staff resize got through');
    assert.match(holder.blocked[0]?.reason ?? '', /Only the beamline staff/);
    staff.client.send(resizeTo(1280, 1024));
    staff.client.send(resizeTo(600, 400));
    await staff.barrier();
    assert.deepEqual(await desktop.screenSize(), { width: 800, height: 600 }, 'a resize outside the bounds got through');
    assert.deepEqual(staff.blocked.map(b => b.reason.startsWith('The desktop size must stay between 640×480 and 1024×768')), [true, true]);
    staff.client.send(resizeTo(700, 500));
    await until(async () => (await desktop?.screenSize())?.width === 700, 3000, 'the X screen is 700 wide');
    assert.deepEqual(await desktop.screenSize(), { width: 700, height: 500 });
    for (const v of [holder, staff]) v.client.ws.close();
  });
});
