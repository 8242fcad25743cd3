// Browser-less OpenID Connect login for integration tests: starts at the application's login URL,
// follows redirects with a small cookie jar, fills the demo identity provider's login form, and
// returns the cookies the application set once its callback has answered. It can also stop in
// front of the callback so a test can replay or tamper with the code and state. It runs no
// script: a page that would submit its own form by script has that form submitted. Test-only.
//
// The jar behaves like a browser's where these flows need it: cookies belong to a host name
// (not a port, so the provider and the application on 127.0.0.1 share them, as in a browser),
// Path and expiry are honoured. SameSite is not: on loopback every hop is same-site anyway.

export class OidcLoginError extends Error {
  override readonly name = 'OidcLoginError';
  constructor(message: string, readonly kind: 'wrong-credentials' | 'unexpected-response' | 'too-many-hops') {
    super(message);
  }
}

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly host: string;
  /** Domain cookies also go to subdomains; host-only ones only to `host`. */
  readonly hostOnly: boolean;
  readonly path: string;
  readonly secure: boolean;
  readonly expiresAt: number | undefined;
  /** The origin whose response set it, so a test can ask for "the application's cookies". */
  readonly setBy: string;
}

export class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Takes the Set-Cookie headers of a response to `url`. */
  store(url: URL, setCookieHeaders: readonly string[]): void {
    for (const header of setCookieHeaders) {
      const cookie = parseSetCookie(url, header, this.clock());
      if (cookie === undefined) continue;
      const key = `${cookie.host}\n${cookie.path}\n${cookie.name}`;
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= this.clock()) this.cookies.delete(key);
      else this.cookies.set(key, cookie);
    }
  }

  /** The Cookie header a browser would send to `url`, or undefined when there is none. */
  header(url: URL): string | undefined {
    const matching = this.live()
      .filter(c => domainMatches(c, url.hostname) && pathMatches(c.path, url.pathname) && (!c.secure || secureContext(url)));
    // Longer paths first, as browsers order them.
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.length === 0 ? undefined : matching.map(c => `${c.name}=${c.value}`).join('; ');
  }

  /** Live cookies that responses from `origin` set: name -> value. */
  setBy(origin: string): Record<string, string> {
    return Object.fromEntries(this.live().filter(c => c.setBy === origin).map(c => [c.name, c.value]));
  }

  private live(): StoredCookie[] {
    const now = this.clock();
    return [...this.cookies.values()].filter(c => c.expiresAt === undefined || c.expiresAt > now);
  }
}

function parseSetCookie(url: URL, header: string, now: number): StoredCookie | undefined {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  let path: string | undefined;
  let domain: string | undefined;
  let secure = false;
  let expiresAt: number | undefined;
  let maxAgeSeen = false;
  for (const attribute of attributes) {
    const [rawName = '', ...rest] = attribute.split('=');
    const name = rawName.trim().toLowerCase();
    const value = rest.join('=').trim();
    if (name === 'path' && value.startsWith('/')) path = value;
    else if (name === 'domain' && value !== '') domain = value.replace(/^\./, '').toLowerCase();
    else if (name === 'secure') secure = true;
    else if (name === 'max-age' && /^-?\d+$/.test(value)) {
      maxAgeSeen = true;
      expiresAt = now + Number(value) * 1000;
    } else if (name === 'expires' && !maxAgeSeen) {
      const at = Date.parse(value);
      if (!Number.isNaN(at)) expiresAt = at;
    }
  }
  const host = domain ?? url.hostname;
  // A response may not set cookies for a domain it is not part of.
  if (domain !== undefined && url.hostname !== domain && !url.hostname.endsWith(`.${domain}`)) return undefined;
  return {
    name: pair.slice(0, eq).trim(),
    value: pair.slice(eq + 1).trim(),
    host,
    hostOnly: domain === undefined,
    path: path ?? defaultPath(url.pathname),
    secure,
    expiresAt,
    setBy: url.origin,
  };
}

/** RFC 6265 5.1.4: the request path up to its last slash. */
function defaultPath(requestPath: string): string {
  const slash = requestPath.lastIndexOf('/');
  return slash <= 0 ? '/' : requestPath.slice(0, slash);
}

