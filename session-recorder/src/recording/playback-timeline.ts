// What the player draws along its timeline and where it starts decoding, derived from a
// recording's index. Pure, free of Node APIs (the browser bundle imports it), tested on its own.
import type { TimelineEvent } from './format.js';

export type TimedEvent = TimelineEvent & { readonly t: number };

/** Who held control from `from` to `to` (ms into the recording); holder undefined: nobody did. */
export interface ControlBand {
  readonly from: number;
  readonly to: number;
  readonly holder: string | undefined;
  /** The control event's detail (free | held | locked), when it gave one. */
  readonly state: string | undefined;
  /** The message of the control event that began the band. */
  readonly message: string;
}

/**
 * Control bands from the 'control' events: each event says who holds control after it, so a band
 * runs to the next control event (or the end). Before the first control event nothing is known
 * and no band is drawn. Consecutive events with the same holder and state merge into one band.
 */
export function controlBands(events: readonly TimedEvent[], durationMs: number): ControlBand[] {
  const changes = events.filter(e => e.kind === 'control').sort((a, b) => a.t - b.t);
  const bands: ControlBand[] = [];
  for (const [i, e] of changes.entries()) {
    const to = Math.min(changes[i + 1]?.t ?? durationMs, durationMs);
    const from = Math.min(e.t, durationMs);
    const last = bands.at(-1);
    if (last !== undefined && last.holder === e.holder && last.state === e.detail) {
      bands[bands.length - 1] = { ...last, to };
      continue;
    }
    if (to > from) bands.push({ from, to, holder: e.holder, state: e.detail, message: e.message });
  }
  return bands;
}

export type MarkerKind = 'blocked' | 'viewer-joined' | 'viewer-left' | 'recorder';

export interface TimelineMarker {
  readonly t: number;
  readonly kind: MarkerKind;
  readonly message: string;
  readonly actor: string | undefined;
}

/** Markers for blocked actions, viewers joining and leaving, and recorder gaps; control changes are drawn as bands. */
export function timelineMarkers(events: readonly TimedEvent[]): TimelineMarker[] {
  const out: TimelineMarker[] = [];
  for (const e of events) {
    const kind = markerKind(e);
    if (kind !== undefined) out.push({ t: e.t, kind, message: e.message, actor: e.actor });
  }
  return out.sort((a, b) => a.t - b.t);
}

function markerKind(e: TimelineEvent): MarkerKind | undefined {
  switch (e.kind) {
    case 'blocked':
      return 'blocked';
    case 'viewer':
      return e.detail === 'left' ? 'viewer-left' : 'viewer-joined';
    case 'recorder':
      return 'recorder';
    case 'control':
      return undefined;
  }
}

/** Index of the last key frame at or before t; the first one when t lies before it; -1 when there is none. */
export function keyFrameAtOrBefore(keyFrames: readonly { readonly t: number }[], t: number): number {
  if (keyFrames.length === 0) return -1;
  let lo = 0;
  let hi = keyFrames.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((keyFrames[mid]?.t ?? Infinity) <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The band in force at t, if any. */
export function bandAt(bands: readonly ControlBand[], t: number): ControlBand | undefined {
  return bands.find(b => b.from <= t && t < b.to) ?? (bands.at(-1)?.to === t ? bands.at(-1) : undefined);
}

export interface RecordingSpan {
  readonly id: string;
  /** ISO times, as the API gives them. */
  readonly startedAt: string;
  readonly endedAt?: string | undefined;
}

/**
 * The recording that covers an instant (epoch ms): started at or before it and not ended before it
 * (a recording without an end is still running). The latest-starting one when several do.
 */
export function recordingCovering<R extends RecordingSpan>(recordings: readonly R[], at: number): R | undefined {
  let best: R | undefined;
  for (const r of recordings) {
    const start = Date.parse(r.startedAt);
    const end = r.endedAt === undefined ? Infinity : Date.parse(r.endedAt);
    if (start > at || end < at) continue;
    if (best === undefined || start > Date.parse(best.startedAt)) best = r;
  }
  return best;
}

/** "00:12:05" (hours grow past 99 if they must). */
export function formatOffset(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}
