// Integration tests of control enforcement in the proxy, over real sockets: WebSocket RFB viewers
// on one side, the demo desktop (which records exactly which input arrived on which of its
// connections) on the other, and between them real ViewerProxies that share one ControlEpoch.
//
// gateway-server.ts gives its viewers a ControlEpoch only with login (the control token belongs to
// people), so this file wires a minimal gateway of its own: an HTTP server whose WebSockets become
// ViewerProxies with the real upstream connector, as gateway-server does, minus login and policy.
//
// "Never arrives" is proven with a barrier: after its input, a viewer asks for a 1x1 picture;
// the desktop handles one connection's messages in order, so once that picture is back, anything
// the gateway had let through before it is in the desktop's record.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { startDemoDesktop, type DemoDesktop } from '../demo-desktop/rfb-server.js';
import {
  clientCutText, framebufferUpdateRequest, keyEvent, pointerEvent, qemuExtendedKeyEvent, setDesktopSize, setEncodings,
} from '../rfb/c2s-encode.js';
import { DEFAULT_FRAMER_LIMITS } from '../rfb/c2s-framer.js';
import type { C2SMessage } from '../rfb/c2s-messages.js';
import { Encoding } from '../rfb/encodings.js';
import { connectWsRfb, pictureBarrier, type WsRfbClient } from '../testing/ws-rfb-client.js';
import { ControlEpoch } from './input-gate.js';
import { connectUpstream } from './upstream-connector.js';
import { ViewerProxy } from './viewer-proxy.js';

const silent = pino({ level: 'silent' });
const DESKTOP_PASSWORD = 'ctl-pw12';
const SHIFT_L = 0xffe1;
const SHIFT_R = 0xffe2;
const XT_SHIFT_L = 0x2a;

// ---- a minimal gateway whose viewers share one ControlEpoch

interface MiniGateway {
  readonly url: string;
  /** The ViewerProxies in the order their WebSockets connected. */
  readonly viewers: ViewerProxy[];
  close(): Promise<void>;
}

