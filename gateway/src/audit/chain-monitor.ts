// The audit chain's status for the safety officer's page: a check of the whole log takes
// seconds on a large log, so it runs in the background, one at a time, and its verdict is kept
// with the time it was reached. A broken chain is logged as an error (an alert for operators).
import type { Logger } from 'pino';
import type { ChainCheck } from '../../../session-recorder/src/audit/audit-record.js';

export type ChainState = 'unchecked' | 'running' | 'ok' | 'broken' | 'failed';

/** The last finished check, as the API shows it. */
export type ChainResult =
  | { readonly outcome: 'ok'; readonly records: number; readonly headHash: string }
  | { readonly outcome: 'broken'; readonly records: number; readonly firstBadSeq: number; readonly problem: string }
  | { readonly outcome: 'failed'; readonly error: string };

export interface ChainStatus {
  /** running while a check runs (the last result stays readable), else the last result's outcome. */
  readonly state: ChainState;
  readonly running: boolean;
  /** When the running check began. */
  readonly runningSince?: string;
  readonly last?: ChainResult & { readonly startedAt: string; readonly checkedAt: string; readonly durationMs: number };
}

export class ChainMonitor {
  #running: { since: Date; done: Promise<void> } | undefined;
  #last: ChainStatus['last'];

  constructor(
    private readonly check: () => Promise<ChainCheck>,
    private readonly clock: () => Date,
    private readonly log: Logger,
  ) {}

  /** Starts a check unless one is running; returns the status right after. */
  start(): ChainStatus {
    if (this.#running === undefined) {
      const since = this.clock();
      const done = this.#run(since).finally(() => {
        this.#running = undefined;
      });
      this.#running = { since, done };
    }
    return this.status();
  }

  /** Resolves when the running check (if any) has finished. */
  async settled(): Promise<void> {
    await this.#running?.done;
  }

  status(): ChainStatus {
    const running = this.#running;
    const last = this.#last;
    const state: ChainState = running !== undefined ? 'running' : last === undefined ? 'unchecked' : last.outcome;
    return {
      state, running: running !== undefined,
      ...(running === undefined ? {} : { runningSince: running.since.toISOString() }),
      ...(last === undefined ? {} : { last }),
    };
  }

  async #run(since: Date): Promise<void> {
    const started = performance.now();
    let result: ChainResult;
    try {
      const check = await this.check();
      result = check.ok
        ? { outcome: 'ok', records: check.records, headHash: check.headHash }
        : { outcome: 'broken', records: check.records, firstBadSeq: check.firstBadSeq, problem: check.problem };
      if (check.ok) this.log.info({ records: check.records, head: check.headHash }, 'audit chain intact');
      else this.log.error({ firstBadSeq: check.firstBadSeq, problem: check.problem }, 'AUDIT CHAIN BROKEN: records were changed or deleted');
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'the audit chain could not be checked');
      result = { outcome: 'failed', error: 'the audit log could not be read; the gateway log has the details' };
    }
    this.#last = {
      ...result, startedAt: since.toISOString(), checkedAt: this.clock().toISOString(), durationMs: Math.round(performance.now() - started),
    };
  }
}
