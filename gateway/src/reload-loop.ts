// When to re-read a watched file or directory, shared by the user-office file and the input policy
// directory: a debounced fs.watch on the directory (editors and copies write in several steps; a
// rename replaces the file, which ends a watch on the file itself), and a slow poll for what
// watching misses (network file systems, symlink swaps as in Kubernetes ConfigMaps). Checks run
// one after another, so a read never races another read's result; a poll that hangs (a dead NFS
// server) does not pile more polls up behind it. What a check reads and decides is the owner's.
import type { Schedule } from './user-office/source.js';
import type { WatchDirectory } from './user-office/file-source.js';

export interface ReloadLoopOptions {
  readonly directory: string;
  /** Quiet time after the last change before the check. */
  readonly debounceMs: number;
  readonly pollMs: number;
  readonly schedule: Schedule;
  readonly watchDirectory: WatchDirectory;
  /** Whether a change of this name in the directory matters (default: every change); an unnamed change always does. */
  readonly relevant?: ((filename: string) => boolean) | undefined;
}

export class ReloadLoop<T> {
  private watcher: { close(): void } | undefined;
  private cancelDebounce: (() => void) | undefined;
  private cancelPoll: (() => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private polling = false;
  private closedValue = false;

  /** `check(poll)`: poll is true for the periodic check, which may skip reading when nothing changed. */
  constructor(private readonly options: ReloadLoopOptions, private readonly check: (poll: boolean) => Promise<T>) {}

  get closed(): boolean {
    return this.closedValue;
  }

  /** Starts watching; call before the first read, so a change between the two is not missed. */
  watch(): void {
    try {
      this.watcher = this.options.watchDirectory(this.options.directory, (filename) => {
        this.changed(filename);
      });
    } catch {
      // No watch (e.g. the inotify limit is reached): the poll still sees every change, only later.
      this.watcher = undefined;
    }
  }

  /** Starts the periodic check (after a successful first load). */
  startPolling(): void {
    if (this.closedValue) return;
    this.cancelPoll = this.options.schedule(() => {
      this.startPolling();
      if (this.polling) return;
      this.polling = true;
      void this.run(() => this.check(true)).finally(() => {
        this.polling = false;
      });
    }, this.options.pollMs);
  }

  /** Runs a check now, after the ones queued. */
  checkNow(): Promise<T> {
    return this.run(() => this.check(false));
  }

  /**
   * Runs `task` after everything queued and before anything queued later (the first load, a check).
   * A rejection reaches this caller only; what is queued next still runs.
   */
  run<R>(task: () => Promise<R>): Promise<R> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.closedValue = true;
    this.watcher?.close();
    this.watcher = undefined;
    this.cancelDebounce?.();
    this.cancelPoll?.();
  }

  private changed(filename: string | null): void {
    const relevant = this.options.relevant;
    if (this.closedValue || (filename !== null && relevant !== undefined && !relevant(filename))) return;
    this.cancelDebounce?.();
    this.cancelDebounce = this.options.schedule(() => {
      this.cancelDebounce = undefined;
      void this.checkNow();
    }, this.options.debounceMs);
  }
}
