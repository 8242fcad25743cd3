// Maps an OpenID Connect provider's claims to Beamgate's identity: the facility user id, a
// display name, the application roles and whether the login used a second factor. Pure.
// Keycloak is the documented example (realm_access.roles, resource_access.<client>.roles,
// groups); any provider works by pointing the claim paths elsewhere (docs/identity.md).
import type { AppRole } from '../../../policies/src/decide.js';

export interface ClaimMapping {
  /** Claim path of the facility user id (the id the user office knows), e.g. ['facility_user_id']. */
  readonly userId: readonly string[];
  /** Claim paths tried in order for the display name. */
  readonly name: readonly (readonly string[])[];
  /** Claim paths whose string or string-array values are the person's provider roles/groups. */
  readonly roleSources: readonly (readonly string[])[];
  /** Application role -> provider values (exact match) that grant it. */
  readonly roles: { readonly [R in Exclude<AppRole, 'user'>]: readonly string[] };
  /** A login counts as multi-factor when acr is one of acr, or amr contains one of amr. */
  readonly mfa: { readonly acr: readonly string[]; readonly amr: readonly string[] };
}

export interface Identity {
  readonly sub: string;
  readonly userId: string;
  readonly name: string;
  readonly roles: readonly AppRole[];
  readonly mfa: boolean;
}

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

/** Splits 'resource_access.beamgate.roles' into a path; a key with a dot is written as ['a.b'] in config. */
export function claimPath(path: string | readonly string[]): readonly string[] {
  return typeof path === 'string' ? path.split('.') : path;
}

function at(claims: unknown, path: readonly string[]): unknown {
  let value = claims;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** Throws IdentityError when the claims lack a subject or the facility user id. */
export function mapIdentity(claims: Readonly<Record<string, unknown>>, mapping: ClaimMapping): Identity {
  const sub = claims['sub'];
  if (typeof sub !== 'string' || sub === '') throw new IdentityError('the identity provider sent no subject (sub claim)');
  const userId = at(claims, mapping.userId);
  if (typeof userId !== 'string' || userId === '') {
    throw new IdentityError(
      `the identity provider sent no facility user id (claim ${mapping.userId.join('.')}); ask the facility IT to map it for this account`,
    );
  }
  const name = mapping.name.map(p => at(claims, p)).find((v): v is string => typeof v === 'string' && v !== '') ?? userId;
  const held = new Set(mapping.roleSources.flatMap(p => strings(at(claims, p))));
  const roles: AppRole[] = ['user'];
  for (const role of ['admin', 'safety-officer', 'staff'] as const) {
    if (mapping.roles[role].some(value => held.has(value))) roles.push(role);
  }
  const acr = claims['acr'];
  const mfa = (typeof acr === 'string' && mapping.mfa.acr.includes(acr)) || strings(claims['amr']).some(m => mapping.mfa.amr.includes(m));
  return { sub, userId, name, roles, mfa };
}

/** The Keycloak-shaped default: realm roles, the client's roles and groups; MFA from acr/amr. */
export function keycloakMapping(clientId: string): ClaimMapping {
  return {
    userId: ['facility_user_id'],
    name: [['name'], ['preferred_username']],
    roleSources: [['realm_access', 'roles'], ['resource_access', clientId, 'roles'], ['groups']],
    roles: { admin: ['beamgate-admin'], 'safety-officer': ['beamgate-safety-officer'], staff: ['beamgate-staff'] },
    mfa: { acr: ['mfa', 'urn:beamgate:mfa'], amr: ['otp', 'mfa', 'hwk', 'swk'] },
  };
}
