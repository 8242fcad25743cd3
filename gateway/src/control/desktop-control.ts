// One desktop's control token at run time: events from the control channels, the proxy and
// the clock go through rxjs into the pure arbiter (arbiter.ts); its effects are carried out
// here: the shared epoch and each viewer's input gate, notices and state to every channel,
// disconnects, and audit records. No decision is taken here.
import type { Logger } from 'pino';
import { Subject, concatMap } from 'rxjs';
import type { AuditWriter } from '../audit/audit-writer.js';
import type { SessionContext } from '../recording/session-context.js';
import type { Desktop } from '../access/access-service.js';
import { ControlEpoch } from '../proxy/input-gate.js';
import {
  initialControlState, reduce, type ControlEffect, type ControlEvent, type ControlSettings, type ControlState,
} from './arbiter.js';
import type { ClientMessage, ServerMessage, StateMessage } from './protocol.js';

/** The desktop (RFB) side of a participant: what the control token switches. */
export interface InputSwitch {
  grantInput(epoch: number): void;
  revokeInput(): void;
  close(message: string): void;
}

/** One open control channel (a browser tab), as the service sees it. */
export interface ControlChannel {
  readonly connection: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly name: string;
  readonly staff: boolean;
  readonly address: string;
  send(message: ServerMessage): void;
  close(code: number, reason: string): void;
}

export interface DesktopControlDeps {
  readonly audit: AuditWriter;
  /** The desktop's session: its id and beamtime go on the audit records, control changes onto the recording's timeline. */
  readonly sessions?: SessionContext | undefined;
  readonly log: Logger;
  readonly clock: () => Date;
}

export class DesktopControl {
  readonly epoch = new ControlEpoch();
  private state: ControlState = initialControlState();
  private readonly channels = new Map<string, ControlChannel>();
  private readonly viewers = new Map<string, InputSwitch>();
  private readonly events = new Subject<ControlEvent>();
  private readonly lastInputEvent = new Map<string, number>();
  private requests = 0;

  constructor(readonly desktop: Desktop, private readonly settings: ControlSettings, private readonly deps: DesktopControlDeps) {
    // One event at a time, in order: each step's audit records are written before it takes effect.
    this.events.pipe(concatMap(event => this.step(event))).subscribe();
  }

  /**
   * Reduces one event. Its audit records are written first: if that fails, a step that would give
   * someone remote control (request, grant, accepting a hand-over, unlock) does not happen and the
   * person is told why. Steps that take control away or keep people safe (take-over, revoke, lock,
   * release, leave, timeouts, lost eligibility) happen anyway; the failed write is logged.
   */
  private async step(event: ControlEvent): Promise<void> {
    const { state, effects } = reduce(this.state, event, this.settings);
    const audits = effects.filter((e): e is Extract<ControlEffect, { kind: 'audit' }> => e.kind === 'audit');
    const sessions = this.deps.sessions;
    const session = sessions?.sessionOf(this.desktop.id);
    const written = await Promise.all(audits.map(effect => this.deps.audit.record({
      code: effect.code, actor: effect.actor, subject: effect.subject, beamline: this.desktop.beamline, target: this.desktop.id,
      session, beamtime: sessions?.beamtimeOf(this.desktop.id),
      message: `${this.desktop.name}: ${effect.reason} (${effect.from} -> ${effect.to})`,
      details: { transition: effect.transition, from: effect.from, to: effect.to, reason: effect.reason },
    }).then(record => record.seq, () => false as const)));
    if (written.includes(false) && GRANTING_EVENTS.has(event.type) && state !== this.state) {
      const connection = 'connection' in event ? event.connection : 'by' in event ? event.by : undefined;
      if (connection !== undefined) {
        this.channels.get(connection)?.send({
          v: 1, type: 'refused', action: event.type,
          reason: 'The gateway cannot write its audit log right now, so control cannot be given. Tell the local contact.',
        });
      }
      return;
    }
    const changed = state !== this.state;
    this.state = state;
    for (const effect of effects) this.apply(effect);
    if (changed) this.broadcast();
    audits.forEach((effect, i) => {
      if (effect.code !== 'control.transition') return;
      const seq = written[i];
      sessions?.note(this.desktop.id, {
        kind: 'control', message: `${effect.reason}: ${effect.to}`, actor: effect.actor, holder: state.holder?.userId, detail: state.mode,
        ...(typeof seq === 'number' ? { auditSeq: seq } : {}),
      });
    });
  }

  get current(): ControlState {
    return this.state;
  }

  channelCount(): number {
    return this.channels.size;
  }

  join(channel: ControlChannel, canControl: boolean): void {
    this.channels.set(channel.connection, channel);
    channel.send({ v: 1, type: 'hello', connection: channel.connection });
    this.dispatch({
      type: 'join', at: this.now(),
      participant: { connection: channel.connection, userId: channel.userId, name: channel.name, staff: channel.staff, canControl },
    });
    this.sendState(channel);
  }

  leave(connection: string): void {
    if (!this.channels.delete(connection)) return;
    this.lastInputEvent.delete(connection);
    this.dispatch({ type: 'leave', at: this.now(), connection });
  }

  /** The desktop socket of a participant: it gets input only while its connection holds the token. */
  attachViewer(connection: string, sessionId: string, viewer: InputSwitch): boolean {
    const channel = this.channels.get(connection);
    if (channel?.sessionId !== sessionId) return false;
    // One desktop socket per control connection: a second one (a reload, a copied URL) replaces the
    // first, which stops driving, so two sockets never send input under one token.
    const previous = this.viewers.get(connection);
    if (previous !== undefined && previous !== viewer) previous.revokeInput();
    this.viewers.set(connection, viewer);
    if (this.state.holder?.connection === connection) viewer.grantInput(this.state.epoch);
    return true;
  }

