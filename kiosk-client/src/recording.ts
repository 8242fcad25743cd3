// The recording player page: /recording.html?id=<recording>&t=<ms into it>, or
// ?desktop=<desktop id>&at=<epoch ms or ISO time> (the recording of that desktop covering that
// moment), or no parameters (the recordings the person may see). Plays the recording in noVNC
// (playback/player.ts) with play/pause, speeds, and the control timeline under it.
import { ApiError, el, getJson, type Me } from './api.js';
import { decodePlaybackChunk, type PlaybackRecord } from '../../session-recorder/src/recording/playback-chunk.js';
import {
  bandAt, controlBands, formatOffset, recordingCovering, timelineMarkers, type TimedEvent,
} from '../../session-recorder/src/recording/playback-timeline.js';
import { Player, type PlayerState } from './playback/player.js';
import { TimelineBar, wallClock } from './playback/timeline-bar.js';

interface RecordingEntry {
  id: string;
  session: string;
  desktop: string;
  beamline: string;
  beamtime?: string;
  startedAt: string;
  endedAt?: string;
  bytes: number;
  status: 'recording' | 'complete' | 'failed' | 'deleted';
  endReason?: string;
}

interface RecordingDetail {
  recording: RecordingEntry;
  header: { desktopName: string; startedAt: string; notRecorded: string[] };
  keyFrames: { t: number; width: number; height: number; name: string }[];
  events: TimedEvent[];
  durationMs: number;
  condition: 'complete' | 'cut' | 'corrupt';
  problem?: string;
}

function $<T extends HTMLElement>(id: string, type: new () => T): T {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`page element #${id} is missing or not a ${type.name}`);
  return node;
}

const ui = {
  title: $('title', HTMLHeadingElement),
  status: $('status', HTMLSpanElement),
  about: $('about', HTMLElement),
  screen: $('screen', HTMLElement),
  notice: $('notice', HTMLDivElement),
  list: $('list', HTMLElement),
  controls: $('controls', HTMLElement),
  play: $('play', HTMLButtonElement),
  speeds: $('speeds', HTMLDivElement),
  wall: $('wall', HTMLTimeElement),
  elapsed: $('elapsed', HTMLSpanElement),
  duration: $('duration', HTMLSpanElement),
  holder: $('holder', HTMLSpanElement),
  timeline: $('timeline', HTMLDivElement),
  problem: $('problem', HTMLParagraphElement),
};

/** One id per page load: the gateway audits the first chunk of each playback. */
const PLAYBACK_ID = Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b.toString(16).padStart(2, '0')).join('');

function setStatus(text: string, state: 'idle' | 'loading' | 'playing' | 'error'): void {
  ui.status.textContent = text;
  ui.status.dataset['state'] = state;
  document.body.dataset['player'] = state;
}

function notice(text: string | undefined): void {
  ui.notice.textContent = text ?? '';
  ui.notice.hidden = text === undefined;
}

/** Epoch ms from a query value: digits are epoch ms, anything else an ISO time. */
function instantOf(value: string): number {
  return /^\d+$/.test(value) ? Number(value) : Date.parse(value);
}

async function loadChunk(id: string, k: number): Promise<PlaybackRecord[]> {
  const response = await fetch(`/api/recordings/${encodeURIComponent(id)}/chunks/${k}?playback=${PLAYBACK_ID}`, { credentials: 'same-origin' });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(response.status, body.error?.code ?? 'HTTP', body.error?.message ?? `the gateway answered ${response.status}`);
  }
  return decodePlaybackChunk(new Uint8Array(await response.arrayBuffer()));
}

