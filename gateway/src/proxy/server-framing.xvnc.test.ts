// The server-to-client scanner against what a real TigerVNC Xvnc sends: a viewer whose policy
// denies desktop->browser (so the gateway frames the server stream) asks for pictures in each
// encoding the gateway allows while an X client paints noise (photo-like: Tight JPEG or zlib) and
// stripes (palette-like) on the screen. The gateway must never lose the message boundaries: the
// viewer stays connected, every request is answered by exactly one FramebufferUpdate, and the
// stream splits into whole messages. Needs Debian's TigerVNC and X tools and FAILS (never skips)
// without them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { beamlineInputPolicySchema } from '../../../policies/src/input-policy.js';
import { compilePolicy } from '../../../policies/src/input-rules.js';
import { framebufferUpdateRequest, setEncodings, setPixelFormat } from '../rfb/c2s-encode.js';
import { DEFAULT_FRAMER_LIMITS } from '../rfb/c2s-framer.js';
import { Encoding as E } from '../rfb/encodings.js';
import type { GatewayError } from '../rfb/errors.js';
import { RGB888_LE, type PixelFormat } from '../rfb/pixel-format.js';
import { S2CScanner } from '../rfb/s2c-scanner.js';
import { kioskToolsMissingMessage, startKioskDesktop, xvncAvailable, type KioskDesktop } from '../testing/kiosk-fixture.js';
import { connectWsRfb } from '../testing/ws-rfb-client.js';
import { openX11Client, type X11Client } from '../testing/x11-client.js';
import { connectUpstream } from './upstream-connector.js';
import { ViewerProxy } from './viewer-proxy.js';

const DENY = compilePolicy(beamlineInputPolicySchema.parse({ version: 1, beamline: 'test' }));
const PSEUDO = [E.DesktopSize, E.LastRect, E.QemuExtendedKeyEvent, E.QemuLedState, E.ExtendedDesktopSize, E.DesktopName, E.Cursor];
const PF16: PixelFormat = {
  ...RGB888_LE, bitsPerPixel: 16, depth: 16, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0,
};
const PF8: PixelFormat = {
  ...RGB888_LE, bitsPerPixel: 8, depth: 8, redMax: 7, greenMax: 7, blueMax: 3, redShift: 0, greenShift: 3, blueShift: 6,
};
/** What noVNC 1.7 asks for after the gateway's rewrite (minus fences and continuous updates, which need answers). */
const PROFILES: readonly (readonly [string, readonly number[], PixelFormat])[] = [
  ['Tight with JPEG (noVNC\'s list)', [E.CopyRect, E.Tight, E.TightPNG, E.ZRLE, E.Hextile, E.RRE, E.Zlib, E.Raw, -32 + 6, -256 + 2, ...PSEUDO, E.VMwareCursor], RGB888_LE],
  ['Tight lossless', [E.Tight, E.Raw, -256 + 9, ...PSEUDO], RGB888_LE],
  ['Tight at 16 bpp', [E.Tight, E.Raw, -32 + 3, ...PSEUDO], PF16],
  ['ZRLE', [E.ZRLE, E.CopyRect, E.Raw, ...PSEUDO], RGB888_LE],
  ['Hextile', [E.Hextile, E.Raw, ...PSEUDO], RGB888_LE],
  ['Hextile at 8 bpp (colour map)', [E.Hextile, E.Raw, ...PSEUDO], { ...PF8, trueColour: false }],
  ['RRE', [E.RRE, E.Raw, ...PSEUDO], RGB888_LE],
  ['Raw at 16 bpp', [E.Raw, ...PSEUDO], PF16],
];

