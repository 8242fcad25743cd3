// Integration tests of the gateway over real sockets: a WebSocket RFB client on one side, a
// fake VNC server (real TCP, real handshake) on the other. Each test checks what actually
// arrives at the VNC server or the browser.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AuditWriter } from '../audit/audit-writer.js';
import { MemoryAuditLog } from '../testing/memory-audit-log.js';
import { validateConfig, type GatewayConfig } from '../config.js';
import { encodeC2S, framebufferUpdateRequest, keyEvent, pointerEvent, qemuExtendedKeyEvent, setEncodings } from '../rfb/c2s-encode.js';
import { Encoding } from '../rfb/encodings.js';
import { startFakeVncServer, type FakeVncServer } from '../testing/fake-vnc-server.js';
import { connectWsRfb, tryConnectWsRfb } from '../testing/ws-rfb-client.js';
import { createGatewayServer, type GatewayServer } from './gateway-server.js';

const silent = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'beamgate-test-'));
const passwordFile = join(dir, 'vnc-password');
writeFileSync(passwordFile, 'bl-pass1\n');

type Overrides = Partial<Record<keyof GatewayConfig, unknown>>;

async function startGateway(
  upstreamPort: number, overrides: Overrides = {}, auditLog = new MemoryAuditLog(),
): Promise<{ gw: GatewayServer; base: string }> {
  const config = validateConfig({
    listen: { host: '127.0.0.1', port: 0 },
    insecureNoLogin: true,
    targets: [
      { id: 'bl-demo', name: 'BL-DEMO control', host: '127.0.0.1', port: upstreamPort, security: ['vnc'], passwordFile },
      { id: 'dead', name: 'nothing listens here', host: '127.0.0.1', port: 1, security: ['vnc'], passwordFile },
      { id: 'wrong-password', name: 'wrong', host: '127.0.0.1', port: upstreamPort, security: ['vnc'], passwordFile: join(dir, 'missing') },
    ],
    ...overrides,
  }, 'test');
  const gw = createGatewayServer({
    config, log: silent, clientDir: dir,
    audit: new AuditWriter(auditLog, silent),
    login: undefined, ready: () => Promise.resolve(), clock: () => new Date(),
  });
  const address = await gw.listen();
  return { gw, base: `ws://127.0.0.1:${address.port}` };
}

const until = async (cond: () => boolean, timeoutMs = 3000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise(r => setTimeout(r, 10));
  }
};

