// oidcLogin against the real demo identity provider and a tiny relying party written here with
// openid-client (code flow, PKCE, state, nonce), the way the gateway's login works.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { startDemoIdentityProvider, type DemoIdentityProvider } from '../demo-idp/identity-provider.js';
import { keycloakMapping, mapIdentity } from '../auth/identity.js';
import { confirmIdpLogout, CookieJar, oidcLogin, OidcLoginError } from './oidc-login.js';

const CLIENT_ID = 'beamgate';
const CLIENT_SECRET = 'rp-test-secret-0123456789';
const SESSION_COOKIE = 'rp-session';

/** What openid-client throws when the provider answers invalid_grant (a revoked or unknown refresh token). */
const invalidGrant = (e: unknown): boolean => e instanceof oidc.ResponseBodyError && e.error === 'invalid_grant';

interface RpSession {
  readonly tokens: oidc.TokenEndpointResponse;
  readonly claims: Record<string, unknown>;
}

/** The relying party: /auth/login starts a login, /auth/callback redeems it and sets a session cookie. */
interface FakeRp {
  readonly origin: string;
  readonly sessions: Map<string, RpSession>;
  config(): oidc.Configuration;
  useProvider(issuer: string): Promise<void>;
  close(): Promise<void>;
}

async function startFakeRp(): Promise<FakeRp> {
  const pending = new Map<string, { verifier: string; nonce: string }>();
  const sessions = new Map<string, RpSession>();
  let config: oidc.Configuration | undefined;
  let origin = '';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', origin);
      if (config === undefined) throw new Error('no provider yet');
      if (url.pathname === '/auth/login') {
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const nonce = oidc.randomNonce();
        pending.set(state, { verifier, nonce });
        const target = oidc.buildAuthorizationUrl(config, {
          redirect_uri: `${origin}/auth/callback`,
          scope: 'openid profile offline_access',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
          prompt: 'consent',
        });
        res.writeHead(303, { location: target.href }).end();
        return;
      }
      if (url.pathname === '/auth/callback') {
        const state = url.searchParams.get('state') ?? '';
        const tx = pending.get(state);
        pending.delete(state);
        if (tx === undefined) {
          res.writeHead(400).end('unknown or used state');
          return;
        }
        try {
          const tokens = await oidc.authorizationCodeGrant(config, url, {
            pkceCodeVerifier: tx.verifier, expectedState: state, expectedNonce: tx.nonce, idTokenExpected: true,
          });
          const sid = randomBytes(16).toString('base64url');
          sessions.set(sid, { tokens, claims: { ...tokens.claims() } });
          res.writeHead(200, { 'set-cookie': `${SESSION_COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Lax` }).end('logged in');
        } catch (e) {
          res.writeHead(400).end(`login refused: ${(e as Error).message}`);
        }
        return;
      }
      res.writeHead(404).end();
    })().catch((e: unknown) => {
      res.writeHead(500).end(String(e));
    });
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    sessions,
    config: () => {
      if (config === undefined) throw new Error('no provider yet');
      return config;
    },
    async useProvider(issuer) {
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- the demo provider speaks plain http on loopback
      const insecure = oidc.allowInsecureRequests;
      config = await oidc.discovery(new URL(issuer), CLIENT_ID, undefined, oidc.ClientSecretBasic(CLIENT_SECRET), { execute: [insecure] });
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    }),
  };
}

