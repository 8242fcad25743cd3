// Plays a recording in noVNC. The recording is fetched in chunks, one per key frame (a key frame
// and everything up to the next one). Seeking starts a fresh noVNC at the key frame at or before the
// target, feeds it everything up to the target at once, and plays on from there; a Segment record
// (the recorder reconnected) starts a fresh noVNC the same way. Playing follows a clock that runs
// at the chosen speed and waits (holding the clock) while the next chunk is still on its way.
import {
  decodeKeyFramePayload, decodeSegmentStart, RecordKind,
} from '../../../session-recorder/src/recording/format.js';
import type { PlaybackRecord } from '../../../session-recorder/src/recording/playback-chunk.js';
import type { StreamStart } from '../../../session-recorder/src/recording/playback-handshake.js';
import { keyFrameAtOrBefore } from '../../../session-recorder/src/recording/playback-timeline.js';
import { PlaybackStream } from './stream.js';

export interface PlayableRecording {
  readonly durationMs: number;
  readonly keyFrames: readonly (StreamStart & { readonly t: number })[];
}

export type PlayerState = 'paused' | 'playing' | 'loading' | 'ended';

export interface PlayerListener {
  /** The position changed (every animation frame while playing, and after a seek). */
  time(positionMs: number): void;
  state(state: PlayerState): void;
  /** Something could not be played (a chunk failed to load, a damaged record); playback pauses. */
  failed(message: string): void;
}

/** Chunks kept around the current one: the one before (seeking back a little) and two ahead. */
const KEEP_BEHIND = 1;
const KEEP_AHEAD = 2;

export class Player {
  private readonly chunks = new Map<number, Promise<PlaybackRecord[]>>();
  private readonly ready = new Map<number, PlaybackRecord[]>();
  /** Streams on the stage, oldest first; the last one gets what is fed. */
  private streams: PlaybackStream[] = [];
  /** The next record to feed: record i of chunk k. */
  private cursor = { k: 0, i: 0 };
  /** The clock: `position` at `wall` (performance.now()), running at `speed` while playing. */
  private anchor = { position: 0, wall: 0 };
  private position = 0;
  private speedValue = 1;
  private playing = false;
  private waiting = false;
  /** Seeks in progress count up; a seek that finds a newer one started gives way to it. */
  private generation = 0;
  private seekingValue = false;
  private frame: number | undefined;
  private stateValue: PlayerState = 'paused';

  constructor(
    private readonly stage: HTMLElement,
    private readonly recording: PlayableRecording,
    private readonly load: (k: number) => Promise<PlaybackRecord[]>,
    private readonly listener: PlayerListener,
  ) {}

  get positionMs(): number {
    return this.position;
  }

  get speed(): number {
    return this.speedValue;
  }

  get state(): PlayerState {
    return this.stateValue;
  }

  /** Shows the picture at `targetMs` (clamped to what can be played) and resolves when it is on screen. */
  async seek(targetMs: number): Promise<void> {
    const generation = ++this.generation;
    const { keyFrames, durationMs } = this.recording;
    const k = keyFrameAtOrBefore(keyFrames, targetMs);
    const key = keyFrames[k];
    if (key === undefined) {
      this.listener.failed('This recording has no key frame yet, so there is no picture to show.');
      return;
    }
    const target = Math.min(Math.max(targetMs, key.t), durationMs);
    this.seekingValue = true;
    this.update();
    let records: PlaybackRecord[];
    try {
      records = await this.chunk(k);
    } catch (e) {
      if (generation === this.generation) {
        this.seekingValue = false;
        this.fail(e);
      }
      return;
    }
    if (generation !== this.generation) return;
    this.ready.set(k, records);
    try {
      this.startStream(key);
      this.cursor = { k, i: 0 };
      this.feedUntil(target);
    } catch (e) {
      this.seekingValue = false;
      this.fail(e);
      return;
    }
    this.position = target;
    this.anchor = { position: target, wall: performance.now() };
    this.seekingValue = false;
    this.keepAround(k);
    this.listener.time(target);
    this.update();
    if (this.playing) this.schedule();
  }

  play(): void {
    if (this.playing) return;
    if (this.position >= this.recording.durationMs) {
      this.playing = true;
      void this.seek(this.recording.keyFrames[0]?.t ?? 0);
      return;
    }
    this.playing = true;
    this.anchor = { position: this.position, wall: performance.now() };
    this.update();
    this.schedule();
  }

  pause(): void {
    if (!this.playing) return;
    const holding = this.waiting || this.seekingValue;
    this.advanceClock();
    this.playing = false;
    if (!holding) {
      // Show exactly the paused moment (the last frame may have fed a little less).
      try {
        this.feedUntil(this.position);
      } catch (e) {
        this.fail(e);
        return;
      }
      this.listener.time(this.position);
    }
    this.waiting = false;
    this.update();
  }

