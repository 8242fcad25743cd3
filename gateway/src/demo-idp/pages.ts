// The demo identity provider's HTML pages (login form, logout question, messages) and the
// Content Security Policy they are served with. No script anywhere; the one <style> block
// carries a per-response nonce. The login page never lists the accounts: people type what the
// demo printed, as they would at a real provider. Pure: strings in, strings out.

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}

export interface CspOptions {
  /** Nonce of the page's <style> block; without one, no style is allowed. */
  readonly styleNonce?: string;
  /**
   * Origins a form on the page may lead to. Browsers apply form-action to the redirects after a
   * submission, so the login form needs the relying parties' callback origins too.
   */
  readonly formTargets: readonly string[];
}

/**
 * `script-src 'self'` serves no script of ours; it is there so oidc-provider can add the hash of
 * its one auto-submitting form (the logout confirmation when there is no session left).
 */
export function contentSecurityPolicy(options: CspOptions): string {
  return [
    `default-src 'none'`,
    `script-src 'self'`,
    options.styleNonce === undefined ? `style-src 'none'` : `style-src 'nonce-${options.styleNonce}'`,
    `form-action 'self' ${[...new Set(options.formTargets)].join(' ')}`.trimEnd(),
    `frame-ancestors 'none'`,
    `base-uri 'none'`,
  ].join('; ');
}

const STYLE = 'body{font:16px/1.45 system-ui,sans-serif;margin:0;background:#eef1f4;color:#1c2430}'
  + 'main{max-width:26rem;margin:3rem auto;padding:1.5rem 2rem;background:#fff;border-radius:6px;box-shadow:0 1px 4px #0003}'
  + 'h1{font-size:1.3rem;margin:0 0 .5rem}p.note{color:#555;font-size:.9rem}'
  + 'label{display:block;margin:.8rem 0 .2rem;font-weight:600}input{width:100%;box-sizing:border-box;padding:.45rem;font:inherit}'
  + 'button{margin:1rem .5rem 0 0;padding:.5rem 1rem;font:inherit}'
  + '.error{color:#a40000;background:#fde8e8;padding:.5rem .7rem;border-radius:4px}';

function layout(nonce: string, title: string, body: string): string {
  return '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
    + `<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)} – Beamgate demo identity provider</title>`
    + `<style nonce="${escapeHtml(nonce)}">${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

export const WRONG_CREDENTIALS = 'wrong user name or password';

export interface LoginPageOptions {
  readonly nonce: string;
  /** Where the form posts to (the interaction's URL path). */
  readonly action: string;
  /** The application asking for the login, shown so people know where they are going. */
  readonly clientName: string;
  /** Shown above the form after a failed attempt. */
  readonly error?: string;
  /** The user name typed last time, kept so only the password has to be typed again. */
  readonly login?: string;
}

export function loginPage(options: LoginPageOptions): string {
  const error = options.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(options.error)}</p>`;
  const action = escapeHtml(options.action);
  return layout(options.nonce, 'Log in', `<h1>Log in to ${escapeHtml(options.clientName)}</h1>${error}`
    + `<form method="post" action="${action}" autocomplete="off">`
    + '<input type="hidden" name="prompt" value="login">'
    + `<label for="login">User name</label><input id="login" name="login" required autofocus value="${escapeHtml(options.login ?? '')}">`
    + '<label for="password">Password</label><input id="password" name="password" type="password" required>'
    + '<button type="submit">Log in</button></form>'
    + `<form method="post" action="${action}"><input type="hidden" name="prompt" value="cancel"><button type="submit">Cancel</button></form>`
    + '<p class="note">Demo identity provider for development and tests only. Use an account that <code>npm run demo</code> printed.</p>');
}

export function messagePage(nonce: string, title: string, text: string): string {
  return layout(nonce, title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>`);
}

/** `form` is oidc-provider's hidden form (id op.logoutForm, with its CSRF field); the buttons submit it. */
export function logoutPage(nonce: string, form: string, clientName: string | undefined): string {
  const from = clientName === undefined ? '' : `<p>You are leaving ${escapeHtml(clientName)}.</p>`;
  return layout(nonce, 'Log out', `<h1>Log out of the demo identity provider?</h1>${from}${form}`
    + '<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, log me out</button>'
    + '<button type="submit" form="op.logoutForm">No, stay logged in here</button>');
}
