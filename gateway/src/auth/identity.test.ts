import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { claimPath, keycloakMapping, mapIdentity } from './identity.js';

const mapping = keycloakMapping('beamgate');

describe('mapIdentity (Keycloak-shaped claims)', () => {
  it('takes the facility id, name and roles from realm roles, client roles and groups', () => {
    const id = mapIdentity({
      sub: 'kc-123', name: 'Carol Contact', facility_user_id: 'F-2001',
      realm_access: { roles: ['offline_access', 'beamgate-staff'] },
      resource_access: { beamgate: { roles: ['beamgate-safety-officer'] }, other: { roles: ['beamgate-admin'] } },
      groups: ['/facility/staff'],
    }, mapping);
    assert.deepEqual(id, { sub: 'kc-123', userId: 'F-2001', name: 'Carol Contact', roles: ['user', 'safety-officer', 'staff'], mfa: false });
  });

  it('does not grant a role whose name merely contains or extends a configured one', () => {
    const id = mapIdentity({ sub: 's', facility_user_id: 'F-1', realm_access: { roles: ['beamgate-staff-trainee', 'beamgate-admi', 'x-beamgate-admin'] } }, mapping);
    assert.deepEqual(id.roles, ['user']);
  });

  it('ignores roles from another client and values that are not strings', () => {
    const id = mapIdentity({ sub: 's', facility_user_id: 'F-1', resource_access: { other: { roles: ['beamgate-admin'] } }, groups: [42, { a: 1 }] }, mapping);
    assert.deepEqual(id.roles, ['user']);
  });

  it('recognises MFA from acr or amr, and not from a password-only login', () => {
    assert.equal(mapIdentity({ sub: 's', facility_user_id: 'F', amr: ['pwd', 'otp'] }, mapping).mfa, true);
    assert.equal(mapIdentity({ sub: 's', facility_user_id: 'F', acr: 'mfa' }, mapping).mfa, true);
    assert.equal(mapIdentity({ sub: 's', facility_user_id: 'F', acr: '1', amr: ['pwd'] }, mapping).mfa, false);
    assert.equal(mapIdentity({ sub: 's', facility_user_id: 'F', amr: 'otp' }, mapping).mfa, true);
  });

  it('falls back to preferred_username, then the user id, for the name', () => {
    assert.equal(mapIdentity({ sub: 's', facility_user_id: 'F-7', preferred_username: 'pat' }, mapping).name, 'pat');
    assert.equal(mapIdentity({ sub: 's', facility_user_id: 'F-7' }, mapping).name, 'F-7');
  });

  it('refuses claims without sub or facility user id, saying which claim is missing', () => {
    assert.throws(() => mapIdentity({ facility_user_id: 'F' }, mapping), /no subject/);
    assert.throws(() => mapIdentity({ sub: 's' }, mapping), /facility_user_id/);
    assert.throws(() => mapIdentity({ sub: 's', facility_user_id: '' }, mapping), /facility_user_id/);
  });

  it('does not follow inherited properties of the claims object', () => {
    assert.throws(() => mapIdentity({ sub: 's', facility_user_id: 'F', ...{} }, { ...mapping, userId: ['constructor', 'name'] }), /no facility user id/);
  });

  it('splits dotted claim paths, and keeps array paths as they are', () => {
    assert.deepEqual(claimPath('resource_access.beamgate.roles'), ['resource_access', 'beamgate', 'roles']);
    assert.deepEqual(claimPath(['https://example.org/claims', 'roles']), ['https://example.org/claims', 'roles']);
  });
});
