// openStore() against both databases: migrations, reopening, ping, configuration errors,
// login transactions and instruction acknowledgements.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from './store.js';
import { isStoreError, type StoreErrorCode } from './store-error.js';
import { describeEachBackend, POSTGRES_TEST_URL } from './testing/backends.js';
import type { LoginTransaction } from './types.js';

const NOW = new Date(Date.UTC(2025, 4, 1, 9, 0, 0));
const key = Buffer.alloc(32, 7);

function coded(code: StoreErrorCode, pattern: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isStoreError(e), `expected a StoreError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  };
}

describeEachBackend('store', (backend) => {
  it('migrates a fresh database, and reopening it applies nothing and keeps the data', async () => {
    const first = await backend.open();
    assert.equal(first.store.kind, backend.kind);
    await first.store.ping();
    await first.store.audit.append({ code: 'gateway.started', at: NOW, actor: 'system', message: 'started' });
    await first.store.close();
    const again = await backend.open(first.config);
    const check = await again.store.audit.verify();
    assert.equal(check.ok && check.records, 1);
    const migrations = await backend.raw(first.config, 'select name from kysely_migration order by name');
    assert.deepEqual(migrations.map(r => r['name']), ['0001_initial', '0002_sessions_and_recordings', '0003_audit_paging']);
  });

  // Two SQLite stores in one process would block each other (better-sqlite3 waits for the write
  // lock synchronously); two processes opening one fresh file at once are in audit-crash.test.ts.
  if (backend.kind === 'postgres') it('opens the same fresh database from two stores at once', async () => {
    const config = backend.freshConfig();
    const [a, b] = await Promise.all([backend.open(config), backend.open(config)]);
    await a.store.audit.append({ code: 'gateway.started', at: NOW, actor: 'system', message: 'a' });
    assert.equal((await b.store.audit.query({})).length, 1);
    const heads = await backend.raw(config, 'select * from audit_head');
    assert.equal(heads.length, 1, 'exactly one head row');
  });

  it('takes a login transaction once, and only while it is younger than maxAge', async () => {
    const { store, config } = await backend.open();
    const tx: LoginTransaction = { state: 'state-1', codeVerifier: 'verifier-secret', nonce: 'nonce-secret', returnTo: '/view/desk-1', createdAt: NOW };
    await store.loginTransactions.put(tx);
    const dump = JSON.stringify(await backend.raw(config, 'select * from login_transactions'));
    for (const secret of ['state-1', 'verifier-secret', 'nonce-secret']) assert.equal(dump.includes(secret), false, `row holds ${secret}`);
    assert.deepEqual(await store.loginTransactions.take('state-1', new Date(NOW.getTime() + 60_000), 60_000), tx);
    assert.equal(await store.loginTransactions.take('state-1', NOW, 60_000), undefined, 'a replayed callback finds nothing');
    await store.loginTransactions.put({ ...tx, state: 'state-2' });
    assert.equal(await store.loginTransactions.take('state-2', new Date(NOW.getTime() + 60_001), 60_000), undefined, 'too old');
    assert.equal(await store.loginTransactions.take('state-2', NOW, 60_000), undefined, 'a too-old take still consumed it');
    assert.equal(await store.loginTransactions.take('unknown', NOW, 60_000), undefined);
  });

  it('gives a login transaction to only one of many concurrent takers', async () => {
    const { store } = await backend.open();
    await store.loginTransactions.put({ state: 's', codeVerifier: 'v', nonce: 'n', returnTo: '/', createdAt: NOW });
    const results = await Promise.all(Array.from({ length: 10 }, () => store.loginTransactions.take('s', NOW, 1000)));
    assert.equal(results.filter(r => r !== undefined).length, 1);
  });

  it('deletes login transactions older than a cutoff', async () => {
    const { store } = await backend.open();
    for (const [state, ageMs] of [['old1', 10_000], ['old2', 5001], ['young', 5000]] as const) {
      await store.loginTransactions.put({ state, codeVerifier: 'v', nonce: 'n', returnTo: '/', createdAt: new Date(NOW.getTime() - ageMs) });
    }
    assert.equal(await store.loginTransactions.deleteOlderThan(new Date(NOW.getTime() - 5000)), 2);
    assert.notEqual(await store.loginTransactions.take('young', NOW, 10_000), undefined);
    assert.equal(await store.loginTransactions.take('old1', NOW, 100_000), undefined);
  });

  it('adds and lists acknowledgements; the same one twice keeps the first time', async () => {
    const { store } = await backend.open();
    assert.deepEqual(await store.acknowledgements.list(), []);
    const first = { userId: 'u1', beamline: 'p11', beamtime: 'bt-1', version: '3', at: NOW };
    const second = { userId: 'u2', beamline: 'p11', beamtime: 'bt-1', version: '3', at: new Date(NOW.getTime() + 1000) };
    await store.acknowledgements.add(second);
    await store.acknowledgements.add(first);
    await store.acknowledgements.add({ ...first, at: new Date(NOW.getTime() + 5000) });
    const newVersion = { ...first, version: '4', at: new Date(NOW.getTime() + 9000) };
    await store.acknowledgements.add(newVersion);
    assert.deepEqual(await store.acknowledgements.list(), [first, second, newVersion]);
  });

  it('with migrate: false, opens a current database without changing it and refuses a missing or unmigrated one', async () => {
    const config = backend.freshConfig();
    await assert.rejects(openStore(config, { tokenKey: key, migrate: false }), coded('GW_ERR_STORE_UNAVAILABLE', /does not exist|cannot open/));
    if (config.kind === 'postgres') await backend.raw(config, `create schema "${config.schema ?? ''}"`);
    else await backend.raw(config, 'create table unrelated (x integer)');
    await assert.rejects(
      openStore(config, { tokenKey: key, migrate: false }),
      coded('GW_ERR_STORE_MIGRATION', /is not a current Beamgate database \(migrations not run: 0001_initial, 0002_sessions_and_recordings, 0003_audit_paging\)/),
    );
    const migrated = await backend.open();
    await migrated.store.audit.append({ code: 'gateway.started', at: NOW, actor: 'system', message: 'started' });
    const inspector = await openStore(migrated.config, { tokenKey: key, migrate: false });
    try {
      const check = await inspector.audit.verify();
      assert.equal(check.ok && check.records, 1);
    } finally {
      await inspector.close();
    }
  });

  it('refuses a token key that is not 32 bytes', async () => {
    await assert.rejects(openStore(backend.freshConfig(), { tokenKey: Buffer.alloc(16) }), coded('GW_ERR_STORE_CONFIG', /token key must be 32 bytes .*got 16 bytes/));
  });
});

describe('store configuration errors', () => {
  it('refuses a PostgreSQL schema name that is not a plain identifier', async () => {
    await assert.rejects(
      openStore({ kind: 'postgres', url: POSTGRES_TEST_URL, schema: 'x"; drop table y; --' }, { tokenKey: key }),
      coded('GW_ERR_STORE_CONFIG', /schema name .* is not allowed/),
    );
  });

  it('says which PostgreSQL it could not reach, without the password', async () => {
    await assert.rejects(
      openStore({ kind: 'postgres', url: 'postgres://beamgate:s3cret@127.0.0.1:1/beamgate', schema: 'x' }, { tokenKey: key }),
      (e: unknown) => {
        coded('GW_ERR_STORE_UNAVAILABLE', /^cannot reach PostgreSQL 127\.0\.0\.1:1\/beamgate schema x: .*is PostgreSQL running/)(e);
        assert.equal((e as Error).message.includes('s3cret'), false);
        return true;
      },
    );
  });

  it('says which SQLite file it could not open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beamgate-store-'));
    try {
      await assert.rejects(
        openStore({ kind: 'sqlite', file: join(dir, 'missing-dir', 'x.db') }, { tokenKey: key }),
        coded('GW_ERR_STORE_UNAVAILABLE', /cannot open the SQLite file .*missing-dir.*directory exists/),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