describe('the gateway frames a real Xvnc\'s server stream in every encoding it allows', () => {
  let desktop: KioskDesktop | undefined;
  let server: Server | undefined;
  let x11: X11Client | undefined;
  const proxies: ViewerProxy[] = [];

  before(async () => {
    if (!xvncAvailable()) return;
    const kiosk = await startKioskDesktop({ geometry: '800x600', name: 'gw-framing-test' });
    desktop = kiosk;
    x11 = await openX11Client(kiosk.display, kiosk.xauthority);
    server = createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    wss.on('connection', (ws) => {
      const upstream = connectUpstream(
        { host: kiosk.rfbHost, port: kiosk.rfbPort, security: ['vnc'], password: kiosk.password },
        { connectTimeoutMs: 3000, handshakeTimeoutMs: 5000 },
      );
      proxies.push(new ViewerProxy(ws, upstream, {
        viewOnly: false, framerLimits: DEFAULT_FRAMER_LIMITS, sendHighWaterBytes: 1024 * 1024,
        slowViewerTimeoutMs: 60_000, handshakeTimeoutMs: 5000, pingIntervalMs: 60_000,
        inputPolicy: { policy: () => DENY, context: () => ({ staff: false, viewOnlyBeamline: false }), blocked: () => undefined },
      }, pino({ level: 'silent' })));
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

  it('has Xtigervnc, xev and the other kiosk tools installed', () => {
    assert.ok(xvncAvailable(), kioskToolsMissingMessage());
  });

  let seed = 1;
  for (const [name, encodings, pixelFormat] of PROFILES) {
    it(`${name}: every request answered by one whole FramebufferUpdate, the viewer stays connected`, async () => {
      assert.ok(xvncAvailable(), kioskToolsMissingMessage());
      assert.ok(server !== undefined && x11 !== undefined, 'the kiosk did not start');
      const client = await connectWsRfb(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const proxy = proxies.at(-1);
      assert.ok(proxy !== undefined);
      let closedWith: GatewayError | undefined;
      proxy.onClose((e) => {
        closedWith = e;
      });
      const updates = async (): Promise<number> => {
        const bytes = await client.waitForBytes(client.received());
        const scanner = new S2CScanner(client.serverInit.pixelFormat);
        scanner.setPixelFormat(pixelFormat);
        const spans = scanner.scan(bytes);
        assert.equal(scanner.offset, bytes.length);
        return spans.filter(s => s.type === 0).length;
      };
      const answered = async (count: number): Promise<void> => {
        const deadline = Date.now() + 8000;
        while ((await updates()) < count) {
          assert.equal(closedWith, undefined, `the gateway closed the viewer: ${closedWith?.code ?? ''} ${closedWith?.message ?? ''}`);
          if (Date.now() > deadline) throw new Error(`${count} updates not within 8 s (have ${await updates()})`);
          await new Promise(r => setTimeout(r, 25));
        }
      };
      client.send(Buffer.concat([setPixelFormat(pixelFormat), setEncodings(encodings), framebufferUpdateRequest(false, 0, 0, 800, 600)]));
      let requests = 1;
      await answered(requests);
      // Pictures that make Xvnc use each sub-encoding: noise (JPEG, zlib), stripes (palettes, runs), small and large.
      const paints: [number, number, number, number, 'noise' | 'stripes'][] = [
        [10, 10, 300, 200, 'noise'], [400, 50, 250, 300, 'stripes'], [0, 300, 800, 300, 'noise'], [33, 77, 5, 3, 'stripes'], [100, 100, 64, 64, 'stripes'],
      ];
      for (const [x, y, w, h, picture] of paints) {
        await x11.paint(x, y, w, h, picture, seed++);
        client.send(framebufferUpdateRequest(true, 0, 0, 800, 600));
        requests++;
        await answered(requests);
      }
      client.send(framebufferUpdateRequest(false, 0, 0, 800, 600));
      requests++;
      await answered(requests);
      await new Promise(r => setTimeout(r, 100));
      assert.equal(await updates(), requests, 'one update per request, no more');
      assert.equal(closedWith, undefined);
      assert.equal(proxy.state, 'relay');
      assert.ok(client.received() > 50_000, `only ${client.received()} bytes: the pictures did not arrive`);
      client.ws.close();
    });
  }
});
