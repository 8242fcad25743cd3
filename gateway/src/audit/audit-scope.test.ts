import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decide, indexFacts, type Subject } from '../../../policies/src/decide.js';
import { userOfficeSchema } from '../../../policies/src/user-office.js';
import { sampleUserOffice } from '../demo-idp/sample-user-office.js';
import { auditScopeOf, describeScope, scopeCovers } from './audit-scope.js';

const now = new Date(Date.UTC(2026, 10, 22, 12));
const data = userOfficeSchema.parse(sampleUserOffice(now));
const facts = indexFacts(data);
const person = (userId: string, roles: Subject['roles']): Subject => ({ userId, name: userId, roles, mfa: false });
const scopeOf = (subject: Subject) =>
  auditScopeOf(new Map(data.beamlines.map(b => [b.id, decide(subject, 'audit', { beamline: b.id }, now, facts)])));

describe('auditScopeOf', () => {
  it('opens the whole log to safety officers and administrators, on their role', () => {
    assert.deepEqual(scopeOf(person('F-3001', ['user', 'safety-officer'])), { kind: 'all' });
    assert.deepEqual(scopeOf(person('F-9001', ['user', 'admin'])), { kind: 'all' });
  });

  it('gives a local contact their beamlines only, even when that is every beamline', () => {
    // carol.contact is the local contact of both demo beamlines: still not the records without a beamline.
    assert.deepEqual(scopeOf(person('F-2001', ['user', 'staff'])), { kind: 'beamlines', beamlines: ['bl-demo', 'bl-view'] });
  });

  it('refuses a remote user with the policy\'s reason', () => {
    const scope = scopeOf(person('F-1001', ['user']));
    if (scope.kind !== 'none') assert.fail(`expected no scope, got ${scope.kind}`);
    assert.equal(scope.reasons[0]?.code, 'audit-not-permitted');
    assert.deepEqual(describeScope(scope), { allowed: false, beamlines: [] });
  });

  it('refuses everyone when there is no beamline to decide on', () => {
    const scope = auditScopeOf(new Map());
    assert.equal(scope.kind, 'none');
  });

  it('covers a beamline when the scope names it or is the whole log', () => {
    assert.equal(scopeCovers({ kind: 'all' }, 'x'), true);
    assert.equal(scopeCovers({ kind: 'beamlines', beamlines: ['a'] }, 'a'), true);
    assert.equal(scopeCovers({ kind: 'beamlines', beamlines: ['a'] }, 'b'), false);
    assert.equal(scopeCovers({ kind: 'none', reasons: [] }, 'a'), false);
  });
});
