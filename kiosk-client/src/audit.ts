// The safety officer's audit page: the log filtered and paged (the filters live in the URL, so a
// view can be bookmarked and sent on), CSV and JSON exports of the current filters, the hash
// chain's status, statistics, and from any record with a desktop a link to its recording at that
// moment. The gateway decides what this person may read; this page only shows what it gets.
import { ApiError, el, getJson, logout, postJson, type Me } from './api.js';

interface AuditRecordJson {
  seq: number;
  at: string;
  code: string;
  actor: string;
  subject?: string;
  beamline?: string;
  beamtime?: string;
  target?: string;
  session?: string;
  address?: string;
  message: string;
  details?: Record<string, unknown>;
  prevHash: string;
  hash: string;
}
interface PageJson { records: AuditRecordJson[]; older?: number; newer?: number }
interface Options { scope: 'all' | string[]; kinds: { code: string; description: string }[]; families: string[] }
interface ChainResultJson {
  outcome: 'ok' | 'broken' | 'failed';
  records?: number;
  headHash?: string;
  firstBadSeq?: number;
  problem?: string;
  error?: string;
  checkedAt: string;
  durationMs: number;
}
interface ChainStatusJson { state: 'unchecked' | 'running' | 'ok' | 'broken' | 'failed'; running: boolean; last?: ChainResultJson }
interface StatsRow {
  key: string;
  beamline?: string;
  remoteHours: number;
  connections: number;
  controlChanges: number;
  blockedActions: number;
}
interface StatsJson { from?: string; to: string; totals: StatsRow; byBeamline: StatsRow[]; byBeamtime: StatsRow[]; byPerson: StatsRow[] }

/** The filters (shared by the table, the exports and the statistics) and the view's own settings. */
const FILTERS = ['beamline', 'beamtime', 'person', 'session', 'desktop', 'kind', 'from', 'to'] as const;
const STATS_FILTERS = ['beamline', 'beamtime', 'person', 'session', 'desktop', 'from', 'to'] as const;
const VIEW = ['limit', 'order'] as const;
const CURSORS = ['before', 'after'] as const;

function $<T extends HTMLElement>(id: string, type: new () => T): T {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`page element #${id} is missing or not a ${type.name}`);
  return node;
}

const ui = {
  account: $('account', HTMLDivElement),
  refused: $('refused', HTMLParagraphElement),
  workspace: $('workspace', HTMLDivElement),
  chain: $('chain', HTMLElement),
  chainStatus: $('chain-status', HTMLParagraphElement),
  chainRecheck: $('chain-recheck', HTMLButtonElement),
  form: $('filters', HTMLFormElement),
  kind: $('f-kind', HTMLSelectElement),
  scopeBeamlines: $('scope-beamlines', HTMLDataListElement),
  exportCsv: $('export-csv', HTMLAnchorElement),
  exportJson: $('export-json', HTMLAnchorElement),
  recordsSection: $('records-section', HTMLElement),
  recordsStatus: $('records-status', HTMLParagraphElement),
  pagers: [[$('newer', HTMLAnchorElement), $('older', HTMLAnchorElement)], [$('newer-bottom', HTMLAnchorElement), $('older-bottom', HTMLAnchorElement)]] as const,
  tbody: $('records', HTMLTableElement).tBodies[0] ?? document.createElement('tbody'),
  statsStatus: $('stats-status', HTMLParagraphElement),
  statsTables: $('stats-tables', HTMLDivElement),
};

let csrfToken = '';

function attrs<T extends HTMLElement>(node: T, values: Record<string, string>): T {
  for (const [name, value] of Object.entries(values)) node.setAttribute(name, value);
  return node;
}

/** The URL's parameters this page knows, without empty ones. */
function urlParams(): URLSearchParams {
  const given = new URLSearchParams(location.search);
  const kept = new URLSearchParams();
  for (const name of [...FILTERS, ...VIEW, ...CURSORS]) {
    const value = given.get(name);
    if (value !== null && value !== '') kept.set(name, value);
  }
  return kept;
}

function pick(params: URLSearchParams, names: readonly string[]): URLSearchParams {
  const out = new URLSearchParams();
  for (const name of names) {
    const value = params.get(name);
    if (value !== null) out.set(name, value);
  }
  return out;
}

/** The form as parameters: what a person typed, empty fields left out, no cursor (new filters start at the first page). */
function formParams(): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(ui.form)) {
    if (typeof value === 'string' && value.trim() !== '') params.set(name, value.trim());
  }
  if (params.get('limit') === '50') params.delete('limit');
  if (params.get('order') === 'desc') params.delete('order');
  return params;
}