describe('oidcLogin against the demo identity provider', { timeout: 60_000 }, () => {
  let rp: FakeRp;
  let idp: DemoIdentityProvider;

  before(async () => {
    rp = await startFakeRp();
    idp = await startDemoIdentityProvider({
      host: '127.0.0.1',
      port: 0,
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${rp.origin}/auth/callback`], postLogoutRedirectUris: [`${rp.origin}/`] }],
    });
    await rp.useProvider(idp.issuer);
  });

  after(async () => {
    await Promise.all([rp.close(), idp.close()]);
  });

  const loginUrl = (): string => `${rp.origin}/auth/login?returnTo=/`;
  const sessionOf = (cookies: Record<string, string>): RpSession => {
    const sid = cookies[SESSION_COOKIE];
    assert.ok(sid !== undefined, `the relying party set no session cookie; cookies: ${Object.keys(cookies).join(', ')}`);
    const session = rp.sessions.get(sid);
    assert.ok(session !== undefined);
    return session;
  };

  it('logs in alice and hands back the app cookie; the ID token carries the Keycloak-shaped claims', async () => {
    const result = await oidcLogin({ loginUrl: loginUrl(), username: 'alice.remote', password: 'alice-demo-pass' });
    assert.equal(result.status, 200);
    assert.equal(result.body, 'logged in');
    assert.deepEqual(Object.keys(result.cookies), [SESSION_COOKIE], 'only the app\'s own cookies, not the provider\'s');
    const { claims, tokens } = sessionOf(result.cookies);
    assert.equal(claims['iss'], idp.issuer);
    assert.equal(claims['aud'], CLIENT_ID);
    assert.equal(claims['facility_user_id'], 'F-1001');
    assert.equal(claims['preferred_username'], 'alice.remote');
    assert.equal(claims['name'], 'Alice Remote');
    assert.match(String(claims['sub']), /^[0-9a-f-]{36}$/);
    assert.deepEqual(claims['realm_access'], { roles: ['default-roles-facility', 'offline_access', 'uma_authorization'] });
    assert.deepEqual((claims['resource_access'] as Record<string, unknown>)['beamgate'], { roles: ['remote-access'] });
    assert.deepEqual(claims['groups'], ['/facility/users', '/facility/users/remote']);
    assert.equal(claims['amr'], undefined);
    assert.equal(claims['acr'], undefined);
    assert.equal(typeof tokens.refresh_token, 'string', 'offline_access with prompt=consent yields a refresh token');
    assert.deepEqual(result.callbackUrl.searchParams.get('iss'), idp.issuer);
  });

  it('gives staff, safety officer and admin their realm roles, which the gateway maps to its roles', async () => {
    const expected = [
      ['carol.contact', 'carol-demo-pass', 'beamgate-staff', ['user', 'staff']],
      ['sam.safety', 'sam-demo-pass', 'beamgate-safety-officer', ['user', 'safety-officer']],
      ['ada.admin', 'ada-demo-pass', 'beamgate-admin', ['user', 'admin']],
    ] as const;
    for (const [username, password, realmRole, roles] of expected) {
      const { claims } = sessionOf((await oidcLogin({ loginUrl: loginUrl(), username, password })).cookies);
      assert.ok((claims['realm_access'] as { roles: string[] }).roles.includes(realmRole), `${username} has ${realmRole}`);
      assert.deepEqual(mapIdentity(claims, keycloakMapping(CLIENT_ID)).roles, roles, username);
    }
  });

  it('marks mia\'s login as multi-factor with amr and acr', async () => {
    const { claims } = sessionOf((await oidcLogin({ loginUrl: loginUrl(), username: 'mia.mfa', password: 'mia-demo-pass' })).cookies);
    assert.deepEqual(claims['amr'], ['pwd', 'otp']);
    assert.equal(claims['acr'], 'mfa');
    assert.equal(claims['facility_user_id'], 'F-1004');
    assert.equal(mapIdentity(claims, keycloakMapping(CLIENT_ID)).mfa, true);
  });

  it('fails with a wrong password, an unknown user or another account\'s password', async () => {
    for (const [username, password] of [['alice.remote', 'alice-demo-pas'], ['nobody', 'alice-demo-pass'], ['alice.remote', 'bob-demo-pass']] as const) {
      await assert.rejects(oidcLogin({ loginUrl: loginUrl(), username, password }), (e: unknown) => {
        assert.ok(e instanceof OidcLoginError);
        assert.equal(e.kind, 'wrong-credentials');
        assert.match(e.message, new RegExp(username.replace('.', '\\.')));
        return true;
      });
    }
  });

  it('issues a refresh token that refreshTokenGrant redeems, with the claims again', async () => {
    const { tokens } = sessionOf((await oidcLogin({ loginUrl: loginUrl(), username: 'bob.expired', password: 'bob-demo-pass' })).cookies);
    assert.ok(tokens.refresh_token !== undefined);
    const refreshed = await oidc.refreshTokenGrant(rp.config(), tokens.refresh_token);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.equal(refreshed.claims()?.['facility_user_id'], 'F-1002');
    // The provider counts the lifetime down in whole seconds, so a second boundary may pass in between.
    const lifetime = refreshed.expires_in ?? 0;
    assert.ok(lifetime >= 299 && lifetime <= 300, `expires_in ${lifetime}`);
  });

  it('stops in front of the callback so a test can replay or tamper with it', async () => {
    const stopped = await oidcLogin({ loginUrl: loginUrl(), username: 'oscar.observer', password: 'oscar-demo-pass', stopAtCallback: true });
    assert.equal(stopped.status, undefined);
    assert.deepEqual(stopped.cookies, {}, 'the app set no cookie yet');
    assert.equal(stopped.callbackUrl.origin + stopped.callbackUrl.pathname, `${rp.origin}/auth/callback`);
    assert.ok(stopped.callbackUrl.searchParams.get('code'));
    assert.ok(stopped.callbackUrl.searchParams.get('state'));

    const tampered = new URL(stopped.callbackUrl);
    tampered.searchParams.set('code', 'forged-code');
    const refused = await fetch(tampered);
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /login refused/);
    // The relying party used its state up on the forged attempt, so the genuine code is refused too: one try per login.
    const replayed = await fetch(stopped.callbackUrl);
    assert.equal(replayed.status, 400);
  });

  it('a genuine callback called twice works once', async () => {
    const stopped = await oidcLogin({ loginUrl: loginUrl(), username: 'oscar.observer', password: 'oscar-demo-pass', stopAtCallback: true });
    const first = await fetch(stopped.callbackUrl);
    assert.equal(first.status, 200);
    assert.equal((await fetch(stopped.callbackUrl)).status, 400);
  });

  it('keeps the provider session in a reused jar: the second login asks for no password (single sign-on)', async () => {
    const jar = new CookieJar();
    await oidcLogin({ loginUrl: loginUrl(), username: 'alice.remote', password: 'alice-demo-pass', jar });
    const again = await oidcLogin({ loginUrl: loginUrl(), username: 'alice.remote', password: 'not-asked', jar });
    assert.equal(sessionOf(again.cookies).claims['facility_user_id'], 'F-1001');
  });

  it('leads from buildEndSessionUrl to a logout page; confirming ends the provider session', async () => {
    const jar = new CookieJar();
    const { tokens } = sessionOf((await oidcLogin({ loginUrl: loginUrl(), username: 'carol.contact', password: 'carol-demo-pass', jar })).cookies);
    assert.ok(tokens.id_token !== undefined && tokens.refresh_token !== undefined);
    const endSession = oidc.buildEndSessionUrl(rp.config(), { id_token_hint: tokens.id_token, post_logout_redirect_uri: `${rp.origin}/`, state: 'after-logout' });

    const page = await fetch(endSession, { headers: { cookie: jar.header(endSession) ?? '' }, redirect: 'manual' });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Log out of the demo identity provider\?/);
    assert.match(html, /id="op\.logoutForm"/);
    assert.doesNotMatch(html, /<script/i);

    const logout = await confirmIdpLogout(endSession, jar);
    assert.equal(logout.status, 303);
    assert.equal(logout.location, `${rp.origin}/?state=after-logout`);
    // The provider session is gone: the next login asks for the password again.
    await assert.rejects(oidcLogin({ loginUrl: loginUrl(), username: 'carol.contact', password: 'wrong', jar }), { kind: 'wrong-credentials' });
    // An offline_access refresh token outlives the provider's logout, as a Keycloak offline session does:
    // an application that logs someone out must revoke its refresh token itself.
    await oidc.refreshTokenGrant(rp.config(), tokens.refresh_token);
  });

  it('revokes: a revoked refresh token no longer refreshes, and its access token no longer introspects as active', async () => {
    const { tokens } = sessionOf((await oidcLogin({ loginUrl: loginUrl(), username: 'alice.remote', password: 'alice-demo-pass' })).cookies);
    assert.ok(tokens.refresh_token !== undefined);
    const active = await oidc.tokenIntrospection(rp.config(), tokens.access_token);
    assert.equal(active.active, true);
    assert.equal(active['facility_user_id'], 'F-1001');
    assert.equal(active.client_id, CLIENT_ID);

    await oidc.tokenRevocation(rp.config(), tokens.refresh_token);
    await assert.rejects(oidc.refreshTokenGrant(rp.config(), tokens.refresh_token), invalidGrant);
    assert.equal((await oidc.tokenIntrospection(rp.config(), tokens.access_token)).active, false);
  });

  it('reports a page that is neither a redirect nor the login form as unexpected, with its text', async () => {
    await assert.rejects(oidcLogin({ loginUrl: `${rp.origin}/nowhere`, username: 'alice.remote', password: 'alice-demo-pass' }), (e: unknown) => {
      assert.ok(e instanceof OidcLoginError);
      assert.equal(e.kind, 'unexpected-response');
      assert.match(e.message, /GET http:\/\/127\.0\.0\.1:\d+\/nowhere answered 404/);
      return true;
    });
  });
});

describe('CookieJar', () => {
  const at = (url: string): URL => new URL(url);

  it('shares cookies between ports of one host and honours Path, as a browser does', () => {
    const jar = new CookieJar();
    jar.store(at('http://127.0.0.1:1000/interaction/abc'), ['_interaction=1; path=/interaction/abc; httponly', 'root=2; Path=/']);
    assert.equal(jar.header(at('http://127.0.0.1:2000/interaction/abc')), '_interaction=1; root=2');
    assert.equal(jar.header(at('http://127.0.0.1:2000/interaction/abcd')), 'root=2');
    assert.equal(jar.header(at('http://localhost:1000/')), undefined);
    assert.deepEqual(jar.setBy('http://127.0.0.1:1000'), { _interaction: '1', root: '2' });
    assert.deepEqual(jar.setBy('http://127.0.0.1:2000'), {});
  });

  it('drops cookies on Max-Age=0, a past Expires, and when they expire', () => {
    let now = 1_000_000;
    const jar = new CookieJar(() => now);
    jar.store(at('http://h/'), ['a=1; Max-Age=10', 'b=2', 'c=3']);
    jar.store(at('http://h/'), ['b=; Max-Age=0', 'c=; expires=Thu, 01 Jan 1970 00:00:00 GMT']);
    assert.equal(jar.header(at('http://h/')), 'a=1');
    now += 10_001;
    assert.equal(jar.header(at('http://h/')), undefined);
  });

  it('uses the directory of the request as the default path and ignores a foreign Domain', () => {
    const jar = new CookieJar();
    jar.store(at('http://h/auth/callback'), ['d=1', 'e=2; Domain=other.example']);
    assert.equal(jar.header(at('http://h/auth/x')), 'd=1');
    assert.equal(jar.header(at('http://h/')), undefined);
  });
});
