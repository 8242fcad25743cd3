// An in-memory AuditLog for tests of code that audits (not of the audit log itself, which is
// tested against SQLite and PostgreSQL). `failing = true` makes every append reject, to test
// that actions fail when their record cannot be written.
import type { AuditEvent, AuditFilter, AuditRecord, ChainCheck } from '../../../session-recorder/src/audit/audit-record.js';
import type { AuditLog } from '../store/types.js';

export class MemoryAuditLog implements AuditLog {
  readonly records: AuditRecord[] = [];
  failing = false;
  private readonly waiters: { test: (r: AuditRecord) => boolean; resolve: (r: AuditRecord) => void }[] = [];

  append(event: AuditEvent): Promise<AuditRecord> {
    if (this.failing) return Promise.reject(new Error('audit store unavailable (test)'));
    const seq = this.records.length + 1;
    const record: AuditRecord = { ...event, seq, prevHash: String(seq - 1), hash: String(seq) };
    this.records.push(record);
    for (const w of [...this.waiters]) {
      if (w.test(record)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(record);
      }
    }
    return Promise.resolve(record);
  }

  query(filter: AuditFilter): Promise<AuditRecord[]> {
    return Promise.resolve(this.records.filter(r => filter.codes === undefined || filter.codes.includes(r.code)));
  }

  verify(): Promise<ChainCheck> {
    return Promise.resolve({ ok: true, records: this.records.length, headHash: String(this.records.length) });
  }

  /** Resolves with the first record (already written or to come) that passes the test. */
  waitFor(test: (r: AuditRecord) => boolean, timeoutMs = 5000): Promise<AuditRecord> {
    const found = this.records.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('no matching audit record in time'));
      }, timeoutMs);
      this.waiters.push({ test, resolve: (r) => {
        clearTimeout(timer);
        resolve(r);
      } });
    });
  }
}
