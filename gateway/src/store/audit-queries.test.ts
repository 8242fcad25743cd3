// The safety officer's queries against both databases: filtered keyset pages in both directions
// against a reference filter over the same records, counts and batched scans, statistics on a
// hand-built day, and the chain check in short reads against verify().
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AuditCode, AuditEvent, AuditRecord } from '../../../session-recorder/src/audit/audit-record.js';
import { bulkAppend } from './testing/bulk-audit.js';
import { describeEachBackend, type TestBackend } from './testing/backends.js';
import { branchesOf } from './audit-queries.js';
import type { AuditSelection, Store, StoreConfig } from './types.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const MIN = 60_000;

const CODES: readonly AuditCode[] = ['viewer.joined', 'viewer.left', 'control.transition', 'control.refused', 'input.blocked', 'auth.login', 'access.denied'];
const PEOPLE = ['F-1', 'F-2', 'F-3', 'system'];
const BEAMLINES = ['p11', 'p21', undefined];

/** A deterministic mixed log (the same on both databases): small value sets, so filters hit and combine. */
function mixedEvents(count: number): AuditEvent[] {
  let state = 12345;
  const next = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  const pick = <T>(list: readonly T[]): T => list[next(list.length)] as T;
  const events: AuditEvent[] = [];
  let t = T0;
  for (let i = 0; i < count; i++) {
    // Mostly forward in time, now and then a step back (clocks of two replicas).
    t += next(10) === 0 ? -2 * MIN : next(5) * MIN;
    const beamline = pick(BEAMLINES);
    events.push({
      code: pick(CODES), at: new Date(t), actor: pick(PEOPLE), subject: next(3) === 0 ? pick(PEOPLE) : undefined,
      beamline, beamtime: beamline === undefined ? undefined : `${beamline}-bt${next(2)}`, target: beamline === undefined ? undefined : `${beamline}-desk`,
      session: next(2) === 0 ? `ses-${next(4)}` : undefined, message: `event ${i}`, details: { i },
    });
  }
  return events;
}

/** What the selection means, written out plainly. */
function matches(r: AuditRecord, s: AuditSelection): boolean {
  return (s.codes === undefined || s.codes.includes(r.code))
    && (s.beamline === undefined || r.beamline === s.beamline)
    && (s.beamlines === undefined || (r.beamline !== undefined && s.beamlines.includes(r.beamline)))
    && (s.beamtime === undefined || r.beamtime === s.beamtime)
    && (s.person === undefined || r.actor === s.person || r.subject === s.person)
    && (s.session === undefined || r.session === s.session)
    && (s.desktop === undefined || r.target === s.desktop)
    && (s.from === undefined || r.at.getTime() >= s.from.getTime())
    && (s.to === undefined || r.at.getTime() < s.to.getTime());
}

const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 2 });
const aSelection: fc.Arbitrary<AuditSelection> = fc.record({
  codes: opt(fc.uniqueArray(fc.constantFrom(...CODES), { minLength: 1, maxLength: 4 })),
  beamline: opt(fc.constantFrom('p11', 'p21', 'nowhere')),
  beamlines: opt(fc.uniqueArray(fc.constantFrom('p11', 'p21', 'p99'), { maxLength: 2 })),
  beamtime: opt(fc.constantFrom('p11-bt0', 'p21-bt1')),
  person: opt(fc.constantFrom(...PEOPLE)),
  session: opt(fc.constantFrom('ses-0', 'ses-3')),
  desktop: opt(fc.constantFrom('p11-desk', 'p21-desk')),
  from: opt(fc.integer({ min: 0, max: 400 }).map(m => new Date(T0 + m * MIN))),
  to: opt(fc.integer({ min: 100, max: 700 }).map(m => new Date(T0 + m * MIN))),
});

interface Filled { store: Store; config: StoreConfig; records: AuditRecord[] }

async function filled(backend: TestBackend, events: readonly AuditEvent[]): Promise<Filled> {
  const { store, config } = await backend.open();
  await bulkAppend(config, events, { perTransaction: 100 });
  const records = await store.audit.query({});
  assert.equal(records.length, events.length);
  return { store, config, records };
}