async function play(id: string, startMs: number, requested?: { at: number }): Promise<void> {
  setStatus('Loading the recording…', 'loading');
  const detail = await getJson<RecordingDetail>(`/api/recordings/${encodeURIComponent(id)}`);
  const { recording, header, durationMs, keyFrames } = detail;
  const startedAt = Date.parse(header.startedAt);
  document.title = `${header.desktopName} ${wallClock(startedAt)} — Beamgate`;
  ui.title.textContent = `${header.desktopName}: recording of ${wallClock(startedAt)}`;
  ui.about.replaceChildren(
    `Recording ${recording.id} · desktop ${recording.desktop} · beamline ${recording.beamline}`
    + `${recording.beamtime === undefined ? '' : ` · beamtime ${recording.beamtime}`} · session ${recording.session}`
    + ` · not recorded: ${header.notRecorded.join(', ') || 'nothing left out'}`,
  );
  ui.about.hidden = false;
  ui.controls.hidden = false;
  const endedAt = recording.endedAt === undefined ? undefined : Date.parse(recording.endedAt) - startedAt;
  const spanMs = Math.max(durationMs, endedAt ?? 0);
  if (detail.condition === 'cut' && recording.status === 'recording') {
    // Not a problem: the session is still going on. Reloading the page plays what was added since.
    ui.problem.textContent = `Still recording: playable up to ${formatOffset(durationMs)} (${wallClock(startedAt + durationMs)}); reload the page for what came since.`;
    ui.problem.hidden = false;
  } else if (detail.condition !== 'complete') {
    const what = detail.condition === 'corrupt' ? 'This recording is damaged' : 'This recording has no proper end';
    ui.problem.textContent = `${what}, playable up to ${formatOffset(durationMs)} (${wallClock(startedAt + durationMs)}): the file ${detail.condition === 'corrupt' ? 'is ' : ''}${detail.problem ?? 'ends there'}.`;
    ui.problem.hidden = false;
  }
  const bands = controlBands(detail.events, durationMs);
  const bar = new TimelineBar(ui.timeline, {
    spanMs, readableMs: durationMs, unreadableReason: detail.problem, bands, markers: timelineMarkers(detail.events), startedAt,
    nameOf: userId => userId,
  }, (t) => {
    void seek(t);
  });
  ui.duration.textContent = formatOffset(durationMs);

  const showTime = (t: number): void => {
    bar.setPosition(t);
    ui.elapsed.textContent = formatOffset(t);
    ui.wall.textContent = wallClock(startedAt + t);
    ui.wall.dateTime = new Date(startedAt + t).toISOString();
    const band = bandAt(bands, t);
    ui.holder.textContent = band === undefined ? '' : bar.holderText(band);
  };
  let playing = false; // what the person asked for (the player may still be loading)
  const player = new Player(ui.screen, detail, k => loadChunk(id, k), {
    time: showTime,
    state: (state: PlayerState) => {
      ui.play.textContent = state === 'playing' || (state === 'loading' && playing) ? 'Pause' : 'Play';
      ui.play.setAttribute('aria-label', ui.play.textContent === 'Pause' ? 'Pause playback' : 'Play');
      if (state === 'ended') {
        playing = false;
        ui.play.textContent = 'Play';
        if (detail.condition !== 'complete') notice(`The recording ends here, at ${formatOffset(durationMs)}: ${detail.problem ?? ''}`);
      }
      setStatus(
        state === 'loading' ? 'Loading…' : state === 'playing' ? `Playing at ${player.speed}×` : state === 'ended' ? 'End of the recording' : 'Paused',
        state === 'loading' ? 'loading' : state === 'playing' ? 'playing' : 'idle',
      );
      document.body.dataset['playerState'] = state;
    },
    failed: (message) => {
      playing = false;
      setStatus('Playback stopped', 'error');
      notice(`Part of the recording could not be played: ${message}`);
    },
  });

  const seek = async (t: number): Promise<void> => {
    notice(undefined);
    const started = performance.now();
    await player.seek(t);
    document.body.dataset['seekMs'] = String(Math.round(performance.now() - started));
    history.replaceState(null, '', `?id=${encodeURIComponent(id)}&t=${Math.round(player.positionMs)}`);
  };
  ui.play.addEventListener('click', () => {
    playing = player.state !== 'playing' && !(player.state === 'loading' && playing);
    if (playing) player.play();
    else player.pause();
  });
  for (const button of ui.speeds.querySelectorAll<HTMLButtonElement>('button[data-speed]')) {
    button.addEventListener('click', () => {
      player.speed = Number(button.dataset['speed']);
      for (const other of ui.speeds.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
      if (player.state === 'playing') setStatus(`Playing at ${player.speed}×`, 'playing');
    });
  }
  document.addEventListener('keydown', (event) => {
    if (event.key !== ' ' || event.target instanceof HTMLButtonElement || event.target instanceof HTMLInputElement) return;
    event.preventDefault();
    ui.play.click();
  });

  if (keyFrames.length === 0) {
    setStatus('Nothing to play', 'error');
    notice(`This recording holds no picture${detail.problem === undefined ? '' : `: ${detail.problem}`}.`);
    return;
  }
  if (requested !== undefined && startMs > durationMs) {
    notice(`The recording is playable up to ${wallClock(startedAt + durationMs)}, before the moment asked for (${wallClock(requested.at)}).`
      + (detail.problem === undefined ? '' : ` ${detail.problem}`));
  }
  await seek(startMs);
}

/** ?desktop=&at=: the recording covering that moment, or a clear "none" with the nearest ones. */
async function playMoment(desktop: string, at: number): Promise<void> {
  setStatus('Finding the recording…', 'loading');
  const { recordings } = await getJson<{ recordings: RecordingEntry[] }>(
    `/api/recordings?desktop=${encodeURIComponent(desktop)}&from=${at}&to=${at + 1}`,
  );
  const covering = recordingCovering(recordings, at);
  if (covering !== undefined) {
    await play(covering.id, at - Date.parse(covering.startedAt), { at });
    return;
  }
  const near = await getJson<{ recordings: RecordingEntry[] }>(
    `/api/recordings?desktop=${encodeURIComponent(desktop)}&from=${at - 12 * 3600_000}&to=${at + 12 * 3600_000}&limit=20`,
  );
  setStatus('No recording', 'error');
  ui.screen.hidden = true;
  const nearby = near.recordings.length === 0 ? ' There is none within 12 hours of it either.' : ' Recordings of it within 12 hours:';
  showList(near.recordings, `No recording of desktop ${desktop} covers ${wallClock(at)}.${nearby}`);
}

function showList(recordings: RecordingEntry[], heading: string): void {
  ui.list.hidden = false;
  const rows = recordings.map(r => el('tr', {},
    el('td', {}, el('a', { href: `/recording.html?id=${encodeURIComponent(r.id)}` }, wallClock(Date.parse(r.startedAt)))),
    el('td', {}, r.endedAt === undefined ? 'still recording' : wallClock(Date.parse(r.endedAt))),
    el('td', {}, r.desktop),
    el('td', {}, r.beamline),
    el('td', {}, r.beamtime ?? ''),
    el('td', {}, r.status),
  ));
  const table = el('table', {},
    el('thead', {}, el('tr', {}, ...['Started', 'Ended', 'Desktop', 'Beamline', 'Beamtime', 'State'].map(h => el('th', {}, h)))),
    el('tbody', {}, ...rows));
  ui.list.replaceChildren(el('h2', {}, heading), ...(recordings.length === 0 ? [] : [table]));
}

async function main(): Promise<void> {
  const me = await getJson<Me>('/api/me');
  if (!me.authenticated) {
    setStatus('Not logged in', 'error');
    notice('Log in from the portal first, then open the recording again.');
    return;
  }
  const params = new URLSearchParams(location.search);
  const id = params.get('id');
  const desktop = params.get('desktop');
  const at = params.get('at');
  if (id !== null) {
    const t = Number(params.get('t') ?? '0');
    await play(id, Number.isFinite(t) ? t : 0);
  } else if (desktop !== null && at !== null) {
    const moment = instantOf(at);
    if (Number.isNaN(moment)) throw new ApiError(400, 'GW_ERR_BAD_REQUEST', `"${at}" is not a time (epoch ms or ISO 8601).`);
    await playMoment(desktop, moment);
  } else {
    setStatus('', 'idle');
    ui.screen.hidden = true;
    const { recordings } = await getJson<{ recordings: RecordingEntry[] }>('/api/recordings?limit=100');
    showList(recordings, recordings.length === 0 ? 'There are no recordings you may see.' : 'Recordings');
  }
}

main().catch((e: unknown) => {
  setStatus(e instanceof ApiError && e.status === 403 ? 'Not allowed' : 'Cannot play', 'error');
  notice(e instanceof Error ? e.message : String(e));
});