async function startMiniGateway(
  desktop: DemoDesktop, control: ControlEpoch | undefined, sendHighWaterBytes = 1024 * 1024,
): Promise<MiniGateway> {
  const server: Server = createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const viewers: ViewerProxy[] = [];
  wss.on('connection', (ws) => {
    const upstream = connectUpstream(
      { host: desktop.host, port: desktop.port, security: ['vnc'], password: DESKTOP_PASSWORD },
      { connectTimeoutMs: 3000, handshakeTimeoutMs: 3000 },
    );
    viewers.push(new ViewerProxy(ws, upstream, {
      viewOnly: false, framerLimits: DEFAULT_FRAMER_LIMITS, sendHighWaterBytes,
      slowViewerTimeoutMs: 60_000, handshakeTimeoutMs: 5000, pingIntervalMs: 60_000, control,
    }, silent));
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    viewers,
    close: () => new Promise((resolve) => {
      for (const v of viewers) v.close();
      wss.close();
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    }),
  };
}

/** One browser, its proxy in the gateway, and the number of its connection at the desktop. */
interface Participant {
  readonly client: WsRfbClient;
  readonly viewer: ViewerProxy;
  readonly desktopConnection: number;
}

/** A demo desktop and a gateway in front of it; participants connect one at a time, so their numbers are known. */
class Rig {
  desktop: DemoDesktop | undefined;
  gateway: MiniGateway | undefined;
  readonly control = new ControlEpoch();
  private connections = 0;
  private epoch = 0;

  async start(withControl: boolean, sendHighWaterBytes?: number): Promise<void> {
    this.desktop = await startDemoDesktop({ password: DESKTOP_PASSWORD, tickMs: 1000 });
    this.gateway = await startMiniGateway(this.desktop, withControl ? this.control : undefined, sendHighWaterBytes);
  }

  need(): { desktop: DemoDesktop; gateway: MiniGateway } {
    assert.ok(this.desktop && this.gateway, 'the demo desktop or the gateway did not start');
    return { desktop: this.desktop, gateway: this.gateway };
  }

  async join(): Promise<Participant> {
    const { gateway } = this.need();
    const client = await connectWsRfb(gateway.url);
    const viewer = gateway.viewers.at(-1);
    assert.ok(viewer !== undefined);
    this.connections += 1;
    // As noVNC does; SetDesktopSize is only acceptable after ExtendedDesktopSize was announced.
    client.send(setEncodings([Encoding.Raw, Encoding.ExtendedDesktopSize, Encoding.DesktopSize]));
    return { client, viewer, desktopConnection: this.connections };
  }

  /** What the arbiter's holder-changed effect does: a new epoch, the old holder revoked, the new one granted. */
  moveControl(from: Participant | undefined, to: Participant | undefined): number {
    this.epoch += 1;
    this.control.advance(this.epoch, to === undefined ? undefined : `conn-${to.desktopConnection}`);
    from?.viewer.revokeInput();
    to?.viewer.grantInput(this.epoch);
    return this.epoch;
  }

  /** Every input message the desktop received on this participant's connection, oldest first. */
  inputsOf(p: Participant): C2SMessage[] {
    return this.need().desktop.inputs.filter(i => i.connection === p.desktopConnection).map(i => i.message);
  }

  async stop(): Promise<void> {
    await this.gateway?.close();
    await this.desktop?.close();
  }
}

/** One message of each input type (the pointer only moves: no click on the panel). */
function everyInput(tag: number): Uint8Array {
  return Buffer.concat([
    keyEvent(true, 0x61 + tag), keyEvent(false, 0x61 + tag),
    qemuExtendedKeyEvent(true, 0x31 + tag, 0x02 + tag), qemuExtendedKeyEvent(false, 0x31 + tag, 0x02 + tag),
    pointerEvent(0, 10 + tag, 20),
    clientCutText(Buffer.from(`paste ${tag}`, 'latin1')),
    setDesktopSize(1024, 768, [{ id: 0, x: 0, y: 0, width: 1024, height: 768, flags: 0 }]),
  ]);
}
const EVERY_INPUT_TYPES = ['KeyEvent', 'KeyEvent', 'QemuExtendedKeyEvent', 'QemuExtendedKeyEvent', 'PointerEvent', 'ClientCutText', 'SetDesktopSize'];

const typesOf = (messages: readonly C2SMessage[]): string[] => messages.map(m => m.type);

describe('control epochs: two viewers on the demo desktop', () => {
  const rig = new Rig();
  before(async () => {
    await rig.start(true);
  });
  after(async () => {
    await rig.stop();
  });

  it('lets nobody\'s input through while nobody holds control, and keeps both pictures flowing', async () => {
    const [a, b] = [await rig.join(), await rig.join()];
    a.client.send(everyInput(0));
    b.client.send(everyInput(1));
    await Promise.all([pictureBarrier(a.client), pictureBarrier(b.client)]);
    assert.deepEqual([rig.inputsOf(a), rig.inputsOf(b)], [[], []]);
    assert.equal(a.viewer.stats.droppedWithoutControl, EVERY_INPUT_TYPES.length);
    assert.equal(b.viewer.stats.messagesDropped, EVERY_INPUT_TYPES.length);
    a.client.ws.terminate();
    b.client.ws.terminate();
  });

  it('delivers only the holder\'s keys, and reports only the holder\'s input as activity', async () => {
    const [a, b] = [await rig.join(), await rig.join()];
    const activity = { a: 0, b: 0 };
    a.viewer.onInputForwarded(() => activity.a++);
    b.viewer.onInputForwarded(() => activity.b++);
    rig.moveControl(undefined, a);
    a.client.send(Buffer.concat([keyEvent(true, 0x61), keyEvent(false, 0x61)]));
    b.client.send(Buffer.concat([keyEvent(true, 0x62), keyEvent(false, 0x62), qemuExtendedKeyEvent(true, 0x63, 0x2e)]));
    await Promise.all([pictureBarrier(a.client), pictureBarrier(b.client)]);
    assert.deepEqual(rig.inputsOf(a), [{ type: 'KeyEvent', down: true, keysym: 0x61 }, { type: 'KeyEvent', down: false, keysym: 0x61 }]);
    assert.deepEqual(rig.inputsOf(b), []);
    assert.deepEqual(activity, { a: 1, b: 0 });
    rig.moveControl(a, undefined);
    a.client.ws.terminate();
    b.client.ws.terminate();
  });

  it('after revoke and grant to the other, none of the old holder\'s input (of any type) arrives, and all of the new holder\'s does', async () => {
    const [a, b] = [await rig.join(), await rig.join()];
    rig.moveControl(undefined, a);
    a.client.send(everyInput(0));
    await pictureBarrier(a.client);
    assert.deepEqual(typesOf(rig.inputsOf(a)), EVERY_INPUT_TYPES, 'the holder\'s input of every type arrives (so the next check can fail)');

    rig.moveControl(a, b);
    a.client.send(everyInput(2));
    b.client.send(everyInput(1));
    await Promise.all([pictureBarrier(a.client), pictureBarrier(b.client)]);
    assert.deepEqual(typesOf(rig.inputsOf(a)), EVERY_INPUT_TYPES, 'nothing more from the old holder');
    assert.deepEqual(typesOf(rig.inputsOf(b)), EVERY_INPUT_TYPES);
    assert.equal(a.viewer.stats.droppedWithoutControl, EVERY_INPUT_TYPES.length);
    assert.equal(a.viewer.stats.releasesSent, 0, 'the old holder held nothing down');
    assert.equal(a.client.ws.readyState, a.client.ws.OPEN, 'losing control does not disconnect');
    rig.moveControl(b, undefined);
    a.client.ws.terminate();
    b.client.ws.terminate();
  });

  it('cuts the old holder off the moment the epoch moves, before its own proxy is told (take-over)', async () => {
    const [a, b] = [await rig.join(), await rig.join()];
    const epoch = rig.moveControl(undefined, a);
    rig.control.advance(epoch + 1, 'staff');
    a.client.send(everyInput(0));
    await pictureBarrier(a.client);
    assert.deepEqual(rig.inputsOf(a), []);
    assert.equal(a.viewer.grantedEpoch, epoch, 'the proxy still believes it drives; the epoch alone stopped it');
    rig.moveControl(a, undefined);
    a.client.ws.terminate();
    b.client.ws.terminate();
  });

  it('releases Shift (QEMU and KeyEvent forms) and a mouse button on the old holder\'s connection when control moves', async () => {
    const [a, b] = [await rig.join(), await rig.join()];
    rig.moveControl(undefined, a);
    a.client.send(Buffer.concat([
      qemuExtendedKeyEvent(true, SHIFT_L, XT_SHIFT_L), keyEvent(true, SHIFT_R), pointerEvent(0, 100, 200), pointerEvent(1, 100, 200),
    ]));
    await pictureBarrier(a.client);
    assert.equal(rig.inputsOf(a).length, 4);

    rig.moveControl(a, b);
    await pictureBarrier(a.client);
    assert.deepEqual(rig.inputsOf(a).slice(4), [
      { type: 'PointerEvent', buttonMask: 0, x: 100, y: 200 },
      { type: 'KeyEvent', down: false, keysym: SHIFT_R },
      { type: 'QemuExtendedKeyEvent', down: false, keysym: SHIFT_L, keycode: XT_SHIFT_L },
    ]);
    assert.equal(a.viewer.stats.releasesSent, 3);
    // The old holder letting go now changes nothing: its releases are input like any other.
    a.client.send(Buffer.concat([qemuExtendedKeyEvent(false, SHIFT_L, XT_SHIFT_L), pointerEvent(0, 100, 200)]));
    b.client.send(keyEvent(true, 0x7a));
    await Promise.all([pictureBarrier(a.client), pictureBarrier(b.client)]);
    assert.equal(rig.inputsOf(a).length, 7);
    assert.deepEqual(rig.inputsOf(b), [{ type: 'KeyEvent', down: true, keysym: 0x7a }]);

    rig.moveControl(b, a);
    await pictureBarrier(b.client);
    assert.deepEqual(rig.inputsOf(b).slice(1), [{ type: 'KeyEvent', down: false, keysym: 0x7a }], 'the new holder\'s key is released in turn');
    rig.moveControl(a, undefined);
    await pictureBarrier(a.client);
    assert.equal(rig.inputsOf(a).length, 7, 'nothing held, nothing released');
    a.client.ws.terminate();
    b.client.ws.terminate();
  });

  it('releases what a holder holds down when its browser disconnects', async () => {
    const a = await rig.join();
    rig.moveControl(undefined, a);
    a.client.send(Buffer.concat([qemuExtendedKeyEvent(true, SHIFT_L, XT_SHIFT_L), pointerEvent(1, 40, 50)]));
    await pictureBarrier(a.client);
    a.client.ws.close();
    const { desktop } = rig.need();
    await desktop.waitForInput(i => i.connection === a.desktopConnection && i.message.type === 'QemuExtendedKeyEvent' && !i.message.down, 5000);
    assert.deepEqual(rig.inputsOf(a).slice(2), [
      { type: 'PointerEvent', buttonMask: 0, x: 40, y: 50 },
      { type: 'QemuExtendedKeyEvent', down: false, keysym: SHIFT_L, keycode: XT_SHIFT_L },
    ]);
    rig.moveControl(a, undefined);
  });
});

describe('control epochs: releases while the old holder\'s connection is paused by backpressure', () => {
  const rig = new Rig();
  before(async () => {
    await rig.start(true, 64 * 1024);
  });
  after(async () => {
    await rig.stop();
  });

  it('sends the releases even though the gateway stopped reading that viewer\'s VNC connection', async () => {
    const a = await rig.join();
    rig.moveControl(undefined, a);
    a.client.send(keyEvent(true, SHIFT_L));
    await pictureBarrier(a.client);
    // The browser stops reading; full-screen pictures (3 MiB each) fill its socket and the
    // gateway pauses this viewer's VNC connection.
    a.client.socket.pause();
    for (let i = 0; i < 4; i++) a.client.send(framebufferUpdateRequest(false, 0, 0, 1024, 768));
    const deadline = Date.now() + 5000;
    while (a.viewer.stats.pausedSince === undefined) {
      assert.ok(Date.now() < deadline, 'the gateway paused the VNC connection within 5 s');
      await new Promise(r => setTimeout(r, 10));
    }
    rig.moveControl(a, undefined);
    const { desktop } = rig.need();
    const release = await desktop.waitForInput(i => i.connection === a.desktopConnection && i.message.type === 'KeyEvent' && !i.message.down, 5000);
    assert.deepEqual(release.message, { type: 'KeyEvent', down: false, keysym: SHIFT_L });
    assert.notEqual(a.viewer.stats.pausedSince, undefined, 'still paused: the release did not wait for the browser');
    a.client.ws.terminate();
  });
});

describe('without a ControlEpoch (no login): the viewOnly flag alone decides, as before', () => {
  const rig = new Rig();
  before(async () => {
    await rig.start(false);
  });
  after(async () => {
    await rig.stop();
  });

  it('forwards an interactive viewer\'s input without any grant, and refuses grantInput with what to do', async () => {
    const a = await rig.join();
    a.client.send(everyInput(0));
    await pictureBarrier(a.client);
    assert.deepEqual(typesOf(rig.inputsOf(a)), EVERY_INPUT_TYPES);
    assert.throws(() => {
      a.viewer.grantInput(1);
    }, /grantInput on a viewer created without a ControlEpoch: pass options.control/);
    a.viewer.revokeInput(); // nothing to release, nothing changes
    a.client.send(keyEvent(true, 0x61));
    await pictureBarrier(a.client);
    assert.equal(rig.inputsOf(a).length, EVERY_INPUT_TYPES.length + 1);
    assert.equal(a.viewer.stats.droppedWithoutControl, 0);
    a.client.ws.terminate();
  });
});
