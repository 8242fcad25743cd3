// The user-office data as a YAML/JSON file the admin edits: read at start (a bad file stops the
// start), then reloaded when it changes. Editors save by writing a new file and renaming it over
// the old one, which ends a watch on the file itself, so the directory is watched; a slow stat
// poll catches what watching misses (network file systems, symlink swaps as in Kubernetes
// ConfigMaps, an exhausted inotify limit). A bad edit is refused and the last good data stays.
// Never logs: the caller logs and audits the events.
import { watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { UserOfficeData } from '../../../policies/src/user-office.js';
import { parseUserOffice, UserOfficeError } from './load.js';
import { ReloadLoop } from '../reload-loop.js';
import { loadedEvent, realSchedule, SourceListeners, type Schedule, type SourceEvent, type SourceListener, type UserOfficeSource } from './source.js';

/** Watches a directory; calls onEvent with the name that changed (null when the platform does not say). */
export type WatchDirectory = (directory: string, onEvent: (filename: string | null) => void) => { close(): void };

export interface FileUserOfficeSourceOptions {
  readonly path: string;
  /** Quiet time after the last change before the file is read: editors and copies write in several steps. */
  readonly debounceMs?: number;
  /** How often the file's size, times and inode are compared, for changes that watching misses. */
  readonly pollMs?: number;
  readonly schedule?: Schedule;
  /** Replaces fs.watch in tests; a throwing watcher leaves the poll alone in charge. */
  readonly watchDirectory?: WatchDirectory;
}

export const DEFAULT_DEBOUNCE_MS = 200;
export const DEFAULT_POLL_MS = 10_000;

/** fs.watch on the directory; if it fails later (the directory removed), the poll carries on alone. */
export const watchDirectoryWithFs: WatchDirectory = (directory, onEvent) => {
  const watcher = watch(directory, { persistent: false }, (_type, filename) => {
    onEvent(filename);
  });
  watcher.on('error', () => {
    watcher.close();
  });
  return watcher;
};

export class FileUserOfficeSource implements UserOfficeSource {
  private readonly path: string;
  private readonly loop: ReloadLoop<SourceEvent | undefined>;
  private readonly listeners = new SourceListeners();
  private data: UserOfficeData | undefined;
  /** The text of the last attempt, good or refused: the same text is not parsed (or reported) twice. */
  private lastText: string | undefined;
  /** Size, times and inode when last read; the poll reads only when they differ. */
  private lastStat: string | undefined;
  /** Why the file could not be read, while it cannot: reported once, not at every poll. */
  private unreadable: string | undefined;
  private started = false;

  constructor(options: FileUserOfficeSourceOptions) {
    this.path = options.path;
    const name = basename(options.path);
    this.loop = new ReloadLoop({
      directory: dirname(options.path),
      debounceMs: options.debounceMs ?? DEFAULT_DEBOUNCE_MS,
      pollMs: options.pollMs ?? DEFAULT_POLL_MS,
      schedule: options.schedule ?? realSchedule,
      watchDirectory: options.watchDirectory ?? watchDirectoryWithFs,
      // `..data` is the symlink Kubernetes swaps to update a mounted ConfigMap.
      relevant: filename => filename === name || filename === '..data',
    }, poll => this.check(poll));
  }

  async start(): Promise<UserOfficeData> {
    if (this.started) throw new Error('FileUserOfficeSource.start() called twice');
    this.started = true;
    // Watch before the first read, so a change between the two is not missed; the first read is
    // queued like every check, so a check caused by such a change reads after it.
    this.loop.watch();
    const load = this.loop.run(async () => {
      const { text, signature } = await this.read();
      const data = parseUserOffice(text, this.path);
      if (this.loop.closed) throw new UserOfficeError(`${this.path}: the user-office source was closed during start`);
      this.data = data;
      this.lastText = text;
      this.lastStat = signature;
      return data;
    });
    let data: UserOfficeData;
    try {
      data = await load;
    } catch (e) {
      this.close();
      throw e;
    }
    this.loop.startPolling();
    this.emit(loadedEvent(data, this.path));
    return data;
  }

  current(): UserOfficeData {
    if (this.data === undefined) throw new Error('FileUserOfficeSource.current() before start() succeeded');
    return this.data;
  }

  refresh(): Promise<SourceEvent | undefined> {
    if (this.data === undefined) return Promise.reject(new Error('FileUserOfficeSource.refresh() before start() succeeded'));
    return this.loop.checkNow();
  }

  onChange(listener: SourceListener): () => void {
    return this.listeners.add(listener);
  }

  describe(): string {
    return this.path;
  }

  close(): void {
    this.loop.close();
  }

  private async check(onlyIfStatChanged: boolean): Promise<SourceEvent | undefined> {
    if (this.loop.closed) return undefined;
    let read: { text: string; signature: string };
    try {
      if (onlyIfStatChanged && await this.signature() === this.lastStat) return undefined;
      read = await this.read();
    } catch (e) {
      if (!(e instanceof UserOfficeError)) throw e;
      if (e.message === this.unreadable) return undefined;
      this.unreadable = e.message;
      this.lastStat = undefined;
      return this.emit({ kind: 'rejected', error: e.message, source: this.path });
    }
    this.lastStat = read.signature;
    // After the file was unreadable, even the same text is news: the refusal is over.
    if (read.text === this.lastText && this.unreadable === undefined) return undefined;
    this.unreadable = undefined;
    this.lastText = read.text;
    let data: UserOfficeData;
    try {
      data = parseUserOffice(read.text, this.path);
    } catch (e) {
      if (!(e instanceof UserOfficeError)) throw e;
      return this.emit({ kind: 'rejected', error: e.message, source: this.path });
    }
    this.data = data;
    return this.emit(loadedEvent(data, this.path));
  }

  private async read(): Promise<{ text: string; signature: string }> {
    // The stat comes first: a change during the read makes the next poll read again.
    const signature = await this.signature();
    try {
      return { text: await readFile(this.path, 'utf8'), signature };
    } catch (e) {
      throw this.unreadableError(e);
    }
  }

  /** Size, times and inode: what changes when the file is rewritten or replaced. */
  private async signature(): Promise<string> {
    try {
      const s = await stat(this.path);
      return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (e) {
      throw this.unreadableError(e);
    }
  }

  private unreadableError(e: unknown): UserOfficeError {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    const hint = code === 'ENOENT' ? ' (no such file; an editor may still be saving it, or userOffice.file is wrong)'
      : code === 'EACCES' ? ' (the gateway\'s user may not read it)'
        : code === 'EISDIR' ? ' (it is a directory)' : '';
    return new UserOfficeError(`${this.path}: cannot read the user-office data file: ${code}${hint}`);
  }

  private emit(event: SourceEvent): SourceEvent | undefined {
    if (this.loop.closed) return undefined;
    this.listeners.emit(event);
    return event;
  }
}
