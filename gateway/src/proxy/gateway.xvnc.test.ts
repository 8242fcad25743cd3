// Integration tests of the whole gateway against a real TigerVNC 1.12 Xvnc kiosk (Xtigervnc +
// openbox + xev, see testing/kiosk-fixture.ts): a WebSocket RFB client on the browser side, the
// gateway in-process, and the X server as the oracle. What the X application received (xev),
// who owns the X selections and the X screen size tell what really got through the gateway.
//
// Needs Debian's TigerVNC and X tools and FAILS (never skips) without them: CI installs them
// with .ci/install-deps. One kiosk per describe block; everything is stopped in after hooks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AuditWriter } from '../audit/audit-writer.js';
import { MemoryAuditLog } from '../testing/memory-audit-log.js';
import { validateConfig } from '../config.js';
import { createGatewayServer, type GatewayServer } from '../http/gateway-server.js';
import {
  clientCutText, framebufferUpdateRequest, keyEvent, pointerEvent, qemuExtendedKeyEvent, setDesktopSize, setEncodings, setPixelFormat,
} from '../rfb/c2s-encode.js';
import { Encoding } from '../rfb/encodings.js';
import { RGB888_LE } from '../rfb/pixel-format.js';
import {
  kioskToolsMissingMessage, startKioskDesktop, waitForInput, xvncAvailable, type InputRecord, type KioskDesktop, type KioskDesktopOptions,
} from '../testing/kiosk-fixture.js';
import { connectWsRfb, tryConnectWsRfb, type WsRfbClient } from '../testing/ws-rfb-client.js';
import { within, until } from '../testing/within.js';

// ---- keys: X keysym, PC/XT set-1 scancode, and the X keycode xev reports (us layout, evdev)
const KEYS = {
  a: { keysym: 0x61, xt: 0x1e, keycode: 38 },
  b: { keysym: 0x62, xt: 0x30, keycode: 56 },
  c: { keysym: 0x63, xt: 0x2e, keycode: 54 },
  x: { keysym: 0x78, xt: 0x2d, keycode: 53 },
  m: { keysym: 0x6d, xt: 0x32, keycode: 58 },
  q: { keysym: 0x71, xt: 0x10, keycode: 24 },
  w: { keysym: 0x77, xt: 0x11, keycode: 25 },
} as const;
type KeyName = keyof typeof KEYS;

const tapKey = (name: KeyName): Buffer => Buffer.concat([keyEvent(true, KEYS[name].keysym), keyEvent(false, KEYS[name].keysym)]);
const tapQemuKey = (name: KeyName): Buffer => Buffer.concat([
  qemuExtendedKeyEvent(true, KEYS[name].keysym, KEYS[name].xt), qemuExtendedKeyEvent(false, KEYS[name].keysym, KEYS[name].xt),
]);
/** Move, press button 1, release: a click as noVNC sends it. */
const click = (x: number, y: number): Buffer => Buffer.concat([pointerEvent(0, x, y), pointerEvent(1, x, y), pointerEvent(0, x, y)]);
const resizeTo = (width: number, height: number): Uint8Array =>
  setDesktopSize(width, height, [{ id: 0, x: 0, y: 0, width, height, flags: 0 }]);

const keyTapped = (name: KeyName): InputRecord[] => [
  { kind: 'key', down: true, keysym: name, keycode: KEYS[name].keycode },
  { kind: 'key', down: false, keysym: name, keycode: KEYS[name].keycode },
];
const clicked = (x: number, y: number): InputRecord[] => [
  { kind: 'button', down: true, button: 1, x, y },
  { kind: 'button', down: false, button: 1, x, y },
];

// ---- bounded waiting

/** Waits until the X application has seen `count` more events than `from`, and returns those. */
async function inputSince(desktop: KioskDesktop, from: number, count: number): Promise<InputRecord[]> {
  const log = await waitForInput(desktop, l => l.length >= from + count, 5000);
  return log.slice(from);
}

// ---- server-to-client messages, parsed just enough for these tests

interface UpdateRect { x: number; y: number; width: number; height: number; encoding: number; payload: Buffer }

/**
 * The first complete server message at `offset`: its end, and its rectangles when it is a
 * FramebufferUpdate (Raw pixels at 32 bpp, DesktopSize, ExtendedDesktopSize); undefined when
 * incomplete. Anything else these tests never ask for is an error.
 */
