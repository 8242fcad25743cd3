// The demo provider's own login step, in place of oidc-provider's devInteractions (which accept
// any password). GET /interaction/:uid shows the login form; POST checks the password and
// finishes the interaction with the login and a grant for everything the application asked for,
// so there is no separate consent page (as with a Keycloak client that needs no consent). An
// interaction that only needs consent (the person is already logged in here) is granted at once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Interaction, InteractionResults, Provider } from 'oidc-provider';
import type { DemoAccount } from './accounts.js';
import { checkPassword } from './password-check.js';
import { contentSecurityPolicy, loginPage, messagePage, WRONG_CREDENTIALS } from './pages.js';
import type { DemoIdpLog } from './identity-provider.js';

export interface InteractionDeps {
  readonly provider: Provider;
  readonly accounts: readonly DemoAccount[];
  /** client_id -> the name shown on the login page. */
  readonly clientNames: ReadonlyMap<string, string>;
  /** Origins the login form may lead to (see contentSecurityPolicy). */
  readonly formTargets: readonly string[];
  readonly log: DemoIdpLog;
}

/** A login form is a few hundred bytes; anything far larger is not one. */
const MAX_FORM_BYTES = 8 * 1024;

export const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/;

/** Answers GET and POST /interaction/:uid; `uid` comes from INTERACTION_PATH. */
export async function handleInteraction(req: IncomingMessage, res: ServerResponse, uid: string, deps: InteractionDeps): Promise<void> {
  const nonce = randomBytes(16).toString('base64');
  const send = (status: number, html: string): void => {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': contentSecurityPolicy({ styleNonce: nonce, formTargets: deps.formTargets }),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(html);
  };
  if (req.method !== 'GET' && req.method !== 'POST') {
    res.setHeader('allow', 'GET, POST');
    send(405, messagePage(nonce, 'Not allowed', 'This page only takes GET and POST.'));
    return;
  }
  let form: URLSearchParams | undefined;
  if (req.method === 'POST') {
    form = await readForm(req);
    if (form === undefined) {
      send(413, messagePage(nonce, 'Too large', 'The login form sent more than a login form holds. Go back to the application and log in again.'));
      return;
    }
  }
  let interaction: Interaction | undefined;
  try {
    interaction = await deps.provider.interactionDetails(req, res);
  } catch {
    // No interaction cookie, or the interaction expired (SessionNotFound): answered below.
  }
  // The interaction cookie is scoped to this path; a uid that does not match it is a stale tab or a forged link.
  if (interaction === undefined || interaction.uid !== uid) {
    send(400, messagePage(nonce, 'Login expired', 'This login page is no longer valid. Go back to the application and start the login again.'));
    return;
  }
  const clientId = typeof interaction.params['client_id'] === 'string' ? interaction.params['client_id'] : '';
  const clientName = deps.clientNames.get(clientId) ?? clientId;

  if (form?.get('prompt') === 'cancel') {
    deps.log.info('demo identity provider: a login was cancelled');
    await deps.provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled the login' }, { mergeWithLastSubmission: false });
    return;
  }

  switch (interaction.prompt.name) {
    case 'login': {
      if (form === undefined) {
        send(200, loginPage({ nonce, action: `/interaction/${uid}`, clientName }));
        return;
      }
      const login = form.get('login') ?? '';
      const account = checkPassword(deps.accounts, login, form.get('password') ?? '');
      if (account === undefined) {
        // The typed name is not logged: people type passwords into the name field.
        deps.log.info('demo identity provider: a login failed (wrong user name or password)');
        send(200, loginPage({ nonce, action: `/interaction/${uid}`, clientName, error: WRONG_CREDENTIALS, login }));
        return;
      }
      const factors = account.mfa === undefined ? {} : { acr: account.mfa.acr, amr: [...account.mfa.amr] };
      const result: InteractionResults = {
        login: { accountId: account.sub, remember: false, ...factors },
        consent: { grantId: await saveGrant(deps.provider, interaction, account.sub, clientId) },
      };
      deps.log.info(`demo identity provider: ${account.login} logged in to ${clientId}`);
      await deps.provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
      return;
    }
    case 'consent': {
      const accountId = interaction.session?.accountId;
      if (accountId === undefined) break;
      const grantId = await saveGrant(deps.provider, interaction, accountId, clientId);
      await deps.provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    default:
      break;
  }
  send(501, messagePage(nonce, 'Not supported', `The demo identity provider cannot handle the "${interaction.prompt.name}" step. Start the login again.`));
}

/**
 * A grant covering every scope the application requested (the claims parameter is off, so scopes
 * decide the claims). An existing grant is extended only when it belongs to the same person: a
 * different login in the same browser starts afresh.
 */
async function saveGrant(provider: Provider, interaction: Interaction, accountId: string, clientId: string): Promise<string> {
  const existing = interaction.grantId !== undefined && interaction.session?.accountId === accountId
    ? await provider.Grant.find(interaction.grantId)
    : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  const scope = interaction.params['scope'];
  grant.addOIDCScope(typeof scope === 'string' && scope !== '' ? scope : 'openid');
  return grant.save();
}

/** The urlencoded body, or undefined when it is larger than a login form can be (the rest is drained, not kept). */
function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_FORM_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(size > MAX_FORM_BYTES ? undefined : new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', reject);
  });
}
