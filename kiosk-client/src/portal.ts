// The portal: who is logged in, their beamtimes and the desktops they may open, with the
// reasons when they may not; the beamline's remote-operation instruction to acknowledge;
// for local contacts and safety officers, their beamlines' desktops.
import { ApiError, el, formatInstant, getJson, logout, postJson, type Decision, type Me, type Portal, type PortalBeamtime, type PortalDesktop } from './api.js';

const main = document.getElementById('portal');
const account = document.getElementById('account');
if (main === null || account === null) throw new Error('portal page elements are missing');

function reasons(decision: Decision): HTMLElement {
  return el('ul', { class: decision.allow ? 'reasons ok' : 'reasons denied' }, ...decision.reasons.map(r => el('li', {}, r.message)));
}

function desktopRow(d: PortalDesktop): HTMLElement {
  const actions = el('div', { class: 'actions' });
  if (d.control.allow) actions.append(el('a', { class: 'button primary', href: `/view/${encodeURIComponent(d.id)}` }, 'Open'));
  if (d.view.allow) actions.append(el('a', { class: 'button', href: `/view/${encodeURIComponent(d.id)}?view-only=1` }, 'Watch'));
  const why = el('div', { class: 'why' });
  if (!d.view.allow) why.append(el('p', {}, 'You may not see this desktop:'), reasons(d.view));
  else if (!d.control.allow) why.append(el('p', {}, 'You may watch but not drive:'), reasons(d.control));
  return el('li', { class: 'desktop' }, el('span', { class: 'name' }, d.name), actions, why);
}

function instructionBox(bt: PortalBeamtime, csrfToken: string, reload: () => void): HTMLElement | undefined {
  const instruction = bt.instruction;
  if (instruction === undefined) return undefined;
  if (instruction.acknowledged) return el('p', { class: 'ack done' }, `You acknowledged "${instruction.title}" (version ${instruction.version}) for this beamtime.`);
  const button = el('button', { type: 'button', class: 'primary' }, 'I have read this instruction and will follow it');
  const status = el('p', { role: 'status' });
  button.addEventListener('click', () => {
    button.disabled = true;
    postJson(`/api/beamlines/${encodeURIComponent(bt.beamline.id)}/beamtimes/${encodeURIComponent(bt.id)}/acknowledge`, csrfToken, { version: instruction.version })
      .then(reload, (e: unknown) => {
        status.textContent = (e as Error).message;
        button.disabled = false;
      });
  });
  return el('section', { class: 'instruction' },
    el('h3', {}, `${instruction.title} (version ${instruction.version})`),
    el('pre', {}, instruction.text),
    el('p', {}, 'You must acknowledge it before you can drive this beamline remotely.'),
    button, status);
}

function render(portal: Portal, me: Me, reload: () => void): void {
  const csrf = me.csrfToken ?? '';
  const parts: HTMLElement[] = [];
  if (portal.audit?.allowed === true) {
    const which = portal.audit.beamlines === 'all' ? 'every beamline' : portal.audit.beamlines.join(', ');
    parts.push(el('p', { class: 'audit-link' }, el('a', { class: 'button', id: 'audit-link', href: '/audit.html' }, 'Audit log'), ` of ${which}: filter, export, statistics, recordings`));
  }
  parts.push(el('h1', {}, 'My beamtimes'));
  if (portal.beamtimes.length === 0) parts.push(el('p', { class: 'empty' }, 'You are not a participant of a current or upcoming beamtime.'));
  for (const bt of portal.beamtimes) {
    parts.push(el('article', { class: `beamtime ${bt.status}`, id: `beamtime-${bt.id}` },
      el('h2', {}, `${bt.beamline.name} — ${bt.title ?? bt.id}`),
      el('p', { class: 'when' }, `${bt.id}: ${formatInstant(bt.start)} to ${formatInstant(bt.end)} (${bt.status}); your role: ${bt.role}`),
      instructionBox(bt, csrf, reload),
      bt.desktops.length === 0 ? el('p', {}, 'No desktop of this beamline is connected to Beamgate.') : el('ul', { class: 'desktops' }, ...bt.desktops.map(desktopRow))));
  }
  if (portal.beamlines.length > 0) {
    parts.push(el('h1', {}, portal.user.roles.includes('safety-officer') ? 'All beamlines' : 'My beamlines'));
    for (const bl of portal.beamlines) {
      parts.push(el('article', { class: 'beamline', id: `beamline-${bl.id}` },
        el('h2', {}, `${bl.name}${bl.localContact ? ' (you are a local contact)' : ''}`),
        el('p', { class: 'when' }, `mode: ${bl.mode}`),
        el('ul', { class: 'desktops' }, ...bl.desktops.map(desktopRow))));
    }
  }
  main?.replaceChildren(...parts);
}

function renderAccount(me: Me): void {
  if (me.user === undefined) return;
  const button = el('button', { type: 'button', id: 'logout' }, 'Log out');
  button.addEventListener('click', () => {
    logout(me.csrfToken ?? '').catch((e: unknown) => {
      account?.append(el('span', { class: 'error' }, (e as Error).message));
    });
  });
  const roles = me.user.roles.filter(r => r !== 'user');
  account?.replaceChildren(el('span', { id: 'who' }, `${me.user.name} (${me.user.id})${roles.length > 0 ? ` — ${roles.join(', ')}` : ''}`), button);
}

async function load(): Promise<void> {
  const me = await getJson<Me>('/api/me');
  if (me.loginDisabled === true) {
    const { targets } = await getJson<{ targets: { id: string; name: string }[] }>('/api/targets');
    account?.replaceChildren(el('span', { class: 'warning' }, 'No login: this gateway runs as a local trial (insecureNoLogin).'));
    main?.replaceChildren(el('h1', {}, 'Desktops'), el('ul', { class: 'desktops' }, ...targets.map(t => el('li', { class: 'desktop' },
      el('span', { class: 'name' }, t.name),
      el('div', { class: 'actions' }, el('a', { class: 'button primary', href: `/view/${encodeURIComponent(t.id)}` }, 'Open'),
        el('a', { class: 'button', href: `/view/${encodeURIComponent(t.id)}?view-only=1` }, 'Watch'))))));
    return;
  }
  if (!me.authenticated) {
    main?.replaceChildren(el('h1', {}, 'Remote beamline access'),
      el('p', {}, 'Log in with your facility account to see your beamtimes and their desktops.'),
      el('a', { class: 'button primary', id: 'login', href: '/auth/login?returnTo=/' }, 'Log in'));
    return;
  }
  renderAccount(me);
  const reload = (): void => {
    getJson<Portal>('/api/portal').then((p) => {
      render(p, me, reload);
    }, showError);
  };
  render(await getJson<Portal>('/api/portal'), me, reload);
}

function showError(e: unknown): void {
  const message = e instanceof ApiError && e.status === 401 ? 'Your login ended.' : `The portal could not load: ${(e as Error).message}`;
  main?.replaceChildren(el('p', { class: 'error', role: 'alert' }, message), el('a', { class: 'button', href: '/auth/login?returnTo=/' }, 'Log in again'));
}

load().catch(showError);