function parseServerMessage(b: Buffer, offset: number): { end: number; rects?: UpdateRect[] } | undefined {
  const have = (n: number): boolean => b.length >= offset + n;
  if (!have(1)) return undefined;
  const type = b.readUInt8(offset);
  switch (type) {
    case 0: { // FramebufferUpdate
      if (!have(4)) return undefined;
      const count = b.readUInt16BE(offset + 2);
      const rects: UpdateRect[] = [];
      let o = offset + 4;
      for (let i = 0; i < count; i++) {
        if (b.length < o + 12) return undefined;
        const [x, y, width, height] = [b.readUInt16BE(o), b.readUInt16BE(o + 2), b.readUInt16BE(o + 4), b.readUInt16BE(o + 6)];
        const encoding = b.readInt32BE(o + 8);
        o += 12;
        let length: number;
        if (encoding === Encoding.Raw) length = width * height * 4;
        else if (encoding === Encoding.DesktopSize) length = 0;
        else if (encoding === Encoding.ExtendedDesktopSize) {
          if (b.length < o + 1) return undefined;
          length = 4 + 16 * (b[o] ?? 0);
        } else throw new Error(`unexpected rectangle encoding ${encoding}`);
        if (b.length < o + length) return undefined;
        rects.push({ x, y, width, height, encoding, payload: b.subarray(o, o + length) });
        o += length;
      }
      return { end: o, rects };
    }
    case 2: // Bell
      return { end: offset + 1 };
    case 3: { // ServerCutText (negative length: extended clipboard)
      if (!have(8)) return undefined;
      const end = offset + 8 + Math.abs(b.readInt32BE(offset + 4));
      return b.length >= end ? { end } : undefined;
    }
    case 150: // EndOfContinuousUpdates
      return { end: offset + 1 };
    case 248: { // ServerFence
      if (!have(9)) return undefined;
      const end = offset + 9 + (b[offset + 8] ?? 0);
      return b.length >= end ? { end } : undefined;
    }
    default:
      throw new Error(`unexpected server message type ${type} at offset ${offset}`);
  }
}

/** Reads server messages from `cursor.offset` on until a FramebufferUpdate is complete; returns its rectangles. */
async function nextUpdate(client: WsRfbClient, cursor: { offset: number }, timeoutMs = 5000): Promise<UpdateRect[]> {
  const deadline = Date.now() + timeoutMs;
  let need = cursor.offset + 1;
  for (;;) {
    const bytes = await client.waitForBytes(need, Math.max(0, deadline - Date.now()));
    let message = parseServerMessage(bytes, cursor.offset);
    while (message !== undefined) {
      cursor.offset = message.end;
      if (message.rects !== undefined) return message.rects;
      message = parseServerMessage(bytes, cursor.offset);
    }
    need = bytes.length + 1;
  }
}

// ---- the gateway, in-process, with an in-memory log

interface Gateway {
  gw: GatewayServer;
  base: string;
  /** Every log line the gateway wrote, as parsed JSON. */
  entries(): Record<string, unknown>[];
  logText(): string;
}

async function startGateway(dir: string, targets: Record<string, unknown>[]): Promise<Gateway> {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, {
    write: (line: string) => {
      lines.push(line);
    },
  });
  const config = validateConfig({
    listen: { host: '127.0.0.1', port: 0 },
    insecureNoLogin: true,
    targets,
    limits: { upstreamConnectTimeoutMs: 3000, handshakeTimeoutMs: 5000 },
  }, 'xvnc-test');
  const gw = createGatewayServer({
    config, log, clientDir: dir,
    audit: new AuditWriter(new MemoryAuditLog(), log),
    login: undefined, ready: () => Promise.resolve(), clock: () => new Date(),
  });
  const address = await gw.listen();
  return {
    gw,
    base: `ws://127.0.0.1:${address.port}`,
    entries: () => lines.map(l => JSON.parse(l) as Record<string, unknown>),
    logText: () => lines.join(''),
  };
}

