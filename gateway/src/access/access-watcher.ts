// Rights are decided again while people are connected: every few seconds, at every
// user-office change, and at once when a login ends. A viewer that may no longer watch is
// disconnected (the browser asks /api/desktops/:id/access why) and it is audited; whether a
// control channel may still drive goes to the control token, which takes control away in place.
import type { Logger } from 'pino';
import type { AuditWriter } from '../audit/audit-writer.js';
import type { Identity } from '../auth/identity.js';
import type { Principal, SessionEnded } from '../auth/session-service.js';
import type { Decision } from '../../../policies/src/decide.js';
import type { AccessService, Desktop } from './access-service.js';

export interface WatchedViewer {
  readonly viewerId: string;
  readonly sessionId: string;
  readonly identity: Identity;
  readonly desktop: Desktop;
  readonly address: string;
  /** Ends the connection; the browser then asks /api/desktops/:id/access why. */
  readonly disconnect: (why: 'login-ended' | 'view-revoked', message: string) => void;
  /** Control channels: the current 'control' decision after every check (the control token decides what follows). */
  readonly onControlDecision?: (allowed: boolean, message: string) => void;
}

export interface AccessWatcherDeps {
  readonly access: AccessService;
  readonly resolveSession: (sessionId: string) => Promise<Principal | undefined>;
  readonly audit: AuditWriter;
  readonly log: Logger;
  readonly clock: () => Date;
}

export class AccessWatcher {
  private readonly viewers = new Map<string, WatchedViewer>();
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly deps: AccessWatcherDeps) {}

  add(viewer: WatchedViewer): void {
    this.viewers.set(viewer.viewerId, viewer);
  }

  remove(viewerId: string): void {
    this.viewers.delete(viewerId);
  }

  get size(): number {
    return this.viewers.size;
  }

  /** A login ended (logout, expiry, refused refresh): its viewers go now. */
  sessionEnded(ended: SessionEnded): void {
    for (const viewer of [...this.viewers.values()]) {
      if (viewer.sessionId !== ended.sessionId) continue;
      this.viewers.delete(viewer.viewerId);
      viewer.disconnect('login-ended', ended.message);
    }
  }

  /** Decides every viewer again; concurrent calls coalesce into one more pass. */
  reevaluate(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.reevaluate();
      }
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = this.deps.clock();
    for (const viewer of [...this.viewers.values()]) {
      try {
        await this.check(viewer, now);
      } catch (e) {
        // Fail closed: rights that cannot be checked are not kept.
        this.deps.log.error({ viewer: viewer.viewerId, err: (e as Error).message }, 'could not re-evaluate a viewer: disconnecting it');
        if (this.viewers.delete(viewer.viewerId)) viewer.disconnect('login-ended', 'The gateway could not check your rights; reconnect in a moment.');
      }
    }
  }

  private async check(viewer: WatchedViewer, now: Date): Promise<void> {
    const principal = await this.deps.resolveSession(viewer.sessionId);
    if (!this.viewers.has(viewer.viewerId)) return; // left meanwhile
    if (principal === undefined) {
      this.viewers.delete(viewer.viewerId);
      viewer.disconnect('login-ended', 'Your login ended. Log in again.');
      return;
    }
    const rights = this.deps.access.rights(principal.identity, viewer.desktop, now);
    if (!rights.view.allow) {
      await this.revoke(viewer, 'view', rights.view);
      viewer.disconnect('view-revoked', messageOf(rights.view));
    } else {
      // Driving is the control token's business: it takes control away in place (and audits it).
      viewer.onControlDecision?.(rights.control.allow, messageOf(rights.control));
    }
  }

  private async revoke(viewer: WatchedViewer, right: 'view', decision: Decision): Promise<void> {
    this.viewers.delete(viewer.viewerId);
    // The viewer goes whether or not the record is written; a failed write is logged by the writer.
    await this.deps.audit.tryRecord({
      code: 'policy.revoked',
      actor: 'system',
      subject: viewer.identity.userId,
      beamline: viewer.desktop.beamline,
      target: viewer.desktop.id,
      address: viewer.address,
      message: `${viewer.identity.name} may no longer watch ${viewer.desktop.name}: ${messageOf(decision)}`,
      details: { right, viewer: viewer.viewerId, reasons: decision.reasons.map(r => ({ code: r.code, message: r.message })) },
    });
  }
}

export function messageOf(decision: Decision): string {
  return decision.reasons.map(r => r.message).join('; ');
}