  detachViewer(connection: string, viewer: InputSwitch): void {
    if (this.viewers.get(connection) === viewer) this.viewers.delete(connection);
  }

  channelOf(connection: string): ControlChannel | undefined {
    return this.channels.get(connection);
  }

  handle(connection: string, message: ClientMessage): void {
    const at = this.now();
    this.requests += 1;
    this.dispatch(toEvent(connection, message, at, `r${this.requests}`));
  }

  eligibility(connection: string, canControl: boolean, reason: string): void {
    const participant = this.state.participants.get(connection);
    if (participant === undefined || participant.canControl === canControl) return;
    this.dispatch({ type: 'eligibility', at: this.now(), connection, canControl, reason });
  }

  /** The holder's forwarded input, coalesced to at most one event a second (idle timeout needs no more). */
  input(connection: string): void {
    const at = this.now();
    if (at - (this.lastInputEvent.get(connection) ?? 0) < 1000) return;
    this.lastInputEvent.set(connection, at);
    this.dispatch({ type: 'input', at, connection });
  }

  tick(): void {
    this.dispatch({ type: 'tick', at: this.now() });
  }

  close(reason: string): void {
    for (const channel of this.channels.values()) channel.close(1001, reason);
    this.channels.clear();
    this.events.complete();
  }

  private dispatch(event: ControlEvent): void {
    this.events.next(event);
  }

  private now(): number {
    return this.deps.clock().getTime();
  }

  private apply(effect: ControlEffect): void {
    switch (effect.kind) {
      case 'holder-changed': {
        this.epoch.current = effect.epoch;
        this.epoch.holder = effect.to;
        if (effect.from !== undefined) this.viewers.get(effect.from)?.revokeInput();
        if (effect.to !== undefined) this.viewers.get(effect.to)?.grantInput(effect.epoch);
        break;
      }
      case 'notify': {
        const message: ServerMessage = { v: 1, type: 'notice', text: effect.notice };
        if (effect.connection === 'all') for (const c of this.channels.values()) c.send(message);
        else this.channels.get(effect.connection)?.send(message);
        break;
      }
      case 'refused':
        this.channels.get(effect.connection)?.send({ v: 1, type: 'refused', action: effect.action, reason: effect.reason });
        break;
      case 'disconnect': {
        this.viewers.get(effect.connection)?.close(effect.reason);
        this.channels.get(effect.connection)?.close(4403, effect.reason.slice(0, 120));
        break;
      }
      case 'audit':
        break; // written by step() before the state changed
    }
  }

  private broadcast(): void {
    for (const channel of this.channels.values()) this.sendState(channel);
  }

  private sendState(channel: ControlChannel): void {
    channel.send(stateFor(this.state, channel.connection));
  }
}

/** Events whose steps can give someone remote control: they need their audit record. */
const GRANTING_EVENTS: ReadonlySet<ControlEvent['type']> = new Set(['request', 'grant', 'accept-hand-over', 'unlock', 'hand-over']);

export function stateFor(state: ControlState, connection: string): StateMessage {
  const me = state.participants.get(connection);
  const holder = state.holder;
  const offerFrom = state.offer === undefined ? undefined : state.participants.get(state.offer.from);
  return {
    v: 1,
    type: 'state',
    you: {
      connection, userId: me?.userId ?? '', staff: me?.staff ?? false, canControl: me?.canControl ?? false, holding: holder?.connection === connection,
    },
    mode: state.mode,
    ...(holder === undefined ? {} : {
      holder: { userId: holder.userId, name: holder.name, disconnected: holder.disconnectedAt !== undefined },
    }),
    ...(state.lockedBy === undefined ? {} : { lockedBy: { userId: state.lockedBy.userId, name: state.lockedBy.name } }),
    epoch: state.epoch,
    participants: [...state.participants.values()].map(p => ({
      connection: p.connection, userId: p.userId, name: p.name, staff: p.staff, canControl: p.canControl,
    })),
    queue: state.queue.map(r => ({
      id: r.id, userId: r.userId, name: state.participants.get(r.connection)?.name ?? r.userId, message: r.message, at: r.at,
    })),
    ...(state.offer === undefined || offerFrom === undefined ? {} : {
      offer: { from: { userId: offerFrom.userId, name: offerFrom.name }, toUserId: state.offer.toUserId },
    }),
  };
}

function toEvent(connection: string, m: ClientMessage, at: number, requestId: string): ControlEvent {
  switch (m.type) {
    case 'request':
      return { type: 'request', at, connection, requestId, message: m.message };
    case 'cancel-request': return { type: 'cancel-request', at, connection };
    case 'grant': return { type: 'grant', at, by: connection, requestId: m.requestId };
    case 'deny': return { type: 'deny', at, by: connection, requestId: m.requestId, reason: m.reason };
    case 'release': return { type: 'release', at, connection };
    case 'hand-over': return { type: 'hand-over', at, by: connection, toUserId: m.toUserId };
    case 'accept-hand-over': return { type: 'accept-hand-over', at, connection };
    case 'decline-hand-over': return { type: 'decline-hand-over', at, connection };
    case 'take-over': return { type: 'take-over', at, by: connection, reason: m.reason };
    case 'revoke': return { type: 'revoke', at, by: connection, reason: m.reason };
    case 'lock': return { type: 'lock', at, by: connection };
    case 'unlock': return { type: 'unlock', at, by: connection };
    case 'remove': return { type: 'remove', at, by: connection, connection: m.connection, reason: m.reason };
  }
}