  set speed(speed: number) {
    this.advanceClock();
    this.speedValue = speed;
  }

  private advanceClock(): void {
    if (!this.playing || this.seekingValue || this.waiting) return;
    const now = performance.now();
    this.position = Math.min(this.anchor.position + (now - this.anchor.wall) * this.speedValue, this.recording.durationMs);
    this.anchor = { position: this.position, wall: now };
  }

  private schedule(): void {
    this.frame ??= requestAnimationFrame(this.tick);
  }

  private readonly tick = (): void => {
    this.frame = undefined;
    if (!this.playing || this.seekingValue) return;
    const now = performance.now();
    let position = Math.min(this.anchor.position + (now - this.anchor.wall) * this.speedValue, this.recording.durationMs);
    let outcome: 'caught-up' | 'waiting' | 'end';
    try {
      outcome = this.feedUntil(position);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.waiting = outcome === 'waiting';
    if (this.waiting) {
      // The next chunk is on its way: hold the clock where it starts.
      position = Math.min(position, this.recording.keyFrames[this.cursor.k]?.t ?? position);
      this.anchor = { position, wall: now };
    }
    this.position = position;
    this.listener.time(position);
    if (position >= this.recording.durationMs) this.playing = false;
    this.update();
    if (this.playing) this.schedule();
  };

  /** Feeds every record up to `limit` ms; stops early when the next chunk is not loaded yet. */
  private feedUntil(limit: number): 'caught-up' | 'waiting' | 'end' {
    for (;;) {
      const records = this.ready.get(this.cursor.k);
      if (records === undefined) {
        this.chunk(this.cursor.k).catch(() => undefined); // failures reach fail() through chunk()
        return 'waiting';
      }
      const record = records[this.cursor.i];
      if (record === undefined) {
        if (this.cursor.k + 1 >= this.recording.keyFrames.length) return 'end';
        this.cursor = { k: this.cursor.k + 1, i: 0 };
        this.keepAround(this.cursor.k);
        continue;
      }
      if (record.t > limit) return 'caught-up';
      this.apply(record);
      this.cursor.i++;
    }
  }

  private apply(record: PlaybackRecord): void {
    switch (record.kind) {
      case RecordKind.Rfb:
        this.streams.at(-1)?.feed(record.payload);
        break;
      case RecordKind.KeyFrame:
        // Within a stream a key frame is just a full update: the stream is already in step.
        this.streams.at(-1)?.feed(decodeKeyFramePayload(record.payload).rfb);
        break;
      case RecordKind.Segment:
        this.startStream(decodeSegmentStart(record.payload));
        break;
      case RecordKind.Event:
      case RecordKind.End:
        break; // the timeline shows events; the end is where the records end
    }
  }

  private startStream(start: StreamStart): void {
    const stream = new PlaybackStream(this.stage, start, (shown) => {
      // The new picture is up: the streams under it go.
      const at = this.streams.indexOf(shown);
      for (const old of this.streams.slice(0, at)) old.close();
      this.streams = this.streams.slice(at);
    });
    this.streams.push(stream);
  }

  private chunk(k: number): Promise<PlaybackRecord[]> {
    let pending = this.chunks.get(k);
    if (pending === undefined) {
      pending = this.load(k);
      this.chunks.set(k, pending);
      pending.then((records) => {
        if (this.chunks.get(k) === pending) this.ready.set(k, records);
      }, (e: unknown) => {
        if (this.chunks.get(k) !== pending) return;
        this.chunks.delete(k); // a later seek may try again
        if (this.playing && this.cursor.k === k) this.fail(e);
      });
    }
    return pending;
  }

  /** Loads the chunk after k ahead of time and forgets those far from it. */
  private keepAround(k: number): void {
    if (k + 1 < this.recording.keyFrames.length) this.chunk(k + 1).catch(() => undefined);
    for (const n of [...this.chunks.keys()]) {
      if (n < k - KEEP_BEHIND || n > k + KEEP_AHEAD) {
        this.chunks.delete(n);
        this.ready.delete(n);
      }
    }
  }

  private fail(e: unknown): void {
    this.playing = false;
    this.waiting = false;
    this.update();
    this.listener.failed(e instanceof Error ? e.message : String(e));
  }

  private update(): void {
    const state: PlayerState = this.seekingValue || this.waiting ? 'loading'
      : this.playing ? 'playing'
        : this.position >= this.recording.durationMs ? 'ended' : 'paused';
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.listener.state(state);
  }
}