describe('gateway relay against a VNC server', () => {
  let vnc: FakeVncServer;
  let gw: GatewayServer;
  let base: string;
  before(async () => {
    vnc = await startFakeVncServer({ password: 'bl-pass1' });
    ({ gw, base } = await startGateway(vnc.port));
  });
  after(async () => {
    await gw.close();
    await vnc.close();
  });

  it('completes both handshakes and shows the target name, not the server password', async () => {
    const client = await connectWsRfb(`${base}/desktop/bl-demo`);
    assert.equal(client.serverInit.name, 'BL-DEMO control');
    assert.equal(client.serverInit.width, 800);
    client.ws.close();
  });

  it('forwards an interactive viewer\'s input byte for byte, in order', async () => {
    const before = vnc.connections.length;
    const client = await connectWsRfb(`${base}/desktop/bl-demo`);
    const conn = await vnc.connection(before + 1);
    const messages = [
      keyEvent(true, 0x61), keyEvent(false, 0x61), pointerEvent(1, 10, 20), pointerEvent(0, 10, 20),
      qemuExtendedKeyEvent(true, 0x62, 0x30), framebufferUpdateRequest(false, 0, 0, 800, 600),
    ];
    client.send(Buffer.concat(messages));
    await until(() => conn.received.length === messages.length);
    assert.deepEqual(Buffer.concat(conn.receivedBytes), Buffer.concat(messages));
    client.ws.close();
  });

  it('passes server bytes to the browser untouched', async () => {
    const before = vnc.connections.length;
    const client = await connectWsRfb(`${base}/desktop/bl-demo`);
    const conn = await vnc.connection(before + 1);
    const payload = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    conn.socket.write(payload);
    const got = await client.waitForBytes(payload.length);
    assert.ok(got.equals(payload));
    client.ws.close();
  });

  it('drops every input message of a view-only viewer but keeps its picture flowing', async () => {
    const before = vnc.connections.length;
    const client = await connectWsRfb(`${base}/desktop/bl-demo?view-only=1`);
    const conn = await vnc.connection(before + 1);
    client.send(Buffer.concat([
      keyEvent(true, 0x61),
      qemuExtendedKeyEvent(true, 0xffe3, 0x1d),
      pointerEvent(1, 5, 5),
      encodeC2S({ type: 'ClientCutText', extended: false, data: Buffer.from('rm -rf /') }),
      encodeC2S({ type: 'ClientCutText', extended: true, data: Buffer.from([0, 0, 0, 1]) }),
      encodeC2S({ type: 'SetDesktopSize', width: 640, height: 480, screens: [{ id: 0, x: 0, y: 0, width: 640, height: 480, flags: 0 }] }),
      encodeC2S({ type: 'Xvp', version: 1, code: 2 }),
      encodeC2S({ type: 'ClientFence', flags: 0x80000000, payload: Buffer.from('x') }),
      framebufferUpdateRequest(true, 0, 0, 800, 600),
    ]));
    await until(() => conn.received.length >= 2);
    await new Promise(r => setTimeout(r, 100));
    assert.deepEqual(conn.received.map(m => m.type), ['ClientFence', 'FramebufferUpdateRequest']);
    client.ws.close();
  });

  it('drops xvp even from an interactive viewer', async () => {
    const before = vnc.connections.length;
    const client = await connectWsRfb(`${base}/desktop/bl-demo`);
    const conn = await vnc.connection(before + 1);
    client.send(Buffer.concat([encodeC2S({ type: 'Xvp', version: 1, code: 3 }), framebufferUpdateRequest(true, 0, 0, 1, 1)]));
    await until(() => conn.received.length >= 1);
    assert.deepEqual(conn.received.map(m => m.type), ['FramebufferUpdateRequest']);
    client.ws.close();
  });

  it('strips H.264, ExtendedMouseButtons and xvp from SetEncodings', async () => {
    const before = vnc.connections.length;
    const client = await connectWsRfb(`${base}/desktop/bl-demo`);
    const conn = await vnc.connection(before + 1);
    const { CopyRect, H264, Raw, ExtendedMouseButtons, Xvp, Fence } = Encoding;
    client.send(setEncodings([CopyRect, H264, 7, Raw, ExtendedMouseButtons, Xvp, Fence]));
    await until(() => conn.received.length === 1);
    assert.deepEqual(conn.received[0], { type: 'SetEncodings', encodings: [Encoding.CopyRect, 7, Encoding.Raw, Encoding.Fence] });
    client.ws.close();
  });

  it('closes a viewer that sends an unknown message type (fail closed), and only that viewer', async () => {
    const before = vnc.connections.length;
    const bystander = await connectWsRfb(`${base}/desktop/bl-demo`);
    const attacker = await connectWsRfb(`${base}/desktop/bl-demo`);
    const attackerConn = await vnc.connection(before + 2);
    const bystanderConn = vnc.connections[before]!;
    attacker.send(Buffer.from([keyEvent(true, 0x61), Buffer.from([7, 0, 0, 0])].flatMap(b => [...b])));
    const closed = await attacker.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /data the gateway does not accept/);
    await until(() => attackerConn.socket.destroyed || attackerConn.socket.readableEnded);
    assert.deepEqual(attackerConn.received, [], 'nothing of the bad chunk reached the server');
    bystander.send(keyEvent(true, 0x62));
    await until(() => bystanderConn.received.length === 1);
    bystander.ws.close();
  });

  it('forwards SetDesktopSize only after ExtendedDesktopSize was announced, and closes a viewer that sends it before', async () => {
    const resize = encodeC2S({ type: 'SetDesktopSize', width: 640, height: 480, screens: [{ id: 0, x: 0, y: 0, width: 640, height: 480, flags: 0 }] });
    const before = vnc.connections.length;
    const polite = await connectWsRfb(`${base}/desktop/bl-demo`);
    const politeConn = await vnc.connection(before + 1);
    polite.send(Buffer.concat([setEncodings([Encoding.Raw, Encoding.ExtendedDesktopSize]), resize]));
    await until(() => politeConn.received.length === 2);
    assert.equal(politeConn.received[1]?.type, 'SetDesktopSize');
    polite.ws.close();

    const rude = await connectWsRfb(`${base}/desktop/bl-demo`);
    const rudeConn = await vnc.connection(before + 2);
    rude.send(Buffer.concat([setEncodings([Encoding.Raw]), resize]));
    const closed = await rude.closed;
    assert.equal(closed.code, 1008);
    assert.deepEqual(rudeConn.received.map(m => m.type), [], 'nothing of that chunk reached the VNC server');
  });

  it('closes a viewer whose cut text is over the limit before buffering it', async () => {
    const client = await connectWsRfb(`${base}/desktop/bl-demo`);
    client.send(Buffer.from([6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]));
    const closed = await client.closed;
    assert.equal(closed.code, 1009);
  });

  it('tells the viewer why when the VNC server is unreachable', async () => {
    const result = await tryConnectWsRfb(`${base}/desktop/dead`);
    assert.ok('refused' in result);
    assert.match(result.reason, /not available right now/);
    assert.doesNotMatch(result.reason, /127\.0\.0\.1|ECONNREFUSED/, 'no internals reach the browser');
  });

  it('tells the viewer when the target is misconfigured (password file missing)', async () => {
    const result = await tryConnectWsRfb(`${base}/desktop/wrong-password`);
    assert.ok('refused' in result);
    assert.match(result.reason, /not configured correctly/);
  });

  it('closes the browser with 4502 when the VNC server dies mid-stream', async () => {
    const before = vnc.connections.length;
    const client = await connectWsRfb(`${base}/desktop/bl-demo`);
    const conn = await vnc.connection(before + 1);
    conn.socket.destroy();
    const closed = await client.closed;
    assert.equal(closed.code, 4502);
    assert.match(closed.reason, /closed the connection/);
  });

  it('closes the VNC connection when the browser vanishes', async () => {
    const before = vnc.connections.length;
    const client = await connectWsRfb(`${base}/desktop/bl-demo`);
    const conn = await vnc.connection(before + 1);
    client.socket.destroy();
    await until(() => conn.socket.destroyed || conn.socket.readableEnded);
  });
});