it('branchesOf: one conjunctive query per code and person column; nothing for an empty scope or a beamline outside it', () => {
  assert.deepEqual(branchesOf({}), [{ codes: undefined, person: undefined, beamlines: undefined }]);
  assert.equal(branchesOf({ codes: ['auth.login', 'auth.logout'], person: 'p' }).length, 4);
  assert.deepEqual(branchesOf({ codes: [] }), []);
  assert.deepEqual(branchesOf({ beamlines: [] }), []);
  assert.deepEqual(branchesOf({ beamline: 'p11', beamlines: ['p21'] }), []);
  assert.deepEqual(branchesOf({ beamline: 'p11', beamlines: ['p11', 'p21'] }).map(b => b.beamlines), [['p11']]);
  // Too many combinations: the codes are asked with IN in one branch per person column.
  const many = branchesOf({ codes: [...CODES], person: 'p', beamlines: ['a', 'b', 'c'] });
  assert.equal(many.length, 6);
  assert.deepEqual(many[0]?.codes, CODES);
});

describeEachBackend('audit queries', (backend) => {
  let store: Store;
  let records: AuditRecord[];

  before(async () => {
    ({ store, records } = await filled(backend, mixedEvents(400)));
  });

  it('pages newest first by default, older and newer cursors walk the whole selection both ways', async () => {
    const first = await store.auditQueries.page({ limit: 7 });
    assert.deepEqual(first.records.map(r => r.seq), [400, 399, 398, 397, 396, 395, 394]);
    assert.equal(first.newer, undefined);
    assert.equal(first.older, 394);
    assert.deepEqual(first.records[0], records[399], 'records come back whole, as query() returns them');
    const second = await store.auditQueries.page({ limit: 7, before: first.older });
    assert.deepEqual(second.records.map(r => r.seq), [393, 392, 391, 390, 389, 388, 387]);
    assert.equal(second.newer, 393);
    const back = await store.auditQueries.page({ limit: 7, after: second.newer });
    assert.deepEqual(back.records, first.records);
    assert.equal(back.newer, undefined);
    const oldest = await store.auditQueries.page({ limit: 3, order: 'asc' });
    assert.deepEqual(oldest.records.map(r => r.seq), [1, 2, 3]);
    assert.equal(oldest.older, undefined);
    assert.equal(oldest.newer, 3);
    const beyond = await store.auditQueries.page({ limit: 5, before: 1 });
    assert.deepEqual(beyond.records, []);
    assert.equal(beyond.older, undefined);
    assert.equal(beyond.newer, 0, 'an empty page past the end still leads back');
  });

  it('every filter combination gives what the reference filter gives, page by page in both directions', async () => {
    await fc.assert(fc.asyncProperty(aSelection, fc.integer({ min: 1, max: 60 }), async (selection, limit) => {
      const expected = records.filter(r => matches(r, selection)).map(r => r.seq);
      const walked: number[] = [];
      let page = await store.auditQueries.page({ ...selection, limit });
      for (let guard = 0; guard < 500; guard++) {
        walked.push(...page.records.map(r => r.seq));
        if (page.older === undefined) break;
        page = await store.auditQueries.page({ ...selection, limit, before: page.older });
      }
      assert.deepEqual(walked, [...expected].reverse());
      const upward: number[] = [];
      page = await store.auditQueries.page({ ...selection, limit, order: 'asc' });
      for (let guard = 0; guard < 500; guard++) {
        upward.push(...page.records.map(r => r.seq));
        if (page.newer === undefined) break;
        page = await store.auditQueries.page({ ...selection, limit, order: 'asc', after: page.newer });
      }
      assert.deepEqual(upward, expected);
      assert.equal(await store.auditQueries.count(selection, 400), expected.length);
      assert.equal(await store.auditQueries.count(selection, 200), expected.filter(s => s <= 200).length);
    }), { numRuns: backend.kind === 'sqlite' ? 60 : 25 });
  });

  it('scans oldest first in batches up to a seq, for exports', async () => {
    const selection: AuditSelection = { person: 'F-2', codes: ['viewer.joined', 'control.transition'] };
    const batches: (readonly AuditRecord[])[] = [];
    for await (const batch of store.auditQueries.scan(selection, 350, 10)) batches.push(batch);
    const expected = records.filter(r => r.seq <= 350 && matches(r, selection));
    assert.deepEqual(batches.flat(), expected);
    assert.ok(batches.length >= Math.ceil(expected.length / 10));
    assert.ok(batches.every(b => b.length <= 10));
  });

  it('refuses a limit outside 1 to 1000 and a cursor that is not an integer', async () => {
    await assert.rejects(store.auditQueries.page({ limit: 0 }), RangeError);
    await assert.rejects(store.auditQueries.page({ limit: 1001 }), RangeError);
    await assert.rejects(store.auditQueries.page({ limit: 5, before: 1.5 }), RangeError);
  });

  it('reports the head', async () => {
    const head = await store.auditQueries.head();
    assert.deepEqual(head, { seq: 400, hash: records[399]!.hash });
  });
});

