import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkPassword } from './password-check.js';
import { DEMO_ACCOUNTS } from './accounts.js';

describe('checkPassword', () => {
  it('accepts every demo account with its own password', () => {
    for (const a of DEMO_ACCOUNTS) assert.equal(checkPassword(DEMO_ACCOUNTS, a.login, a.password), a);
  });

  it('refuses another account\'s password, a prefix, a different case, and empty input', () => {
    const [alice, bob] = DEMO_ACCOUNTS;
    assert.ok(alice !== undefined && bob !== undefined);
    for (const [login, password] of [
      [alice.login, bob.password], [alice.login, alice.password.slice(0, -1)], [alice.login, `${alice.password} `],
      [alice.login, alice.password.toUpperCase()], [alice.login.toUpperCase(), alice.password], ['', ''], [alice.login, ''],
    ] as const) {
      assert.equal(checkPassword(DEMO_ACCOUNTS, login, password), undefined, `${login} / ${password}`);
    }
  });

  it('agrees with a plain lookup for any accounts and any attempt (property)', () => {
    const text = fc.string({ maxLength: 12 });
    const accounts = fc.uniqueArray(fc.record({ login: text, password: text }), { selector: a => a.login, maxLength: 6 });
    fc.assert(fc.property(accounts, text, text, fc.boolean(), (list, login, password, pickExisting) => {
      const existing = list[0];
      const [l, p] = pickExisting && existing !== undefined ? [existing.login, existing.password] : [login, password];
      const expected = list.find(a => a.login === l && a.password === p);
      assert.equal(checkPassword(list, l, p), expected);
    }), { numRuns: 500 });
  });
});
