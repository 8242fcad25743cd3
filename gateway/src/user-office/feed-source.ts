// The user-office data as a JSON document pulled over HTTP(S) on a schedule, from a facility's
// adapter in front of its user office. Conditional requests (ETag, Last-Modified) make an
// unchanged feed cheap; a timeout and a body limit bound every pull. A failed pull keeps the last
// good data and is reported. The start fails when the first pull does, unless a cache file holds
// the last good document (rewritten atomically after every good pull). The bearer token is read
// from its file at each pull (so it can be rotated) and appears in no message. Redirects are not
// followed, so the token never goes to another host. Never logs: the caller logs and audits.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { UserOfficeData } from '../../../policies/src/user-office.js';
import { readSecretFile } from '../secrets.js';
import { parseUserOfficeJson, UserOfficeError } from './load.js';
import { loadedEvent, realSchedule, SourceListeners, type Schedule, type SourceEvent, type SourceListener, type UserOfficeSource } from './source.js';

export interface FeedUserOfficeSourceOptions {
  /** http: only to loopback when a token is sent; credentials belong in tokenFile, not in the URL. */
  readonly url: string;
  /** Time from the end of one pull to the start of the next. */
  readonly intervalMs: number;
  /** For the whole pull: connection, headers and body. */
  readonly timeoutMs: number;
  /** File whose first line is a bearer token, sent as `Authorization: Bearer`. */
  readonly tokenFile?: string;
  /** The last good document, used when the first pull fails; written (mode 0600) after each good pull. */
  readonly cacheFile?: string;
  /** Larger documents are refused (counted after decompression). */
  readonly maxBytes?: number;
  readonly schedule?: Schedule;
}

export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

type Validators = { readonly etag: string | undefined; readonly lastModified: string | undefined };

type Pull =
  | { readonly kind: 'document'; readonly text: string; readonly contentType: string; readonly validators: Validators }
  | { readonly kind: 'not-modified' }
  | { readonly kind: 'failed'; readonly reason: string };

/** A pull, judged. */
type Outcome =
  | { readonly kind: 'accepted'; readonly data: UserOfficeData; readonly text: string; readonly validators: Validators }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'refused'; readonly reason: string };

