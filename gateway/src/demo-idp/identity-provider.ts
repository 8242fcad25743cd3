// A local OpenID Connect provider for the demo and the tests: oidc-provider in this process, on
// its own loopback HTTP server, with the demo accounts, real password checks and Keycloak-shaped
// claims (docs/demo-idp.md). Development and tests only: the accounts and their passwords are
// public, and everything (sessions, grants, tokens, the signing key) lives in memory, so a
// restart logs everyone out. Production uses the facility's Keycloak or another OIDC provider.
import { generateKeyPair, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { Provider, type Grant, type Session } from 'oidc-provider';
import { DEMO_ACCOUNTS, type DemoAccount } from './accounts.js';
import { handleInteraction, INTERACTION_PATH } from './interaction-routes.js';
import { contentSecurityPolicy } from './pages.js';
import { providerConfiguration, type DemoClient } from './provider-configuration.js';

export type { DemoClient } from './provider-configuration.js';

/** Where the provider's notes go. Nothing logged here contains a password or a token. */
export interface DemoIdpLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface DemoIdentityProviderOptions {
  /** A loopback address: the demo accounts' passwords are public. */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly clients: readonly DemoClient[];
  /** Defaults to DEMO_ACCOUNTS. */
  readonly accounts?: readonly DemoAccount[];
  /** Lifetime of access and ID tokens; short values let tests exercise refreshing. Default 300. */
  readonly accessTokenTtlSeconds?: number;
  /** Default: silent. */
  readonly log?: DemoIdpLog;
}

export interface DemoIdentityProvider {
  /** e.g. http://127.0.0.1:41234; discovery is at `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly port: number;
  /**
   * Ends every provider session of this person and revokes all their grants with every token
   * issued under them, as an administrator disabling the account would. Returns how many grants
   * were revoked. Throws for an unknown login.
   */
  revokeAllFor(login: string): Promise<number>;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const DEFAULT_ACCESS_TOKEN_TTL_S = 300;
const SILENT: DemoIdpLog = { info: () => undefined, warn: () => undefined };

export async function startDemoIdentityProvider(options: DemoIdentityProviderOptions): Promise<DemoIdentityProvider> {
  if (!LOOPBACK.has(options.host)) {
    throw new Error(`the demo identity provider listens only on loopback (127.0.0.1, ::1 or localhost), not ${options.host}: its accounts and passwords are public`);
  }
  if (options.clients.length === 0) throw new Error('the demo identity provider needs at least one client (the gateway)');
  const accounts = options.accounts ?? DEMO_ACCOUNTS;
  const log = options.log ?? SILENT;
  const signingKey = await newSigningKey();

  // The request handler comes once the provider exists: the issuer names the port, known only after listening.
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;

  const clientUris = options.clients.flatMap(c => [...c.redirectUris, ...c.postLogoutRedirectUris]);
  const formTargets = [...new Set(clientUris.map(u => new URL(u).origin))];
  const configuration = providerConfiguration({
    clients: options.clients,
    accounts,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_S,
    signingKey,
    formTargets,
  });
  let provider: Provider;
  try {
    provider = routingConsole(log, () => new Provider(issuer, configuration));
  } catch (e) {
    await closeServer(server);
    throw e;
  }

  // Every provider response gets the strict policy; pages with a style block replace it with their nonce'd one.
  provider.use(async (ctx, next) => {
    ctx.set('content-security-policy', contentSecurityPolicy({ formTargets }));
    ctx.set('x-content-type-options', 'nosniff');
    ctx.set('referrer-policy', 'no-referrer');
    await next();
  });
  const grantsOf = new Map<string, Set<string>>();
  const sessionsOf = new Map<string, Set<string>>();
  const remember = (index: Map<string, Set<string>>, accountId: string | undefined, id: string): void => {
    if (accountId === undefined) return;
    let ids = index.get(accountId);
    if (ids === undefined) index.set(accountId, ids = new Set());
    ids.add(id);
  };
  provider.on('grant.saved', (grant: Grant) => {
    remember(grantsOf, grant.accountId, grant.jti);
  });
  provider.on('session.saved', (session: Session) => {
    remember(sessionsOf, session.accountId, session.jti);
  });
  provider.on('server_error', (_ctx: unknown, err: Error) => {
    log.warn(`demo identity provider: internal error: ${err.message}`);
  });
  // A listener here also keeps Koa from printing errors to the console itself.
  provider.on('error', (err: Error) => {
    log.warn(`demo identity provider: ${err.message}`);
  });
  for (const event of ['authorization.error', 'grant.error', 'introspection.error', 'revocation.error', 'end_session.error']) {
    provider.on(event, (_ctx: unknown, err: Error & { error_description?: string }) => {
      log.info(`demo identity provider: ${event}: ${err.message}${err.error_description === undefined ? '' : ` (${err.error_description})`}`);
    });
  }

  const clientNames = new Map(options.clients.map(c => [c.clientId, c.name ?? c.clientId]));
  const interactionDeps = { provider, accounts, clientNames, formTargets, log };
  const providerCallback = provider.callback();
  const route: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    const match = INTERACTION_PATH.exec((req.url ?? '/').split('?', 1)[0] ?? '/');
    const work = match?.[1] === undefined ? providerCallback(req, res) : handleInteraction(req, res, match[1], interactionDeps);
    work.catch((e: unknown) => {
      log.warn(`demo identity provider: request failed: ${e instanceof Error ? e.message : String(e)}`);
      if (res.headersSent) res.destroy();
      else res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('The demo identity provider failed; see its log.');
    });
  };
  server.on('request', route);
  log.info(`demo identity provider: listening at ${issuer}`);

  return {
    issuer,
    port,
    async revokeAllFor(login) {
      const account = accounts.find(a => a.login === login);
      if (account === undefined) throw new Error(`no demo account "${login}"`);
      const grants = [...(grantsOf.get(account.sub) ?? [])];
      await Promise.all(grants.flatMap(grantId => [
        provider.AccessToken.revokeByGrantId(grantId),
        provider.RefreshToken.revokeByGrantId(grantId),
        provider.AuthorizationCode.revokeByGrantId(grantId),
        provider.Grant.adapter.destroy(grantId),
      ]));
      await Promise.all([...(sessionsOf.get(account.sub) ?? [])].map(id => provider.Session.adapter.destroy(id)));
      grantsOf.delete(account.sub);
      sessionsOf.delete(account.sub);
      log.info(`demo identity provider: revoked ${grants.length} grant(s) of ${login}`);
      return grants.length;
    },
    close: () => closeServer(server),
  };
}

async function newSigningKey(): Promise<Record<string, unknown>> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 }) as { privateKey: KeyObject };
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

function closeServer(server: ReturnType<typeof createServer>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}

const ANSI_STYLE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/**
 * Runs `make` (synchronous, so nothing else can log meanwhile) with oidc-provider's console
 * notices sent to `log` instead: constructing a provider warns about the in-memory adapter, which
 * is the intended store here. Other console output passes through unchanged.
 */
function routingConsole<T>(log: DemoIdpLog, make: () => T): T {
  const { warn, info } = console;
  const route = (to: (message: string) => void, fallback: (...args: unknown[]) => void) => (...args: unknown[]): void => {
    const [first] = args;
    const plain = typeof first === 'string' ? first.replace(ANSI_STYLE, '') : undefined;
    if (plain?.startsWith('oidc-provider ') === true) to(plain);
    else fallback.apply(console, args);
  };
  console.warn = route((m) => {
    log.warn(m);
  }, warn);
  console.info = route((m) => {
    log.info(m);
  }, info);
  try {
    return make();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}
