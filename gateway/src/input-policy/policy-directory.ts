// The beamline input policies as a directory of files, one per beamline (`<beamline id>.yaml`),
// read at start (a bad file stops the start) and reloaded when they change, the way the user-office
// file is (both through reload-loop.ts): the directory is watched, a slow stat poll catches what
// watching misses, a changed file is read after a quiet time. A bad edit is refused with the file,
// path and line, and that beamline's last good policy stays. A removed file's beamline falls back
// to the conservative default (fallbackPolicy: kiosk keys, no clipboard, no resize), never to no
// rules. A new file is picked up. Policies are compiled once per load, so the proxy only looks up.
// Never logs: the caller logs and audits the events.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fallbackPolicy, type BeamlineInputPolicy } from '../../../policies/src/input-policy.js';
import { compilePolicy, type CompiledPolicy } from '../../../policies/src/input-rules.js';
import { watchDirectoryWithFs, type WatchDirectory } from '../user-office/file-source.js';
import { ReloadLoop } from '../reload-loop.js';
import { realSchedule, SourceListeners, type Schedule } from '../user-office/source.js';
import { beamlineOfFileName, InputPolicyError, parseInputPolicy } from './load.js';

export type PolicyEvent =
  | {
    readonly kind: 'loaded'; readonly beamline: string; readonly source: string; readonly policy: CompiledPolicy;
    /** Rule ids in force, for the audit record of the change. */
    readonly ruleIds: readonly string[];
  }
  /** The file is wrong or unreadable: `error` says where and what; the last good policy (or the fallback) stays. */
  | { readonly kind: 'rejected'; readonly beamline: string; readonly source: string; readonly error: string }
  /** The file is gone: the beamline now has the fallback policy. */
  | { readonly kind: 'removed'; readonly beamline: string; readonly source: string };

export type PolicyListener = (event: PolicyEvent) => void;

export interface PolicyDirectoryOptions {
  readonly directory: string;
  /** Quiet time after the last change before the directory is read again. */
  readonly debounceMs?: number;
  /** How often file sizes, times and inodes are compared, for changes that watching misses. */
  readonly pollMs?: number;
  readonly schedule?: Schedule;
  readonly watchDirectory?: WatchDirectory;
}

interface FileState {
  readonly name: string;
  signature: string | undefined;
  /** The text of the last attempt, good or refused: the same text is not parsed (or reported) twice. */
  text: string | undefined;
  policy: CompiledPolicy | undefined;
  /** The last good file's recording section. */
  recording: BeamlineInputPolicy['recording'] | undefined;
}

export class PolicyDirectory {
  private readonly directory: string;
  private readonly loop: ReloadLoop<PolicyEvent[]>;
  private readonly listeners = new SourceListeners<PolicyEvent>('input policy');
  /** By beamline id. */
  private readonly files = new Map<string, FileState>();
  private readonly fallbacks = new Map<string, CompiledPolicy>();
  /** Duplicate-file errors reported by the last scan: reported again only after they went away. */
  private duplicates = new Set<string>();
  private started = false;

  constructor(options: PolicyDirectoryOptions) {
    this.directory = options.directory;
    this.loop = new ReloadLoop({
      directory: options.directory,
      debounceMs: options.debounceMs ?? 200,
      pollMs: options.pollMs ?? 10_000,
      schedule: options.schedule ?? realSchedule,
      watchDirectory: options.watchDirectory ?? watchDirectoryWithFs,
    }, async (poll) => {
      if (this.loop.closed) return [];
      const events = await this.scan(poll);
      for (const event of events) this.emit(event);
      return events;
    });
  }

  /** Reads every policy file; rejects with an InputPolicyError listing every bad file, so the gateway does not start on one. */
  async start(): Promise<void> {
    if (this.started) throw new Error('PolicyDirectory.start() called twice');
    this.started = true;
    this.loop.watch();
    const events: PolicyEvent[] = [];
    const load = this.loop.run(async () => {
      events.push(...await this.scan(false));
    });
    try {
      await load;
      const errors = events.flatMap(e => e.kind === 'rejected' ? [e.error] : []);
      if (errors.length > 0) throw new InputPolicyError(errors.join('\n'));
      if (this.loop.closed) throw new InputPolicyError(`${this.directory}: the policy directory was closed during start`);
    } catch (e) {
      this.close();
      throw e;
    }
    this.loop.startPolling();
    for (const event of events) this.emit(event);
  }

  /** The recording settings of a beamline's policy file (absent fields: the gateway's defaults apply). */
  recording(beamline: string): BeamlineInputPolicy['recording'] | undefined {
    return this.files.get(beamline)?.recording;
  }

