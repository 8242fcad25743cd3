import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkReferences, userOfficeSchema } from '../../../policies/src/user-office.js';
import { DEMO_ACCOUNTS, demoAccount } from './accounts.js';
import { DEMO_BEAMLINE, DEMO_BEAMTIME, sampleUserOffice, VIEW_ONLY_BEAMLINE } from './sample-user-office.js';

const NOW = new Date('2026-11-20T14:30:00.000Z');

describe('sampleUserOffice', () => {
  const doc = sampleUserOffice(NOW);
  const data = userOfficeSchema.parse(doc);
  const id = (login: string): string => demoAccount(login).facilityUserId;

  it('is valid user-office data with consistent references, and survives JSON as it is', () => {
    assert.deepEqual(checkReferences(data), []);
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
    assert.deepEqual(userOfficeSchema.parse(JSON.parse(JSON.stringify(doc))), data);
  });

  it('writes every instant as ISO 8601 in UTC', () => {
    const instants = [
      ...(doc.beamtimes ?? []).flatMap(b => [b.start, b.end]),
      ...(doc.trainings ?? []).map(t => t.validUntil),
    ];
    assert.ok(instants.length > 0);
    for (const s of instants) assert.match(s, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  it('has bl-demo for remote control with carol as local contact, the training rules, grace and instruction', () => {
    const bl = data.beamlines.find(b => b.id === DEMO_BEAMLINE);
    assert.ok(bl !== undefined);
    assert.equal(bl.mode, 'remote-control');
    assert.deepEqual(bl.localContacts, ['F-2001']);
    assert.deepEqual(bl.requiredTraining, { view: ['general-safety'], control: ['general-safety', 'radiation-protection'] });
    assert.deepEqual(bl.graceMinutes, { before: 30, after: 30 });
    assert.equal(bl.instruction?.version, '2026-11');
    assert.ok(bl.instruction.text.length > 100, 'a real instruction text');
    assert.equal(data.beamlines.find(b => b.id === VIEW_ONLY_BEAMLINE)?.mode, 'view-only');
  });

  it('runs BT-DEMO-1 from two hours ago for two days, with the four remote people and approved grants', () => {
    const bt = data.beamtimes.find(b => b.id === DEMO_BEAMTIME);
    assert.ok(bt !== undefined);
    assert.equal(bt.beamline, DEMO_BEAMLINE);
    assert.equal(bt.start.toISOString(), '2026-11-20T12:30:00.000Z');
    assert.equal(bt.end.toISOString(), '2026-11-22T14:30:00.000Z');
    assert.deepEqual(bt.participants.map(p => [p.user, p.role]), [
      [id('alice.remote'), 'principal-investigator'], [id('bob.expired'), 'participant'], [id('oscar.observer'), 'observer'], [id('mia.mfa'), 'participant'],
    ]);
    assert.deepEqual(data.remoteAccessGrants.map(g => [g.beamtime, g.user, g.status]), bt.participants.map(p => [DEMO_BEAMTIME, p.user, 'approved']));
    assert.ok(!bt.participants.some(p => p.user === id('carol.contact')), 'staff are not participants');
    assert.deepEqual(data.acknowledgements, []);
  });

  it('lets bob\'s radiation protection expire at midnight UTC yesterday and keeps every other training valid for a year', () => {
    const yearAhead = new Date('2027-11-20T00:00:00.000Z').getTime();
    for (const a of DEMO_ACCOUNTS) {
      for (const kind of ['general-safety', 'radiation-protection']) {
        const record = data.trainings.find(t => t.user === a.facilityUserId && t.kind === kind);
        assert.ok(record !== undefined, `${a.login} has ${kind}`);
        const expected = a.login === 'bob.expired' && kind === 'radiation-protection' ? '2026-11-19T00:00:00.000Z' : new Date(yearAhead).toISOString();
        assert.equal(record.validUntil.toISOString(), expected, `${a.login} ${kind}`);
      }
    }
  });

  it('knows every demo account by its facility id and name', () => {
    assert.deepEqual(data.users.map(u => [u.id, u.name]), DEMO_ACCOUNTS.map(a => [a.facilityUserId, a.name]));
  });

  it('follows the clock it is given, so the beamtime is running whenever the demo starts', () => {
    const later = userOfficeSchema.parse(sampleUserOffice(new Date('2030-01-01T00:00:00Z')));
    const bt = later.beamtimes[0];
    assert.equal(bt?.start.toISOString(), '2029-12-31T22:00:00.000Z');
    assert.equal(later.trainings.find(t => t.user === 'F-1002' && t.kind === 'radiation-protection')?.validUntil.toISOString(), '2029-12-31T00:00:00.000Z');
  });
});
