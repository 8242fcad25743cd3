// The safety officer's API through the real gateway (login rig: local OpenID Connect provider,
// SQLite store, demo user office): who gets what (401, 403, a local contact's beamlines), hostile
// query strings refused with 400 and nothing touched, pages, exports checked record by record,
// statistics, and the chain status finding an edit made behind the gateway's back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditEvent, AuditRecord } from '../../../session-recorder/src/audit/audit-record.js';
import { hashRecord } from '../../../session-recorder/src/audit/hash-chain.js';
import { DEMO_BEAMLINE, DEMO_BEAMTIME, VIEW_ONLY_BEAMLINE } from '../demo-idp/sample-user-office.js';
import { EXPORT_COLUMNS } from '../audit/audit-export.js';
import { parseCsv } from '../testing/csv.js';
import { startLoginRig, type LoginRig } from '../testing/login-rig.js';

interface Page { records: (Omit<AuditRecord, 'at'> & { at: string })[]; older?: number; newer?: number }
interface ErrorBody { error: { code: string; message: string; reasons?: { code: string }[] } }

describe('audit API', () => {
  let rig: LoginRig;
  let sam: { cookie: string; csrf: string };
  let carol: { cookie: string; csrf: string };
  let alice: { cookie: string; csrf: string };
  const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
  const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);

  const get = (path: string, who?: { cookie: string }): Promise<Response> =>
    fetch(`${rig.base}${path}`, { headers: who === undefined ? {} : { cookie: who.cookie } });
  const json = async <T>(path: string, who: { cookie: string }, status = 200): Promise<T> => {
    const res = await get(path, who);
    const body = await res.text();
    assert.equal(res.status, status, `${path}: ${body}`);
    return JSON.parse(body) as T;
  };
  const append = (event: Omit<AuditEvent, 'message'> & { message?: string }): Promise<AuditRecord> =>
    rig.gateway.store.audit.append({ message: 'test record', ...event });

  before(async () => {
    rig = await startLoginRig();
    sam = await rig.login('sam.safety');
    carol = await rig.login('carol.contact');
    alice = await rig.login('alice.remote');
    // A day on the demo beamline, and one record on a beamline carol is not a contact of.
    const base = { target: 'bl-demo', beamline: DEMO_BEAMLINE, beamtime: DEMO_BEAMTIME };
    await append({ ...base, code: 'viewer.joined', at: at(0), actor: 'F-1001', details: { viewer: 'v-a', interactive: true } });
    await append({ ...base, code: 'control.transition', at: at(10), actor: 'F-1001', subject: 'F-1001', message: '=HYPERLINK("http://evil","x")' });
    await append({ ...base, code: 'input.blocked', at: at(20), actor: 'F-1001', details: { rule: 'no-vt-switch', viewer: 'v-a' } });
    await append({ ...base, code: 'input.blocked', at: at(21), actor: 'F-1001', details: { rule: 'no-vt-switch', viewer: 'v-a', count: 9 } });
    await append({ ...base, code: 'viewer.left', at: at(90), actor: 'F-1001', details: { viewer: 'v-a' } });
    await append({ code: 'viewer.joined', at: at(30), actor: 'F-1002', target: 'p99-desk', beamline: 'p99', message: '-1 other beamline', details: { viewer: 'v-b' } });
  });
  after(async () => {
    await rig.close();
  });

  it('answers 401 without a login and 403 with the policy\'s reason to a remote user, on record', async () => {
    const anonymous = await get('/api/audit');
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json() as ErrorBody).error.code, 'GW_ERR_LOGIN_REQUIRED');
    for (const path of ['/api/audit', '/api/audit/export?format=csv', '/api/audit/stats', '/api/audit/chain', '/api/audit/options']) {
      const body = await json<ErrorBody>(path, alice, 403);
      assert.equal(body.error.code, 'GW_ERR_ACCESS_DENIED');
      assert.match(body.error.message, /^You may not read the audit log: the audit log of .* is open to administrators, safety officers/);
      assert.equal(body.error.reasons?.[0]?.code, 'audit-not-permitted');
    }
    const denied = await rig.gateway.store.audit.query({ codes: ['access.denied'], actor: 'F-1001' });
    assert.ok(denied.some(r => r.message === 'GET /api/audit/export refused: may not read the audit log'));
    const portal = await json<{ audit: { allowed: boolean } }>('/api/portal', alice);
    assert.deepEqual(portal.audit, { allowed: false, beamlines: [] });
  });

  it('gives the safety officer the whole log, newest first, paged both ways', async () => {
    const portal = await json<{ audit: unknown }>('/api/portal', sam);
    assert.deepEqual(portal.audit, { allowed: true, beamlines: 'all' });
    const all = await rig.gateway.store.audit.query({ order: 'desc' });
    const first = await json<Page>('/api/audit?limit=3', sam);
    assert.deepEqual(first.records.map(r => r.seq), all.slice(0, 3).map(r => r.seq));
    assert.equal(first.newer, undefined);
    const second = await json<Page>(`/api/audit?limit=3&before=${first.older}`, sam);
    assert.deepEqual(second.records.map(r => r.seq), all.slice(3, 6).map(r => r.seq));
    const back = await json<Page>(`/api/audit?limit=3&after=${second.newer}`, sam);
    assert.deepEqual(back.records.map(r => r.seq), first.records.map(r => r.seq));
    const blocked = await json<Page>(`/api/audit?kind=input.*,control.transition&person=F-1001&beamline=${DEMO_BEAMLINE}&from=2026-01-05T08:00&to=2026-01-05T09:00Z`, sam);
    assert.deepEqual(blocked.records.map(r => r.code), ['input.blocked', 'input.blocked', 'control.transition']);
    assert.equal(blocked.records[2]?.message, '=HYPERLINK("http://evil","x")', 'the API gives text as it is; only CSV guards it');
  });

  it('limits a local contact to their beamlines, and says so when asked for another', async () => {
    const portal = await json<{ audit: unknown }>('/api/portal', carol);
    assert.deepEqual(portal.audit, { allowed: true, beamlines: [DEMO_BEAMLINE, VIEW_ONLY_BEAMLINE] });
    const page = await json<Page>('/api/audit?limit=500', carol);
    assert.ok(page.records.length >= 5);
    assert.ok(page.records.every(r => r.beamline === DEMO_BEAMLINE || r.beamline === VIEW_ONLY_BEAMLINE), 'no login records, no other beamline');
    const other = await json<ErrorBody>('/api/audit?beamline=p99', carol, 403);
    assert.match(other.error.message, /only, not of p99/);
    const options = await json<{ scope: unknown; families: string[] }>('/api/audit/options', carol);
    assert.deepEqual(options.scope, [DEMO_BEAMLINE, VIEW_ONLY_BEAMLINE]);
    assert.ok(options.families.includes('control'));
  });

  it('refuses hostile query strings with 400 GW_ERR_BAD_REQUEST and a reason, and the log is untouched', async () => {
    const before = await rig.gateway.store.audit.verify();
    const hostile: [string, RegExp][] = [
      [`beamline=${encodeURIComponent('bl-demo\' OR 1=1 --')}`, /beamline: must be an id/],
      [`person=${encodeURIComponent('x"); drop table audit_log; --')}`, /person: must be an id/],
      ['beamline=a&beamline=b', /beamline: Invalid input: expected string, received array/],
      ['kind=control.transition&kind=auth.login', /kind/],
      ['person[$ne]=x', /unknown parameter "person\[\$ne\]"/],
      ['before=99999999999999999999', /before: must be a record number/],
      ['before=-1', /before: must be a record number/],
      ['after=1.5', /after: must be a record number/],
      ['limit=100000', /limit: must be a number/],
      ['limit=0', /limit: must be 1 to 500/],
      ['limit=1e3', /limit: must be a number/],
      ['from=yesterday', /from: must be a time/],
      ['from=2026-02-30', /from: must be a time/],
      ['to=2026-13-01T00:00Z', /to: must be a time/],
      ['from=2026-01-02&to=2026-01-01', /"from" must be before "to"/],
      [`from=${'9'.repeat(5000)}`, /from/],
      ['kind=control.*;drop', /is not an event kind/],
      ['kind=nothing.*', /is not an event kind/],
      [`session=${'a'.repeat(200)}`, /session: must be an id/],
      ['desktop=%00', /desktop: must be an id/],
      ['order=sideways', /order/],
      ['orderBy=seq', /unknown parameter "orderBy"/],
    ];
    for (const [query, message] of hostile) {
      const body = await json<ErrorBody>(`/api/audit?${query}`, sam, 400);
      assert.equal(body.error.code, 'GW_ERR_BAD_REQUEST', query);
      assert.match(body.error.message, /^The audit query is not valid: /, query);
      assert.match(body.error.message, message, query);
    }
    assert.equal((await json<ErrorBody>('/api/audit/stats?kind=auth.login', sam, 400)).error.code, 'GW_ERR_BAD_REQUEST');
    assert.equal((await json<ErrorBody>('/api/audit/export?format=xlsx', sam, 400)).error.code, 'GW_ERR_BAD_REQUEST');
    assert.equal((await json<ErrorBody>('/api/audit/export', sam, 400)).error.code, 'GW_ERR_BAD_REQUEST');
    const afterwards = await rig.gateway.store.audit.verify();
    assert.ok(before.ok && afterwards.ok);
    assert.equal(afterwards.records, before.records, 'a refused query writes nothing');
    assert.equal((await json<ErrorBody>('/api/audit/nothing', sam, 404)).error.code, 'GW_ERR_BAD_PATH');
  });

  it('exports CSV with formulas guarded, and JSON whose records hash to their hashes; each export is on record', async () => {
    const query = `beamline=${DEMO_BEAMLINE}&kind=control.*,input.blocked,viewer.*&from=2026-01-05T00:00Z&to=2026-01-06`;
    const csvResponse = await get(`/api/audit/export?format=csv&${query}`, sam);
    assert.equal(csvResponse.status, 200);
    assert.equal(csvResponse.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.match(csvResponse.headers.get('content-disposition') ?? '', /^attachment; filename="beamgate-audit-\d{8}T\d{6}Z\.csv"$/);
    const rows = parseCsv(await csvResponse.text());
    assert.deepEqual(rows[0], [...EXPORT_COLUMNS]);
    assert.deepEqual(rows.slice(1).map(r => r[2]), ['viewer.joined', 'control.transition', 'input.blocked', 'input.blocked', 'viewer.left']);
    const message = EXPORT_COLUMNS.indexOf('message');
    assert.equal(rows[2]?.[message], '\'=HYPERLINK("http://evil","x")');

    const jsonResponse = await get(`/api/audit/export?format=json&${query}`, sam);
    assert.equal(jsonResponse.headers.get('content-type'), 'application/json; charset=utf-8');
    interface ExportDoc { count: number; exportedBy: string; filter: Record<string, string>; head: { seq: number }; records: AuditRecord[] }
    const doc = await jsonResponse.json() as ExportDoc;
    assert.equal(doc.count, 5);
    assert.equal(doc.exportedBy, 'F-3001');
    assert.deepEqual(doc.filter, { beamline: DEMO_BEAMLINE, kind: 'control.*,input.blocked,viewer.*', from: '2026-01-05T00:00Z', to: '2026-01-06' });
    for (const r of doc.records) assert.equal(hashRecord(r), r.hash, `record ${r.seq} hashes to its hash offline`);

    const exports = await rig.gateway.store.audit.query({ codes: ['audit.exported'] });
    assert.deepEqual(exports.map(r => [r.details?.['format'], r.details?.['count']]), [['csv', 5], ['json', 5]]);
    const jsonExport = exports[1]!;
    assert.equal(jsonExport.actor, 'F-3001');
    assert.equal(jsonExport.beamline, DEMO_BEAMLINE);
    assert.match(jsonExport.message, /Sam Safety exported 5 audit records as JSON/);
    assert.ok(doc.records.every(r => r.seq <= doc.head.seq));
  });

  it('a local contact\'s export holds their beamlines only, and says so on record', async () => {
    const csv = parseCsv(await (await get('/api/audit/export?format=csv', carol)).text());
    const beamline = EXPORT_COLUMNS.indexOf('beamline');
    assert.ok(csv.length > 1);
    assert.ok(csv.slice(1).every(r => r[beamline] === DEMO_BEAMLINE || r[beamline] === VIEW_ONLY_BEAMLINE));
    const [record] = await rig.gateway.store.audit.query({ codes: ['audit.exported'], actor: 'F-2001' });
    assert.deepEqual(record?.details?.['scope'], [DEMO_BEAMLINE, VIEW_ONLY_BEAMLINE]);
  });

  it('counts remote hours, control changes and blocked inputs', async () => {
    interface Row { key: string; remoteHours: number; connections: number; controlChanges: number; blockedActions: number }
    const stats = await json<{ totals: Row; byBeamline: Row[]; byPerson: Row[] }>('/api/audit/stats?from=2026-01-05&to=2026-01-06', sam);
    // v-a 08:00 to 09:30 on the demo beamline; v-b from 08:30, never left: until the end of the range.
    const demo = stats.byBeamline.find(r => r.key === DEMO_BEAMLINE);
    assert.deepEqual(demo && [demo.remoteHours, demo.connections, demo.controlChanges, demo.blockedActions], [1.5, 1, 1, 10]);
    const other = stats.byBeamline.find(r => r.key === 'p99');
    assert.equal(other?.remoteHours, 15.5);
    const carolStats = await json<{ byBeamline: Row[] }>('/api/audit/stats?from=2026-01-05&to=2026-01-06', carol);
    assert.deepEqual(carolStats.byBeamline.map(r => r.key), [DEMO_BEAMLINE]);
  });

  it('checks the chain in the background, and finds an edit made behind the gateway\'s back', async () => {
    const until = async (test: (s: { state: string }) => boolean): Promise<{ state: string; last?: Record<string, unknown> }> => {
      for (let i = 0; i < 200; i++) {
        const status = await json<{ state: string; last?: Record<string, unknown> }>('/api/audit/chain', sam);
        if (test(status)) return status;
        await new Promise(r => setTimeout(r, 25));
      }
      throw new Error('the chain check did not finish');
    };
    const ok = await until(s => s.state !== 'running' && s.state !== 'unchecked');
    assert.equal(ok.state, 'ok');
    assert.equal(typeof ok.last?.['checkedAt'], 'string');
    const noCsrf = await fetch(`${rig.base}/api/audit/chain`, { method: 'POST', headers: { cookie: sam.cookie, origin: rig.base } });
    assert.equal(noCsrf.status, 403);
    assert.equal((await noCsrf.json() as ErrorBody).error.code, 'GW_ERR_CSRF');

    const [victim] = await rig.gateway.store.audit.query({ codes: ['control.transition'] });
    const db = new Database(join(dirname(rig.userOfficeFile), 'data', 'beamgate.sqlite'));
    try {
      db.prepare('update audit_log set actor = ? where seq = ?').run('someone else', victim?.seq);
    } finally {
      db.close();
    }
    const rerun = await fetch(`${rig.base}/api/audit/chain`, { method: 'POST', headers: { cookie: sam.cookie, origin: rig.base, 'x-csrf-token': sam.csrf } });
    assert.equal(rerun.status, 202);
    const broken = await until(s => s.state !== 'running');
    assert.equal(broken.state, 'broken');
    assert.equal(broken.last?.['firstBadSeq'], victim?.seq);
    assert.match(String(broken.last?.['problem']), /was changed after it was written/);
  });
});
