// The audit log against both databases: append and query, verify, tampering with raw SQL,
// concurrent appends. The same body runs on SQLite and PostgreSQL.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent, AuditFilter, AuditRecord } from '../../../session-recorder/src/audit/audit-record.js';
import { GENESIS_HASH, hashRecord } from '../../../session-recorder/src/audit/hash-chain.js';
import { openStore } from './store.js';
import { isStoreError } from './store-error.js';
import { describeEachBackend } from './testing/backends.js';

const T0 = Date.UTC(2025, 2, 1, 8, 0, 0);
const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);

function joined(n: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return { code: 'viewer.joined', at: at(n), actor: `user${n % 3}`, message: `viewer ${n} joined`, ...extra };
}

describeEachBackend('audit log', (backend) => {
  it('appends records 1, 2, 3 linked by hash and reads back exactly what append returned', async () => {
    const { store } = await backend.open();
    const first = await store.audit.append({
      code: 'auth.login', at: at(0), actor: 'u1', subject: 'u1', beamline: 'p11', beamtime: 'bt-1', target: 'desk-1', session: 'ses-1',
      address: '192.0.2.7',
      message: 'Ada logged in', details: { roles: ['user'], mfa: true, nested: { z: 1, a: [null, 2.5, 'x'] } },
    });
    const second = await store.audit.append(joined(1));
    const third = await store.audit.append({ code: 'gateway.started', at: at(2), actor: 'system', message: 'started', details: {} });
    assert.deepEqual([first.seq, second.seq, third.seq], [1, 2, 3]);
    assert.equal(first.prevHash, GENESIS_HASH);
    assert.equal(second.prevHash, first.hash);
    assert.equal(third.prevHash, second.hash);
    assert.equal(hashRecord(first), first.hash);
    const stored = await store.audit.query({});
    assert.deepEqual(stored, [first, second, third]);
    assert.equal(Object.hasOwn(stored[1]!, 'subject'), false, 'absent fields stay absent (not null)');
  });

  it('stores text a database would mangle (NUL, lone surrogates) in a form that verifies', async () => {
    const { store } = await backend.open();
    const record = await store.audit.append({
      code: 'access.denied', at: at(0), actor: 'anonymous', message: 'bad\0name \uD800', address: '\uDC00',
      details: { raw: 'a\0b\uD800', emoji: '\uD83D\uDE00', [`k\0ey`]: 1 },
    });
    assert.equal(record.message, 'bad\uFFFDname \uFFFD');
    const [read] = await store.audit.query({});
    assert.deepEqual(read, record);
    assert.deepEqual(read.details, { raw: 'a\0b\uD800', emoji: '\uD83D\uDE00', 'k\0ey': 1 });
    assert.deepEqual(await store.audit.verify(), { ok: true, records: 1, headHash: record.hash });
  });

  it('filters by code, actor, subject, beamline, beamtime, target, session, time range and seq, with order and limit', async () => {
    const { store } = await backend.open();
    const records: AuditRecord[] = [];
    for (let n = 0; n < 12; n++) {
      records.push(await store.audit.append(joined(n, {
        code: n % 4 === 0 ? 'viewer.left' : 'viewer.joined',
        subject: `s${n % 2}`, beamline: n < 6 ? 'p11' : 'p21', beamtime: `bt${n % 3}`, target: `desk${n % 2}`, session: `ses${n % 4}`,
      })));
    }
    const seqs = async (filter: AuditFilter): Promise<number[]> => (await store.audit.query(filter)).map(r => r.seq);
    assert.deepEqual(await seqs({ codes: ['viewer.left'] }), [1, 5, 9]);
    assert.deepEqual(await seqs({ codes: ['viewer.left', 'viewer.joined'], limit: 2 }), [1, 2]);
    assert.deepEqual(await seqs({ codes: [] }), []);
    assert.deepEqual(await seqs({ actor: 'user1' }), [2, 5, 8, 11]);
    assert.deepEqual(await seqs({ subject: 's1', beamline: 'p11' }), [2, 4, 6]);
    assert.deepEqual(await seqs({ beamtime: 'bt2', target: 'desk0' }), [3, 9]);
    assert.deepEqual(await seqs({ session: 'ses1' }), [2, 6, 10]);
    assert.deepEqual(await seqs({ from: at(3), to: at(6) }), [4, 5, 6], 'from inclusive, to exclusive');
    assert.deepEqual(await seqs({ afterSeq: 9 }), [10, 11, 12]);
    assert.deepEqual(await seqs({ order: 'desc', limit: 3 }), [12, 11, 10]);
    assert.deepEqual(await seqs({ beamline: 'p21', order: 'desc', afterSeq: 8, limit: 2 }), [12, 11]);
    assert.deepEqual(await seqs({ limit: 0 }), []);
    assert.deepEqual(await seqs({ actor: 'nobody' }), []);
    await assert.rejects(store.audit.query({ limit: -1 }), RangeError);
    assert.deepEqual(await store.audit.query({ afterSeq: 11 }), [records[11]]);
  });

  it('verifies an empty log and an intact one', async () => {
    const { store } = await backend.open();
    assert.deepEqual(await store.audit.verify(), { ok: true, records: 0, headHash: GENESIS_HASH });
    let last: AuditRecord | undefined;
    for (let n = 0; n < 5; n++) last = await store.audit.append(joined(n));
    assert.deepEqual(await store.audit.verify(), { ok: true, records: 5, headHash: last!.hash });
  });

  it('verifies a log longer than one page of the walk', async () => {
    const { store, config } = await backend.open();
    const rows = 2500;
    await store.audit.append(joined(0));
    // Build the chain in the database quickly: copy record 1 forward with SQL, then re-chain in JS.
    const records: AuditRecord[] = [];
    let previous = (await store.audit.query({}))[0]!;
    records.push(previous);
    for (let seq = 2; seq <= rows; seq++) {
      const unhashed = { ...previous, seq, prevHash: previous.hash, message: `bulk ${seq}` };
      const record = { ...unhashed, hash: hashRecord(unhashed) };
      records.push(record);
      previous = record;
    }
    const values = records.slice(1).map(r => `(${r.seq}, 'viewer.joined', ${r.at.getTime()}, '${r.actor}', '${r.message}', '${r.prevHash}', '${r.hash}')`);
    for (let i = 0; i < values.length; i += 500) {
      await backend.raw(config, `insert into audit_log (seq, code, at_ms, actor, message, prev_hash, hash) values ${values.slice(i, i + 500).join(',')}`);
    }
    await backend.raw(config, `update audit_head set seq = ${rows}, hash = '${previous.hash}' where id = 1`);
    assert.deepEqual(await store.audit.verify(), { ok: true, records: rows, headHash: previous.hash });
    await backend.raw(config, `update audit_log set actor = 'mallory' where seq = 2222`);
    const broken = await store.audit.verify();
    assert.equal(!broken.ok && broken.firstBadSeq, 2222);
    assert.equal(broken.records, 2221);
  });

  it('detects an edited record, at its seq', async () => {
    const { store, config } = await backend.open();
    for (let n = 0; n < 5; n++) await store.audit.append(joined(n));
    await backend.raw(config, `update audit_log set message = 'nothing to see' where seq = 3`);
    const result = await store.audit.verify();
    assert.deepEqual(result, { ok: false, records: 2, firstBadSeq: 3, problem: 'record 3 was changed after it was written: its content does not match its hash' });
  });

  it('detects edits of the time, the details and the hash columns', async () => {
    for (const edit of [
      'update audit_log set at_ms = at_ms + 1 where seq = 2',
      `update audit_log set details = '{"a":2}' where seq = 2`,
      'update audit_log set beamline = null where seq = 2',
      `update audit_log set hash = '${'1'.repeat(64)}' where seq = 2`,
    ]) {
      const { store, config } = await backend.open();
      for (let n = 0; n < 3; n++) await store.audit.append(joined(n, { beamline: 'p11', details: { a: 1 } }));
      await backend.raw(config, edit);
      const result = await store.audit.verify();
      assert.equal(!result.ok && result.firstBadSeq, 2, edit);
    }
  });

  it('detects unreadable details as a broken record', async () => {
    const { store, config } = await backend.open();
    for (let n = 0; n < 3; n++) await store.audit.append(joined(n, { details: { a: 1 } }));
    await backend.raw(config, `update audit_log set details = 'not json' where seq = 2`);
    const result = await store.audit.verify();
    assert.equal(!result.ok && result.firstBadSeq, 2);
    assert.match(!result.ok ? result.problem : '', /record 2 cannot be read/);
  });

  it('detects a deleted record in the middle, at its seq', async () => {
    const { store, config } = await backend.open();
    for (let n = 0; n < 5; n++) await store.audit.append(joined(n));
    await backend.raw(config, 'delete from audit_log where seq = 2');
    assert.deepEqual(await store.audit.verify(), {
      ok: false, records: 1, firstBadSeq: 2, problem: 'record 2 is missing (the log jumps from 1 to 3): deleted',
    });
  });

  it('detects a deleted last record through the head row', async () => {
    const { store, config } = await backend.open();
    for (let n = 0; n < 5; n++) await store.audit.append(joined(n));
    await backend.raw(config, 'delete from audit_log where seq = 5');
    assert.deepEqual(await store.audit.verify(), {
      ok: false, records: 4, firstBadSeq: 5, problem: 'the log ends at record 4 but its head says 5: record 5 was deleted',
    });
  });

  it('detects a deleted head row and a record slipped in beyond the head', async () => {
    const { store, config } = await backend.open();
    for (let n = 0; n < 3; n++) await store.audit.append(joined(n));
    const [row] = await backend.raw(config, 'select * from audit_log where seq = 3');
    await backend.raw(config, `insert into audit_log (seq, code, at_ms, actor, message, prev_hash, hash) values (4, 'auth.login', 0, 'x', 'x', '${String(row!['hash'])}', 'h')`);
    const beyond = await store.audit.verify();
    assert.equal(!beyond.ok && beyond.firstBadSeq, 4);
    await backend.raw(config, 'delete from audit_log where seq = 4');
    await backend.raw(config, 'delete from audit_head');
    const headless = await store.audit.verify();
    assert.equal(!headless.ok && headless.firstBadSeq, 4);
    assert.match(!headless.ok ? headless.problem : '', /head row is missing/);
  });

  it('rejects an invalid event with a coded error and writes nothing', async () => {
    const { store } = await backend.open();
    await assert.rejects(
      store.audit.append({ code: 'no.such.code', at: at(0), actor: 'u', message: 'm' } as unknown as AuditEvent),
      (e: unknown) => isStoreError(e) && e.code === 'GW_ERR_AUDIT_INVALID_EVENT' && /not one of AUDIT_CODES/.test(e.message),
    );
    assert.deepEqual(await store.audit.query({}), []);
  });

  it('rejects an append it could not write, saying what failed, and the chain stays intact', async () => {
    const { store, config } = await backend.open();
    await store.audit.append(joined(0));
    // A row beyond the head (written behind the store's back) takes the next seq: the insert fails.
    const [row] = await backend.raw(config, 'select hash from audit_log where seq = 1');
    await backend.raw(config, `insert into audit_log (seq, code, at_ms, actor, message, prev_hash, hash) values (2, 'auth.login', 0, 'x', 'x', '${String(row!['hash'])}', 'h')`);
    await assert.rejects(store.audit.append(joined(1)), (e: unknown) => {
      assert.ok(isStoreError(e));
      assert.equal(e.code, 'GW_ERR_AUDIT_WRITE_FAILED');
      assert.match(e.message, /^could not write the audit record viewer\.joined to the (SQLite file|PostgreSQL) /);
      assert.match(e.message, /Nothing was recorded; the action it records must fail$/);
      return true;
    });
    await backend.raw(config, 'delete from audit_log where seq = 2');
    const [head] = await backend.raw(config, 'select seq from audit_head');
    assert.equal(Number(head!['seq']), 1, 'the failed append changed nothing');
    assert.equal((await store.audit.verify()).ok, true);
    assert.equal((await store.audit.append(joined(2))).seq, 2);
  });

  it('rejects appends after close', async () => {
    const config = backend.freshConfig();
    const store = await openStore(config, { tokenKey: Buffer.alloc(32) });
    await store.close();
    await assert.rejects(store.audit.append(joined(0)), (e: unknown) => isStoreError(e) && e.code === 'GW_ERR_AUDIT_WRITE_FAILED');
  });

  it('keeps the chain gapless under 200 concurrent appends (two stores on PostgreSQL, one on SQLite)', { timeout: 60_000 }, async () => {
    const first = await backend.open();
    // Two SQLite connections in one process would deadlock on the write lock (better-sqlite3
    // blocks the event loop while waiting); several processes are covered in audit-crash.test.ts.
    const second = backend.kind === 'postgres' ? await backend.open(first.config) : first;
    const appended = await Promise.all(Array.from({ length: 200 }, (_, n) => (n % 2 === 0 ? first : second).store.audit.append(joined(n))));
    assert.deepEqual(appended.map(r => r.seq).sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1));
    const result = await first.store.audit.verify();
    assert.equal(result.ok, true, result.ok ? '' : result.problem);
    assert.equal(result.records, 200);
    const stored = await second.store.audit.query({});
    assert.deepEqual(stored, [...appended].sort((a, b) => a.seq - b.seq), 'every acknowledged record is stored as acknowledged');
  });
});
