// Web sessions against both databases: lifecycle, expiry, and that a database dump holds
// neither the cookie id nor any token in clear text.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describeEachBackend } from './testing/backends.js';
import type { WebSession } from './types.js';
import { webSessionKey } from './web-sessions.js';

const NOW = new Date(Date.UTC(2025, 3, 1, 10, 0, 0));
const minutes = (n: number): Date => new Date(NOW.getTime() + n * 60_000);

function session(id: string, userId = 'u-ada', extra: Partial<WebSession> = {}): WebSession {
  return {
    id,
    userId,
    sub: `sub-${userId}`,
    displayName: 'Ada Lovelace',
    identity: { roles: ['user', 'staff'], mfa: true },
    tokens: { idToken: `id-token-${id}`, accessToken: `access-token-${id}`, refreshToken: `refresh-token-${id}` },
    csrfToken: `csrf-token-${id}`,
    createdAt: NOW,
    accessExpiresAt: minutes(5),
    expiresAt: minutes(60),
    ...extra,
  };
}

describeEachBackend('web sessions', (backend) => {
  it('creates a session and gets it back whole', async () => {
    const { store } = await backend.open();
    const s = session('cookie-1');
    await store.webSessions.create(s);
    assert.deepEqual(await store.webSessions.get('cookie-1', NOW), s);
    assert.equal(await store.webSessions.get('cookie-2', NOW), undefined);
  });

  it('keeps a session without a refresh token without one', async () => {
    const { store } = await backend.open();
    const s = session('cookie-nr', 'u-bob', { tokens: { idToken: 'i', accessToken: 'a' } });
    await store.webSessions.create(s);
    const got = await store.webSessions.get('cookie-nr', NOW);
    assert.deepEqual(got?.tokens, { idToken: 'i', accessToken: 'a' });
    assert.equal(Object.hasOwn(got.tokens, 'refreshToken'), false);
  });

  it('ends a session at expiresAt, and deleteExpired removes it', async () => {
    const { store } = await backend.open();
    await store.webSessions.create(session('short', 'u1', { expiresAt: minutes(10) }));
    await store.webSessions.create(session('long', 'u1', { expiresAt: minutes(100) }));
    assert.notEqual(await store.webSessions.get('short', new Date(minutes(10).getTime() - 1)), undefined);
    assert.equal(await store.webSessions.get('short', minutes(10)), undefined);
    assert.equal(await store.webSessions.deleteExpired(minutes(10)), 1);
    assert.equal(await store.webSessions.deleteExpired(minutes(10)), 0);
    assert.deepEqual(await store.webSessions.idsOfUser('u1'), [webSessionKey('long')]);
  });

  it('updates tokens, access expiry and identity after a refresh, with a fresh IV', async () => {
    const { store, config } = await backend.open();
    await store.webSessions.create(session('c'));
    const [before] = await backend.raw(config, 'select tokens_sealed from web_sessions');
    const tokens = { idToken: 'id-2', accessToken: 'access-2' };
    await store.webSessions.updateTokens('c', tokens, minutes(15), { roles: ['user'] });
    const got = await store.webSessions.get('c', NOW);
    assert.ok(got);
    assert.deepEqual(got.tokens, tokens);
    assert.deepEqual(got.accessExpiresAt, minutes(15));
    assert.deepEqual(got.identity, { roles: ['user'] });
    assert.equal(got.csrfToken, 'csrf-token-c', 'the CSRF token stays');
    assert.deepEqual(got.expiresAt, minutes(60), 'the absolute end does not move');
    await store.webSessions.updateTokens('c', tokens, minutes(15), { roles: ['user'] });
    const [after1] = await backend.raw(config, 'select tokens_sealed from web_sessions');
    await store.webSessions.updateTokens('c', tokens, minutes(15), { roles: ['user'] });
    const [after2] = await backend.raw(config, 'select tokens_sealed from web_sessions');
    assert.notEqual(after1!['tokens_sealed'], before!['tokens_sealed']);
    assert.notEqual(after1!['tokens_sealed'], after2!['tokens_sealed'], 'same tokens, different ciphertext: the IV is random per write');
    await store.webSessions.updateTokens('gone', tokens, minutes(15), {});
    assert.equal(await store.webSessions.get('gone', NOW), undefined, 'updating a deleted session creates nothing');
  });

  it('deletes one session, by cookie id or by key, and all of a user', async () => {
    const { store } = await backend.open();
    for (const [id, user] of [['a1', 'alice'], ['a2', 'alice'], ['a3', 'alice'], ['b1', 'bob']] as const) {
      await store.webSessions.create(session(id, user));
    }
    assert.deepEqual(new Set(await store.webSessions.idsOfUser('alice')), new Set(['a1', 'a2', 'a3'].map(webSessionKey)));
    await store.webSessions.delete('a1');
    assert.equal(await store.webSessions.get('a1', NOW), undefined);
    await store.webSessions.deleteByKey(webSessionKey('a2'));
    assert.equal(await store.webSessions.get('a2', NOW), undefined);
    assert.deepEqual(await store.webSessions.idsOfUser('alice'), [webSessionKey('a3')]);
    assert.equal(await store.webSessions.deleteAllOfUser('alice'), 1);
    assert.deepEqual(await store.webSessions.idsOfUser('alice'), []);
    assert.notEqual(await store.webSessions.get('b1', NOW), undefined, 'other users keep theirs');
    assert.deepEqual(await store.webSessions.idsOfUser('nobody'), []);
  });

  it('keeps neither the cookie id nor any token in clear text in the row', async () => {
    const { store, config } = await backend.open();
    const id = randomBytes(16).toString('base64url');
    const s = session(id);
    await store.webSessions.create(s);
    const rows = await backend.raw(config, 'select * from web_sessions');
    assert.equal(rows.length, 1);
    const dump = JSON.stringify(Object.values(rows[0]!));
    for (const secret of [id, s.tokens.idToken, s.tokens.accessToken, s.tokens.refreshToken!, s.csrfToken, 'token-']) {
      assert.equal(dump.includes(secret), false, `the row contains ${secret}`);
    }
    assert.equal(rows[0]!['id_hash'], webSessionKey(id));
    assert.match(String(rows[0]!['tokens_sealed']), /^v1\.[A-Za-z0-9_-]+$/);
  });

  it('treats a session whose secrets do not open (token key changed, row altered) as ended', async () => {
    const first = await backend.open();
    await first.store.webSessions.create(session('k1'));
    await first.store.webSessions.create(session('k2'));
    const otherKey = await backend.open(first.config, randomBytes(32));
    assert.equal(await otherKey.store.webSessions.get('k1', NOW), undefined);
    // A sealed value copied from another row does not open there (bound to its row's key).
    await backend.raw(first.config, `update web_sessions set tokens_sealed = (select tokens_sealed from web_sessions where id_hash = '${webSessionKey('k2')}') where id_hash = '${webSessionKey('k1')}'`);
    assert.equal(await first.store.webSessions.get('k1', NOW), undefined);
    assert.notEqual(await first.store.webSessions.get('k2', NOW), undefined);
  });

  it('refuses a second session with the same cookie id', async () => {
    const { store } = await backend.open();
    await store.webSessions.create(session('dup'));
    await assert.rejects(store.webSessions.create(session('dup', 'someone-else')));
    assert.equal((await store.webSessions.get('dup', NOW))?.userId, 'u-ada');
  });
});