  /** The policy in force for a beamline: its file's last good one, or the fallback when it has none. */
  policy(beamline: string): CompiledPolicy {
    const own = this.files.get(beamline)?.policy;
    if (own !== undefined) return own;
    let fallback = this.fallbacks.get(beamline);
    if (fallback === undefined) {
      fallback = compilePolicy(fallbackPolicy(beamline));
      this.fallbacks.set(beamline, fallback);
    }
    return fallback;
  }

  /** Beamlines that have a good policy file. */
  beamlines(): string[] {
    return [...this.files].filter(([, f]) => f.policy !== undefined).map(([b]) => b).sort();
  }

  /** Reads the directory now; resolves with what changed. */
  refresh(): Promise<PolicyEvent[]> {
    if (!this.started) return Promise.reject(new Error('PolicyDirectory.refresh() before start()'));
    return this.loop.checkNow();
  }

  /** Every load, refusal and removal from now on; returns a function that unsubscribes. */
  onChange(listener: PolicyListener): () => void {
    return this.listeners.add(listener);
  }

  describe(): string {
    return this.directory;
  }

  close(): void {
    this.loop.close();
  }

  /** Compares the directory with what is loaded; updates the state and returns the events (not yet emitted). */
  private async scan(onlyIfStatChanged: boolean): Promise<PolicyEvent[]> {
    let names: string[];
    try {
      names = (await readdir(this.directory)).sort();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      // The whole directory is unreadable: every beamline keeps what it has, reported once per file.
      const error = `${this.directory}: cannot read the input policy directory: ${code}`;
      if (this.files.size === 0) throw new InputPolicyError(error);
      return [...this.files].filter(([, f]) => f.text !== error).map(([beamline, f]) => {
        f.text = error;
        f.signature = undefined;
        return { kind: 'rejected', beamline, source: join(this.directory, f.name), error } as const;
      });
    }
    const events: PolicyEvent[] = [];
    const candidates = new Map<string, string[]>();
    for (const name of names) {
      const beamline = beamlineOfFileName(name);
      if (beamline === undefined) continue;
      candidates.set(beamline, [...candidates.get(beamline) ?? [], name]);
    }
    const present = new Map<string, string>();
    const duplicates = new Set<string>();
    for (const [beamline, group] of candidates) {
      // The file already in force stays in force; a second one for the same beamline is refused.
      const loaded = this.files.get(beamline)?.name;
      const chosen = loaded !== undefined && group.includes(loaded) ? loaded : group[0] ?? '';
      present.set(beamline, chosen);
      for (const name of group.filter(g => g !== chosen)) {
        const error = `${join(this.directory, name)}: ${chosen} is already the policy of beamline "${beamline}"; remove one of the two files`;
        if (!this.duplicates.has(error)) events.push({ kind: 'rejected', beamline, source: join(this.directory, name), error });
        duplicates.add(error);
      }
    }
    this.duplicates = duplicates;
    for (const [beamline, file] of [...this.files]) {
      if (present.get(beamline) === file.name) continue;
      this.files.delete(beamline);
      if (file.policy !== undefined) events.push({ kind: 'removed', beamline, source: join(this.directory, file.name) });
    }
    for (const [beamline, name] of present) {
      const event = await this.check(beamline, name, onlyIfStatChanged);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  private async check(beamline: string, name: string, onlyIfStatChanged: boolean): Promise<PolicyEvent | undefined> {
    const path = join(this.directory, name);
    let file = this.files.get(beamline);
    if (file === undefined) {
      file = { name, signature: undefined, text: undefined, policy: undefined, recording: undefined };
      this.files.set(beamline, file);
    }
    let signature: string;
    let text: string;
    try {
      const s = await stat(path);
      signature = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      if (onlyIfStatChanged && signature === file.signature) return undefined;
      text = await readFile(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      if (code === 'ENOENT') return undefined; // removed between listing and reading: the next scan says so
      const error = `${path}: cannot read the input policy file: ${code}`;
      if (file.text === error) return undefined;
      file.text = error;
      file.signature = undefined;
      return { kind: 'rejected', beamline, source: path, error };
    }
    file.signature = signature;
    if (text === file.text) return undefined;
    file.text = text;
    try {
      const parsed = parseInputPolicy(text, path, beamline);
      const policy = compilePolicy(parsed);
      file.policy = policy;
      file.recording = parsed.recording;
      return { kind: 'loaded', beamline, source: path, policy, ruleIds: policy.rules.map(r => r.id) };
    } catch (e) {
      if (!(e instanceof InputPolicyError)) throw e;
      return { kind: 'rejected', beamline, source: path, error: e.message };
    }
  }

  private emit(event: PolicyEvent): void {
    if (!this.loop.closed) this.listeners.emit(event);
  }
}