describeEachBackend('audit statistics', (backend) => {
  let store: Store;
  const at = (minutes: number): Date => new Date(T0 + minutes * MIN);
  const base = { message: 'm', target: 'desk-a' };

  before(async () => {
    ({ store } = await backend.open());
    const events: AuditEvent[] = [
      // F-1 on p11 / bt-1: 08:00 to 10:00.
      { ...base, code: 'viewer.joined', at: at(0), actor: 'F-1', beamline: 'p11', beamtime: 'bt-1', details: { viewer: 'v1', interactive: true } },
      // F-2 on p11 / bt-1: 09:00, never leaves (a crash).
      { ...base, code: 'viewer.joined', at: at(60), actor: 'F-2', beamline: 'p11', beamtime: 'bt-1', details: { viewer: 'v2', interactive: false } },
      { ...base, code: 'control.transition', at: at(70), actor: 'F-1', subject: 'F-1', beamline: 'p11', beamtime: 'bt-1', details: {} },
      { ...base, code: 'control.transition', at: at(80), actor: 'F-2', subject: 'F-1', beamline: 'p11', beamtime: 'bt-1', details: {} },
      { ...base, code: 'control.refused', at: at(81), actor: 'F-2', beamline: 'p11', beamtime: 'bt-1', details: {} },
      { ...base, code: 'input.blocked', at: at(90), actor: 'F-1', beamline: 'p11', beamtime: 'bt-1', details: { rule: 'r', viewer: 'v1' } },
      { ...base, code: 'input.blocked', at: at(95), actor: 'F-1', beamline: 'p11', beamtime: 'bt-1', details: { rule: 'r', viewer: 'v1', count: 41 } },
      { ...base, code: 'viewer.left', at: at(120), actor: 'F-1', beamline: 'p11', beamtime: 'bt-1', details: { viewer: 'v1' } },
      // F-1 on p21 (no beamtime): 11:00 to 11:30; the leave lacks the beamtime, as a leave during the checks does.
      { ...base, code: 'viewer.joined', at: at(180), actor: 'F-1', beamline: 'p21', target: 'desk-b', details: { viewer: 'v3' } },
      { ...base, code: 'viewer.left', at: at(210), actor: 'F-1', beamline: 'p21', target: 'desk-b', details: { viewer: 'v3' } },
      // A leave whose join is not in the log counts nothing.
      { ...base, code: 'viewer.left', at: at(215), actor: 'F-3', beamline: 'p21', details: { viewer: 'gone' } },
    ];
    for (const e of events) await store.audit.append(e);
  });

  const figures = (row: { remoteMs: number; connections: number; controlChanges: number; blockedActions: number } | undefined): number[] =>
    row === undefined ? [] : [row.remoteMs / MIN, row.connections, row.controlChanges, row.blockedActions];

  it('counts connection time per beamline, beamtime and person; an open join lasts until the end asked for', async () => {
    const stats = await store.auditQueries.stats({ to: at(240), now: at(1000) });
    assert.equal(stats.to.getTime(), at(240).getTime());
    // v1 120 min, v2 180 min (09:00 to 12:00, open), v3 30 min.
    assert.deepEqual(figures(stats.totals), [330, 3, 2, 42]);
    assert.deepEqual(stats.byBeamline.map(r => [r.key, ...figures(r)]), [['p11', 300, 2, 2, 42], ['p21', 30, 1, 0, 0]]);
    assert.deepEqual(stats.byBeamtime.map(r => [r.beamline, r.key, ...figures(r)]), [['p11', 'bt-1', 300, 2, 2, 42], ['p21', '', 30, 1, 0, 0]]);
    assert.deepEqual(stats.byPerson.map(r => [r.key, ...figures(r)]), [['F-2', 180, 1, 1, 0], ['F-1', 150, 2, 2, 42]]);
  });

  it('clips to the range: a connection begun before it counts from its start; now ends an open one', async () => {
    const stats = await store.auditQueries.stats({ from: at(90), to: at(5000), now: at(200) });
    assert.equal(stats.to.getTime(), at(200).getTime());
    // v1 09:30-10:00 = 30, v2 09:30-11:20 (now) = 110, v3 11:00-11:20 = 20; the blocked summary at 09:35 counts, the first at 09:30 too.
    assert.deepEqual(figures(stats.totals), [160, 3, 0, 42]);
    const late = await store.auditQueries.stats({ from: at(130), to: at(170), now: at(1000) });
    assert.deepEqual(figures(late.totals), [40, 1, 0, 0], 'only the open v2 spans 10:10 to 10:50');
  });

  it('narrows to a person, a beamline scope and a beamtime', async () => {
    const f1 = await store.auditQueries.stats({ person: 'F-1', to: at(240), now: at(1000) });
    assert.deepEqual(figures(f1.totals), [150, 2, 2, 42]);
    assert.deepEqual(f1.byPerson.map(r => r.key), ['F-1'], 'the other party of F-1\'s control changes is not listed');
    const p21 = await store.auditQueries.stats({ beamlines: ['p21'], to: at(240), now: at(1000) });
    assert.deepEqual(figures(p21.totals), [30, 1, 0, 0]);
    const bt = await store.auditQueries.stats({ beamtime: 'bt-1', to: at(240), now: at(1000) });
    assert.deepEqual(figures(bt.totals), [300, 2, 2, 42]);
    const none = await store.auditQueries.stats({ beamlines: [], now: at(1000) });
    assert.deepEqual(figures(none.totals), [0, 0, 0, 0]);
  });
});

