// The beamline input policy against a real TigerVNC Xvnc kiosk, with the X server (xev) as the
// oracle: denied combinations sent as QEMU extended key events and as KeyEvents, and a click in a
// denied region, never reach X; the modifiers that were forwarded are released; permitted input
// arrives. One viewer through a real ViewerProxy with the policy hook (a minimal gateway of this
// file's own). Needs Debian's TigerVNC and X tools and FAILS (never skips) without them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { beamlineInputPolicySchema } from '../../../policies/src/input-policy.js';
import { compilePolicy } from '../../../policies/src/input-rules.js';
import { keyEvent, pointerEvent, qemuExtendedKeyEvent, setEncodings, setPixelFormat } from '../rfb/c2s-encode.js';
import { DEFAULT_FRAMER_LIMITS } from '../rfb/c2s-framer.js';
import { Encoding } from '../rfb/encodings.js';
import { RGB888_LE } from '../rfb/pixel-format.js';
import { kioskToolsMissingMessage, startKioskDesktop, waitForInput, xvncAvailable, type KioskDesktop } from '../testing/kiosk-fixture.js';
import { connectWsRfb, pictureBarrier, type WsRfbClient } from '../testing/ws-rfb-client.js';
import { connectUpstream } from './upstream-connector.js';
import { ViewerProxy } from './viewer-proxy.js';

// X keysym and PC/XT set-1 scancode (QEMU extended key events carry both).
const K = {
  Control_L: { keysym: 0xffe3, xt: 0x1d },
  Alt_L: { keysym: 0xffe9, xt: 0x38 },
  t: { keysym: 0x74, xt: 0x14 },
  F1: { keysym: 0xffbe, xt: 0x3b },
  F2: { keysym: 0xffbf, xt: 0x3c },
  a: { keysym: 0x61, xt: 0x1e },
} as const;
type Key = keyof typeof K;
const REGION = { x: 600, y: 0, width: 200, height: 100 };

function combo(form: 'qemu' | 'key', keys: readonly Key[]): Buffer {
  const ev = (down: boolean, k: Key): Uint8Array => (form === 'qemu' ? qemuExtendedKeyEvent(down, K[k].keysym, K[k].xt) : keyEvent(down, K[k].keysym));
  return Buffer.concat([...keys.map(k => ev(true, k)), ...[...keys].reverse().map(k => ev(false, k))]);
}

describe('input policy on a real Xvnc: denied input never reaches X', () => {
  let desktop: KioskDesktop | undefined;
  let server: Server | undefined;
  let client: WsRfbClient | undefined;
  const blocked: string[] = [];

  before(async () => {
    if (!xvncAvailable()) return;
    const kiosk = await startKioskDesktop({ geometry: '800x600', name: 'gw-policy-test' });
    desktop = kiosk;
    const policy = compilePolicy(beamlineInputPolicySchema.parse({
      version: 1, beamline: 'test', keys: { defaults: 'kiosk' },
      pointer: { denyRegions: [{ id: 'interlock', ...REGION, reason: 'interlock' }] },
    }));
    server = createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    wss.on('connection', (ws) => {
      const upstream = connectUpstream(
        { host: kiosk.rfbHost, port: kiosk.rfbPort, security: ['vnc'], password: kiosk.password },
        { connectTimeoutMs: 3000, handshakeTimeoutMs: 5000 },
      );
      new ViewerProxy(ws, upstream, {
        viewOnly: false, framerLimits: DEFAULT_FRAMER_LIMITS, sendHighWaterBytes: 1024 * 1024,
        slowViewerTimeoutMs: 60_000, handshakeTimeoutMs: 5000, pingIntervalMs: 60_000,
        inputPolicy: {
          policy: () => policy, context: () => ({ staff: false, viewOnlyBeamline: false }),
          blocked: (ruleId) => {
            blocked.push(ruleId);
          },
        },
      }, pino({ level: 'silent' }));
    });
    const s = server;
    await new Promise<void>((resolve) => {
      s.listen(0, '127.0.0.1', resolve);
    });
    client = await connectWsRfb(`ws://127.0.0.1:${(s.address() as AddressInfo).port}/`);
    client.send(Buffer.concat([setPixelFormat(RGB888_LE), setEncodings([Encoding.Raw])]));
  });
  after(async () => {
    client?.ws.terminate();
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

  it('drops Ctrl+Alt+T, Ctrl+Alt+F1 and Alt+F2 in both key forms and a click in the region; lets the rest through', async () => {
    assert.ok(xvncAvailable(), kioskToolsMissingMessage());
    assert.ok(desktop !== undefined && client !== undefined, 'the kiosk or the viewer did not start');
    const from = (await desktop.inputLog()).length;
    for (const form of ['qemu', 'key'] as const) {
      client.send(combo(form, ['Control_L', 'Alt_L', 't']));
      client.send(combo(form, ['Control_L', 'Alt_L', 'F1']));
      client.send(combo(form, ['Alt_L', 'F2']));
    }
    client.send(Buffer.concat([pointerEvent(0, 700, 50), pointerEvent(1, 700, 50), pointerEvent(0, 700, 50)])); // inside
    client.send(Buffer.concat([pointerEvent(0, 100, 300), pointerEvent(1, 100, 300), pointerEvent(0, 100, 300)])); // outside
    client.send(combo('qemu', ['a']));
    // Everything above was handled by Xvnc once it answers this picture request.
    await pictureBarrier(client);
    // X orders key and button events each in itself, not against each other: wait for both ends.
    const done = (l: readonly { kind: string; down: boolean; keysym?: string }[]): boolean =>
      l.some(r => r.kind === 'key' && r.keysym === 'a' && !r.down) && l.some(r => r.kind === 'button' && !r.down);
    const log = (await waitForInput(desktop, l => done(l.slice(from)), 5000)).slice(from);
    const keys = log.flatMap(r => (r.kind === 'key' ? [r.keysym] : []));
    for (const denied of ['t', 'F1', 'F2']) assert.ok(!keys.includes(denied), `${denied} reached X: ${keys.join(' ')}`);
    assert.ok(keys.includes('a'), 'the permitted key did not arrive');
    // Every modifier X saw pressed was released again: nothing stuck.
    const downs = new Map<string, number>();
    for (const r of log) if (r.kind === 'key') downs.set(r.keysym, (downs.get(r.keysym) ?? 0) + (r.down ? 1 : -1));
    assert.deepEqual([...downs.entries()].filter(([, n]) => n !== 0), [], 'a key is left pressed in X');
    const buttons = log.flatMap(r => (r.kind === 'button' ? [[r.down, r.x, r.y]] : []));
    assert.deepEqual(buttons, [[true, 100, 300], [false, 100, 300]]);
    assert.ok(blocked.includes('interlock') && blocked.length >= 4, JSON.stringify(blocked));
  });
});
