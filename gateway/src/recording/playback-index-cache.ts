// Recording indexes for playback, kept between requests: a finished recording is indexed once; a
// recording still being written is read on from where the last index stopped (its size and mtime
// say whether it changed). A file that shrank or was replaced is indexed again from the start.
import { stat } from 'node:fs/promises';
import { IncrementalIndex } from '../../../session-recorder/src/recording/recording-reader.js';
import type { RecordingIndex } from '../../../session-recorder/src/recording/recording-reader.js';

interface Cached {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly builder: IncrementalIndex;
  readonly index: RecordingIndex;
}

export interface IndexCacheStats {
  hits: number;
  /** Indexes read on from where the last one stopped. */
  extended: number;
  /** Indexes read from the start. */
  full: number;
}

export class PlaybackIndexCache {
  private readonly entries = new Map<string, Cached>();
  /** One pass per recording at a time: concurrent requests share it. */
  private readonly pending = new Map<string, Promise<RecordingIndex>>();
  readonly stats: IndexCacheStats = { hits: 0, extended: 0, full: 0 };

  /** maxEntries: indexes kept (each holds key frame positions and events, a few kB to a few hundred kB). */
  constructor(private readonly maxEntries = 64) {}

  /** The index of recording `id`, whose file is `path`. Rejects like indexRecording (RecordingReadError) or stat (ENOENT). */
  get(id: string, path: string): Promise<RecordingIndex> {
    const key = `${id}\n${path}`;
    const running = this.pending.get(key);
    if (running !== undefined) return running;
    const pass = this.load(key, path).finally(() => this.pending.delete(key));
    this.pending.set(key, pass);
    return pass;
  }

  private async load(key: string, path: string): Promise<RecordingIndex> {
    const info = await stat(path);
    const cached = this.entries.get(key);
    this.entries.delete(key); // re-inserted below: the Map's order is the eviction order
    if (cached !== undefined && cached.size === info.size && cached.mtimeMs === info.mtimeMs) {
      this.stats.hits++;
      this.entries.set(key, cached);
      return cached.index;
    }
    const growing = cached !== undefined && cached.builder.open && info.size > cached.builder.bytesRead;
    const builder = growing ? cached.builder : new IncrementalIndex(path);
    if (growing) this.stats.extended++;
    else this.stats.full++;
    const index = await builder.update();
    // A growing file is compared by what was read; a finished or damaged one by its size at stat (a damaged
    // file is not read past the damage, so what was read says nothing about its size).
    this.entries.set(key, { path, size: builder.open ? index.fileBytes : info.size, mtimeMs: info.mtimeMs, builder, index });
    for (const old of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(old);
    }
    return index;
  }
}