export class FeedUserOfficeSource implements UserOfficeSource {
  private readonly url: URL;
  /** The URL without credentials, query or fragment: safe in logs and audit records. */
  private readonly shownUrl: string;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly tokenFile: string | undefined;
  private readonly cacheFile: string | undefined;
  private readonly maxBytes: number;
  private readonly schedule: Schedule;
  private readonly listeners = new SourceListeners();
  /** Aborts the pull in flight when the source closes. */
  private readonly closing = new AbortController();
  private data: UserOfficeData | undefined;
  private lastText: string | undefined;
  private validators: Validators = { etag: undefined, lastModified: undefined };
  /** Set while the data is the cache file's copy, until a pull succeeds. */
  private servingCache = false;
  private cancelNext: (() => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private started = false;
  private closed = false;

  constructor(options: FeedUserOfficeSourceOptions) {
    this.url = checkedUrl(options.url, options.tokenFile !== undefined);
    this.shownUrl = shownUrlOf(this.url);
    if (!(options.intervalMs > 0) || !(options.timeoutMs > 0)) {
      throw new UserOfficeError(`${this.shownUrl}: the feed's interval and timeout must be positive (got ${options.intervalMs} and ${options.timeoutMs} ms)`);
    }
    this.intervalMs = options.intervalMs;
    this.timeoutMs = options.timeoutMs;
    this.tokenFile = options.tokenFile;
    this.cacheFile = options.cacheFile;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.schedule = options.schedule ?? realSchedule;
  }

  async start(): Promise<UserOfficeData> {
    if (this.started) throw new Error('FeedUserOfficeSource.start() called twice');
    this.started = true;
    const first = await this.pullAndParse();
    if (this.closed) throw new UserOfficeError(`${this.shownUrl}: the user-office source was closed during start`);
    if (first.kind === 'accepted') {
      const warning = await this.accept(first);
      this.scheduleNext();
      this.emit(loadedEvent(first.data, this.shownUrl, warning));
      return first.data;
    }
    const reason = first.kind === 'refused' ? first.reason : `${this.shownUrl}: HTTP 304 to the first request`;
    const cached = await this.readCache(reason);
    this.data = cached.data;
    this.lastText = cached.text;
    this.servingCache = true;
    this.scheduleNext();
    this.emit({ kind: 'rejected', error: reason, source: this.shownUrl });
    this.emit(loadedEvent(cached.data, this.cacheFile ?? ''));
    return cached.data;
  }

  current(): UserOfficeData {
    if (this.data === undefined) throw new Error('FeedUserOfficeSource.current() before start() succeeded');
    return this.data;
  }

  /** Pulls now, after any pull in flight; the schedule goes on as before. */
  refresh(): Promise<SourceEvent | undefined> {
    if (this.data === undefined) return Promise.reject(new Error('FeedUserOfficeSource.refresh() before start() succeeded'));
    return this.enqueue(false);
  }

  onChange(listener: SourceListener): () => void {
    return this.listeners.add(listener);
  }

  describe(): string {
    return this.servingCache ? `${this.cacheFile ?? ''} (the cached copy of ${this.shownUrl}, which did not answer)` : this.shownUrl;
  }

  close(): void {
    this.closed = true;
    this.cancelNext?.();
    this.closing.abort();
  }

  private scheduleNext(): void {
    if (this.closed) return;
    this.cancelNext = this.schedule(() => {
      void this.enqueue(true);
    }, this.intervalMs);
  }

  /** Pulls one after another. A listener's exception rejects the promise (unhandled when the pull was scheduled). */
  private enqueue(scheduled: boolean): Promise<SourceEvent | undefined> {
    const run = this.queue.then(() => this.pullAndApply(scheduled));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async pullAndApply(scheduled: boolean): Promise<SourceEvent | undefined> {
    let result: Outcome;
    try {
      result = await this.pullAndParse();
    } finally {
      // The next pull is one interval after this one ended, whatever its outcome.
      if (scheduled) this.scheduleNext();
    }
    if (this.closed) return undefined;
    switch (result.kind) {
      case 'unchanged':
        return undefined;
      case 'refused':
        return this.emit({ kind: 'rejected', error: result.reason, source: this.shownUrl });
      case 'accepted': {
        const warning = await this.accept(result);
        return this.emit(loadedEvent(result.data, this.shownUrl, warning));
      }
    }
  }

  /** One pull, validated; changes no state except the validators of an unchanged document. */
  private async pullAndParse(): Promise<Outcome> {
    const pulled = await this.pull();
    switch (pulled.kind) {
      case 'not-modified':
        return this.data === undefined ? { kind: 'refused', reason: `${this.shownUrl}: HTTP 304 although nothing was asked conditionally` } : { kind: 'unchanged' };
      case 'failed':
        return { kind: 'refused', reason: pulled.reason };
      case 'document':
        if (pulled.text === this.lastText && !this.servingCache) {
          // The same document without ETag support: nothing to report, but remember new validators.
          this.validators = pulled.validators;
          return { kind: 'unchanged' };
        }
        try {
          const data = parseUserOfficeJson(pulled.text, this.shownUrl, `content-type ${pulled.contentType}`);
          return { kind: 'accepted', data, text: pulled.text, validators: pulled.validators };
        } catch (e) {
          if (e instanceof UserOfficeError) return { kind: 'refused', reason: e.message };
          throw e;
        }
    }
  }

  /** Makes a good document current; returns a warning when the cache could not be written. */
  private async accept(result: Extract<Outcome, { kind: 'accepted' }>): Promise<string | undefined> {
    this.data = result.data;
    this.lastText = result.text;
    this.validators = result.validators;
    this.servingCache = false;
    return this.cacheFile === undefined ? undefined : writeAtomically(this.cacheFile, result.text);
  }

  private async pull(): Promise<Pull> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = AbortSignal.any([timeout, this.closing.signal]);
    const failed = (reason: string): Pull => ({ kind: 'failed', reason: `${this.shownUrl}: ${reason}` });
    let headers: Record<string, string>;
    try {
      headers = this.requestHeaders();
    } catch (e) {
      return failed((e as Error).message);
    }
    try {
      const response = await fetch(this.url, { headers, signal, redirect: 'manual' });
      if (response.status === 304) {
        await response.body?.cancel();
        return { kind: 'not-modified' };
      }
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        const location = response.headers.get('location');
        const target = location !== null && URL.canParse(location, this.url.href) ? ` to ${shownUrlOf(new URL(location, this.url))}` : '';
        return failed(`HTTP ${response.status}: the feed redirects${target}; configure the final URL (redirects are not followed, so the token stays with this host)`);
      }
      const body = await readLimited(response, response.ok ? this.maxBytes : 4096);
      if (!response.ok) {
        return failed(`HTTP ${response.status} ${response.statusText}${statusHint(response.status)}${snippet(body, headers['authorization'])}`);
      }
      if (body === undefined) return failed(`the document is larger than ${this.maxBytes} bytes (maxBytes); is this the right URL?`);
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(body);
      } catch {
        return failed('the document is not valid UTF-8');
      }
      return {
        kind: 'document',
        text,
        contentType: response.headers.get('content-type') ?? 'none',
        validators: { etag: response.headers.get('etag') ?? undefined, lastModified: response.headers.get('last-modified') ?? undefined },
      };
    } catch (e) {
      if (timeout.aborted) return failed(`no complete answer within ${this.timeoutMs} ms`);
      if (this.closing.signal.aborted) return failed('closed');
      return failed(`unreachable (${networkDetail(e)})`);
    }
  }

  private requestHeaders(): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'beamgate' };
    if (this.tokenFile !== undefined) headers['authorization'] = `Bearer ${readSecretFile(this.tokenFile, 'user-office feed token')}`;
    // Only while the data is this feed's own: after a start from the cache, the first pull is unconditional.
    if (this.lastText !== undefined && !this.servingCache) {
      if (this.validators.etag !== undefined) headers['if-none-match'] = this.validators.etag;
      if (this.validators.lastModified !== undefined) headers['if-modified-since'] = this.validators.lastModified;
    }
    return headers;
  }

  private async readCache(pullFailure: string): Promise<{ data: UserOfficeData; text: string }> {
    const needed = 'the gateway needs user-office data to start: make the feed answer';
    if (this.cacheFile === undefined) throw new UserOfficeError(`${pullFailure}\n(no cache file is configured; ${needed})`);
    let text: string;
    try {
      text = await readFile(this.cacheFile, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist yet (no pull has succeeded)' : `cannot be read (${code ?? (e as Error).message})`;
      throw new UserOfficeError(`${pullFailure}\n(the cache file ${this.cacheFile} ${why}; ${needed})`);
    }
    try {
      return { data: parseUserOfficeJson(text, this.cacheFile), text };
    } catch (e) {
      if (!(e instanceof UserOfficeError)) throw e;
      throw new UserOfficeError(`${pullFailure}\n(and the cache file is not usable either: ${e.message})`);
    }
  }

  private emit(event: SourceEvent): SourceEvent | undefined {
    if (this.closed) return undefined;
    this.listeners.emit(event);
    return event;
  }
}

