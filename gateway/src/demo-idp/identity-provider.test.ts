// The demo identity provider over real HTTP: what it advertises, its login pages and their
// Content Security Policy, cancel, expired interactions, revokeAllFor, options and shutdown.
// The full relying-party round trip is in testing/oidc-login.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import { CookieJar, oidcLogin } from '../testing/oidc-login.js';
import { DEMO_ACCOUNTS } from './accounts.js';
import { startDemoIdentityProvider, type DemoIdentityProvider, type DemoIdpLog } from './identity-provider.js';

const CLIENT_ID = 'beamgate';
const CLIENT_SECRET = 'idp-test-secret-0123456789';
/** Nothing listens here: the tests stop at the callback and redeem the code themselves. */
const REDIRECT_URI = 'http://127.0.0.1:9/auth/callback';
const POST_LOGOUT_URI = 'http://127.0.0.1:9/';

const clients = [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [POST_LOGOUT_URI], name: 'Beamgate (test)' }];

const invalidGrant = (e: unknown): boolean => e instanceof oidc.ResponseBodyError && e.error === 'invalid_grant';

interface Started {
  readonly idp: DemoIdentityProvider;
  readonly config: oidc.Configuration;
  readonly logs: string[];
}

async function start(options: { accessTokenTtlSeconds?: number } = {}): Promise<Started> {
  const logs: string[] = [];
  const log: DemoIdpLog = { info: m => logs.push(`info ${m}`), warn: m => logs.push(`warn ${m}`) };
  const idp = await startDemoIdentityProvider({ host: '127.0.0.1', port: 0, clients, log, ...options });
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- the demo provider speaks plain http on loopback
  const insecure = oidc.allowInsecureRequests;
  const config = await oidc.discovery(new URL(idp.issuer), CLIENT_ID, undefined, oidc.ClientSecretBasic(CLIENT_SECRET), {
    execute: [insecure],
  });
  return { idp, config, logs };
}

interface AuthorizationRequest {
  readonly url: URL;
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
}

async function authorizationRequest(config: oidc.Configuration): Promise<AuthorizationRequest> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: 'openid profile offline_access', prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce,
  });
  return { url, verifier, state, nonce };
}

/** Logs in through the pages and redeems the code as the gateway would. */
async function loginAndRedeem(
  config: oidc.Configuration, username: string, password: string, jar = new CookieJar(),
): Promise<oidc.TokenEndpointResponse> {
  const request = await authorizationRequest(config);
  const { callbackUrl } = await oidcLogin({
    loginUrl: request.url, callbackUrl: REDIRECT_URI, username, password, stopAtCallback: true, jar,
  });
  return oidc.authorizationCodeGrant(config, callbackUrl, checksOf(request));
}

function checksOf(request: AuthorizationRequest): oidc.AuthorizationCodeGrantChecks {
  return { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true };
}

/** GETs (or POSTs a form to) `url` and follows redirects until one leaves `issuer` or a page answers. */
interface Browsed {
  readonly url: URL;
  readonly response: Response;
  readonly body: string;
}

async function browse(jar: CookieJar, issuer: string, url: URL, form?: URLSearchParams): Promise<Browsed> {
  let next = url;
  let body = form;
  for (let hop = 0; hop < 10; hop++) {
    const response = await fetch(next, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { cookie: jar.header(next) ?? '', ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
      ...(body === undefined ? {} : { body: body.toString() }),
      redirect: 'manual',
    });
    jar.store(next, response.headers.getSetCookie());
    const location = response.headers.get('location');
    const text = await response.text();
    if (location === null) return { url: next, response, body: text };
    next = new URL(location, next);
    body = undefined;
    if (next.origin !== new URL(issuer).origin) return { url: next, response, body: text };
  }
  throw new Error('redirect loop');
}