async function passwordFile(dir: string, name: string, password: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${password}\n`, { mode: 0o600 });
  return path;
}

/** Everything one describe block started, stopped in its after hook whatever happened. */
class Rig {
  desktop: KioskDesktop | undefined;
  gateway: Gateway | undefined;
  dir: string | undefined;
  private readonly clients: WsRfbClient[] = [];

  /** Fail, do not skip: a machine without TigerVNC must be noticed (a failing before hook would only cancel the tests). */
  need(): { desktop: KioskDesktop; gateway: Gateway } {
    assert.ok(xvncAvailable(), kioskToolsMissingMessage());
    assert.ok(this.desktop && this.gateway, 'the kiosk desktop or the gateway did not start (see the before hook\'s error)');
    return { desktop: this.desktop, gateway: this.gateway };
  }

  async connect(path: string): Promise<WsRfbClient> {
    const { gateway } = this.need();
    const client = await within(connectWsRfb(`${gateway.base}${path}`), 8000, `connecting to ${path}`);
    this.clients.push(client);
    return client;
  }

  async disconnect(client: WsRfbClient): Promise<void> {
    client.ws.close();
    await within(client.closed, 3000, 'closing a viewer');
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.ws.terminate();
    const results = await Promise.allSettled([
      this.gateway?.gw.close(),
      this.desktop?.stop(),
    ]);
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }
}

type Targets = (desktop: KioskDesktop, dir: string) => Promise<Record<string, unknown>[]>;

async function startRig(rig: Rig, kiosk: KioskDesktopOptions, targets: Targets): Promise<void> {
  if (!xvncAvailable()) return;
  rig.dir = await mkdtemp(join(tmpdir(), 'beamgate-xvnc-test-'));
  rig.desktop = await startKioskDesktop(kiosk);
  rig.gateway = await startGateway(rig.dir, await targets(rig.desktop, rig.dir));
}

describe('gateway to a real Xvnc (VncAuth): input, view-only, pictures, bad password', () => {
  const rig = new Rig();
  let wrongPassword = '';
  before(async () => {
    // --allow-resize: Xvnc honours SetDesktopSize here, so a view-only resize that got through would show.
    await startRig(rig, { geometry: '800x600', name: 'gw-xvnc-test', allowResize: true }, async (desktop, dir) => {
      wrongPassword = desktop.password === 'wrongpw1' ? 'wrongpw2' : 'wrongpw1';
      return [
        { id: 'kiosk', name: 'BL-TEST kiosk', host: desktop.rfbHost, port: desktop.rfbPort, security: ['vnc'], passwordFile: await passwordFile(dir, 'pw', desktop.password) },
        { id: 'kiosk-wrong-password', name: 'BL-TEST wrong', host: desktop.rfbHost, port: desktop.rfbPort, security: ['vnc'], passwordFile: await passwordFile(dir, 'wrong', wrongPassword) },
      ];
    });
  });
  after(async () => {
    await rig.stop();
  });

  it('has Xtigervnc, xev and the other kiosk tools installed', () => {
    assert.ok(xvncAvailable(), kioskToolsMissingMessage());
  });

  it('delivers an interactive viewer\'s KeyEvents, QEMU key event and click to the X application, exactly', async () => {
    const { desktop } = rig.need();
    const from = (await desktop.inputLog()).length;
    const viewer = await rig.connect('/desktop/kiosk');
    assert.equal(viewer.serverInit.name, 'BL-TEST kiosk');
    viewer.send(Buffer.concat([tapKey('a'), tapKey('b'), tapKey('c')]));
    viewer.send(tapQemuKey('x'));
    viewer.send(click(123, 234));
    const expected = [...keyTapped('a'), ...keyTapped('b'), ...keyTapped('c'), ...keyTapped('x'), ...clicked(123, 234)];
    assert.deepEqual(await inputSince(desktop, from, expected.length), expected);
    await rig.disconnect(viewer);
  });

  it('lets nothing of a view-only viewer\'s input reach the X server (keys, QEMU keys, click, clipboard, resize)', async () => {
    const { desktop } = rig.need();
    const from = (await desktop.inputLog()).length;
    // Preconditions, so that "unchanged" below means something.
    assert.deepEqual([await desktop.selectionOwner('PRIMARY'), await desktop.selectionOwner('CLIPBOARD')], [0, 0], 'nobody owns the selections yet');
    assert.deepEqual(await desktop.screenSize(), { width: 800, height: 600 });

    const watcher = await rig.connect('/desktop/kiosk?view-only=1');
    const cursor = { offset: 0 };
    // As noVNC does: announce ExtendedDesktopSize, so a SetDesktopSize that got through would be honoured cleanly.
    watcher.send(Buffer.concat([
      setPixelFormat(RGB888_LE),
      setEncodings([Encoding.Raw, Encoding.ExtendedDesktopSize, Encoding.DesktopSize]),
      tapKey('q'),
      tapQemuKey('w'),
      click(300, 200),
      clientCutText(Buffer.from('view-only secret', 'latin1')),
      resizeTo(640, 480),
    ]));
    // Xvnc handles one connection's messages in order: the answer to this request proves it has
    // read (and acted on, had the gateway forwarded them) everything above.
    // (To a client that announced ExtendedDesktopSize, Xvnc answers a non-incremental request with the
    // screen layout alone and sends the pixels on the next, incremental, request, as noVNC makes it.)
    const rects: UpdateRect[] = [];
    for (const incremental of [false, true]) {
      watcher.send(framebufferUpdateRequest(incremental, 0, 0, 8, 8));
      rects.push(...await nextUpdate(watcher, cursor));
    }
    assert.deepEqual(rects.map(({ x, y, width, height, encoding }) => ({ x, y, width, height, encoding })), [
      { x: 0, y: 0, width: 800, height: 600, encoding: Encoding.ExtendedDesktopSize }, // x = 0: the server's own announcement
      { x: 0, y: 0, width: 8, height: 8, encoding: Encoding.Raw },
    ], 'the picture flows, and no ExtendedDesktopSize answers (x = 1) a SetDesktopSize of this viewer');

    // The marker: an interactive viewer's key after all of the above; once it is in the log,
    // anything the view-only viewer's input had caused would be there before it.
    const driver = await rig.connect('/desktop/kiosk');
    driver.send(tapKey('m'));
    assert.deepEqual(await inputSince(desktop, from, 2), keyTapped('m'));
    assert.deepEqual((await desktop.inputLog()).slice(from), keyTapped('m'), 'no other event arrived');
    assert.deepEqual([await desktop.selectionOwner('PRIMARY'), await desktop.selectionOwner('CLIPBOARD')], [0, 0], 'no clipboard text arrived');
    assert.deepEqual(await desktop.screenSize(), { width: 800, height: 600 }, 'the X screen was not resized');
    const fresh = await rig.connect('/desktop/kiosk');
    assert.deepEqual([fresh.serverInit.width, fresh.serverInit.height], [800, 600], 'a new connection sees the old geometry');
    assert.equal(watcher.ws.readyState, watcher.ws.OPEN, 'dropping view-only input does not disconnect the viewer');
    await Promise.all([watcher, driver, fresh].map(c => rig.disconnect(c)));
  });

  it('sends both an interactive and a view-only viewer the Raw framebuffer update they asked for', async () => {
    rig.need();
    const pictures: Buffer[] = [];
    for (const path of ['/desktop/kiosk', '/desktop/kiosk?view-only=1']) {
      const viewer = await rig.connect(path);
      viewer.send(Buffer.concat([setPixelFormat(RGB888_LE), setEncodings([Encoding.Raw]), framebufferUpdateRequest(false, 10, 20, 16, 8)]));
      const cursor = { offset: 0 };
      const rects = await nextUpdate(viewer, cursor);
      const summary = rects.map(({ x, y, width, height, encoding, payload }) => ({ x, y, width, height, encoding, bytes: payload.length }));
      assert.deepEqual(summary,
        [{ x: 10, y: 20, width: 16, height: 8, encoding: Encoding.Raw, bytes: 16 * 8 * 4 }], path);
      assert.equal(cursor.offset, 4 + 12 + 16 * 8 * 4, `${path}: one update, nothing else`);
      assert.equal(viewer.received(), cursor.offset, `${path}: no other bytes`);
      pictures.push(Buffer.from(rects[0]!.payload));
      await rig.disconnect(viewer);
    }
    assert.ok(pictures[0]!.equals(pictures[1]!), 'both viewers see the same pixels of the same (static) area');
  });

  it('refuses the browser when the VNC password is wrong, and logs TigerVNC\'s reason with GW_ERR_UPSTREAM_AUTH_FAILED', async () => {
    const { desktop, gateway } = rig.need();
    // Six bad logins from 127.0.0.1 would trip TigerVNC's blacklist (5 failures) and make Xvnc refuse
    // every gateway connection, the good ones too, for a while. The kiosk fixture starts Xvnc with
    // -UseBlacklist=0 (start-kiosk.sh --no-blacklist), so the tests after this one are unaffected.
    const attempts = await within(Promise.all(Array.from({ length: 6 }, () => tryConnectWsRfb(`${gateway.base}/desktop/kiosk-wrong-password`))), 8000, 'six refusals');
    for (const result of attempts) {
      assert.ok('refused' in result, 'the browser is refused');
      assert.match(result.reason, /desktop is not available/);
      assert.doesNotMatch(result.reason, /Authentication|password|127\.0\.0\.1/i, 'no internals reach the browser');
      assert.equal(result.close.code, 4502);
    }
    const failures = gateway.entries().filter(e => e['code'] === 'GW_ERR_UPSTREAM_AUTH_FAILED');
    assert.equal(failures.length, 6, gateway.logText());
    for (const entry of failures) {
      assert.equal(entry['target'], 'kiosk-wrong-password');
      assert.match(String(entry['err']), /Authentication failure/);
    }
    assert.ok(!gateway.logText().includes(wrongPassword) && !gateway.logText().includes(desktop.password), 'no password in the log');
    const ok = await rig.connect('/desktop/kiosk');
    assert.equal(ok.serverInit.width, 800, 'the right password still works right after');
    await rig.disconnect(ok);
  });

  // Last in this block: it changes the clipboard and resizes (then restores) the screen.
  it('control: the same input from an interactive viewer does reach the X server (so the view-only test can fail)', async () => {
    const { desktop } = rig.need();
    const from = (await desktop.inputLog()).length;
    const driver = await rig.connect('/desktop/kiosk');
    driver.send(Buffer.concat([
      setEncodings([Encoding.Raw, Encoding.ExtendedDesktopSize, Encoding.DesktopSize]),
      tapKey('q'), tapQemuKey('w'), click(300, 200), clientCutText(Buffer.from('driver text', 'latin1')), resizeTo(640, 480),
    ]));
    assert.deepEqual(await inputSince(desktop, from, 6), [...keyTapped('q'), ...keyTapped('w'), ...clicked(300, 200)]);
    await until(async () => (await desktop.selectionOwner('CLIPBOARD')) !== 0, 3000, 'Xvnc owns CLIPBOARD');
    assert.notEqual(await desktop.selectionOwner('PRIMARY'), 0);
    await until(async () => (await desktop.screenSize()).width === 640, 3000, 'the screen is 640 wide');
    assert.deepEqual(await desktop.screenSize(), { width: 640, height: 480 });
    driver.send(resizeTo(800, 600));
    await until(async () => (await desktop.screenSize()).width === 800, 3000, 'the screen is 800 wide again');
    await rig.disconnect(driver);
  });
});

describe('gateway to a real Xvnc offering only VeNCrypt TLSVnc (anonymous TLS + VncAuth)', () => {
  const rig = new Rig();
  before(async () => {
    await startRig(rig, { geometry: '800x600', name: 'gw-xvnc-tls', securityTypes: 'TLSVnc' }, async (desktop, dir) => {
      const pw = await passwordFile(dir, 'pw', desktop.password);
      return [
        { id: 'tls', name: 'BL-TEST tls', host: desktop.rfbHost, port: desktop.rfbPort, security: ['vencrypt-tls-vnc'], passwordFile: pw },
        { id: 'plain', name: 'BL-TEST plain', host: desktop.rfbHost, port: desktop.rfbPort, security: ['vnc'], passwordFile: pw },
      ];
    });
  });
  after(async () => {
    await rig.stop();
  });

  it('connects over TLSVnc and delivers a key and a click', async () => {
    const { desktop } = rig.need();
    const from = (await desktop.inputLog()).length;
    const viewer = await rig.connect('/desktop/tls');
    assert.deepEqual([viewer.serverInit.width, viewer.serverInit.height, viewer.serverInit.name], [800, 600, 'BL-TEST tls']);
    viewer.send(Buffer.concat([tapKey('a'), tapQemuKey('x'), click(40, 50)]));
    assert.deepEqual(await inputSince(desktop, from, 6), [...keyTapped('a'), ...keyTapped('x'), ...clicked(40, 50)]);
    await rig.disconnect(viewer);
  });

  it('is really TLS-only: a target that allows only plain VncAuth finds no common security type', async () => {
    const { gateway } = rig.need();
    const result = await within(tryConnectWsRfb(`${gateway.base}/desktop/plain`), 8000, 'refusal');
    assert.ok('refused' in result);
    const entry = gateway.entries().find(e => e['code'] === 'GW_ERR_UPSTREAM_NO_COMMON_SECURITY');
    assert.ok(entry, gateway.logText());
    assert.match(String(entry['err']), /offers security types \[19\]/, 'only VeNCrypt (19) is offered');
  });
});

describe('gateway when Xvnc dies mid-session', () => {
  const rig = new Rig();
  before(async () => {
    await startRig(rig, { geometry: '800x600', name: 'gw-xvnc-crash' }, async (desktop, dir) => [
      { id: 'kiosk', name: 'BL-TEST', host: desktop.rfbHost, port: desktop.rfbPort, security: ['vnc'], passwordFile: await passwordFile(dir, 'pw', desktop.password) },
    ]);
  });
  after(async () => {
    await rig.stop();
  });

  it('closes the viewer with 4502, keeps no viewer, and refuses new viewers while the desktop is down', async () => {
    const { desktop, gateway } = rig.need();
    const from = (await desktop.inputLog()).length;
    const viewer = await rig.connect('/desktop/kiosk');
    viewer.send(tapKey('c'));
    assert.deepEqual(await inputSince(desktop, from, 2), keyTapped('c'), 'the session is live');
    assert.equal(gateway.gw.viewerCount(), 1);
    await desktop.killXvnc();
    const closed = await within(viewer.closed, 5000, 'the viewer\'s WebSocket closes');
    assert.equal(closed.code, 4502);
    assert.match(closed.reason, /beamline desktop/);
    await until(() => gateway.gw.viewerCount() === 0, 3000, 'no viewer left');
    const again = await within(tryConnectWsRfb(`${gateway.base}/desktop/kiosk`), 8000, 'a new viewer is refused');
    assert.ok('refused' in again);
    assert.match(again.reason, /not available/);
    assert.equal(gateway.gw.viewerCount(), 0);
  });
});

describe('gateway and Xvnc\'s SetDesktopSize crash (TigerVNC 1.12, AcceptSetDesktopSize=1)', () => {
  const rig = new Rig();
  before(async () => {
    await startRig(rig, { geometry: '800x600', name: 'gw-xvnc-resize', allowResize: true }, async (desktop, dir) => [
      { id: 'kiosk', name: 'BL-TEST', host: desktop.rfbHost, port: desktop.rfbPort, security: ['vnc'], passwordFile: await passwordFile(dir, 'pw', desktop.password) },
    ]);
  });
  after(async () => {
    await rig.stop();
  });

  // Xvnc 1.12 segfaults (SMsgWriter::writeDesktopSize on a NULL writer) when a client that announced
  // neither DesktopSize nor ExtendedDesktopSize sends SetDesktopSize: the resize closes that client,
  // then VNCSConnectionST::setDesktopSize writes the result through the deleted writer. noVNC never
  // does this (it resizes only after the server's ExtendedDesktopSize rectangle), so the gateway can
  // refuse such a message (it closes the viewer); without that, one interactive viewer could kill the desktop.
  it('keeps Xvnc alive when an interactive viewer sends SetDesktopSize without announcing ExtendedDesktopSize', async () => {
    const { desktop } = rig.need();
    const viewer = await rig.connect('/desktop/kiosk');
    let closed = false;
    void viewer.closed.then(() => {
      closed = true;
    });
    viewer.send(Buffer.concat([setEncodings([Encoding.Raw]), resizeTo(640, 480), framebufferUpdateRequest(false, 0, 0, 8, 8)]));
    // Either the update arrives (Xvnc read past the SetDesktopSize) or the viewer is closed (by the gateway or a dying Xvnc).
    await until(() => closed || viewer.received() > 0, 5000, 'an update or a close');
    const fresh = await rig.connect('/desktop/kiosk');
    assert.deepEqual([fresh.serverInit.width, fresh.serverInit.height], [800, 600]);
    assert.deepEqual(await desktop.screenSize(), { width: 800, height: 600 });
  });
});
