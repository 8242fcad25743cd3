// The browser page: pick a beamline desktop, connect through the gateway with noVNC, show
// connection state, reconnect after a network loss. The gateway, not this page, enforces
// who may send input: "Watch only" here is asked of the gateway, which drops the input.
import RFB from '@novnc/novnc';

interface Target { id: string; name: string }

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
};

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
  return `${scheme}//${location.host}/desktop/${encodeURIComponent(id)}${viewOnly ? '?view-only=1' : ''}`;
}

function connect(): void {
  const id = ui.target.value;
  if (id === '') return;
  window.clearTimeout(reconnectTimer);
  rfb?.disconnect();
  userClosed = false;
  setStatus('Connecting…', 'connecting');
  const viewOnly = ui.viewOnly.checked;
  const session = new RFB(ui.screen, desktopUrl(id, viewOnly), { shared: true });
  session.viewOnly = viewOnly;
  session.scaleViewport = ui.scale.value === 'fit';
  session.background = '#1e1f22';
  session.addEventListener('connect', () => {
    attempt = 0;
    setStatus(viewOnly ? 'Connected (watching)' : 'Connected', 'connected');
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
    const delay = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)] ?? 10000;
    attempt++;
    setStatus(`${clean ? 'Connection closed' : 'Connection lost'}; reconnecting in ${Math.round(delay / 1000)} s…`, 'error');
    reconnectTimer = window.setTimeout(connect, delay);
  });
  rfb = session;
}

function disconnect(): void {
  userClosed = true;
  window.clearTimeout(reconnectTimer);
  rfb?.disconnect();
}

async function loadTargets(): Promise<void> {
  const response = await fetch('/api/targets', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`the gateway answered ${response.status} for the desktop list`);
  const { targets } = (await response.json()) as { targets: Target[] };
  ui.target.replaceChildren(...targets.map(t => new Option(t.name, t.id)));
  const wanted = /^\/view\/([a-z0-9-]+)$/.exec(location.pathname)?.[1];
  if (wanted !== undefined && targets.some(t => t.id === wanted)) {
    ui.target.value = wanted;
    ui.viewOnly.checked = new URLSearchParams(location.search).get('view-only') === '1';
    connect();
  }
}

ui.connect.addEventListener('click', connect);
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
