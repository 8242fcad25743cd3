// The session cookie: a random id (the session itself stays on the server). `__Host-` prefix,
// Secure, HttpOnly, Path=/, SameSite=Strict whenever the gateway is served over https; only a
// plain-http loopback demo drops Secure and the prefix (browsers refuse both without https).
import { randomBytes } from 'node:crypto';

export interface CookiePolicy {
  readonly secure: boolean;
  readonly name: string;
}

export function cookiePolicy(publicUrl: string): CookiePolicy {
  const secure = new URL(publicUrl).protocol === 'https:';
  return { secure, name: secure ? '__Host-beamgate-session' : 'beamgate-session' };
}

/** 256 random bits, base64url: the cookie value and the CSRF token. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sessionCookie(policy: CookiePolicy, value: string, maxAgeSeconds: number): string {
  return [`${policy.name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`, ...(policy.secure ? ['Secure'] : [])].join('; ');
}

export function clearedSessionCookie(policy: CookiePolicy): string {
  return [`${policy.name}=`, 'Path=/', 'HttpOnly', 'SameSite=Strict', 'Max-Age=0', ...(policy.secure ? ['Secure'] : [])].join('; ');
}

const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;

/** The session id from a Cookie header; undefined when absent or not shaped like one of ours. */
export function readSessionCookie(policy: CookiePolicy, header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== policy.name) continue;
    const value = part.slice(eq + 1).trim();
    return TOKEN.test(value) ? value : undefined;
  }
  return undefined;
}