function domainMatches(cookie: StoredCookie, hostname: string): boolean {
  return cookie.hostOnly ? hostname === cookie.host : hostname === cookie.host || hostname.endsWith(`.${cookie.host}`);
}

function pathMatches(cookiePath: string, requestPath: string): boolean {
  if (requestPath === cookiePath) return true;
  return requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/');
}

/** Browsers send Secure cookies over https and, as a secure context, to loopback over http. */
function secureContext(url: URL): boolean {
  return url.protocol === 'https:' || ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

export interface OidcLoginOptions {
  /** The application's login URL, e.g. http://127.0.0.1:8080/auth/login?returnTo=/ */
  readonly loginUrl: string | URL;
  readonly username: string;
  readonly password: string;
  /** The application's redirect URI (query ignored); default /auth/callback at the login URL's origin. */
  readonly callbackUrl?: string | URL;
  /** Return the callback URL (code, state, iss) without calling it. */
  readonly stopAtCallback?: boolean;
  /** Reuse a jar to keep the provider's session (single sign-on) or to log out there afterwards. */
  readonly jar?: CookieJar;
  /** For the whole login; default 10 s. */
  readonly timeoutMs?: number;
}

export interface OidcLoginResult {
  /** The callback URL the provider redirected to, with its code, state and iss. */
  readonly callbackUrl: URL;
  /** The callback's answer; undefined with stopAtCallback. */
  readonly status: number | undefined;
  readonly location: string | undefined;
  readonly body: string | undefined;
  /** Cookies the application's responses set (its session cookie among them): name -> value. */
  readonly cookies: Record<string, string>;
  readonly jar: CookieJar;
}

const MAX_HOPS = 20;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Logs in as a browser would. Rejects with OidcLoginError: 'wrong-credentials' when the provider
 * shows its login form again after the password was sent, 'unexpected-response' for any page
 * that is neither a redirect nor the login form (an error page, say), 'too-many-hops' for a loop.
 */
export async function oidcLogin(options: OidcLoginOptions): Promise<OidcLoginResult> {
  const jar = options.jar ?? new CookieJar();
  const signal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const callback = new URL(options.callbackUrl ?? '/auth/callback', options.loginUrl);
  const appOrigin = callback.origin;
  const isCallback = (url: URL): boolean => url.origin === callback.origin && url.pathname === callback.pathname;

  let request: { url: URL; method: 'GET' | 'POST'; form?: URLSearchParams } = { url: new URL(options.loginUrl), method: 'GET' };
  let sentPassword = false;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    if (isCallback(request.url) && request.method === 'GET') {
      const callbackUrl = request.url;
      if (options.stopAtCallback === true) {
        return { callbackUrl, status: undefined, location: undefined, body: undefined, cookies: jar.setBy(appOrigin), jar };
      }
      const response = await send(jar, request, signal);
      const body = await response.text();
      return { callbackUrl, status: response.status, location: response.headers.get('location') ?? undefined, body, cookies: jar.setBy(appOrigin), jar };
    }
    const response = await send(jar, request, signal);
    const body = await response.text();
    const location = response.headers.get('location');
    if (isRedirect(response.status) && location !== null) {
      const next = new URL(location, request.url);
      request = response.status === 307 || response.status === 308 ? { ...request, url: next } : { url: next, method: 'GET' };
      continue;
    }
    const loginForm = response.status === 200 ? findForm(body, f => f.fields.has('password')) : undefined;
    if (loginForm !== undefined) {
      if (sentPassword) {
        throw new OidcLoginError(`the identity provider refused the user name or password of "${options.username}" (it showed the login form again)`, 'wrong-credentials');
      }
      sentPassword = true;
      const form = new URLSearchParams(loginForm.hidden);
      form.set('login', options.username);
      form.set('password', options.password);
      request = { url: new URL(loginForm.action, request.url), method: 'POST', form };
      continue;
    }
    // A page that submits its own form by script (oidc-provider ends the previous person's session
    // that way when someone else logs in in the same browser): do what the browser's script would.
    const selfSubmitting = response.status === 200 && /<script\b/i.test(body);
    const autoSubmit = selfSubmitting ? findForm(body, f => f.fields.size > 0 && f.hidden.length === f.fields.size) : undefined;
    if (autoSubmit !== undefined) {
      request = { url: new URL(autoSubmit.action, request.url), method: 'POST', form: new URLSearchParams(autoSubmit.hidden) };
      continue;
    }
    throw new OidcLoginError(
      `${request.method} ${request.url.origin}${request.url.pathname} answered ${response.status} instead of a redirect or the login form: ${excerpt(body)}`,
      'unexpected-response',
    );
  }
  throw new OidcLoginError(`no callback to ${callback.href} after ${MAX_HOPS} hops`, 'too-many-hops');
}

