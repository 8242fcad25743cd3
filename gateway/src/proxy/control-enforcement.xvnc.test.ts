// Control enforcement against a real TigerVNC Xvnc kiosk (Xtigervnc + openbox + xev, see
// testing/kiosk-fixture.ts), with the X server as the oracle: a holder who is holding Shift (or a
// mouse button) when control moves leaves nothing pressed in X, and its later input never arrives.
// Two WebSocket viewers go through real ViewerProxies that share one ControlEpoch (a minimal
// gateway of this file's own, as in control-enforcement.test.ts: gateway-server.ts gives viewers a
// ControlEpoch only with login).
//
// Needs Debian's TigerVNC and X tools and FAILS (never skips) without them: CI installs them
// with .ci/install-deps.
//
// Ordering: Xvnc handles one connection's messages in order, so once it has answered a picture
// request that a viewer sent after its input, it has injected any of that input it got; a key (or
// click) of the other viewer sent after that lands behind all of it among the X key (button)
// events. X keeps key and button events each in order but not relative to each other (observed:
// a click sent before a key can reach xev after it), so the two are checked separately.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { keyEvent, pointerEvent, qemuExtendedKeyEvent, setEncodings, setPixelFormat } from '../rfb/c2s-encode.js';
import { DEFAULT_FRAMER_LIMITS } from '../rfb/c2s-framer.js';
import { Encoding } from '../rfb/encodings.js';
import { RGB888_LE } from '../rfb/pixel-format.js';
import {
  kioskToolsMissingMessage, startKioskDesktop, waitForInput, xvncAvailable, type InputRecord, type KioskDesktop,
} from '../testing/kiosk-fixture.js';
import { connectWsRfb, pictureBarrier, type WsRfbClient } from '../testing/ws-rfb-client.js';
import { within } from '../testing/within.js';
import { ControlEpoch } from './input-gate.js';
import { connectUpstream } from './upstream-connector.js';
import { ViewerProxy } from './viewer-proxy.js';

const silent = pino({ level: 'silent' });

// X keysym, PC/XT set-1 scancode, and the X keycode xev reports (us layout, evdev).
const KEYS = {
  Shift_L: { keysym: 0xffe1, xt: 0x2a, keycode: 50 },
  a: { keysym: 0x61, xt: 0x1e, keycode: 38 },
  q: { keysym: 0x71, xt: 0x10, keycode: 24 },
  w: { keysym: 0x77, xt: 0x11, keycode: 25 },
} as const;
type KeyName = keyof typeof KEYS;

const keyDown = (name: KeyName): Uint8Array => keyEvent(true, KEYS[name].keysym);
const qemuDown = (name: KeyName): Uint8Array => qemuExtendedKeyEvent(true, KEYS[name].keysym, KEYS[name].xt);
const tapKey = (name: KeyName): Buffer => Buffer.concat([keyEvent(true, KEYS[name].keysym), keyEvent(false, KEYS[name].keysym)]);
const tapQemuKey = (name: KeyName): Buffer => Buffer.concat([
  qemuExtendedKeyEvent(true, KEYS[name].keysym, KEYS[name].xt), qemuExtendedKeyEvent(false, KEYS[name].keysym, KEYS[name].xt),
]);
const click = (x: number, y: number): Buffer => Buffer.concat([pointerEvent(0, x, y), pointerEvent(1, x, y), pointerEvent(0, x, y)]);

const pressed = (name: KeyName, down = true): InputRecord => ({ kind: 'key', down, keysym: name, keycode: KEYS[name].keycode });
const keyTapped = (name: KeyName): InputRecord[] => [pressed(name), pressed(name, false)];
const button = (down: boolean, x: number, y: number): InputRecord => ({ kind: 'button', down, button: 1, x, y });
const clicked = (x: number, y: number): InputRecord[] => [button(true, x, y), button(false, x, y)];

/** The log as two streams, each in X's order: key events and button events. */
function byKind(log: readonly InputRecord[]): { keys: InputRecord[]; buttons: InputRecord[] } {
  return { keys: log.filter(r => r.kind === 'key'), buttons: log.filter(r => r.kind === 'button') };
}

// ---- a minimal gateway whose viewers share one ControlEpoch

interface Participant {
  readonly client: WsRfbClient;
  readonly viewer: ViewerProxy;
  readonly name: string;
}

class Rig {
  desktop: KioskDesktop | undefined;
  readonly control = new ControlEpoch();
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private url = '';
  private readonly viewers: ViewerProxy[] = [];
  private readonly clients: WsRfbClient[] = [];
  private epoch = 0;

