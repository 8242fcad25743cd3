// Which part of the audit log a person may read, from the policy's `audit` decisions per
// beamline. Administrators and safety officers read it on grounds of their role, which hold for
// every beamline and so for the whole log (logins and gateway records carry no beamline); a local
// contact reads the records of their own beamlines only. Pure.
import type { Decision, Reason } from '../../../policies/src/decide.js';

export type AuditScope =
  | { readonly kind: 'all' }
  | { readonly kind: 'beamlines'; readonly beamlines: readonly string[] }
  | { readonly kind: 'none'; readonly reasons: readonly Reason[] };

/** Reasons that rest on the person's role, not on a beamline: they open the whole log. */
const WHOLE_LOG_GROUNDS: ReadonlySet<string> = new Set(['admin-audit', 'safety-officer-audit']);

const NO_BEAMLINES: Reason = {
  code: 'audit-not-permitted',
  message: 'the audit log is open to administrators, safety officers and the local contacts of a beamline only',
};

/** decisions: beamline id -> decide(subject, 'audit', { beamline }). */
export function auditScopeOf(decisions: ReadonlyMap<string, Decision>): AuditScope {
  const allowed = [...decisions].filter(([, d]) => d.allow);
  if (allowed.some(([, d]) => d.reasons.some(r => WHOLE_LOG_GROUNDS.has(r.code)))) return { kind: 'all' };
  if (allowed.length > 0) return { kind: 'beamlines', beamlines: allowed.map(([beamline]) => beamline).sort() };
  const first = decisions.values().next();
  return { kind: 'none', reasons: first.done === true ? [NO_BEAMLINES] : first.value.reasons };
}

/** Whether the scope covers one beamline's records. */
export function scopeCovers(scope: AuditScope, beamline: string): boolean {
  return scope.kind === 'all' || (scope.kind === 'beamlines' && scope.beamlines.includes(beamline));
}

/** What the portal and the audit page show: may this person open the audit pages, and for what. */
export function describeScope(scope: AuditScope): { readonly allowed: boolean; readonly beamlines: 'all' | readonly string[] } {
  switch (scope.kind) {
    case 'all': return { allowed: true, beamlines: 'all' };
    case 'beamlines': return { allowed: true, beamlines: scope.beamlines };
    case 'none': return { allowed: false, beamlines: [] };
  }
}