export interface IdpLogoutResult {
  /** The provider's answer to the confirmation (303 when it logged out). */
  readonly status: number;
  /** Where the provider sends the browser next: the post-logout redirect URI, with state when one was given. */
  readonly location: string | undefined;
}

/**
 * Opens the provider's end-session URL (as built by openid-client's buildEndSessionUrl) and
 * answers "yes, log me out", with the jar that holds the provider's session cookie.
 */
export async function confirmIdpLogout(
  endSessionUrl: string | URL, jar: CookieJar, timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<IdpLogoutResult> {
  const signal = AbortSignal.timeout(timeoutMs);
  const url = new URL(endSessionUrl);
  const page = await send(jar, { url, method: 'GET' }, signal);
  const body = await page.text();
  const form = page.status === 200 ? findForm(body, () => true) : undefined;
  if (form === undefined) {
    throw new OidcLoginError(`the end-session URL answered ${page.status} without a logout form: ${excerpt(body)}`, 'unexpected-response');
  }
  const fields = new URLSearchParams(form.hidden);
  fields.set('logout', 'yes');
  const confirmation = await send(jar, { url: new URL(form.action, url), method: 'POST', form: fields }, signal);
  await confirmation.text();
  return { status: confirmation.status, location: confirmation.headers.get('location') ?? undefined };
}

async function send(jar: CookieJar, request: { url: URL; method: 'GET' | 'POST'; form?: URLSearchParams }, signal: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml' };
  const cookie = jar.header(request.url);
  if (cookie !== undefined) headers['cookie'] = cookie;
  if (request.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    // A browser submitting a form sends the Origin of the page, which here is the form's own.
    headers['origin'] = request.url.origin;
  }
  const response = await fetch(request.url, {
    method: request.method,
    headers,
    ...(request.form === undefined ? {} : { body: request.form.toString() }),
    redirect: 'manual',
    signal,
  });
  jar.store(request.url, response.headers.getSetCookie());
  return response;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

interface HtmlForm {
  readonly action: string;
  /** Names of every input. */
  readonly fields: ReadonlySet<string>;
  /** Hidden inputs with their values, to send back as they are. */
  readonly hidden: [string, string][];
}

/** The first <form> (with its inputs) that `accept` takes; a regular-expression reading, enough for the provider's simple pages. */
function findForm(html: string, accept: (form: HtmlForm) => boolean): HtmlForm | undefined {
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = attributesOf(match[1] ?? '');
    const fields = new Set<string>();
    const hidden: [string, string][] = [];
    for (const input of (match[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributesOf(input[1] ?? '');
      const name = a.get('name');
      if (name === undefined) continue;
      fields.add(name);
      if (a.get('type')?.toLowerCase() === 'hidden') hidden.push([name, a.get('value') ?? '']);
    }
    const form: HtmlForm = { action: attributes.get('action') ?? '', fields, hidden };
    if (accept(form)) return form;
  }
  return undefined;
}

function attributesOf(tag: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const m of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) {
    attributes.set((m[1] ?? '').toLowerCase(), decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return attributes;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: '\'' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity.startsWith('#x') || entity.startsWith('#X')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    return NAMED_ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

/** The page's visible text, shortened, for error messages. */
function excerpt(html: string): string {
  const text = html.replace(/<style[\s\S]*?<\/style>/gi, ' ').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text === '' ? '(empty body)' : text;
}
