import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keycloakMapping, mapIdentity } from '../auth/identity.js';
import { DEMO_ACCOUNTS, DEMO_ROLES_CLIENT, demoAccount, keycloakClaims } from './accounts.js';

describe('demo accounts', () => {
  it('have distinct logins, subjects, facility ids and passwords', () => {
    for (const key of ['login', 'sub', 'facilityUserId', 'password'] as const) {
      const values = DEMO_ACCOUNTS.map(a => a[key]);
      assert.equal(new Set(values).size, values.length, `${key} repeats`);
    }
  });

  it('are the seven people the demo shows, with the facility ids the user office knows', () => {
    assert.deepEqual(DEMO_ACCOUNTS.map(a => [a.login, a.facilityUserId]), [
      ['alice.remote', 'F-1001'], ['bob.expired', 'F-1002'], ['carol.contact', 'F-2001'], ['sam.safety', 'F-3001'],
      ['ada.admin', 'F-9001'], ['oscar.observer', 'F-1003'], ['mia.mfa', 'F-1004'],
    ]);
  });

  it('have passwords that are readable but neither empty, short nor the login itself', () => {
    for (const a of DEMO_ACCOUNTS) {
      assert.ok(a.password.length >= 12, a.login);
      assert.notEqual(a.password, a.login);
      assert.match(a.password, /^[a-z]+-demo-pass$/);
    }
  });

  it('give Keycloak-shaped claims: realm roles with the defaults, beamgate client roles, full group paths', () => {
    const claims = keycloakClaims(demoAccount('carol.contact'));
    assert.deepEqual(claims, {
      sub: 'ca201000-0000-4000-8000-000000002001',
      name: 'Carol Contact', given_name: 'Carol', family_name: 'Contact', preferred_username: 'carol.contact',
      email: 'carol.contact@example.org', email_verified: true,
      facility_user_id: 'F-2001',
      realm_access: { roles: ['default-roles-facility', 'offline_access', 'uma_authorization', 'beamgate-staff'] },
      resource_access: { account: { roles: ['manage-account', 'manage-account-links', 'view-profile'] }, [DEMO_ROLES_CLIENT]: { roles: ['remote-access'] } },
      groups: ['/facility/staff', '/facility/staff/beamlines/bl-demo'],
    });
    for (const a of DEMO_ACCOUNTS) {
      for (const g of a.groups) assert.match(g, /^(\/[a-z0-9-]+)+$/, `${a.login}: ${g} is a full group path`);
    }
  });

  it('map to exactly the Beamgate roles their situation needs, and only mia counts as multi-factor', () => {
    const mapping = keycloakMapping(DEMO_ROLES_CLIENT);
    const mapped = DEMO_ACCOUNTS.map((a) => {
      const claims = { ...keycloakClaims(a), ...(a.mfa === undefined ? {} : { acr: a.mfa.acr, amr: [...a.mfa.amr] }) };
      const identity = mapIdentity(claims, mapping);
      return [a.login, identity.userId, identity.roles.join('+'), identity.mfa];
    });
    assert.deepEqual(mapped, [
      ['alice.remote', 'F-1001', 'user', false],
      ['bob.expired', 'F-1002', 'user', false],
      ['carol.contact', 'F-2001', 'user+staff', false],
      ['sam.safety', 'F-3001', 'user+safety-officer', false],
      ['ada.admin', 'F-9001', 'user+admin', false],
      ['oscar.observer', 'F-1003', 'user', false],
      ['mia.mfa', 'F-1004', 'user', true],
    ]);
  });

  it('returns copies, so a caller cannot change an account through its claims', () => {
    const alice = demoAccount('alice.remote');
    const claims = keycloakClaims(alice);
    (claims['groups'] as string[]).push('/facility/staff');
    assert.deepEqual(keycloakClaims(alice)['groups'], ['/facility/users', '/facility/users/remote']);
  });

  it('names the known logins when asked for an unknown one', () => {
    assert.throws(() => demoAccount('eve'), /no demo account "eve"; the logins are alice\.remote, bob\.expired/);
  });
});
