// Types for the part of oidc-provider 9.13 that the demo identity provider uses. The package
// ships no declarations, and @types/oidc-provider describes version 8; this covers only what
// gateway/src/demo-idp calls, checked against node_modules/oidc-provider/lib. If
// @types/oidc-provider is ever installed, delete this file.
declare module 'oidc-provider' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type JsonObject = Record<string, unknown>;

  /** The Koa context as oidc-provider hands it to configuration callbacks. */
  export interface KoaContextWithOIDC {
    status: number;
    type: string;
    body: unknown;
    readonly path: string;
    readonly method: string;
    set(field: string, value: string): void;
    get(field: string): string;
    readonly oidc: {
      readonly client?: { readonly clientId: string; readonly clientName?: string } | undefined;
      readonly route: string;
    };
  }

  export type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

  export interface AccountClaims extends JsonObject {
    sub: string;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string, claims: JsonObject, rejected: string[]): AccountClaims | Promise<AccountClaims>;
  }

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    client_name?: string;
    redirect_uris: string[];
    post_logout_redirect_uris?: string[];
    grant_types?: string[];
    response_types?: string[];
    token_endpoint_auth_method?: string;
  }

  export interface InteractionResults {
    login?: { accountId: string; acr?: string; amr?: string[]; remember?: boolean; ts?: number };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  export interface Interaction {
    readonly uid: string;
    readonly prompt: { readonly name: string; readonly reasons: readonly string[]; readonly details: JsonObject };
    readonly params: Readonly<Record<string, unknown>>;
    readonly session?: { readonly accountId: string; readonly uid: string } | undefined;
    readonly grantId?: string | undefined;
    readonly returnTo: string;
  }

  export interface Grant {
    readonly jti: string;
    readonly accountId: string;
    readonly clientId: string;
    addOIDCScope(scope: string): void;
    save(ttl?: number): Promise<string>;
  }

  export interface GrantConstructor {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
    readonly adapter: { destroy(id: string): Promise<void> };
  }

  export interface GrantIdRevocable {
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface Session {
    readonly jti: string;
    readonly accountId?: string;
  }

  export interface Token {
    readonly accountId?: string;
    readonly clientId?: string;
  }

  /** Whether `client` may introspect or revoke `token`. */
  export type TokenPolicy = (ctx: KoaContextWithOIDC, client: { clientId: string }, token: Token) => Promise<boolean>;

  export interface Configuration {
    clients?: ClientMetadata[];
    findAccount?: (ctx: KoaContextWithOIDC, sub: string, token?: unknown) => Promise<Account | undefined>;
    extraTokenClaims?: (ctx: KoaContextWithOIDC, token: Token) => Promise<JsonObject | undefined>;
    jwks?: { keys: JsonObject[] };
    cookies?: { keys?: string[] };
    pkce?: { required?: (ctx: KoaContextWithOIDC, client: unknown) => boolean };
    responseTypes?: string[];
    scopes?: string[];
    claims?: Record<string, null | string[]>;
    acrValues?: string[];
    conformIdTokenClaims?: boolean;
    clientBasedCORS?: (ctx: KoaContextWithOIDC, origin: string, client: unknown) => boolean;
    interactions?: { url?: (ctx: KoaContextWithOIDC, interaction: Interaction) => string | Promise<string> };
    features?: {
      devInteractions?: { enabled: boolean };
      introspection?: { enabled: boolean; allowedPolicy?: TokenPolicy };
      revocation?: { enabled: boolean; allowedPolicy?: TokenPolicy };
      rpInitiatedLogout?: {
        enabled: boolean;
        logoutSource?: (ctx: KoaContextWithOIDC, form: string) => Promise<void>;
        postLogoutSuccessSource?: (ctx: KoaContextWithOIDC) => Promise<void>;
      };
      userinfo?: { enabled: boolean };
    };
    renderError?: (ctx: KoaContextWithOIDC, out: Record<string, string | undefined>, error: Error) => Promise<void>;
    ttl?: Record<string, number>;
  }

  export class Provider extends EventEmitter {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    use(middleware: Middleware): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(
      req: IncomingMessage, res: ServerResponse, result: InteractionResults, options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    readonly Grant: GrantConstructor;
    readonly AccessToken: GrantIdRevocable;
    readonly RefreshToken: GrantIdRevocable;
    readonly AuthorizationCode: GrantIdRevocable;
    readonly Session: { readonly adapter: { destroy(id: string): Promise<void> } };
  }

  export default Provider;
}
