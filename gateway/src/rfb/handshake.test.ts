// Handshake tests: the upstream (client) machine against the server machine, and against
// scripted servers for the older versions, refusals and VeNCrypt.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError, upstreamError } from './errors.js';
import { UpstreamHandshake, type UpstreamEffect, type UpstreamHandshakeOptions } from './handshake-upstream.js';
import { ServerHandshake, type ServerEffect, type ServerSecurity } from './handshake-server.js';
import { RGB888_LE } from './pixel-format.js';
import { encodeServerInit, type ServerInit } from './server-init.js';
import { vncAuthResponse } from './vnc-auth.js';

const init: ServerInit = { width: 1024, height: 768, pixelFormat: RGB888_LE, name: 'BL-DEMO kiosk' };
const challenge = () => Uint8Array.from({ length: 16 }, (_, i) => i * 7);
const bytes = (...parts: (number[] | string | Uint8Array)[]): Uint8Array => {
  const chunks = parts.map(p => (typeof p === 'string' ? new TextEncoder().encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
};
const u32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** Runs both machines against each other until neither has anything to send. */
function converse(client: UpstreamHandshake, server: ServerHandshake): { client: UpstreamEffect[]; server: ServerEffect[] } {
  const all = { client: [] as UpstreamEffect[], server: [] as ServerEffect[] };
  let toClient = server.start();
  for (let round = 0; round < 20; round++) {
    all.server.push(...toClient);
    const fromServer = toClient.flatMap(e => (e.kind === 'send' ? [e.bytes] : []));
    const clientOut = fromServer.flatMap(b => client.feed(b));
    all.client.push(...clientOut);
    const fromClient = clientOut.flatMap(e => (e.kind === 'send' ? [e.bytes] : []));
    if (fromClient.length === 0) break;
    toClient = fromClient.flatMap(b => server.feed(b));
  }
  return all;
}

function sent(effects: readonly UpstreamEffect[]): number[] {
  return effects.flatMap(e => (e.kind === 'send' ? Array.from(e.bytes) : []));
}

function failure(effects: readonly (UpstreamEffect | ServerEffect)[]): GatewayError {
  const f = effects.find(e => e.kind === 'failed');
  assert.ok(f?.kind === 'failed', 'expected a failed effect');
  return f.error;
}

describe('UpstreamHandshake against ServerHandshake', () => {
  const cases: { name: string; options: UpstreamHandshakeOptions; security: ServerSecurity }[] = [
    { name: 'None', options: { security: ['none'] }, security: { type: 'none' } },
    { name: 'VNC auth', options: { security: ['vnc'], password: 'beamline' }, security: { type: 'vnc', password: 'beamline', challenge } },
    { name: 'VNC auth with a password over 8 characters (only 8 count)', options: { security: ['vnc'], password: 'beamline-extra' }, security: { type: 'vnc', password: 'beamlineXYZ', challenge } },
  ];
  for (const c of cases) {
    it(`completes with ${c.name} and hands over the ServerInit`, () => {
      const client = new UpstreamHandshake(c.options);
      const server = new ServerHandshake(c.security, init);
      const { client: ce, server: se } = converse(client, server);
      const done = ce.find(e => e.kind === 'done');
      assert.ok(done?.kind === 'done');
      assert.deepEqual(done.serverInit, init);
      assert.equal(done.rest.length, 0);
      assert.equal(client.stage, 'Done');
      assert.ok(se.some(e => e.kind === 'done' && e.shared), 'the gateway always asks for a shared session');
    });
  }

  it('fails with a coded error and the server reason on a wrong password', () => {
    const client = new UpstreamHandshake({ security: ['vnc'], password: 'wrong' });
    const server = new ServerHandshake({ type: 'vnc', password: 'beamline', challenge }, init);
    const error = failure(converse(client, server).client);
    assert.equal(error.code, 'GW_ERR_UPSTREAM_AUTH_FAILED');
    assert.match(error.message, /Authentication failure/);
    assert.equal(error.closeCode, 4502);
    assert.doesNotMatch(error.userMessage, /password/i);
  });
});

describe('UpstreamHandshake against scripted servers', () => {
  it('speaks 3.3 with VNC auth (server picks the type; no failure reason)', () => {
    const h = new UpstreamHandshake({ security: ['vnc'], password: 'pw' });
    assert.equal(new TextDecoder().decode(Uint8Array.from(sent(h.feed(bytes('RFB 003.003\n'))))), 'RFB 003.003\n');
    const c = challenge();
    assert.deepEqual(sent(h.feed(bytes(u32(2), c))), Array.from(vncAuthResponse('pw', c)));
    const error = failure(h.feed(bytes(u32(1))));
    assert.equal(error.code, 'GW_ERR_UPSTREAM_AUTH_FAILED');
  });

  it('speaks 3.7 with None: no SecurityResult, ClientInit follows at once', () => {
    const h = new UpstreamHandshake({ security: ['none'] });
    h.feed(bytes('RFB 003.007\n'));
    assert.deepEqual(sent(h.feed(bytes([1, 1]))), [1, 1]); // choice None, then ClientInit shared=1
    const effects = h.feed(bytes(encodeServerInit(init), [0xaa, 0xbb]));
    const done = effects.find(e => e.kind === 'done');
    assert.ok(done?.kind === 'done');
    assert.deepEqual(Array.from(done.rest), [0xaa, 0xbb], 'bytes after ServerInit are kept');
  });

  it('answers a 3.889 (Apple) greeting with 3.8 and treats 3.5 as 3.3', () => {
    assert.deepEqual(sent(new UpstreamHandshake({ security: ['none'] }).feed(bytes('RFB 003.889\n'))), Array.from(bytes('RFB 003.008\n')));
    assert.deepEqual(sent(new UpstreamHandshake({ security: ['none'] }).feed(bytes('RFB 003.005\n'))), Array.from(bytes('RFB 003.003\n')));
  });

  it('reports a refusal (zero security types) with the server reason: TigerVNC blacklist', () => {
    const h = new UpstreamHandshake({ security: ['vnc'], password: 'pw' });
    h.feed(bytes('RFB 003.008\n'));
    const reason = 'Too many security failures';
    const error = failure(h.feed(bytes([0], u32(reason.length), reason)));
    assert.equal(error.code, 'GW_ERR_UPSTREAM_REFUSED');
    assert.match(error.message, /refused the connection: Too many security failures/);
  });

  it('rejects a greeting that is not RFB', () => {
    const error = failure(new UpstreamHandshake({ security: ['none'] }).feed(bytes('SSH-2.0-Open')));
    assert.equal(error.code, 'GW_ERR_UPSTREAM_NOT_RFB');
  });

  it('rejects RFB 4.0 and 3.2', () => {
    assert.equal(failure(new UpstreamHandshake({ security: ['none'] }).feed(bytes('RFB 004.000\n'))).code, 'GW_ERR_UPSTREAM_NOT_RFB');
    assert.equal(failure(new UpstreamHandshake({ security: ['none'] }).feed(bytes('RFB 003.002\n'))).code, 'GW_ERR_UPSTREAM_NOT_RFB');
  });

  it('fails when no offered type is allowed, naming both lists', () => {
    const h = new UpstreamHandshake({ security: ['none'] });
    h.feed(bytes('RFB 003.008\n'));
    const error = failure(h.feed(bytes([2, 19, 2])));
    assert.equal(error.code, 'GW_ERR_UPSTREAM_NO_COMMON_SECURITY');
    assert.match(error.message, /\[19, 2\].*none/);
  });

  it('does not pick VNC auth when no password is configured', () => {
    const h = new UpstreamHandshake({ security: ['vnc', 'none'] });
    h.feed(bytes('RFB 003.008\n'));
    assert.match(failure(h.feed(bytes([1, 2]))).message, /has no password/);
  });

  it('follows preference order: VNC auth before None when both are offered', () => {
    const h = new UpstreamHandshake({ security: ['vnc', 'none'], password: 'pw' });
    h.feed(bytes('RFB 003.008\n'));
    assert.deepEqual(sent(h.feed(bytes([2, 1, 2]))), [2]);
  });

  it('negotiates VeNCrypt TLSVnc: subtype, TLS start, then the inner VNC auth', () => {
    const h = new UpstreamHandshake({ security: ['vencrypt-tls-vnc', 'vnc'], password: 'pw' });
    h.feed(bytes('RFB 003.008\n'));
    assert.deepEqual(sent(h.feed(bytes([2, 19, 2]))), [19]);
    assert.deepEqual(sent(h.feed(bytes([0, 2]))), [0, 2]);
    assert.deepEqual(sent(h.feed(bytes([0], [2], u32(256), u32(258)))), u32(258));
    const effects = h.feed(bytes([1]));
    assert.deepEqual(effects, [{ kind: 'startTls', x509: false }]);
    assert.equal(h.stage, 'AwaitTls');
    assert.deepEqual(h.feed(challenge()), [], 'bytes before TLS is up are held');
    assert.deepEqual(sent(h.tlsEstablished()), Array.from(vncAuthResponse('pw', challenge())));
    assert.deepEqual(sent(h.feed(bytes(u32(0)))), [1]);
  });

  it('fails when VeNCrypt offers no configured subtype', () => {
    const h = new UpstreamHandshake({ security: ['vencrypt-x509-vnc'], password: 'pw' });
    h.feed(bytes('RFB 003.008\n', [1, 19], [0, 2], [0]));
    const error = failure(h.feed(bytes([1], u32(258))));
    assert.equal(error.code, 'GW_ERR_UPSTREAM_NO_COMMON_SECURITY');
    assert.match(error.message, /\[258\]/);
  });

  it('handles every byte arriving separately', () => {
    const client = new UpstreamHandshake({ security: ['vnc'], password: 'pw' });
    const stream = bytes('RFB 003.008\n', [1, 2], challenge(), u32(0), encodeServerInit(init));
    const effects = Array.from(stream).flatMap(b => client.feed(Uint8Array.of(b)));
    assert.ok(effects.some(e => e.kind === 'done'));
  });
});

describe('ServerHandshake toward a browser', () => {
  it('refuses with a readable reason when the desktop is down, after the version', () => {
    const s = new ServerHandshake({ type: 'none' });
    s.start();
    assert.deepEqual(s.feed(bytes('RFB 003.008\n')), [], 'waits for the desktop before offering security');
    const effects = s.refuse(upstreamError('GW_ERR_UPSTREAM_UNREACHABLE', 'connect ECONNREFUSED 127.0.0.1:5901', 'The beamline desktop is not available right now.'));
    const send = effects.find(e => e.kind === 'send');
    assert.ok(send?.kind === 'send');
    const reason = 'The beamline desktop is not available right now.';
    assert.deepEqual(Array.from(send.bytes), [0, ...u32(reason.length), ...new TextEncoder().encode(reason)]);
    assert.equal(failure(effects).code, 'GW_ERR_UPSTREAM_UNREACHABLE');
    assert.doesNotMatch(new TextDecoder().decode(send.bytes), /127\.0\.0\.1/, 'no internal address reaches the browser');
  });

  it('refuses a refusal that came before the browser answered the version, once it does', () => {
    const s = new ServerHandshake({ type: 'none' });
    assert.deepEqual(s.refuse(upstreamError('GW_ERR_UPSTREAM_TIMEOUT', 'x', 'Unavailable.')), []);
    assert.equal(failure(s.feed(bytes('RFB 003.008\n'))).code, 'GW_ERR_UPSTREAM_TIMEOUT');
  });

  it('rejects a viewer that answers 3.3', () => {
    const error = failure(new ServerHandshake({ type: 'none' }, init).feed(bytes('RFB 003.003\n')));
    assert.equal(error.code, 'GW_ERR_RFB_BAD_VERSION');
    assert.equal(error.closeCode, 1008);
  });

  it('rejects a security type it did not offer, telling the viewer why', () => {
    const s = new ServerHandshake({ type: 'none' }, init);
    s.feed(bytes('RFB 003.008\n'));
    const effects = s.feed(bytes([2]));
    assert.equal(failure(effects).code, 'GW_ERR_RFB_BAD_SECURITY_CHOICE');
    assert.deepEqual(sent(effects as never).slice(0, 4), u32(1));
  });

  it('keeps bytes that follow ClientInit for the relay', () => {
    const s = new ServerHandshake({ type: 'none' }, init);
    s.feed(bytes('RFB 003.008\n'));
    s.feed(bytes([1]));
    const effects = s.feed(bytes([1, 3, 0, 0, 0, 0, 0, 0, 16, 0, 16]));
    const done = effects.find(e => e.kind === 'done');
    assert.ok(done?.kind === 'done');
    assert.equal(done.rest.length, 10);
  });
});
