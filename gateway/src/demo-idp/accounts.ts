// The demo identity provider's sample people, one per situation the demo and the tests show,
// and the Keycloak-shaped claims each one logs in with (the same shapes a facility's Keycloak
// sends once its mappers are set up: realm_access, resource_access.<client>, groups with full
// paths, a facility user id attribute, acr/amr after a second factor). Plain data: the demo
// prints the logins and passwords, so they are readable on purpose and protect nothing.

/** The Keycloak client whose client roles the accounts carry (resource_access.beamgate.roles). */
export const DEMO_ROLES_CLIENT = 'beamgate';

/** Realm roles every Keycloak realm gives every user; present so the shapes match, never mapped to a Beamgate role. */
const DEFAULT_REALM_ROLES = ['default-roles-facility', 'offline_access', 'uma_authorization'] as const;
/** Keycloak's own "account" client roles, which every user has; another client's roles must never count for Beamgate. */
const ACCOUNT_CLIENT_ROLES = ['manage-account', 'manage-account-links', 'view-profile'] as const;

export interface DemoAccount {
  /** What this account demonstrates, for the demo's printed table. */
  readonly shows: string;
  /** The user name typed at login (preferred_username). */
  readonly login: string;
  readonly password: string;
  /** The subject (sub): opaque and stable, a UUID as Keycloak issues; Beamgate keys people by facilityUserId instead. */
  readonly sub: string;
  readonly name: string;
  readonly email: string;
  /** The id the user office knows the person by (claim facility_user_id). */
  readonly facilityUserId: string;
  /** Realm roles besides Keycloak's defaults (realm_access.roles). */
  readonly realmRoles: readonly string[];
  /** Roles of the beamgate client (resource_access.beamgate.roles). */
  readonly clientRoles: readonly string[];
  /** Group memberships as full paths. */
  readonly groups: readonly string[];
  /** Set when this person's login counts as multi-factor: the claims Keycloak sends after an OTP step. */
  readonly mfa?: { readonly acr: string; readonly amr: readonly string[] };
}

export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  {
    shows: 'remote user: valid training, approved grant for BT-DEMO-1',
    login: 'alice.remote', password: 'alice-demo-pass', sub: 'a11ce000-0000-4000-8000-000000001001',
    name: 'Alice Remote', email: 'alice.remote@example.org', facilityUserId: 'F-1001',
    realmRoles: [], clientRoles: ['remote-access'], groups: ['/facility/users', '/facility/users/remote'],
  },
  {
    shows: 'remote user whose radiation protection training expired yesterday: may watch, may not drive',
    login: 'bob.expired', password: 'bob-demo-pass', sub: 'b0b00000-0000-4000-8000-000000001002',
    name: 'Bob Expired', email: 'bob.expired@example.org', facilityUserId: 'F-1002',
    realmRoles: [], clientRoles: ['remote-access'], groups: ['/facility/users', '/facility/users/remote'],
  },
  {
    shows: 'local contact of bl-demo (staff): opens sessions, takes control back',
    login: 'carol.contact', password: 'carol-demo-pass', sub: 'ca201000-0000-4000-8000-000000002001',
    name: 'Carol Contact', email: 'carol.contact@example.org', facilityUserId: 'F-2001',
    realmRoles: ['beamgate-staff'], clientRoles: ['remote-access'], groups: ['/facility/staff', '/facility/staff/beamlines/bl-demo'],
  },
  {
    shows: 'safety officer: reads the audit log, watches read-only',
    login: 'sam.safety', password: 'sam-demo-pass', sub: '5a3f0000-0000-4000-8000-000000003001',
    name: 'Sam Safety', email: 'sam.safety@example.org', facilityUserId: 'F-3001',
    realmRoles: ['beamgate-safety-officer'], clientRoles: [], groups: ['/facility/staff', '/facility/safety'],
  },
  {
    shows: 'admin: targets, beamlines, policies',
    login: 'ada.admin', password: 'ada-demo-pass', sub: 'ada00000-0000-4000-8000-000000009001',
    name: 'Ada Admin', email: 'ada.admin@example.org', facilityUserId: 'F-9001',
    realmRoles: ['beamgate-admin'], clientRoles: [], groups: ['/facility/staff', '/facility/it'],
  },
  {
    shows: 'observer on BT-DEMO-1: watches, never drives',
    login: 'oscar.observer', password: 'oscar-demo-pass', sub: '05ca2000-0000-4000-8000-000000001003',
    name: 'Oscar Observer', email: 'oscar.observer@example.org', facilityUserId: 'F-1003',
    realmRoles: [], clientRoles: ['remote-access'], groups: ['/facility/users', '/collaborations/demo'],
  },
  {
    shows: 'remote user whose login counts as multi-factor (amr pwd+otp, acr mfa)',
    login: 'mia.mfa', password: 'mia-demo-pass', sub: '31a00000-0000-4000-8000-000000001004',
    name: 'Mia Multifactor', email: 'mia.mfa@example.org', facilityUserId: 'F-1004',
    realmRoles: [], clientRoles: ['remote-access'], groups: ['/facility/users', '/facility/users/remote'],
    mfa: { acr: 'mfa', amr: ['pwd', 'otp'] },
  },
];

/** The demo accounts by login, for code that names a person ("alice.remote") rather than an index. */
export function demoAccount(login: string, accounts: readonly DemoAccount[] = DEMO_ACCOUNTS): DemoAccount {
  const account = accounts.find(a => a.login === login);
  if (account === undefined) throw new Error(`no demo account "${login}"; the logins are ${accounts.map(a => a.login).join(', ')}`);
  return account;
}

/**
 * The claims this account logs in with, in Keycloak's shapes. The standard ones (name,
 * preferred_username, email) come with the profile/email scopes; the rest with every login,
 * as Keycloak's default "roles" scope and the facility's mappers do.
 */
export function keycloakClaims(account: DemoAccount): Record<string, unknown> {
  const [given, ...family] = account.name.split(' ');
  return {
    sub: account.sub,
    name: account.name,
    given_name: given,
    family_name: family.join(' '),
    preferred_username: account.login,
    email: account.email,
    email_verified: true,
    facility_user_id: account.facilityUserId,
    realm_access: { roles: [...DEFAULT_REALM_ROLES, ...account.realmRoles] },
    resource_access: {
      account: { roles: [...ACCOUNT_CLIENT_ROLES] },
      ...(account.clientRoles.length === 0 ? {} : { [DEMO_ROLES_CLIENT]: { roles: [...account.clientRoles] } }),
    },
    groups: [...account.groups],
  };
}
