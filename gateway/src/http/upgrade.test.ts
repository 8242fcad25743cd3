import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideUpgrade, type UpgradeContext } from './upgrade.js';

const ctx: UpgradeContext = {
  allowedOrigins: new Set(['http://127.0.0.1:8080']), hasTarget: id => id === 'p11', viewerCount: 0, maxViewers: 10, shuttingDown: false,
};
const req = (url: string, origin?: string) => ({ url, headers: origin === undefined ? {} : { origin } });

describe('decideUpgrade (checks in a fixed order)', () => {
  const table: [string, ReturnType<typeof req>, Partial<UpgradeContext>, unknown][] = [
    ['accepts a known target from the own origin', req('/desktop/p11', 'http://127.0.0.1:8080'), {}, { ok: true, kind: 'desktop', targetId: 'p11', viewOnly: false, connection: undefined }],
    ['passes view-only through', req('/desktop/p11?view-only=1'), {}, { ok: true, kind: 'desktop', targetId: 'p11', viewOnly: true, connection: undefined }],
    ['routes the control channel of a desktop', req('/control/p11'), {}, { ok: true, kind: 'control', targetId: 'p11', viewOnly: false, connection: undefined }],
    ['passes the control connection of a desktop socket',
      req('/desktop/p11?connection=0b7e1c2a-3f4d-4e5f-8a9b-0c1d2e3f4a5b'), {},
      { ok: true, kind: 'desktop', targetId: 'p11', viewOnly: false, connection: '0b7e1c2a-3f4d-4e5f-8a9b-0c1d2e3f4a5b' }],
    ['refuses a connection parameter that is not an id', req('/desktop/p11?connection=../x'), {}, 400],
    ['no other WebSocket endpoints', req('/controls/p11'), {}, 404],
    ['path first: a bad path is 404 even from a foreign origin', req('/desk/p11', 'https://evil.example'), {}, 404],
    ['upper case is not a target id', req('/desktop/P11'), {}, 404],
    ['trailing slash is not a target', req('/desktop/p11/'), {}, 404],
    ['origin before target: a foreign origin is 403 even for an unknown target', req('/desktop/zz', 'https://evil.example'), {}, 403],
    ['an origin that only starts like ours', req('/desktop/p11', 'http://127.0.0.1:8080.evil.example'), {}, 403],
    ['the literal "null" origin of sandboxed frames', req('/desktop/p11', 'null'), {}, 403],
    ['unknown target', req('/desktop/zz'), {}, 404],
    ['shutting down', req('/desktop/p11'), { shuttingDown: true }, 503],
    ['at capacity', req('/desktop/p11'), { viewerCount: 10 }, 503],
  ];
  for (const [name, r, over, expected] of table) {
    it(name, () => {
      const d = decideUpgrade(r, { ...ctx, ...over });
      if (typeof expected === 'number') {
        assert.ok(!d.ok, 'expected a refusal');
        assert.equal(d.status, expected);
      } else {
        assert.deepEqual(d, expected);
      }
    });
  }
});