  async start(): Promise<void> {
    if (!xvncAvailable()) return;
    const desktop = await startKioskDesktop({ geometry: '800x600', name: 'gw-control-test' });
    this.desktop = desktop;
    const server = createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    this.server = server;
    this.wss = wss;
    wss.on('connection', (ws) => {
      const upstream = connectUpstream(
        { host: desktop.rfbHost, port: desktop.rfbPort, security: ['vnc'], password: desktop.password },
        { connectTimeoutMs: 3000, handshakeTimeoutMs: 5000 },
      );
      this.viewers.push(new ViewerProxy(ws, upstream, {
        viewOnly: false, framerLimits: DEFAULT_FRAMER_LIMITS, sendHighWaterBytes: 1024 * 1024,
        slowViewerTimeoutMs: 60_000, handshakeTimeoutMs: 5000, pingIntervalMs: 60_000, control: this.control,
      }, silent));
    });
    await new Promise<void>((resolve) => {
      server.listen(0, '127.0.0.1', resolve);
    });
    this.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  /** Fail, do not skip: a machine without TigerVNC must be noticed. */
  need(): KioskDesktop {
    assert.ok(xvncAvailable(), kioskToolsMissingMessage());
    assert.ok(this.desktop && this.server, 'the kiosk desktop or the gateway did not start (see the before hook\'s error)');
    return this.desktop;
  }

  async join(name: string): Promise<Participant> {
    this.need();
    const client = await within(connectWsRfb(this.url), 8000, `connecting ${name}`);
    this.clients.push(client);
    const viewer = this.viewers.at(-1);
    assert.ok(viewer !== undefined);
    // Raw only: the answer to a 1x1 picture request is then exactly 20 bytes (see pictureBarrier).
    client.send(Buffer.concat([setPixelFormat(RGB888_LE), setEncodings([Encoding.Raw])]));
    return { client, viewer, name };
  }

  /** What the arbiter's holder-changed effect does: a new epoch, the old holder revoked, the new one granted. */
  moveControl(from: Participant | undefined, to: Participant | undefined): void {
    this.epoch += 1;
    this.control.advance(this.epoch, to?.name);
    from?.viewer.revokeInput();
    to?.viewer.grantInput(this.epoch);
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.ws.terminate();
    for (const v of this.viewers) v.close();
    this.wss?.close();
    const server = this.server;
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
    }
    await this.desktop?.stop();
  }
}

/** Waits until xev has seen `count` events since `from`, and returns those. */
async function inputSince(desktop: KioskDesktop, from: number, count: number): Promise<InputRecord[]> {
  const log = await waitForInput(desktop, l => l.length >= from + count, 5000);
  return log.slice(from);
}

describe('control moves on a real Xvnc: no stuck Shift or button, no input from the old holder', () => {
  const rig = new Rig();
  before(async () => {
    await rig.start();
  });
  after(async () => {
    await rig.stop();
  });

  it('has Xtigervnc, xev and the other kiosk tools installed', () => {
    assert.ok(xvncAvailable(), kioskToolsMissingMessage());
  });

  for (const form of ['QEMU extended key event', 'KeyEvent'] as const) {
    it(`releases a Shift held as a ${form} in X when control moves, and drops the old holder's later input`, async () => {
      const desktop = rig.need();
      const [holder, next] = [await rig.join('holder'), await rig.join('next')];
      const from = (await desktop.inputLog()).length;
      rig.moveControl(undefined, holder);
      holder.client.send(form === 'KeyEvent' ? keyDown('Shift_L') : qemuDown('Shift_L'));
      await pictureBarrier(holder.client);
      assert.deepEqual(await inputSince(desktop, from, 1), [pressed('Shift_L')], 'X sees Shift pressed');

      rig.moveControl(holder, next);
      assert.deepEqual(await inputSince(desktop, from, 2), [pressed('Shift_L'), pressed('Shift_L', false)], 'X sees Shift released');
      holder.client.send(Buffer.concat([tapKey('q'), tapQemuKey('w'), click(300, 200)]));
      await pictureBarrier(holder.client);
      // The new holder's 'a' and click are the markers: sent after everything above. A plain 'a'
      // (not 'A', and no modifier Xvnc would have had to fake) shows that no Shift is stuck.
      next.client.send(Buffer.concat([tapKey('a'), click(120, 90)]));
      assert.deepEqual(byKind(await inputSince(desktop, from, 6)), {
        keys: [pressed('Shift_L'), pressed('Shift_L', false), ...keyTapped('a')],
        buttons: clicked(120, 90),
      }, 'nothing of the old holder\'s q, w or click arrived');
      await pictureBarrier(next.client);
      assert.equal((await desktop.inputLog()).length, from + 6, 'and nothing else');
      assert.equal(holder.viewer.stats.droppedWithoutControl, 7);
      rig.moveControl(next, undefined);
      holder.client.ws.terminate();
      next.client.ws.terminate();
    });
  }

  it('releases a mouse button held when control moves, so the new holder\'s clicks work', async () => {
    const desktop = rig.need();
    const [holder, next] = [await rig.join('holder'), await rig.join('next')];
    const from = (await desktop.inputLog()).length;
    rig.moveControl(undefined, holder);
    holder.client.send(Buffer.concat([pointerEvent(0, 300, 200), pointerEvent(1, 300, 200)]));
    await pictureBarrier(holder.client);
    assert.deepEqual(await inputSince(desktop, from, 1), [button(true, 300, 200)]);

    rig.moveControl(holder, next);
    await pictureBarrier(holder.client); // Xvnc has the release before the new holder's click (two connections, no order between them otherwise)
    // Xvnc ignores every other connection's pointer while one holds a button: this click gets
    // through only because the old holder's button was released (on the old holder's connection).
    next.client.send(click(120, 90));
    assert.deepEqual(await inputSince(desktop, from, 4), [button(true, 300, 200), button(false, 300, 200), ...clicked(120, 90)]);
    rig.moveControl(next, undefined);
    holder.client.ws.terminate();
    next.client.ws.terminate();
  });
});