describe('gateway upgrade checks', () => {
  let vnc: FakeVncServer;
  let gw: GatewayServer;
  let base: string;
  before(async () => {
    vnc = await startFakeVncServer({ password: 'bl-pass1' });
    ({ gw, base } = await startGateway(vnc.port, { limits: { maxViewers: 2 } }));
  });
  after(async () => {
    await gw.close();
    await vnc.close();
  });

  const table: { name: string; path: string; headers?: Record<string, string>; status: string }[] = [
    {
      name: 'a foreign Origin (cross-site WebSocket hijacking)', path: '/desktop/bl-demo',
      headers: { Origin: 'https://evil.example' }, status: 'HTTP 403',
    },
    { name: 'a sibling port on the same host', path: '/desktop/bl-demo', headers: { Origin: 'http://127.0.0.1:1' }, status: 'HTTP 403' },
    { name: 'an unknown target', path: '/desktop/nope', status: 'HTTP 404' },
    { name: 'a path that is not a desktop', path: '/api/targets', status: 'HTTP 404' },
    { name: 'a target id with path tricks', path: '/desktop/..%2Fetc', status: 'HTTP 404' },
  ];
  for (const c of table) {
    it(`refuses ${c.name}`, async () => {
      await assert.rejects(connectWsRfb(`${base}${c.path}`, c.headers), new RegExp(c.status));
    });
  }

  it('accepts the gateway\'s own Origin', async () => {
    const port = new URL(base).port;
    const client = await connectWsRfb(`${base}/desktop/bl-demo`, { Origin: `http://127.0.0.1:${port}` });
    client.ws.close();
    await client.closed;
  });

  it('refuses more viewers than the limit with 503', async () => {
    const a = await connectWsRfb(`${base}/desktop/bl-demo`);
    const b = await connectWsRfb(`${base}/desktop/bl-demo`);
    await assert.rejects(connectWsRfb(`${base}/desktop/bl-demo`), /HTTP 503/);
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed, b.closed]);
  });
});

describe('gateway audit of viewers', () => {
  let vnc: FakeVncServer;
  before(async () => {
    vnc = await startFakeVncServer({ password: 'bl-pass1' });
  });
  after(async () => {
    await vnc.close();
  });

  it('records who joined and left, with the address, and refuses everyone (503) while the audit log cannot be written', async () => {
    const log = new MemoryAuditLog();
    const { gw, base } = await startGateway(vnc.port, {}, log);
    try {
      const viewer = await connectWsRfb(`${base}/desktop/bl-demo?view-only=1`);
      const joined = await log.waitFor(r => r.code === 'viewer.joined');
      assert.equal(joined.target, 'bl-demo');
      assert.equal(joined.address, '127.0.0.1');
      assert.deepEqual(joined.details?.['interactive'], false);
      viewer.ws.close();
      await log.waitFor(r => r.code === 'viewer.left' && r.details?.['viewer'] === joined.details?.['viewer']);

      log.failing = true;
      await assert.rejects(connectWsRfb(`${base}/desktop/bl-demo`), /HTTP 503/);
      assert.equal(gw.viewerCount(), 0);
      log.failing = false;
      await assert.rejects(connectWsRfb(`${base}/desktop/nope`), /HTTP 404/);
      await log.waitFor(r => r.code === 'access.denied' && r.message.includes('no desktop "nope"'));
    } finally {
      await gw.close();
    }
  });

  it('puts a viewer closed for an unknown message type on record with the error code', async () => {
    const log = new MemoryAuditLog();
    const { gw, base } = await startGateway(vnc.port, {}, log);
    try {
      const attacker = await connectWsRfb(`${base}/desktop/bl-demo`);
      attacker.send(Buffer.from([7, 0, 0, 0]));
      await attacker.closed;
      const record = await log.waitFor(r => r.code === 'viewer.protocol_error');
      assert.equal(record.details?.['error'], 'GW_ERR_RFB_UNKNOWN_MESSAGE_TYPE');
    } finally {
      await gw.close();
    }
  });
});

