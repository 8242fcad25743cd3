// The timeline under the player: a slider (click or keys to seek) with the control bands drawn in
// it (who held control when), a part hatched where the file is not readable, and above it one
// button per marker (blocked action, viewer joined or left, recorder gap) that seeks there and
// names what happened. Positions are set through the CSSOM (the page's CSP allows no inline styles).
import {
  bandAt, formatOffset, type ControlBand, type MarkerKind, type TimelineMarker,
} from '../../../session-recorder/src/recording/playback-timeline.js';

export interface TimelineModel {
  /** What the bar spans: the recording's time (the index entry's, which may reach past the readable part). */
  readonly spanMs: number;
  /** Up to where the file can be played. */
  readonly readableMs: number;
  /** Why the rest is not readable (a cut or damaged file). */
  readonly unreadableReason: string | undefined;
  readonly bands: readonly ControlBand[];
  readonly markers: readonly TimelineMarker[];
  /** Epoch ms of the recording's start: marker labels give the wall-clock time. */
  readonly startedAt: number;
  /** A person's display name for a user id, as far as the page knows it. */
  readonly nameOf: (userId: string) => string;
}

const MARKER_NAMES: Record<MarkerKind, string> = {
  blocked: 'Blocked', 'viewer-joined': 'Joined', 'viewer-left': 'Left', recorder: 'Recording gap',
};
const BAND_COLOURS = 6;

export function wallClock(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export class TimelineBar {
  private readonly slider: HTMLDivElement;
  private readonly progress: HTMLDivElement;
  private readonly playhead: HTMLDivElement;
  private position = 0;

  constructor(container: HTMLElement, private readonly model: TimelineModel, private readonly onSeek: (t: number) => void) {
    const span = Math.max(model.spanMs, 1);
    const percent = (t: number): string => `${Math.min(100, Math.max(0, (t / span) * 100))}%`;

    const markers = document.createElement('div');
    markers.className = 'markers';
    markers.setAttribute('role', 'group');
    markers.setAttribute('aria-label', 'Events in the recording');
    for (const m of model.markers) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `marker ${m.kind}`;
      const text = `${MARKER_NAMES[m.kind]} at ${formatOffset(m.t)} (${wallClock(model.startedAt + m.t)}): ${m.message}`;
      button.title = text;
      button.setAttribute('aria-label', text);
      button.dataset['t'] = String(m.t);
      button.style.left = percent(m.t);
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = `${formatOffset(m.t)} ${m.message}`;
      button.append(label);
      button.addEventListener('click', () => {
        this.onSeek(m.t);
      });
      markers.append(button);
    }

    this.slider = document.createElement('div');
    this.slider.className = 'timeline';
    this.slider.tabIndex = 0;
    this.slider.setAttribute('role', 'slider');
    this.slider.setAttribute('aria-label', 'Position in the recording (arrow keys: 5 s, with Shift: 30 s, Page keys: 5 min)');
    this.slider.setAttribute('aria-valuemin', '0');
    this.slider.setAttribute('aria-valuemax', String(Math.round(model.readableMs / 1000)));
    const holders = [...new Set(model.bands.flatMap(b => (b.holder === undefined ? [] : [b.holder])))];
    for (const band of model.bands) {
      const el = document.createElement('div');
      const colour = band.holder === undefined ? (band.state === 'locked' ? 'locked' : 'nobody') : `c${holders.indexOf(band.holder) % BAND_COLOURS}`;
      el.className = `band ${colour}`;
      el.style.left = percent(band.from);
      el.style.width = percent(band.to - band.from);
      el.title = `${formatOffset(band.from)}–${formatOffset(band.to)}: ${this.holderText(band)}`;
      this.slider.append(el);
    }
    if (model.readableMs < model.spanMs) {
      const el = document.createElement('div');
      el.className = 'unreadable';
      el.style.left = percent(model.readableMs);
      el.style.width = percent(model.spanMs - model.readableMs);
      el.title = `Not playable from ${formatOffset(model.readableMs)}: ${model.unreadableReason ?? 'the file ends there'}`;
      this.slider.append(el);
    }
    this.progress = document.createElement('div');
    this.progress.className = 'progress';
    this.playhead = document.createElement('div');
    this.playhead.className = 'playhead';
    this.slider.append(this.progress, this.playhead);
    this.slider.addEventListener('click', (event) => {
      const box = this.slider.getBoundingClientRect();
      this.seek(((event.clientX - box.left) / box.width) * span);
    });
    this.slider.addEventListener('keydown', (event) => {
      const step = event.shiftKey ? 30_000 : 5_000;
      const moves: Record<string, number> = {
        ArrowLeft: -step, ArrowDown: -step, ArrowRight: step, ArrowUp: step, PageDown: -300_000, PageUp: 300_000,
        Home: -Infinity, End: Infinity,
      };
      const move = moves[event.key];
      if (move === undefined) return;
      event.preventDefault();
      this.seek(this.position + move);
    });

    const legend = document.createElement('ul');
    legend.className = 'legend';
    legend.setAttribute('aria-label', 'Who held control');
    const swatches = [...holders.map((h, i) => ({ cls: `c${i % BAND_COLOURS}`, text: `${model.nameOf(h)} drives` }))];
    if (model.bands.some(b => b.holder === undefined && b.state !== 'locked')) swatches.push({ cls: 'nobody', text: 'nobody drives' });
    if (model.bands.some(b => b.holder === undefined && b.state === 'locked')) swatches.push({ cls: 'locked', text: 'locked' });
    if (model.bands.length === 0) swatches.push({ cls: 'none', text: 'no control changes recorded' });
    for (const s of swatches) {
      const item = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = `swatch ${s.cls}`;
      item.append(swatch, s.text);
      legend.append(item);
    }
    container.replaceChildren(markers, this.slider, legend);
    this.setPosition(0);
  }

  setPosition(t: number): void {
    this.position = t;
    const span = Math.max(this.model.spanMs, 1);
    const at = `${Math.min(100, (t / span) * 100)}%`;
    this.progress.style.width = at;
    this.playhead.style.left = at;
    this.slider.setAttribute('aria-valuenow', String(Math.round(t / 1000)));
    const band = bandAt(this.model.bands, t);
    const who = band === undefined ? '' : `, ${this.holderText(band)}`;
    this.slider.setAttribute('aria-valuetext', `${formatOffset(t)} of ${formatOffset(this.model.readableMs)}${who}`);
  }

  /** Who drives during a band, in words. */
  holderText(band: ControlBand): string {
    if (band.holder !== undefined) return `${this.model.nameOf(band.holder)} drives`;
    return band.state === 'locked' ? 'control locked' : 'nobody drives';
  }

  private seek(t: number): void {
    this.onSeek(Math.min(Math.max(0, t), this.model.readableMs));
  }
}
