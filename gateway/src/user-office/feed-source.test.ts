import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { FeedUserOfficeSource, type FeedUserOfficeSourceOptions } from './feed-source.js';
import { UserOfficeError } from './load.js';
import type { SourceEvent } from './source.js';
import { lineOfText, ManualSchedule, recordEvents, sampleJson } from './test-support.js';

const TIMEOUT = { timeout: 20_000 };
const INTERVAL_MS = 300_000;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function withUsers(count: number): string {
  return sampleJson((doc) => {
    doc['users'] = Array.from({ length: count }, (_, i) => ({ id: `u${i}`, name: `User ${i}` }));
  });
}

function json(body: string, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };
}

function loaded(event: SourceEvent | undefined): Extract<SourceEvent, { kind: 'loaded' }> {
  assert.ok(event !== undefined, 'expected an event');
  assert.equal(event.kind, 'loaded', event.kind === 'rejected' ? event.error : '');
  return event;
}

function rejected(event: SourceEvent | undefined): Extract<SourceEvent, { kind: 'rejected' }> {
  assert.ok(event !== undefined, 'expected an event');
  assert.equal(event.kind, 'rejected');
  return event;
}

describe('FeedUserOfficeSource', TIMEOUT, () => {
  let server: Server;
  let base: string;
  let url: string;
  let dir: string;
  let handler: Handler;
  let requests: { url: string; headers: IncomingHttpHeaders }[];
  /** Called when the server receives a request; replaced by tests that wait for one. */
  let onRequest: () => void;
  const held: ServerResponse[] = [];
  const sources: FeedUserOfficeSource[] = [];

  const hold: Handler = (_req, res) => {
    held.push(res);
  };
  const open = (options: Partial<FeedUserOfficeSourceOptions> = {}): FeedUserOfficeSource => {
    const defaults = { url, intervalMs: INTERVAL_MS, timeoutMs: 5000, schedule: new ManualSchedule().schedule };
    const source = new FeedUserOfficeSource({ ...defaults, ...options });
    sources.push(source);
    return source;
  };
  const started = async (options: Partial<FeedUserOfficeSourceOptions> = {}): Promise<FeedUserOfficeSource> => {
    handler = json(withUsers(1));
    const source = open(options);
    await source.start();
    return source;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'beamgate-uo-feed-'));
    server = createServer((req, res) => {
      requests.push({ url: req.url ?? '', headers: req.headers });
      onRequest();
      handler(req, res);
    });
    await new Promise<void>((resolve) => {
      server.listen(0, '127.0.0.1', resolve);
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    url = `${base}/feed`;
    requests = [];
    onRequest = () => undefined;
  });
  afterEach(() => {
    for (const source of sources.splice(0)) source.close();
    for (const res of held.splice(0)) res.destroy();
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the document at start and keeps a copy in the cache file (0600)', async () => {
    const body = withUsers(2);
    handler = json(body);
    const cacheFile = join(dir, 'start', 'cache.json');
    const source = open({ cacheFile });
    const events = recordEvents(source);
    const data = await source.start();
    assert.equal(data.users.length, 2);
    assert.equal(source.current(), data);
    assert.equal(source.describe(), url);
    assert.equal(events.length, 1);
    const event = loaded(events[0]);
    assert.equal(event.source, url);
    assert.equal(event.counts.users, 2);
    assert.equal(event.warning, undefined);
    assert.equal(await readFile(cacheFile, 'utf8'), body);
    assert.equal((await stat(cacheFile)).mode & 0o777, 0o600);
    assert.equal(requests[0]?.headers['if-none-match'], undefined);
    assert.equal(requests[0]?.headers.accept, 'application/json');
  });

  it('asks conditionally with the ETag and Last-Modified; 304 changes nothing', async () => {
    const lastModified = 'Wed, 21 Oct 2015 07:28:00 GMT';
    handler = json(withUsers(1), { etag: '"v1"', 'last-modified': lastModified });
    const source = open();
    const data = await source.start();
    const events = recordEvents(source);
    handler = (req, res) => {
      res.writeHead(req.headers['if-none-match'] === '"v1"' ? 304 : 200, { etag: '"v1"' });
      res.end(req.headers['if-none-match'] === '"v1"' ? undefined : withUsers(9));
    };
    assert.equal(await source.refresh(), undefined);
    assert.equal(requests[1]?.headers['if-none-match'], '"v1"');
    assert.equal(requests[1].headers['if-modified-since'], lastModified);
    assert.equal(source.current(), data);
    assert.deepEqual(events, []);
  });

  it('says nothing when a feed without ETag serves the same document, and loads a new one', async () => {
    const source = await started();
    const events = recordEvents(source);
    assert.equal(await source.refresh(), undefined);
    handler = json(withUsers(4), { etag: '"v2"' });
    assert.equal(loaded(await source.refresh()).data.users.length, 4);
    assert.equal(requests[2]?.headers['if-none-match'], undefined, 'no ETag was known before this pull');
    assert.equal(events.length, 1);
  });

  it('keeps the last good data on HTTP 500 and says why', async () => {
    const source = await started();
    handler = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('user office database\n\tis down');
    };
    const event = rejected(await source.refresh());
    assert.equal(event.error, `${url}: HTTP 500 Internal Server Error: user office database is down`);
    assert.equal(event.source, url);
    assert.equal(source.current().users.length, 1);
  });

  it('gives up on a feed that does not answer within the timeout', async () => {
    const source = await started({ timeoutMs: 200 });
    handler = hold;
    assert.equal(rejected(await source.refresh()).error, `${url}: no complete answer within 200 ms`);
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"version": 1, ');
      held.push(res);
    };
    assert.equal(rejected(await source.refresh()).error, `${url}: no complete answer within 200 ms`, 'the timeout covers the body');
    assert.equal(source.current().users.length, 1);
  });

  it('refuses a body larger than maxBytes, declared or streamed', async () => {
    const source = await started({ maxBytes: 4000 });
    handler = json(withUsers(100));
    assert.equal(rejected(await source.refresh()).error, `${url}: the document is larger than 4000 bytes (maxBytes); is this the right URL?`);
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = ' '.repeat(1000);
      // Streamed without a length: the limit must hold while reading.
      for (let i = 0; i < 10; i++) res.write(chunk);
      held.push(res);
    };
    assert.match(rejected(await source.refresh()).error, /larger than 4000 bytes/);
  });

  it('refuses a body that is not JSON, naming its content type', async () => {
    const source = await started();
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>Login</html>');
    };
    const error = rejected(await source.refresh()).error;
    assert.match(error, /^http:\/\/127\.0\.0\.1:\d+\/feed: not valid JSON \(content-type text\/html\): Unexpected token/);
  });

  it('refuses a document that fails the schema, with the path and line', async () => {
    const source = await started();
    const body = withUsers(1).replace('"principal-investigator"', '"boss"');
    handler = json(body);
    const event = rejected(await source.refresh());
    const line = lineOfText(body, '"boss"');
    const expected = 'Invalid option: expected one of "principal-investigator"|"participant"|"observer"';
    assert.equal(event.error, `${url}: invalid user-office data:\n  beamtimes.0.participants.0.role (line ${line}): ${expected}`);
  });

  it('sends the bearer token from its file, rereads it, and never shows it', async () => {
    const tokenFile = join(dir, 'feed.token');
    await writeFile(tokenFile, 'first-secret-token\n');
    let expected = 'Bearer first-secret-token';
    const authorised: Handler = (req, res) => {
      if (req.headers.authorization === expected) {
        json(withUsers(1))(req, res);
        return;
      }
      res.writeHead(401);
      // A debugging adapter that echoes the request: the gateway must not log what it echoes.
      res.end(`wrong token ${req.headers.authorization ?? ''}`);
    };
    const source = open({ tokenFile });
    handler = authorised;
    const events = recordEvents(source);
    await source.start();
    assert.equal(requests[0]?.headers.authorization, 'Bearer first-secret-token');
    await writeFile(tokenFile, 'second-secret-token\n');
    expected = 'Bearer other';
    assert.equal(rejected(await source.refresh()).error, `${url}: HTTP 401 Unauthorized (check the token in userOffice.feed.tokenFile): wrong token Bearer [token]`);
    assert.equal(requests[1]?.headers.authorization, 'Bearer second-secret-token');
    await rm(tokenFile);
    assert.match(rejected(await source.refresh()).error, /feed\.token: cannot read the user-office feed token \(ENOENT\)/);
    assert.doesNotMatch(JSON.stringify([...events, source.describe()]), /secret-token/);
  });

  it('starts from the cache file when the first pull fails, and leaves it at the next good pull', async () => {
    const cacheFile = join(dir, 'fallback-cache.json');
    await started({ cacheFile });
    handler = (_req, res) => {
      res.writeHead(503);
      res.end();
    };
    const source = open({ cacheFile });
    const events = recordEvents(source);
    const data = await source.start();
    assert.equal(data.users.length, 1);
    assert.equal(events.length, 2);
    assert.equal(rejected(events[0]).error, `${url}: HTTP 503 Service Unavailable`);
    assert.equal(loaded(events[1]).source, cacheFile);
    assert.equal(source.describe(), `${cacheFile} (the cached copy of ${url}, which did not answer)`);

    handler = json(withUsers(1), { etag: '"v7"' });
    const event = loaded(await source.refresh());
    assert.equal(event.source, url, 'the same document, but now from the feed: worth saying');
    assert.equal(source.describe(), url);
  });

  it('refuses to start when the first pull fails and there is no usable cache', async () => {
    handler = (_req, res) => {
      res.writeHead(503);
      res.end();
    };
    const failure = `${url}: HTTP 503 Service Unavailable`;
    const needed = 'the gateway needs user-office data to start: make the feed answer';
    const cases: [Partial<FeedUserOfficeSourceOptions>, string][] = [
      [{}, `${failure}\n(no cache file is configured; ${needed})`],
      [{ cacheFile: join(dir, 'never-written.json') }, `${failure}\n(the cache file ${join(dir, 'never-written.json')} does not exist yet (no pull has succeeded); ${needed})`],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(open(options).start(), (e: unknown) => {
        assert.ok(e instanceof UserOfficeError);
        assert.equal(e.message, message);
        return true;
      });
    }
    const broken = join(dir, 'broken-cache.json');
    await writeFile(broken, '{"version": 2}');
    await assert.rejects(open({ cacheFile: broken }).start(), new RegExp(`not usable either: ${broken}: invalid user-office data:\n {2}version`));
  });

  it('reports an unreachable feed with the system error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => {
      closed.listen(0, '127.0.0.1', resolve);
    });
    const port = (closed.address() as AddressInfo).port;
    await new Promise(resolve => closed.close(resolve));
    url = `http://127.0.0.1:${port}/feed`;
    await assert.rejects(open().start(), new RegExp(`^UserOfficeError: http://127\\.0\\.0\\.1:${port}/feed: unreachable \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)\n`));
  });

  it('does not follow a redirect (the token stays with the configured host)', async () => {
    const source = await started();
    handler = (req, res) => {
      res.writeHead(req.url === '/feed' ? 302 : 200, { location: '/elsewhere?key=1' });
      res.end(req.url === '/feed' ? '' : withUsers(3));
    };
    assert.equal(rejected(await source.refresh()).error,
      `${url}: HTTP 302: the feed redirects to ${base}/elsewhere?...; configure the final URL (redirects are not followed, so the token stays with this host)`);
    assert.deepEqual(requests.map(r => r.url), ['/feed', '/feed']);
  });

  it('pulls on its schedule, one interval after the last pull ended', async () => {
    const schedule = new ManualSchedule();
    const source = await started({ schedule: schedule.schedule });
    assert.deepEqual(schedule.pending(), [INTERVAL_MS]);
    handler = json(withUsers(2));
    const events = recordEvents(source);
    const pulled = new Promise<void>((resolve) => {
      onRequest = resolve;
    });
    assert.equal(schedule.fire(INTERVAL_MS), 1);
    assert.deepEqual(schedule.pending(), [], 'no next pull while this one runs');
    await pulled;
    // The event arrives after the pull; wait for it through the source's own queue.
    handler = json(withUsers(2));
    assert.equal(await source.refresh(), undefined);
    assert.equal(loaded(events[0]).data.users.length, 2);
    assert.deepEqual(schedule.pending(), [INTERVAL_MS]);
    source.close();
    assert.deepEqual(schedule.pending(), [], 'close cancels the next pull');
  });

  it('aborts a pull in flight on close and emits nothing', async () => {
    const source = await started();
    const events = recordEvents(source);
    handler = hold;
    const arrived = new Promise<void>((resolve) => {
      onRequest = resolve;
    });
    const refreshing = source.refresh();
    await arrived;
    source.close();
    assert.equal(await refreshing, undefined);
    assert.deepEqual(events, []);
  });

  it('keeps the data when the cache cannot be written, with a warning', async () => {
    const notADirectory = join(dir, 'plain-file');
    await writeFile(notADirectory, '');
    const source = open({ cacheFile: join(notADirectory, 'cache.json') });
    handler = json(withUsers(1));
    const events = recordEvents(source);
    await source.start();
    assert.match(loaded(events[0]).warning ?? '', /^cannot write the cache file .*plain-file\/cache\.json \((EEXIST|ENOTDIR)\); the data is in force/);
  });

  it('shows no query string (it may hold a key)', async () => {
    url = `${base}/feed?api_key=hush`;
    handler = json(withUsers(1).replace('"version": 1', '"version": 3'));
    const source = open();
    await assert.rejects(source.start(), (e: unknown) => {
      assert.ok(e instanceof UserOfficeError);
      assert.match(e.message, new RegExp(`^${base}/feed\\?\\.\\.\\.: `));
      assert.doesNotMatch(e.message, /hush/);
      return true;
    });
    assert.equal(requests[0]?.url, '/feed?api_key=hush');
    assert.equal(source.describe(), `${base}/feed?...`);
  });

  it('refuses a configuration that would leak credentials', () => {
    const refuses = (options: Partial<FeedUserOfficeSourceOptions>, message: RegExp): void => {
      assert.throws(() => new FeedUserOfficeSource({ url, intervalMs: 1000, timeoutMs: 1000, ...options }), (e: unknown) => {
        assert.ok(e instanceof UserOfficeError);
        assert.match(e.message, message);
        return true;
      });
    };
    refuses({ url: 'http://uo.example.org/feed', tokenFile: '/t' }, /^http:\/\/uo\.example\.org\/feed: refusing to send the feed token in clear text/);
    refuses({ url: 'https://user:pw@uo.example.org/feed' }, /^https:\/\/uo\.example\.org\/feed: the feed URL carries credentials/);
    refuses({ url: 'ftp://uo.example.org/feed' }, /must be http: or https:/);
    refuses({ url: 'not a url' }, /not a URL/);
    refuses({ intervalMs: 0 }, /must be positive/);
    assert.doesNotThrow(() => new FeedUserOfficeSource({ url: 'http://localhost:9/feed', tokenFile: '/t', intervalMs: 1000, timeoutMs: 1000 }));
  });
});