describeEachBackend('audit chain check in short reads', (backend) => {
  const events = (n: number): AuditEvent[] => mixedEvents(n);

  it('agrees with verify() on an intact log longer than one page, and on each kind of damage', async () => {
    const { store, records } = await filled(backend, events(2100));
    assert.deepEqual(await store.auditQueries.checkChain(), { ok: true, records: 2100, headHash: records[2099]!.hash });
    const damage = [
      `update audit_log set message = 'nothing' where seq = 1500`,
      `delete from audit_log where seq = 700`,
      `update audit_log set details = 'not json' where seq = 1200`,
      `delete from audit_log where seq >= 2099`,
      `update audit_head set seq = 2050`,
    ];
    for (const statement of damage) {
      const copy = await filled(backend, events(2100));
      await backend.raw(copy.config, statement);
      const check = await copy.store.auditQueries.checkChain();
      assert.equal(check.ok, false, statement);
      assert.deepEqual(check, await copy.store.audit.verify(), statement);
    }
  });

  it('stays intact while records are appended during the check', async () => {
    const { store } = await filled(backend, events(3000));
    const appending = (async () => {
      for (let n = 0; n < 20; n++) await store.audit.append({ code: 'auth.login', at: new Date(), actor: 'F-9', message: `during ${n}` });
    })();
    const check = await store.auditQueries.checkChain();
    await appending;
    assert.equal(check.ok, true, check.ok ? '' : check.problem);
    assert.ok(check.records >= 3000);
    assert.deepEqual(await store.auditQueries.checkChain(), await store.audit.verify());
  });
});