describe('demo identity provider', { timeout: 60_000 }, () => {
  let started: Started;

  before(async () => {
    started = await start();
  });

  after(async () => {
    await started.idp.close();
  });

  it('advertises the code flow with PKCE S256, refresh, logout, revocation, introspection and the Keycloak-shaped claims', () => {
    const m = started.config.serverMetadata();
    assert.equal(m.issuer, started.idp.issuer);
    assert.match(started.idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(m.response_types_supported, ['code']);
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(m.grant_types_supported, ['authorization_code', 'refresh_token']);
    assert.ok(m.scopes_supported?.includes('offline_access'));
    for (const claim of ['facility_user_id', 'realm_access', 'resource_access', 'groups', 'name', 'preferred_username', 'acr', 'amr']) {
      assert.ok(m.claims_supported?.includes(claim), claim);
    }
    assert.equal(m.end_session_endpoint, `${started.idp.issuer}/session/end`);
    assert.ok(m.revocation_endpoint !== undefined && m.introspection_endpoint !== undefined);
    assert.deepEqual(m.id_token_signing_alg_values_supported, ['RS256']);
  });

  it('refuses an authorization request without PKCE', async () => {
    const url = oidc.buildAuthorizationUrl(started.config, { redirect_uri: REDIRECT_URI, scope: 'openid', state: 'x', nonce: 'y' });
    const { url: landed } = await browse(new CookieJar(), started.idp.issuer, url);
    assert.equal(landed.origin + landed.pathname, REDIRECT_URI);
    assert.equal(landed.searchParams.get('error'), 'invalid_request');
    assert.match(landed.searchParams.get('error_description') ?? '', /PKCE/);
  });

  it('shows a login form under a strict CSP, without script and without listing any account', async () => {
    const jar = new CookieJar();
    const { url, response, body } = await browse(jar, started.idp.issuer, (await authorizationRequest(started.config)).url);
    assert.match(url.pathname, /^\/interaction\/[A-Za-z0-9_-]+$/);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /form-action 'self' http:\/\/127\.0\.0\.1:9(;|$)/, 'the login form may lead on to the client\'s callback');
    const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce !== undefined, csp);
    assert.ok(body.includes(`<style nonce="${nonce}">`), 'the style block carries the header\'s nonce');
    assert.doesNotMatch(body, /<script/i);
    assert.doesNotMatch(body, /\sstyle=/i, 'no inline style attributes, which the nonce would not cover');
    assert.match(body, /name="login"/);
    assert.match(body, /name="password" type="password"/);
    assert.match(body, /Log in to Beamgate \(test\)/);
    for (const account of DEMO_ACCOUNTS) {
      for (const secret of [account.login, account.password, account.name, account.facilityUserId]) assert.ok(!body.includes(secret), `the page shows ${secret}`);
    }
  });

  it('answers a wrong password with the form again, the message and the typed name, never the password', async () => {
    const jar = new CookieJar();
    const { url } = await browse(jar, started.idp.issuer, (await authorizationRequest(started.config)).url);
    const { response, body } = await browse(jar, started.idp.issuer, url, new URLSearchParams({ prompt: 'login', login: 'alice.remote', password: 'Alice-demo-pass' }));
    assert.equal(response.status, 200);
    assert.match(body, /wrong user name or password/);
    assert.match(body, /value="alice\.remote"/);
    assert.ok(!body.includes('Alice-demo-pass'));
    assert.ok(started.logs.some(l => l.includes('a login failed')));
    assert.ok(!started.logs.some(l => l.includes('Alice-demo-pass') || l.includes('alice.remote logged')));
  });

  it('escapes what was typed when it shows the form again', async () => {
    const jar = new CookieJar();
    const { url } = await browse(jar, started.idp.issuer, (await authorizationRequest(started.config)).url);
    const { body } = await browse(jar, started.idp.issuer, url, new URLSearchParams({ login: '"><script>x()</script>', password: 'p' }));
    assert.doesNotMatch(body, /<script/i);
    assert.match(body, /&#34;&#62;&#60;script&#62;/);
  });

  it('sends a cancelled login back to the application with error=access_denied', async () => {
    const jar = new CookieJar();
    const request = await authorizationRequest(started.config);
    const { url } = await browse(jar, started.idp.issuer, request.url);
    const { url: landed } = await browse(jar, started.idp.issuer, url, new URLSearchParams({ prompt: 'cancel' }));
    assert.equal(landed.origin + landed.pathname, REDIRECT_URI);
    assert.equal(landed.searchParams.get('error'), 'access_denied');
    assert.equal(landed.searchParams.get('state'), request.state);
  });

  it('refuses a login page without its interaction cookie, a mismatched uid and an oversized form', async () => {
    const bare = await fetch(`${started.idp.issuer}/interaction/abcdef`);
    assert.equal(bare.status, 400);
    assert.match(await bare.text(), /no longer valid/);

    const jar = new CookieJar();
    const { url } = await browse(jar, started.idp.issuer, (await authorizationRequest(started.config)).url);
    // The interaction cookie is scoped to its own path, so another uid cannot use it.
    const other = new URL('/interaction/someoneelse', url);
    const mismatched = await fetch(other, { headers: { cookie: jar.header(url) ?? '' } });
    assert.equal(mismatched.status, 400);

    const huge = await fetch(url, {
      method: 'POST', headers: { cookie: jar.header(url) ?? '', 'content-type': 'application/x-www-form-urlencoded' }, body: `login=${'a'.repeat(20_000)}&password=x`,
    });
    assert.equal(huge.status, 413);
    assert.equal((await fetch(url, { method: 'PUT', headers: { cookie: jar.header(url) ?? '' } })).status, 405);
  });

  it('issues tokens whose lifetime is accessTokenTtlSeconds', async () => {
    const short = await start({ accessTokenTtlSeconds: 42 });
    try {
      const tokens = await loginAndRedeem(short.config, 'alice.remote', 'alice-demo-pass');
      // Counted down in whole seconds, so a second boundary may pass in between.
      assert.ok(tokens.expires_in === 42 || tokens.expires_in === 41, `expires_in ${tokens.expires_in ?? 'missing'}`);
    } finally {
      await short.idp.close();
    }
  });

  it('revokeAllFor ends the person\'s sessions and grants, and leaves other people\'s alone', async () => {
    const jar = new CookieJar();
    const alice = await loginAndRedeem(started.config, 'alice.remote', 'alice-demo-pass', jar);
    const bob = await loginAndRedeem(started.config, 'bob.expired', 'bob-demo-pass');
    assert.ok(alice.refresh_token !== undefined && bob.refresh_token !== undefined);

    assert.ok(await started.idp.revokeAllFor('alice.remote') >= 1);
    await assert.rejects(oidc.refreshTokenGrant(started.config, alice.refresh_token), invalidGrant);
    assert.equal((await oidc.tokenIntrospection(started.config, alice.access_token)).active, false);
    // Her provider session is gone too: the next login shows the form, and a wrong password fails there.
    await assert.rejects(loginAndRedeem(started.config, 'alice.remote', 'wrong', jar), { kind: 'wrong-credentials' });

    await oidc.refreshTokenGrant(started.config, bob.refresh_token);
    assert.equal((await oidc.tokenIntrospection(started.config, bob.access_token)).active, true);
    await assert.rejects(started.idp.revokeAllFor('nobody'), /no demo account "nobody"/);
  });

  it('logs a different person in when another one already has a session in the same browser', async () => {
    const jar = new CookieJar();
    await loginAndRedeem(started.config, 'carol.contact', 'carol-demo-pass', jar);
    const prompted = async (): Promise<AuthorizationRequest & { prompted: URL }> => {
      const request = await authorizationRequest(started.config);
      const url = new URL(request.url);
      url.searchParams.set('prompt', 'login consent');
      return { ...request, prompted: url };
    };

    // oidc-provider first ends carol's session with a page that submits itself by script; the CSP admits exactly that script.
    const first = await prompted();
    const { url: formUrl } = await browse(jar, started.idp.issuer, first.prompted);
    const { response, body } = await browse(jar, started.idp.issuer, formUrl, new URLSearchParams({ login: 'ada.admin', password: 'ada-demo-pass' }));
    assert.equal(response.status, 200);
    const script = /<script>([\s\S]*?)<\/script>/.exec(body)?.[1];
    assert.ok(script !== undefined, body);
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.ok(csp.includes(`'sha256-${createHash('sha256').update(script).digest('base64')}'`), csp);
    assert.match(csp, /default-src 'none'/);

    const second = await prompted();
    const { callbackUrl } = await oidcLogin({ loginUrl: second.prompted, callbackUrl: REDIRECT_URI, username: 'ada.admin', password: 'ada-demo-pass', stopAtCallback: true, jar });
    const tokens = await oidc.authorizationCodeGrant(started.config, callbackUrl, checksOf(second));
    assert.equal(tokens.claims()?.['facility_user_id'], 'F-9001');
  });

  it('routes oidc-provider\'s console notices to the log and leaves the console as it was', async () => {
    const { warn, info } = console;
    const other = await start();
    await other.idp.close();
    assert.equal(console.warn, warn);
    assert.equal(console.info, info);
    assert.ok(other.logs.some(l => l.startsWith('warn oidc-provider WARNING: a quick start development-only in-memory adapter')), other.logs.join('\n'));
  });

  it('stops listening on close', async () => {
    const other = await start();
    await other.idp.close();
    await assert.rejects(fetch(`${other.idp.issuer}/.well-known/openid-configuration`), TypeError);
  });

  it('refuses a non-loopback address and a configuration without clients', async () => {
    await assert.rejects(startDemoIdentityProvider({ host: '0.0.0.0', port: 0, clients }), /only on loopback/);
    await assert.rejects(startDemoIdentityProvider({ host: '127.0.0.1', port: 0, clients: [] }), /at least one client/);
  });
});