/** A time from the URL as a datetime-local value (UTC), or '' when it is not one. */
function localValue(text: string): string {
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text)) return text;
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return `${text}T00:00`;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString().slice(0, 19);
}

function fillForm(params: URLSearchParams): void {
  for (const element of Array.from(ui.form.elements)) {
    if (!(element instanceof HTMLInputElement || element instanceof HTMLSelectElement) || element.name === '') continue;
    const value = params.get(element.name) ?? '';
    if (element instanceof HTMLSelectElement) {
      if (element.name === 'kind' && value !== '' && !Array.from(element.options).some(o => o.value === value)) {
        element.append(el('option', {}, `these kinds: ${value}`));
        element.options[element.options.length - 1]?.setAttribute('value', value);
      }
      element.value = value !== '' ? value : element.name === 'limit' ? '50' : element.name === 'order' ? 'desc' : '';
    } else {
      element.value = element.type === 'datetime-local' ? localValue(value) : value;
    }
  }
}

function fillKinds(options: Options): void {
  const byFamily = new Map<string, { code: string; description: string }[]>();
  for (const kind of options.kinds) {
    const family = kind.code.split('.')[0] ?? kind.code;
    byFamily.set(family, [...(byFamily.get(family) ?? []), kind]);
  }
  for (const family of options.families) {
    const group = attrs(document.createElement('optgroup'), { label: family });
    group.append(attrs(el('option', {}, `${family}.* (all ${family} kinds)`), { value: `${family}.*` }));
    for (const kind of byFamily.get(family) ?? []) group.append(attrs(el('option', {}, kind.code), { value: kind.code, title: kind.description }));
    ui.kind.append(group);
  }
  if (options.scope !== 'all') {
    for (const beamline of options.scope) ui.scopeBeamlines.append(attrs(document.createElement('option'), { value: beamline }));
  }
}

function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

function shortHash(hash: string): string {
  return `${hash.slice(0, 10)}…${hash.slice(-6)}`;
}

function cell(className: string, ...children: (Node | string | undefined)[]): HTMLTableCellElement {
  return el('td', { class: className }, ...children);
}

function sub(text: string | undefined): HTMLElement | undefined {
  return text === undefined ? undefined : el('span', { class: 'sub' }, text);
}

function recordRow(r: AuditRecordJson): HTMLTableRowElement {
  const row = el('tr', { class: `kind-${r.code.split('.')[0] ?? ''}` });
  const person = r.subject !== undefined && r.subject !== r.actor ? sub(`→ ${r.subject}`) : undefined;
  let desktop: HTMLTableCellElement;
  if (r.target === undefined) {
    desktop = cell('desktop');
  } else {
    const at = Date.parse(r.at);
    const jump = attrs(el('a', { class: 'jump', href: `/recording.html?desktop=${encodeURIComponent(r.target)}&at=${encodeURIComponent(String(at))}` }, 'recording'), {
      'aria-label': `Recording of ${r.target} at ${formatTime(r.at)} UTC`,
    });
    desktop = cell('desktop', r.target, el('span', { class: 'sub' }, jump));
  }
  const extra: Record<string, unknown> = {
    ...(r.details === undefined ? {} : { details: r.details }),
    ...(r.address === undefined ? {} : { address: r.address }),
    prevHash: r.prevHash,
    hash: r.hash,
  };
  const details = el('details', {}, el('summary', {}, r.details === undefined ? 'record' : 'details'), el('pre', {}, JSON.stringify(extra, null, 2)));
  row.append(
    cell('seq', String(r.seq)),
    attrs(cell('time', formatTime(r.at)), { title: r.at }),
    cell('kind', el('code', {}, r.code)),
    cell('person', r.actor, person),
    cell('beamline', r.beamline ?? '', sub(r.beamtime)),
    desktop,
    cell('session', r.session ?? ''),
    cell('message', r.message),
    cell('details', details),
  );
  return row;
}

function setPager(page: PageJson, params: URLSearchParams): void {
  const base = pick(params, [...FILTERS, ...VIEW]);
  const link = (cursor: 'before' | 'after', seq: number | undefined): string | undefined => {
    if (seq === undefined) return undefined;
    const next = new URLSearchParams(base);
    next.set(cursor, String(seq));
    return `/audit.html?${next.toString()}`;
  };
  const newer = link('after', page.newer);
  const older = link('before', page.older);
  for (const [newerLink, olderLink] of ui.pagers) {
    for (const [anchor, href] of [[newerLink, newer], [olderLink, older]] as const) {
      if (href === undefined) {
        anchor.setAttribute('aria-disabled', 'true');
        anchor.removeAttribute('href');
        anchor.tabIndex = -1;
      } else {
        anchor.removeAttribute('aria-disabled');
        anchor.href = href;
        anchor.tabIndex = 0;
      }
    }
  }
}

