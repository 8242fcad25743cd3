import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows a burst, then the average rate, per address', () => {
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 });
    const takes = (n: number, at: number, who = 'a'): boolean[] => Array.from({ length: n }, () => limiter.take(who, at));
    assert.deepEqual(takes(4, 0), [true, true, true, false]);
    assert.deepEqual(takes(1, 0, 'b'), [true], 'another address has its own allowance');
    assert.deepEqual(takes(2, 500), [true, false], 'half a second refills one at 2/s');
    assert.deepEqual(takes(4, 10_000), [true, true, true, false], 'refills up to the burst, not beyond');
  });

  it('ignores a clock that goes back, and keeps the table bounded', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxAddresses: 3 });
    assert.equal(limiter.take('a', 1000), true);
    assert.equal(limiter.take('a', 0), false);
    for (const who of ['b', 'c', 'd', 'e']) limiter.take(who, 2000);
    assert.equal(limiter.size, 3);
  });
});

describe('rateLimit middleware', () => {
  it('answers 429 with Retry-After and a coded JSON error once an address is over its allowance', async () => {
    const express = (await import('express')).default;
    const { rateLimit } = await import('./rate-limit.js');
    const app = express();
    app.use(rateLimit(new RateLimiter({ perSecond: 1, burst: 2 }), () => 0));
    app.get('/x', (_req, res) => {
      res.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise(resolve => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const responses: Response[] = [];
      for (let i = 0; i < 3; i++) responses.push(await fetch(`http://127.0.0.1:${port}/x`));
      assert.deepEqual(responses.map(r => r.status), [200, 200, 429]);
      const refused = responses[2]!;
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'GW_ERR_RATE_LIMITED');
    } finally {
      server.close();
    }
  });
});
