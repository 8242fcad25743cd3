// The gateway's JSON API as the pages use it: same-origin fetch, the session cookie goes by
// itself, state-changing requests carry the session's CSRF token.

export interface Reason { code: string; message: string }
export interface Decision { allow: boolean; reasons: Reason[]; validUntil?: string }
export interface Me {
  authenticated: boolean;
  loginDisabled?: boolean;
  login?: string;
  user?: { id: string; name: string; roles: string[]; mfa: boolean };
  csrfToken?: string;
}
export interface PortalDesktop { id: string; name: string; beamline: string; view: Decision; control: Decision }
export interface PortalBeamtime {
  id: string;
  title?: string;
  beamline: { id: string; name: string; mode: string };
  start: string;
  end: string;
  status: 'running' | 'upcoming' | 'ended';
  role: string;
  instruction?: { version: string; title: string; text: string; acknowledged: boolean };
  desktops: PortalDesktop[];
}
export interface Portal {
  user: { id: string; name: string; roles: string[]; mfa: boolean };
  beamtimes: PortalBeamtime[];
  beamlines: { id: string; name: string; mode: string; localContact: boolean; desktops: PortalDesktop[] }[];
  /** May this person read the audit log (the audit page), and of which beamlines. */
  audit?: { allowed: boolean; beamlines: 'all' | string[] };
}
export interface Access { desktop: { id: string; name: string; beamline: string }; view: Decision; control: Decision }

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

async function parse<T>(response: Response): Promise<T> {
  const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!response.ok) {
    throw new ApiError(response.status, body.error?.code ?? 'HTTP', body.error?.message ?? `the gateway answered ${response.status}`);
  }
  return body as T;
}

export async function getJson<T>(path: string): Promise<T> {
  return parse<T>(await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' }));
}

export async function postJson<T>(path: string, csrfToken: string, body: unknown): Promise<T> {
  return parse<T>(await fetch(path, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json', 'x-csrf-token': csrfToken },
    credentials: 'same-origin',
    body: JSON.stringify(body),
  }));
}

export async function logout(csrfToken: string): Promise<void> {
  const { redirect } = await postJson<{ redirect: string }>('/auth/logout', csrfToken, {});
  location.assign(redirect);
}

/** "2026-11-22 14:00 UTC" */
export function formatInstant(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** Builds an element with text and children; no innerHTML anywhere (user-office text is data). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, props: { [P in 'class' | 'href' | 'id' | 'role' | 'type']?: string } = {}, ...children: (Node | string | undefined)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) node.setAttribute(name, value);
  for (const child of children) if (child !== undefined) node.append(child);
  return node;
}