function checkedUrl(text: string, sendsToken: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserOfficeError(`userOffice.feed.url: not a URL: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const shown = shownUrlOf(url);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UserOfficeError(`${shown}: the feed must be http: or https:`);
  if (url.username !== '' || url.password !== '') {
    throw new UserOfficeError(`${shown}: the feed URL carries credentials; put a bearer token in userOffice.feed.tokenFile instead`);
  }
  if (sendsToken && url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new UserOfficeError(`${shown}: refusing to send the feed token in clear text over http: to another host; use https:`);
  }
  return url;
}

/** Scheme, host and path: a query may carry a key, so it is only hinted at. */
function shownUrlOf(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search === '' ? '' : '?...'}`;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** The body, or undefined as soon as it grows past max bytes (the rest is not read). */
async function readLimited(response: Response, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (response.body === null) return new Uint8Array(0);
  if (declared > max) {
    await response.body.cancel();
    return undefined;
  }
  // Node's fetch types leave the chunk type open; fetch bodies are byte streams.
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** fetch says only "fetch failed"; the cause says why (ECONNREFUSED, a certificate problem, ...). */
function networkDetail(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : '';
  const message = typeof cause?.message === 'string' ? cause.message : '';
  if (message === '') return code === '' ? (e as Error).message : code;
  return message.includes(code) ? message : `${code}: ${message}`;
}

function statusHint(status: number): string {
  if (status === 401 || status === 403) return ' (check the token in userOffice.feed.tokenFile)';
  if (status === 404) return ' (check userOffice.feed.url)';
  return '';
}

/**
 * The start of an error body, on one line: adapters often say what is wrong. A debugging page
 * that echoes the request must not carry the token into the logs.
 */
function snippet(body: Uint8Array | undefined, authorization: string | undefined): string {
  if (body === undefined || body.byteLength === 0) return '';
  let text = Buffer.from(body).toString('utf8');
  const token = authorization?.slice('Bearer '.length);
  if (token !== undefined && token !== '') text = text.replaceAll(token, '[token]');
  text = text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  return text === '' ? '' : `: ${text.slice(0, 200)}`;
}

/**
 * Writes the file so that a reader (the next start) sees the old or the new document, never a
 * half-written one: a temporary file next to it, flushed, then renamed over it. Returns a warning
 * instead of throwing: a cache that cannot be written does not make the data less good.
 */
async function writeAtomically(path: string, text: string): Promise<string | undefined> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // 0600: the document names people and their trainings.
    const file = await open(temporary, 'wx', 0o600);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
    return undefined;
  } catch (e) {
    await unlink(temporary).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return `cannot write the cache file ${path} (${code}); the data is in force, but a start while the feed is down would fail`;
  }
}