describe('gateway backpressure and liveness', () => {
  let vnc: FakeVncServer;
  let gw: GatewayServer;
  let base: string;
  before(async () => {
    vnc = await startFakeVncServer({ password: 'bl-pass1' });
    const limits = { sendHighWaterBytes: 256 * 1024, slowViewerTimeoutMs: 1500, pingIntervalMs: 1000 };
    ({ gw, base } = await startGateway(vnc.port, { limits }));
  });
  after(async () => {
    await gw.close();
    await vnc.close();
  });

  it('stops reading a stalled viewer\'s VNC connection (bounded memory) while another viewer flows, then disconnects it', async () => {
    const before = vnc.connections.length;
    const stalled = await connectWsRfb(`${base}/desktop/bl-demo`);
    const healthy = await connectWsRfb(`${base}/desktop/bl-demo`);
    const stalledConn = await vnc.connection(before + 1);
    const healthyConn = await vnc.connection(before + 2);
    stalled.socket.pause(); // the browser stops reading
    const chunk = Buffer.alloc(1024 * 1024, 0xab);
    let offered = 0;
    // Offer 64 MiB to the stalled viewer; without backpressure the gateway would hold it all.
    for (let i = 0; i < 64; i++) {
      stalledConn.socket.write(chunk);
      offered += chunk.length;
    }
    healthyConn.socket.write(chunk);
    await healthy.waitForBytes(chunk.length);
    await new Promise(r => setTimeout(r, 300));
    const accepted = stalledConn.socket.bytesWritten - stalledConn.socket.writableLength;
    const waiting = stalledConn.socket.writableLength;
    assert.ok(waiting > offered / 2, `most data waits at the VNC server (${waiting} of ${offered} bytes)`);
    assert.ok(accepted < 24 * 1024 * 1024, `the gateway path took at most kernel buffers + high-water mark (${accepted} bytes)`);
    // After the slow-viewer timeout the gateway drops the stalled browser and its VNC connection.
    await until(() => gw.viewerCount() === 1, 5000);
    await until(() => stalledConn.socket.destroyed || stalledConn.socket.readableEnded, 2000);
    stalled.socket.resume();
    const closed = await stalled.closed;
    assert.equal(closed.code, 1006, 'connection dropped, no close frame behind megabytes of unsent data');
    healthyConn.socket.write(chunk);
    await healthy.waitForBytes(2 * chunk.length);
    healthy.ws.close();
  });

  it('resumes reading the VNC connection once a paused viewer reads again, and delivers every byte', async () => {
    const before = vnc.connections.length;
    const viewer = await connectWsRfb(`${base}/desktop/bl-demo`);
    const conn = await vnc.connection(before + 1);
    viewer.socket.pause(); // the browser stops reading for a moment
    const chunk = Buffer.alloc(1024 * 1024, 0xcd);
    for (let i = 0; i < 8; i++) conn.socket.write(chunk); // 8 MiB: far past the 256 KiB high-water mark
    await new Promise(r => setTimeout(r, 300)); // well below the 1.5 s slow-viewer timeout
    viewer.socket.resume();
    const got = await viewer.waitForBytes(8 * chunk.length);
    assert.ok(got.subarray(0, 8 * chunk.length).every(b => b === 0xcd));
    viewer.ws.close();
    await viewer.closed;
  });

  it('disconnects a viewer that never completes the RFB handshake', async () => {
    const { WebSocket } = await import('ws');
    const { gw: gw2, base: base2 } = await startGateway(vnc.port, { limits: { handshakeTimeoutMs: 300 } });
    const ws = new WebSocket(`${base2}/desktop/bl-demo`);
    const closed = await new Promise<number>(resolve => ws.on('close', (code) => {
      resolve(code);
    }));
    assert.equal(closed, 1008);
    await gw2.close();
  });
});
