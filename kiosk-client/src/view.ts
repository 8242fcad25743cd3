// The desktop page: connect to a beamline desktop through the gateway with noVNC, show
// connection state, reconnect after a network loss. The gateway, not this page, enforces
// who may send input: "Watch only" here is asked of the gateway, which drops the input.
// When the gateway ends a connection, the page asks it why (/api/desktops/:id/access) and
// shows the reasons: login ended, may no longer watch, or may no longer drive (then it comes
// back as a watcher).
import RFB from '@novnc/novnc';
import { ApiError, getJson, type Access, type Me } from './api.js';
import { ControlBar } from './control-bar.js';

interface Target { id: string; name: string; control?: boolean }

function $<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`page element #${id} is missing or not a ${type.name}`);
  return el;
}

const ui = {
  target: $('target', HTMLSelectElement),
  viewOnly: $('view-only', HTMLInputElement),
  scale: $('scale', HTMLSelectElement),
  connect: $('connect', HTMLButtonElement),
  disconnect: $('disconnect', HTMLButtonElement),
  fullscreen: $('fullscreen', HTMLButtonElement),
  status: $('status', HTMLSpanElement),
  screen: $('screen', HTMLElement),
  notice: $('notice', HTMLDivElement),
  control: $('control', HTMLElement),
};

/** With login, input follows the control token of a control channel (none without login). */
const control: { loginMode: boolean; bar: ControlBar | undefined; target: string; connection: string | undefined; holding: boolean } = {
  loginMode: false, bar: undefined, target: '', connection: undefined, holding: false,
};

function openControl(id: string): void {
  control.bar?.close();
  control.target = id;
  control.connection = undefined;
  control.holding = false;
  const bar = new ControlBar(ui.control, id, {
    onConnection: (connection) => {
      control.connection = connection;
      connect(true);
    },
    onHolding: (holding) => {
      control.holding = holding;
      if (rfb !== undefined) {
        rfb.viewOnly = !holding || ui.viewOnly.checked;
        if (holding) rfb.focus();
      }
      setStatus(holding ? 'Connected — you drive' : 'Connected (watching)', 'connected');
    },
    onNotice: (text) => {
      notice(text);
    },
    onClosed: (code) => {
      if (control.bar !== bar) return;
      control.bar = undefined;
      control.connection = undefined;
      control.holding = false;
      ui.control.hidden = true;
      rfb?.disconnect();
      if (code === 4401 || code === 4403) return; // the desktop's disconnect handler asks why and shows it
      if (!userClosed) {
        reconnectTimer = window.setTimeout(() => {
          connect(true);
        }, 2000);
      }
    },
  });
  control.bar = bar;
  bar.open();
}

function notice(text: string | undefined): void {
  ui.notice.textContent = text ?? '';
  ui.notice.hidden = text === undefined;
}

type Verdict = { kind: 'reconnect' } | { kind: 'stop'; message: string } | { kind: 'watch'; message: string };

/** After the gateway closed the connection: may the person come back, and how? */
async function whyClosed(id: string, wantedControl: boolean): Promise<Verdict> {
  let me: Me;
  try {
    me = await getJson<Me>('/api/me');
  } catch {
    return { kind: 'reconnect' }; // the gateway itself is unreachable: a network loss
  }
  if (me.loginDisabled === true) return { kind: 'reconnect' };
  if (!me.authenticated) return { kind: 'stop', message: 'Your login ended. Log in again from the portal.' };
  try {
    const access = await getJson<Access>(`/api/desktops/${encodeURIComponent(id)}/access`);
    if (!access.view.allow) return { kind: 'stop', message: `You may no longer see this desktop: ${access.view.reasons.map(r => r.message).join('; ')}` };
    if (wantedControl && !access.control.allow) {
      return { kind: 'watch', message: `You may not drive this desktop: ${access.control.reasons.map(r => r.message).join('; ')}. You are watching.` };
    }
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 404)) return { kind: 'stop', message: e.message };
  }
  return { kind: 'reconnect' };
}

const RECONNECT_DELAYS_MS = [1000, 2000, 5000, 10000];
let rfb: RFB | undefined;
let userClosed = false;
let attempt = 0;
let reconnectTimer: number | undefined;

function setStatus(text: string, state: 'idle' | 'connecting' | 'connected' | 'error'): void {
  ui.status.textContent = text;
  ui.status.dataset['state'] = state;
  document.body.dataset['connection'] = state;
}

function desktopUrl(id: string, viewOnly: boolean): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = viewOnly ? '?view-only=1' : control.connection === undefined ? '' : `?connection=${encodeURIComponent(control.connection)}`;
  return `${scheme}//${location.host}/desktop/${encodeURIComponent(id)}${query}`;
}

