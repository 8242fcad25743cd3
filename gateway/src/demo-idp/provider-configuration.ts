// The oidc-provider configuration of the demo identity provider: confidential clients with the
// code flow and PKCE only, refresh tokens for offline_access, RP-initiated logout, revocation
// and introspection, Keycloak-shaped claims in the ID token, the demo's own login pages, and an
// explicit value for every setting whose default would print a console notice.
import { randomBytes } from 'node:crypto';
import type { Account, ClientMetadata, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { keycloakClaims, type DemoAccount } from './accounts.js';
import { contentSecurityPolicy, logoutPage, messagePage } from './pages.js';

export interface DemoClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  /** Shown on the login page; defaults to the client id. */
  readonly name?: string;
}

export interface ProviderSettings {
  readonly clients: readonly DemoClient[];
  readonly accounts: readonly DemoAccount[];
  readonly accessTokenTtlSeconds: number;
  /** The signing key (private JWK) of this run. */
  readonly signingKey: Record<string, unknown>;
  /** Origins a form on the provider's pages may lead to (the clients' redirect origins). */
  readonly formTargets: readonly string[];
}

/** Lifetimes of everything else, in seconds: a working day, like a Keycloak SSO session. */
const TTL = {
  AuthorizationCode: 60,
  Interaction: 10 * 60,
  Session: 10 * 3600,
  Grant: 10 * 3600,
  RefreshToken: 10 * 3600,
} as const;

/**
 * Claims that come with every login (the openid scope), like Keycloak's default client scopes and
 * mappers; the rest by scope. acr and amr are listed here because oidc-provider otherwise puts
 * them in the ID token only when the claims parameter asks for them.
 */
const CLAIMS_BY_SCOPE = {
  openid: ['sub', 'acr', 'amr', 'facility_user_id', 'realm_access', 'resource_access', 'groups'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username'],
  email: ['email', 'email_verified'],
};

export function providerConfiguration(settings: ProviderSettings): Configuration {
  const bySub = new Map(settings.accounts.map(a => [a.sub, a]));
  const clientNames = new Map(settings.clients.map(c => [c.clientId, c.name ?? c.clientId]));
  const page = (ctx: KoaContextWithOIDC, status: number, render: (nonce: string) => string): void => {
    const nonce = randomBytes(16).toString('base64');
    ctx.set('content-security-policy', contentSecurityPolicy({ styleNonce: nonce, formTargets: settings.formTargets }));
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = render(nonce);
  };
  const ownToken = (client: { clientId: string }, token: { clientId?: string }): Promise<boolean> =>
    Promise.resolve(token.clientId === client.clientId);

  return {
    clients: settings.clients.map((c): ClientMetadata => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      client_name: c.name ?? c.clientId,
      redirect_uris: [...c.redirectUris],
      post_logout_redirect_uris: [...c.postLogoutRedirectUris],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    findAccount(_ctx, sub) {
      const account = bySub.get(sub);
      if (account === undefined) return Promise.resolve(undefined);
      const claims = keycloakClaims(account);
      return Promise.resolve<Account>({ accountId: sub, claims: () => ({ ...claims, sub }) });
    },
    // Introspection shows the same role claims a Keycloak access token carries.
    extraTokenClaims(_ctx, token) {
      const account = token.accountId === undefined ? undefined : bySub.get(token.accountId);
      if (account === undefined) return Promise.resolve(undefined);
      const { facility_user_id, realm_access, resource_access, groups } = keycloakClaims(account);
      return Promise.resolve({ facility_user_id, realm_access, resource_access, groups });
    },
    jwks: { keys: [settings.signingKey] },
    // Random per start: a restart invalidates every provider cookie, as it loses every session anyway.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: { sid: null, auth_time: null, iss: null, ...CLAIMS_BY_SCOPE },
    acrValues: [...new Set(settings.accounts.flatMap(a => (a.mfa === undefined ? [] : [a.mfa.acr])))],
    // Scope claims go into the ID token, which is where the gateway reads roles from.
    conformIdTokenClaims: false,
    clientBasedCORS: () => false,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true, allowedPolicy: (_ctx, client, token) => ownToken(client, token) },
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => ownToken(client, token) },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          const client = ctx.oidc.client;
          const name = client === undefined ? undefined : (clientNames.get(client.clientId) ?? client.clientId);
          page(ctx, 200, nonce => logoutPage(nonce, form, name));
          return Promise.resolve();
        },
        postLogoutSuccessSource: (ctx) => {
          page(ctx, 200, nonce => messagePage(nonce, 'Logged out', 'You are logged out of the demo identity provider.'));
          return Promise.resolve();
        },
      },
    },
    renderError: (ctx, out) => {
      const what = [out['error'], out['error_description']].filter((s): s is string => typeof s === 'string').join(': ');
      page(ctx, ctx.status >= 400 ? ctx.status : 400, nonce => messagePage(nonce, 'Login problem', `${what}. Go back to the application and start again.`));
      return Promise.resolve();
    },
    ttl: { AccessToken: settings.accessTokenTtlSeconds, IdToken: settings.accessTokenTtlSeconds, ...TTL },
  };
}
