// Login, authorization and rights while connected, end to end without a browser: the real
// gateway (SQLite store, file user office) against the real local OpenID Connect provider and
// the demo desktop. The clock is injected so token expiry can be reached without waiting.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { DemoDesktop } from '../demo-desktop/rfb-server.js';
import { demoAccount } from '../demo-idp/accounts.js';
import type { DemoIdentityProvider } from '../demo-idp/identity-provider.js';
import { DEMO_BEAMLINE, DEMO_BEAMTIME, DEMO_INSTRUCTION_VERSION, sampleUserOffice } from '../demo-idp/sample-user-office.js';
import type { RunningGateway } from '../main.js';
import { startLoginRig, type LoginRig } from '../testing/login-rig.js';
import { keyEvent } from '../rfb/c2s-encode.js';
import { oidcLogin } from '../testing/oidc-login.js';
import { openControlClient, type ControlClient } from '../testing/control-client.js';
import { connectWsRfb, tryConnectWsRfb } from '../testing/ws-rfb-client.js';
import type { AuditCode } from '../../../session-recorder/src/audit/audit-record.js';

describe('login, authorization and rights while connected', () => {
  let offsetMs = 0;
  const clock = (): Date => new Date(Date.now() + offsetMs);
  let rig: LoginRig;
  let idp: DemoIdentityProvider;
  let desktop: DemoDesktop;
  let gw: RunningGateway;
  let base: string;
  let origin: string;
  let userOfficeFile: string;
  let login: LoginRig['login'];
  let writeUserOffice: LoginRig['writeUserOffice'];

  const api = (path: string, cookie: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${base}${path}`, { ...init, headers: { cookie, ...init.headers as Record<string, string> } });
  type Seen = { actor: string; message: string; subject?: string | undefined };
  const audited = async (code: AuditCode, test: (r: Seen) => boolean = () => true): Promise<boolean> => {
    const records = await gw.store.audit.query({ codes: [code] });
    return records.some(test);
  };
  const until = async (cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 8000): Promise<void> => {
    const end = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise(r => setTimeout(r, 25));
    }
  };

  /** Gives control back before closing, so the next test does not meet a hold kept for a reconnect. */
  const releaseAndClose = async (c: ControlClient): Promise<void> => {
    if (c.state()?.you.holding === true) {
      c.send({ v: 1, type: 'release' });
      await c.waitForState(s => !s.you.holding);
    }
    c.ws.close();
    await c.closed;
  };

  before(async () => {
    rig = await startLoginRig({ clock, reevaluateSeconds: 1 });
    ({ idp, desktop, base, userOfficeFile } = rig);
    login = user => rig.login(user);
    writeUserOffice = (doc) => {
      rig.writeUserOffice(doc);
    };
    gw = rig.gateway;
    origin = base;
  });
  after(async () => {
    await rig.close();
  });

  it('logs in through the provider with a Strict, HttpOnly session cookie and keeps the tokens on the server', async () => {
    const account = demoAccount('alice.remote');
    const result = await oidcLogin({ loginUrl: `${base}/auth/login?returnTo=/view/bl-demo`, username: account.login, password: account.password });
    assert.equal(result.status, 200);
    assert.match(result.body ?? '', /url=\/view\/bl-demo/); // the same-site hop to returnTo
    const me = await (await api('/api/me', `beamgate-session=${result.cookies['beamgate-session'] ?? ''}`)).json() as Record<string, unknown>;
    assert.equal(me['authenticated'], true);
    assert.deepEqual(me['user'], { id: 'F-1001', name: 'Alice Remote', roles: ['user'], mfa: false });
    assert.equal(JSON.stringify(me).includes('eyJ'), false, 'no token reaches the browser');
    assert.ok(await audited('auth.login', r => r.actor === 'F-1001'));
  });

  it('sets the cookie HttpOnly and SameSite=Strict (no Secure on plain-http loopback)', async () => {
    const raw = await fetch(`${base}/auth/login`, { redirect: 'manual' });
    assert.equal(raw.status, 303);
    const { callbackUrl } = await oidcLogin({ loginUrl: `${base}/auth/login`, username: 'carol.contact', password: demoAccount('carol.contact').password, stopAtCallback: true });
    const res = await fetch(callbackUrl, { redirect: 'manual' });
    const setCookie = res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^beamgate-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
  });

  it('refuses a replayed callback, a forged state and a provider error, each with 400 and an audit record', async () => {
    const account = demoAccount('alice.remote');
    const { callbackUrl } = await oidcLogin({ loginUrl: `${base}/auth/login`, username: account.login, password: account.password, stopAtCallback: true });
    assert.equal((await fetch(callbackUrl, { redirect: 'manual' })).status, 200);
    const replay = await fetch(callbackUrl, { redirect: 'manual' });
    assert.equal(replay.status, 400);
    assert.match(await replay.text(), /unknown, expired or was already used/);
    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', 'forged-state-value');
    assert.equal((await fetch(forged, { redirect: 'manual' })).status, 400);
    assert.equal((await fetch(`${base}/auth/callback?error=access_denied&state=x`, { redirect: 'manual' })).status, 400);
    assert.ok(await audited('auth.login_failed', r => r.message.includes('already used')));
  });

  it('refuses a callback whose code was tampered with, without a stack trace', async () => {
    const account = demoAccount('alice.remote');
    const { callbackUrl } = await oidcLogin({ loginUrl: `${base}/auth/login`, username: account.login, password: account.password, stopAtCallback: true });
    const tampered = new URL(callbackUrl);
    tampered.searchParams.set('code', `${tampered.searchParams.get('code') ?? ''}x`);
    const res = await fetch(tampered, { redirect: 'manual' });
    assert.equal(res.status, 400);
    const body = await res.text();
    assert.doesNotMatch(body, /at .*\.js:\d+/);
    assert.ok(await audited('auth.login_failed', r => r.message.includes('did not pass the checks')));
  });

  it('shows each person their beamtime with the reasons they may not drive', async () => {
    const alice = await login('alice.remote');
    const portal = await (await api('/api/portal', alice.cookie)).json() as { beamtimes: { id: string; desktops: { id: string; view: { allow: boolean }; control: { allow: boolean; reasons: { code: string; message: string }[] } }[] }[] };
    const bt = portal.beamtimes.find(b => b.id === DEMO_BEAMTIME);
    const d = bt?.desktops.find(x => x.id === 'bl-demo');
    assert.equal(d?.view.allow, true);
    assert.equal(d.control.allow, false);
    assert.deepEqual(d.control.reasons.map(r => r.code), ['instruction-not-acknowledged']);

    const bob = await login('bob.expired');
    const bobAccess = await (await api('/api/desktops/bl-demo/access', bob.cookie)).json() as { view: { allow: boolean }; control: { allow: boolean; reasons: { message: string }[] } };
    assert.equal(bobAccess.view.allow, true);
    assert.equal(bobAccess.control.allow, false);
    const expired = bobAccess.control.reasons.some(r => /radiation protection/i.test(r.message) && /expired/.test(r.message));
    assert.ok(expired, JSON.stringify(bobAccess.control.reasons));
  });

  it('protects the acknowledgement against CSRF and foreign origins, then lets the person drive', async () => {
    const alice = await login('alice.remote');
    const path = `/api/beamlines/${DEMO_BEAMLINE}/beamtimes/${DEMO_BEAMTIME}/acknowledge`;
    const body = JSON.stringify({ version: DEMO_INSTRUCTION_VERSION });
    const json = { 'content-type': 'application/json' };
    const noToken = await api(path, alice.cookie, { method: 'POST', headers: { ...json, origin }, body });
    assert.equal(noToken.status, 403);
    assert.equal(((await noToken.json()) as { error: { code: string } }).error.code, 'GW_ERR_CSRF');
    const foreign = await api(path, alice.cookie, { method: 'POST', headers: { ...json, origin: 'https://evil.example', 'x-csrf-token': alice.csrf }, body });
    assert.equal(foreign.status, 403);
    const stale = await api(path, alice.cookie, { method: 'POST', headers: { ...json, origin, 'x-csrf-token': alice.csrf }, body: JSON.stringify({ version: 'old' }) });
    assert.equal(stale.status, 409);
    const malformed = await api(path, alice.cookie, { method: 'POST', headers: { ...json, origin, 'x-csrf-token': alice.csrf }, body: '{"version":' });
    assert.equal(malformed.status, 400);
    assert.doesNotMatch(await malformed.text(), /SyntaxError|at /);
    const big = await api(path, alice.cookie, { method: 'POST', headers: { ...json, origin, 'x-csrf-token': alice.csrf }, body: JSON.stringify({ version: 'x'.repeat(10_000) }) });
    assert.equal(big.status, 413);
    const ok = await api(path, alice.cookie, { method: 'POST', headers: { ...json, origin, 'x-csrf-token': alice.csrf }, body });
    assert.equal(ok.status, 200);
    assert.ok(await audited('instruction.acknowledged', r => r.actor === 'F-1001'));
    assert.ok(await audited('access.denied', r => r.message.includes('CSRF')));
    const access = await (await api('/api/desktops/bl-demo/access', alice.cookie)).json() as { control: { allow: boolean } };
    assert.equal(access.control.allow, true);
  });

  it('refuses API requests without a session, with an unknown session, and to unknown paths', async () => {
    assert.equal((await fetch(`${base}/api/portal`)).status, 401);
    assert.equal((await api('/api/portal', 'beamgate-session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status, 401);
    const alice = await login('alice.remote');
    assert.equal((await api('/api/nothing-here', alice.cookie)).status, 404);
    assert.ok(await audited('access.denied', r => r.message.includes('unknown or expired session')));
  });

  it('authorizes desktop WebSockets: Origin, then session, then policy', async () => {
    const ws = base.replace('http:', 'ws:');
    const alice = await login('alice.remote');
    await assert.rejects(tryConnectWsRfb(`${ws}/desktop/bl-demo`, { origin: 'https://evil.example', cookie: alice.cookie }), /HTTP 403/);
    await assert.rejects(tryConnectWsRfb(`${ws}/desktop/bl-demo`, { origin }), /HTTP 401/);

    // Sam (safety officer) may watch; an interactive request still only watches.
    const sam = await login('sam.safety');
    const watcher = await connectWsRfb(`${ws}/desktop/bl-demo`, { origin, cookie: sam.cookie });
    const before = desktop.inputs.length;
    watcher.send(keyEvent(true, 0x73));
    watcher.send(keyEvent(false, 0x73));
    // Alice (acknowledged above) takes the free token and drives: her key arrives, Sam's never did.
    const aliceControl = await openControlClient(`${ws}/control/bl-demo`, { origin, cookie: alice.cookie });
    aliceControl.send({ v: 1, type: 'request', message: '' });
    await aliceControl.waitForState(s => s.you.holding);
    const driver = await connectWsRfb(`${ws}/desktop/bl-demo?connection=${aliceControl.connection}`, { origin, cookie: alice.cookie });
    driver.send(keyEvent(true, 0x61));
    driver.send(keyEvent(false, 0x61));
    await desktop.waitForInput(i => i.message.type === 'KeyEvent' && i.message.keysym === 0x61 && !i.message.down);
    assert.deepEqual(desktop.inputs.slice(before).filter(i => i.message.type === 'KeyEvent').map(i => (i.message as { keysym: number }).keysym), [0x61, 0x61]);
    assert.ok(await audited('viewer.joined', r => r.actor === 'F-3001'));
    watcher.ws.close();
    driver.ws.close();
    await releaseAndClose(aliceControl);
  });

  it('a desktop socket cannot borrow another session\'s control connection', async () => {
    const ws = base.replace('http:', 'ws:');
    const alice = await login('alice.remote');
    const carol = await login('carol.contact');
    const aliceControl = await openControlClient(`${ws}/control/bl-demo`, { origin, cookie: alice.cookie });
    aliceControl.send({ v: 1, type: 'request', message: '' });
    await aliceControl.waitForState(s => s.you.holding);
    const thief = await connectWsRfb(`${ws}/desktop/bl-demo?connection=${aliceControl.connection}`, { origin, cookie: carol.cookie });
    const before = desktop.inputs.length;
    thief.send(keyEvent(true, 0x74));
    thief.send(keyEvent(false, 0x74));
    const own = await connectWsRfb(`${ws}/desktop/bl-demo?connection=${aliceControl.connection}`, { origin, cookie: alice.cookie });
    own.send(keyEvent(true, 0x62));
    own.send(keyEvent(false, 0x62));
    await desktop.waitForInput(i => i.message.type === 'KeyEvent' && i.message.keysym === 0x62 && !i.message.down);
    assert.deepEqual(desktop.inputs.slice(before).filter(i => i.message.type === 'KeyEvent').map(i => (i.message as { keysym: number }).keysym), [0x62, 0x62]);
    // A second desktop socket under the same control connection replaces the first, which stops driving.
    const second = await connectWsRfb(`${ws}/desktop/bl-demo?connection=${aliceControl.connection}`, { origin, cookie: alice.cookie });
    const mark = desktop.inputs.length;
    own.send(keyEvent(true, 0x31));
    own.send(keyEvent(false, 0x31));
    second.send(keyEvent(true, 0x32));
    second.send(keyEvent(false, 0x32));
    await desktop.waitForInput(i => i.message.type === 'KeyEvent' && i.message.keysym === 0x32 && !i.message.down);
    await new Promise(r => setTimeout(r, 200)); // proving a negative: time for a stray key on the other upstream connection
    assert.deepEqual(desktop.inputs.slice(mark).filter(i => i.message.type === 'KeyEvent').map(i => (i.message as { keysym: number }).keysym), [0x32, 0x32]);
    second.ws.close();
    thief.ws.close();
    own.ws.close();
    await releaseAndClose(aliceControl);
  });

  it('a staff take-over cuts the holder off at once and releases the Shift the holder still pressed', async () => {
    const ws = base.replace('http:', 'ws:');
    const alice = await login('alice.remote');
    const carol = await login('carol.contact');
    const aliceControl = await openControlClient(`${ws}/control/bl-demo`, { origin, cookie: alice.cookie });
    const carolControl = await openControlClient(`${ws}/control/bl-demo`, { origin, cookie: carol.cookie });
    aliceControl.send({ v: 1, type: 'request', message: '' });
    await aliceControl.waitForState(s => s.you.holding);
    const aliceDesktop = await connectWsRfb(`${ws}/desktop/bl-demo?connection=${aliceControl.connection}`, { origin, cookie: alice.cookie });
    const carolDesktop = await connectWsRfb(`${ws}/desktop/bl-demo?connection=${carolControl.connection}`, { origin, cookie: carol.cookie });
    const SHIFT = 0xffe1;
    aliceDesktop.send(keyEvent(true, SHIFT));
    await desktop.waitForInput(i => i.message.type === 'KeyEvent' && i.message.keysym === SHIFT && i.message.down);
    const before = desktop.inputs.length;
    carolControl.send({ v: 1, type: 'take-over', reason: 'test' });
    await carolControl.waitForState(s => s.you.holding);
    await desktop.waitForInput(i => i.message.type === 'KeyEvent' && i.message.keysym === SHIFT && !i.message.down);
    aliceDesktop.send(keyEvent(true, 0x71));
    aliceDesktop.send(keyEvent(false, 0x71));
    carolDesktop.send(keyEvent(true, 0x63));
    carolDesktop.send(keyEvent(false, 0x63));
    await desktop.waitForInput(i => i.message.type === 'KeyEvent' && i.message.keysym === 0x63 && !i.message.down);
    const keys = desktop.inputs.slice(before).filter(i => i.message.type === 'KeyEvent').map(i => (i.message as { keysym: number; down: boolean }));
    assert.deepEqual(keys.map(k => [k.keysym, k.down]), [[SHIFT, false], [0x63, true], [0x63, false]]);
    assert.ok(await audited('control.transition', r => r.message.includes('take')), 'the take-over is on record');
    aliceDesktop.ws.close();
    carolDesktop.ws.close();
    await releaseAndClose(carolControl);
    await releaseAndClose(aliceControl);
  });

  it('a holder whose connection drops and comes back within the grace keeps control, with a new epoch', async () => {
    const ws = base.replace('http:', 'ws:');
    const mia = await login('mia.mfa');
    await rig.acknowledgeInstruction(mia);
    const first = await openControlClient(`${ws}/control/bl-demo`, { origin, cookie: mia.cookie });
    first.send({ v: 1, type: 'request', message: '' });
    const held = await first.waitForState(s => s.you.holding);
    first.ws.close(); // the network drops
    await first.closed;
    const second = await openControlClient(`${ws}/control/bl-demo`, { origin, cookie: mia.cookie });
    const back = await second.waitForState(s => s.you.holding);
    assert.ok(back.epoch > held.epoch, 'a reconnect is a new epoch: the old connection\'s input is stale');
    const desktopSocket = await connectWsRfb(`${ws}/desktop/bl-demo?connection=${second.connection}`, { origin, cookie: mia.cookie });
    desktopSocket.send(keyEvent(true, 0x6d));
    desktopSocket.send(keyEvent(false, 0x6d));
    await desktop.waitForInput(i => i.message.type === 'KeyEvent' && i.message.keysym === 0x6d && !i.message.down);
    desktopSocket.ws.close();
    await releaseAndClose(second);
  });

  it('a driver whose training expires while connected loses control at once, keeps watching, and it is audited', async () => {
    const alice = await login('alice.remote');
    const ws = base.replace('http:', 'ws:');
    const aliceControl = await openControlClient(`${ws}/control/bl-demo`, { origin, cookie: alice.cookie });
    aliceControl.send({ v: 1, type: 'request', message: '' });
    await aliceControl.waitForState(s => s.you.holding);
    const driver = await connectWsRfb(`${ws}/desktop/bl-demo?connection=${aliceControl.connection}`, { origin, cookie: alice.cookie });
    const doc = parse(readFileSync(userOfficeFile, 'utf8')) as { trainings: { user: string; kind: string; validUntil: string }[] };
    for (const t of doc.trainings) if (t.user === 'F-1001' && t.kind === 'radiation-protection') t.validUntil = new Date(Date.now() - 60_000).toISOString();
    writeUserOffice(doc);
    const after = await aliceControl.waitForState(s => !s.you.holding && !s.you.canControl);
    assert.equal(after.holder, undefined);
    assert.ok(await audited('control.transition', r => r.subject === 'F-1001' || r.actor === 'F-1001' || r.message.includes('F-1001')));
    const before = desktop.inputs.length;
    driver.send(keyEvent(true, 0x7a));
    driver.send(keyEvent(false, 0x7a));
    await new Promise(r => setTimeout(r, 200)); // proving a negative: time for a stray key to arrive
    assert.equal(desktop.inputs.slice(before).filter(i => i.message.type === 'KeyEvent').length, 0);
    const access = await (await api('/api/desktops/bl-demo/access', alice.cookie)).json() as { view: { allow: boolean }; control: { allow: boolean } };
    assert.deepEqual([access.view.allow, access.control.allow], [true, false]);
    driver.ws.close();
    await releaseAndClose(aliceControl);
    writeUserOffice(sampleUserOffice(new Date()));
  });

  it('keeps the last good user-office data when a reload is broken, and audits the refusal', async () => {
    writeFileSync(userOfficeFile, 'version: 1\nbeamtimes:\n  - id: BT-X\n    beamline: nowhere\n');
    await until(() => audited('useroffice.rejected', r => r.message.includes('beamtimes.0.start (line 3)')), 'the refused reload');
    const alice = await login('alice.remote');
    const access = await (await api('/api/desktops/bl-demo/access', alice.cookie)).json() as { view: { allow: boolean } };
    assert.equal(access.view.allow, true);
    writeUserOffice(sampleUserOffice(new Date()));
  });

  it('logout ends the session, closes its desktops (4401) and points to the provider\'s end-session endpoint', async () => {
    const carol = await login('carol.contact');
    const viewer = await connectWsRfb(`${base.replace('http:', 'ws:')}/desktop/bl-demo`, { origin, cookie: carol.cookie });
    const out = await api('/auth/logout', carol.cookie, { method: 'POST', headers: { origin, 'x-csrf-token': carol.csrf } });
    assert.equal(out.status, 200);
    const { redirect } = await out.json() as { redirect: string };
    assert.ok(redirect.startsWith(`${idp.issuer}/session/end`), redirect);
    assert.equal((await viewer.closed).code, 4401);
    const me = await (await api('/api/me', carol.cookie)).json() as { authenticated: boolean };
    assert.equal(me.authenticated, false);
    assert.ok(await audited('auth.logout', r => r.actor === 'F-2001'));
  });

  it('a login revoked at the provider ends at the next refresh, closing the person\'s desktops', async () => {
    const mia = await login('mia.mfa');
    const viewer = await connectWsRfb(`${base.replace('http:', 'ws:')}/desktop/bl-demo?view-only=1`, { origin, cookie: mia.cookie });
    await idp.revokeAllFor('mia.mfa');
    offsetMs = 10 * 60_000; // past the access token's lifetime: the next check refreshes, and the provider refuses
    try {
      assert.equal((await viewer.closed).code, 4401);
      assert.ok(await audited('auth.session_ended', r => r.subject === 'F-1004'));
    } finally {
      offsetMs = 0;
    }
  });

  it('keeps a valid chain of everything it audited', async () => {
    const check = await gw.store.audit.verify();
    assert.equal(check.ok, true, JSON.stringify(check));
  });
});
