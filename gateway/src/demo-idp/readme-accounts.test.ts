// The README's table of demo logins must match the accounts the demo really has.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEMO_ACCOUNTS } from './accounts.js';

describe('README demo logins', () => {
  it('lists every demo account with its password, and no other', () => {
    const readme = readFileSync('README.md', 'utf8');
    const rows = [...readme.matchAll(/^\| `([a-z.]+)` \| `([^`]+)` \|/gm)].map(m => [m[1], m[2]]);
    assert.deepEqual(rows, DEMO_ACCOUNTS.map(a => [a.login, a.password]));
  });
});