function failure(target: HTMLElement, e: unknown): void {
  target.classList.add('error');
  target.setAttribute('role', 'alert');
  target.textContent = e instanceof ApiError && e.status === 401 ? 'Your login ended: log in again.' : (e as Error).message;
}

async function loadRecords(params: URLSearchParams): Promise<void> {
  ui.recordsStatus.classList.remove('error');
  ui.recordsStatus.setAttribute('role', 'status');
  ui.recordsStatus.textContent = 'Loading…';
  try {
    const page = await getJson<PageJson>(`/api/audit?${params.toString()}`);
    ui.tbody.replaceChildren(...page.records.map(recordRow));
    const seqs = page.records.map(r => r.seq);
    ui.recordsStatus.textContent = seqs.length === 0
      ? 'No records match these filters.'
      : `${seqs.length} record${seqs.length === 1 ? '' : 's'}, #${seqs[0] ?? ''} to #${seqs[seqs.length - 1] ?? ''}.`;
    setPager(page, params);
  } catch (e) {
    ui.tbody.replaceChildren();
    setPager({ records: [] }, params);
    failure(ui.recordsStatus, e);
  }
}

function statsTable(caption: string, keyHeads: string[], rows: StatsRow[], keys: (r: StatsRow) => string[]): HTMLDivElement {
  const head = el('tr', {}, ...keyHeads.map(h => attrs(el('th', {}, h), { scope: 'col' })),
    ...['Remote hours', 'Connections', 'Control changes', 'Blocked inputs'].map(h => attrs(el('th', { class: 'num' }, h), { scope: 'col' })));
  const body = rows.map(r => el('tr', {}, ...keys(r).map(k => el('td', {}, k === '' ? '(none)' : k)),
    ...[r.remoteHours.toFixed(2), String(r.connections), String(r.controlChanges), String(r.blockedActions)].map(v => el('td', { class: 'num' }, v))));
  const table = el('table', {}, el('caption', {}, caption), el('thead', {}, head), el('tbody', {}, ...body));
  if (rows.length === 0) table.tBodies[0]?.append(el('tr', {}, attrs(el('td', {}, 'Nothing in this range.'), { colspan: String(keyHeads.length + 4) })));
  return el('div', { class: 'table-wrap' }, table);
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

let statsShownFor: string | undefined;

async function loadStats(params: URLSearchParams): Promise<void> {
  const query = pick(params, STATS_FILTERS).toString();
  if (query === statsShownFor) return;
  statsShownFor = query;
  ui.statsStatus.classList.remove('error');
  ui.statsStatus.textContent = 'Counting…';
  try {
    const stats = await getJson<StatsJson>(`/api/audit/stats?${query}`);
    if (statsShownFor !== query) return;
    const t = stats.totals;
    ui.statsStatus.textContent = `${stats.from === undefined ? 'From the first record' : `From ${formatTime(stats.from)}`} to ${formatTime(stats.to)} UTC`
      + `${params.has('kind') ? ' (the kind filter does not apply here)' : ''}: ${t.remoteHours.toFixed(2)} remote hours in ${count(t.connections, 'connection')}, `
      + `${count(t.controlChanges, 'control change')}, ${count(t.blockedActions, 'blocked input')}.`;
    ui.statsTables.replaceChildren(
      statsTable('By beamline', ['Beamline'], stats.byBeamline, r => [r.key]),
      statsTable('By beamtime', ['Beamline', 'Beamtime'], stats.byBeamtime, r => [r.beamline ?? '', r.key]),
      statsTable('By person', ['Person'], stats.byPerson, r => [r.key]),
    );
  } catch (e) {
    statsShownFor = undefined;
    ui.statsTables.replaceChildren();
    failure(ui.statsStatus, e);
  }
}

let chainPoll: ReturnType<typeof setTimeout> | undefined;

function showChain(status: ChainStatusJson): void {
  const last = status.last;
  const when = last === undefined ? '' : ` Checked ${formatTime(last.checkedAt)} UTC (took ${(last.durationMs / 1000).toFixed(1)} s).`;
  let text: string;
  if (last === undefined) text = 'Checking the whole log…';
  else if (last.outcome === 'ok') text = `Intact: ${last.records ?? 0} records, head ${shortHash(last.headHash ?? '')}.${when}`;
  else if (last.outcome === 'broken') text = `BROKEN at record ${last.firstBadSeq ?? '?'}: ${last.problem ?? ''}.${when}`;
  else text = `Could not check: ${last.error ?? 'unknown error'}.${when}`;
  if (status.running && last !== undefined) text = `Checking again… Last result: ${text}`;
  ui.chain.dataset['state'] = status.running ? 'running' : (last?.outcome ?? 'unchecked');
  ui.chainStatus.textContent = text;
  ui.chainStatus.title = last?.headHash ?? '';
  ui.chainRecheck.disabled = status.running;
  clearTimeout(chainPoll);
  if (status.running) {
    chainPoll = setTimeout(() => {
      getJson<ChainStatusJson>('/api/audit/chain').then(showChain, (e: unknown) => {
        failure(ui.chainStatus, e);
      });
    }, 1000);
  }
}

function setExports(params: URLSearchParams): void {
  const filters = pick(params, FILTERS).toString();
  ui.exportCsv.href = `/api/audit/export?format=csv${filters === '' ? '' : `&${filters}`}`;
  ui.exportJson.href = `/api/audit/export?format=json${filters === '' ? '' : `&${filters}`}`;
}

/** Shows what the URL says: form, exports, records, and the statistics when their filters changed. */
async function show(): Promise<void> {
  const params = urlParams();
  fillForm(params);
  setExports(params);
  await Promise.all([loadRecords(params), loadStats(params)]);
}

function navigate(url: string, focusRecords: boolean): void {
  history.pushState(null, '', url);
  void show().then(() => {
    if (focusRecords) ui.recordsSection.focus();
  });
}

function renderAccount(me: Me): void {
  if (me.user === undefined) return;
  const button = el('button', { type: 'button', id: 'logout' }, 'Log out');
  button.addEventListener('click', () => {
    logout(me.csrfToken ?? '').catch((e: unknown) => {
      ui.account.append(el('span', { class: 'error' }, (e as Error).message));
    });
  });
  ui.account.replaceChildren(el('span', { id: 'who' }, `${me.user.name} (${me.user.id})`), button);
}

function refuse(message: string, loginLink: boolean): void {
  ui.refused.hidden = false;
  ui.refused.replaceChildren(message, ...(loginLink ? [' ', el('a', { class: 'button', href: `/auth/login?returnTo=${encodeURIComponent(location.pathname + location.search)}` }, 'Log in')] : []));
}

async function start(): Promise<void> {
  const me = await getJson<Me>('/api/me');
  if (!me.authenticated) {
    refuse('Log in to read the audit log.', me.loginDisabled !== true);
    return;
  }
  renderAccount(me);
  csrfToken = me.csrfToken ?? '';
  let options: Options;
  try {
    options = await getJson<Options>('/api/audit/options');
  } catch (e) {
    refuse(e instanceof ApiError ? e.message : `The audit log could not load: ${(e as Error).message}`, e instanceof ApiError && e.status === 401);
    return;
  }
  fillKinds(options);
  ui.workspace.hidden = false;
  if (options.scope !== 'all') {
    ui.form.querySelector('#person-hint')?.append(` You see the records of ${options.scope.join(', ')}.`);
  }
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const params = formParams();
    navigate(`/audit.html${params.toString() === '' ? '' : `?${params.toString()}`}`, false);
  });
  for (const anchor of ui.pagers.flat()) {
    anchor.addEventListener('click', (event) => {
      if (anchor.getAttribute('aria-disabled') === 'true' || anchor.href === '') return;
      event.preventDefault();
      navigate(anchor.href, true);
    });
  }
  window.addEventListener('popstate', () => {
    void show();
  });
  ui.chainRecheck.addEventListener('click', () => {
    ui.chainRecheck.disabled = true;
    postJson<ChainStatusJson>('/api/audit/chain', csrfToken, {}).then(showChain, (e: unknown) => {
      ui.chainRecheck.disabled = false;
      failure(ui.chainStatus, e);
    });
  });
  getJson<ChainStatusJson>('/api/audit/chain').then(showChain, (e: unknown) => {
    failure(ui.chainStatus, e);
  });
  await show();
}

start().catch((e: unknown) => {
  refuse(`The audit page could not load: ${(e as Error).message}`, false);
});
