// The one door to the audit log for the rest of the gateway. Every action that must be
// audited awaits record(): when the write fails, record() rejects with AuditUnavailableError
// and the caller refuses the action (nothing is done that is not on record).
import type { Logger } from 'pino';
import type { AuditEvent, AuditRecord } from '../../../session-recorder/src/audit/audit-record.js';
import type { AuditLog } from '../store/types.js';

export class AuditUnavailableError extends Error {
  override readonly name = 'AuditUnavailableError';
}

export type AuditInput = Omit<AuditEvent, 'at'> & { readonly at?: Date };

export class AuditWriter {
  constructor(
    private readonly log: AuditLog,
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async record(input: AuditInput): Promise<AuditRecord> {
    const event: AuditEvent = { ...input, at: input.at ?? this.clock() };
    try {
      const record = await this.log.append(event);
      this.logger.info({ audit: record.seq, code: record.code, actor: record.actor, target: record.target }, record.message);
      return record;
    } catch (e) {
      this.logger.error({ code: event.code, actor: event.actor, err: (e as Error).message }, 'audit write failed: the action is refused');
      throw new AuditUnavailableError(`the audit log could not record ${event.code}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** For records whose failure must not hide the original outcome (a denial stays a denial). */
  async tryRecord(input: AuditInput): Promise<AuditRecord | undefined> {
    try {
      return await this.record(input);
    } catch {
      return undefined;
    }
  }
}