/** keepNotice: the page connects by itself and the notice says why (as a watcher, say). */
function connect(keepNotice = false): void {
  const id = ui.target.value;
  if (id === '') return;
  window.clearTimeout(reconnectTimer);
  rfb?.disconnect();
  userClosed = false;
  setStatus('Connecting…', 'connecting');
  if (!keepNotice) notice(undefined);
  if (control.loginMode && (control.bar === undefined || control.target !== id)) {
    openControl(id); // connects the desktop once the channel says hello
    return;
  }
  const viewOnly = ui.viewOnly.checked;
  const session = new RFB(ui.screen, desktopUrl(id, viewOnly), { shared: true });
  session.viewOnly = viewOnly || (control.loginMode && !control.holding);
  session.scaleViewport = ui.scale.value === 'fit';
  session.background = '#1e1f22';
  session.addEventListener('connect', () => {
    attempt = 0;
    const driving = !viewOnly && (!control.loginMode || control.holding);
    setStatus(driving ? (control.loginMode ? 'Connected — you drive' : 'Connected') : 'Connected (watching)', 'connected');
    ui.connect.disabled = true;
    ui.disconnect.disabled = false;
    session.focus();
  });
  session.addEventListener('securityfailure', (event) => {
    const detail = (event as CustomEvent<{ status: number; reason?: string }>).detail;
    userClosed = true; // the gateway refused on purpose: retrying at once would not help
    setStatus(detail.reason ?? 'The gateway refused the connection.', 'error');
  });
  session.addEventListener('disconnect', (event) => {
    const clean = (event as CustomEvent<{ clean: boolean }>).detail.clean;
    ui.connect.disabled = false;
    ui.disconnect.disabled = true;
    if (rfb === session) rfb = undefined;
    if (userClosed) {
      if (ui.status.dataset['state'] !== 'error') setStatus('Disconnected', 'idle');
      return;
    }
    void whyClosed(id, !viewOnly).then((verdict) => {
      if (userClosed) return;
      if (verdict.kind === 'stop') {
        notice(verdict.message);
        setStatus('Disconnected', 'error');
        return;
      }
      if (verdict.kind === 'watch') {
        notice(verdict.message);
        ui.viewOnly.checked = true;
        connect(true);
        return;
      }
      const delay = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)] ?? 10000;
      attempt++;
      setStatus(`${clean ? 'Connection closed' : 'Connection lost'}; reconnecting in ${Math.round(delay / 1000)} s…`, 'error');
      reconnectTimer = window.setTimeout(() => {
        connect(true);
      }, delay);
    });
  });
  rfb = session;
}

function disconnect(): void {
  userClosed = true;
  control.bar?.close();
  control.bar = undefined;
  ui.control.hidden = true;
  window.clearTimeout(reconnectTimer);
  rfb?.disconnect();
}

async function loadTargets(): Promise<void> {
  const me = await getJson<Me>('/api/me').catch(() => undefined);
  control.loginMode = me?.authenticated === true;
  let targets: Target[];
  try {
    ({ targets } = await getJson<{ targets: Target[] }>('/api/targets'));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      notice('You are not logged in. Log in from the portal first.');
      setStatus('Not logged in', 'error');
      return;
    }
    throw e;
  }
  ui.target.replaceChildren(...targets.map(t => new Option(t.name, t.id)));
  const wanted = /^\/view\/([a-z0-9-]+)$/.exec(location.pathname)?.[1];
  const target = targets.find(t => t.id === wanted);
  if (wanted !== undefined && target === undefined) {
    const verdict = await whyClosed(wanted, false);
    notice(verdict.kind === 'reconnect' ? `There is no desktop "${wanted}" for you.` : verdict.message);
    setStatus('Not connected', 'error');
    return;
  }
  if (target !== undefined) {
    ui.target.value = target.id;
    ui.viewOnly.checked = new URLSearchParams(location.search).get('view-only') === '1';
    if (!ui.viewOnly.checked && target.control === false) {
      ui.viewOnly.checked = true;
      const verdict = await whyClosed(target.id, true);
      notice(verdict.kind === 'reconnect' ? 'You may watch this desktop but not drive it.' : verdict.message);
    }
    connect(true);
  }
}

ui.connect.addEventListener('click', () => {
  connect();
});
ui.disconnect.addEventListener('click', disconnect);
ui.scale.addEventListener('change', () => {
  if (rfb !== undefined) rfb.scaleViewport = ui.scale.value === 'fit';
});
ui.fullscreen.addEventListener('click', () => {
  void ui.screen.requestFullscreen().catch(() => undefined);
});
setStatus('Not connected', 'idle');
loadTargets().catch((e: unknown) => {
  setStatus(`Cannot load the desktop list: ${(e as Error).message}`, 'error');
});
