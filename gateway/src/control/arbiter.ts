// The control arbiter of one desktop session: who may drive, as a pure reducer
// (state, event, settings) -> { state, effects }. Time arrives in every event as `at` (ms), so
// timeouts fire on `tick`; nothing here reads a clock, holds a timer or does I/O. The numbered
// transitions (T1..T27) are documented in docs/design/0004-control-arbiter.md and carried in
// every audit effect as `transition`.

/** One connected viewer (a browser tab). */
export interface Participant {
  /** Unique per WebSocket connection. */
  readonly connection: string;
  readonly userId: string;
  readonly name: string;
  /** Local contact of the beamline: may take over, lock, grant, revoke, remove. */
  readonly staff: boolean;
  /** The policy's current 'control' decision (eligibility). Staff need it too to hold. */
  readonly canControl: boolean;
}

export interface ControlSettings {
  /** Holder sent no input for this long -> control freed (0 = never). */
  readonly idleTimeoutMs: number;
  /** Holder's connection dropped: held this long for a reconnect of the same user (0 = freed at once). */
  readonly disconnectGraceMs: number;
  /** An offer not accepted within this is withdrawn (0 = never). */
  readonly handOverTimeoutMs: number;
  /** Per-beamline option: a request the holder does not answer within N ms is granted (undefined = off). */
  readonly autoGrantAfterMs: number | undefined;
  /** Pending requests beyond this are refused. */
  readonly maxQueue: number;
}

export type ControlMode = 'free' | 'held' | 'locked';

export interface ControlHolder {
  readonly connection: string;
  readonly userId: string;
  readonly name: string;
  readonly since: number;
  readonly lastInputAt: number;
  /** Set while the holder's connection is gone and the disconnect grace runs. */
  readonly disconnectedAt?: number;
}

export interface ControlOffer {
  /** The offering holder's connection. */
  readonly from: string;
  readonly toUserId: string;
  readonly at: number;
}

export interface ControlState {
  /** 'locked': only staff may hold (a staff member may hold while locked). */
  readonly mode: ControlMode;
  readonly holder: ControlHolder | undefined;
  readonly lockedBy: { readonly userId: string; readonly name: string } | undefined;
  /** Bumped by every change of holder (grant, take-over, hand-over, reconnect, release, timeouts, ...). */
  readonly epoch: number;
  /** By connection. */
  readonly participants: ReadonlyMap<string, Participant>;
  /** Pending requests, oldest first. */
  readonly queue: readonly ControlRequest[];
  /** Hand-over in progress. */
  readonly offer: ControlOffer | undefined;
}

export interface ControlRequest {
  readonly id: string;
  readonly connection: string;
  readonly userId: string;
  readonly message: string;
  readonly at: number;
}

/** Every event has `at` (ms since epoch). `by` and `connection` are connection ids. */
export type ControlEvent =
  | { type: 'join'; at: number; participant: Participant }
  | { type: 'leave'; at: number; connection: string }
  | { type: 'eligibility'; at: number; connection: string; canControl: boolean; reason: string }
  | { type: 'request'; at: number; connection: string; requestId: string; message: string }
  | { type: 'cancel-request'; at: number; connection: string }
  | { type: 'grant'; at: number; by: string; requestId: string }
  | { type: 'deny'; at: number; by: string; requestId: string; reason: string }
  | { type: 'release'; at: number; connection: string }
  | { type: 'hand-over'; at: number; by: string; toUserId: string }
  | { type: 'accept-hand-over'; at: number; connection: string }
  | { type: 'decline-hand-over'; at: number; connection: string }
  | { type: 'take-over'; at: number; by: string; reason: string }
  | { type: 'revoke'; at: number; by: string; reason: string }
  | { type: 'lock'; at: number; by: string }
  | { type: 'unlock'; at: number; by: string }
  | { type: 'remove'; at: number; by: string; connection: string; reason: string }
  | { type: 'input'; at: number; connection: string }
  | { type: 'tick'; at: number };

/** Stable words naming why the holder changed, e.g. 'grant', 'take-over', 'idle-timeout', 'eligibility-lost'. */
export type TransitionReason = string;

export type ControlEffect =
  /** `from`/`to` are connections; the proxy releases every key/button `from` still holds and lets only `to` send input. */
  | { kind: 'holder-changed'; epoch: number; from: string | undefined; to: string | undefined; reason: TransitionReason }
  /** Not allowed: nothing changed. */
  | { kind: 'refused'; connection: string; action: ControlEvent['type']; reason: string }
  /** Human-readable, e.g. "Carol took over control". `connection` is a connection or 'all'. */
  | { kind: 'notify'; connection: string; notice: string }
  /** Staff removed a viewer. */
  | { kind: 'disconnect'; connection: string; reason: string }
  /** from/to: describeState() before and after, e.g. "held by F-1001 (epoch 3)". */
  | {
    kind: 'audit'; code: 'control.transition' | 'control.refused'; actor: string; subject: string | undefined;
    reason: string; from: string; to: string; transition: number;
  };

/** The numbered transitions of docs/design/0004-control-arbiter.md (T24..T27 change presence only and are not audited here). */
export const CONTROL_TRANSITIONS = {
  1: 'request-queued',
  2: 'request-granted-at-once',
  3: 'request-cancelled',
  4: 'grant',
  5: 'deny',
  6: 'release',
  7: 'hand-over-offered',
  8: 'hand-over-accepted',
  9: 'hand-over-declined',
  10: 'hand-over-timed-out',
  11: 'take-over',
  12: 'revoke',
  13: 'lock',
  14: 'unlock',
  15: 'idle-timeout',
  16: 'holder-disconnected',
  17: 'reconnect',
  18: 'disconnect-grace-expired',
  19: 'eligibility-lost',
  20: 'auto-grant',
  21: 'remove',
  22: 'requester-left',
  23: 'next-in-queue',
  24: 'join',
  25: 'leave',
  26: 'eligibility-changed',
  27: 'input',
} as const satisfies Record<number, string>;

export type TransitionNumber = keyof typeof CONTROL_TRANSITIONS;

const SYSTEM = 'system';

export function initialControlState(): ControlState {
  return { mode: 'free', holder: undefined, lockedBy: undefined, epoch: 0, participants: new Map(), queue: [], offer: undefined };
}

/** A short, stable description for audit records: "free (epoch 0)", "held by F-1001 (epoch 3)", "locked by S-1, held by S-1 (epoch 4)". */
export function describeState(state: ControlState): string {
  const holder = state.holder === undefined
    ? undefined
    : `held by ${state.holder.userId}${state.holder.disconnectedAt === undefined ? '' : ', disconnected'}`;
  const parts = state.lockedBy === undefined
    ? [holder ?? 'free']
    : [`locked by ${state.lockedBy.userId}`, ...(holder === undefined ? [] : [holder])];
  const extras = [
    ...(state.offer === undefined ? [] : [`offered to ${state.offer.toUserId}`]),
    ...(state.queue.length === 0 ? [] : [`${state.queue.length} queued`]),
  ];
  return `${parts.join(', ')} (epoch ${state.epoch})${extras.map(e => `, ${e}`).join('')}`;
}

export interface ControlStep {
  state: ControlState;
  effects: ControlEffect[];
}

/** Applies one event. A refusal returns the very same state object, with a refused and an audit effect. */
export function reduce(state: ControlState, event: ControlEvent, settings: ControlSettings): ControlStep {
  const step = new Step(state, event, settings);
  const next = dispatch(step, state, event);
  return { state: next, effects: step.effects };
}

// --- the pieces every transition uses --------------------------------------------------------

/** One call of reduce: the event, the settings and the effects gathered so far. Lives only inside reduce(). */
class Step {
  readonly effects: ControlEffect[] = [];
  constructor(readonly initial: ControlState, readonly event: ControlEvent, readonly settings: ControlSettings) {}

  get at(): number {
    return this.event.at;
  }

  notify(connection: string | undefined, notice: string): void {
    if (connection !== undefined) this.effects.push({ kind: 'notify', connection, notice });
  }

  /** One audit effect per transition, with the state before and after it. */
  audit(n: TransitionNumber, before: ControlState, after: ControlState, actor: string, subject: string | undefined, reason: string): void {
    this.effects.push({
      kind: 'audit', code: 'control.transition', actor, subject, reason, from: describeState(before), to: describeState(after), transition: n,
    });
  }

  /** A refusal: the same state object back, the reason to the asker, and an audit record. */
  refuse(state: ControlState, n: TransitionNumber, connection: string, reason: string): ControlState {
    this.effects.push({ kind: 'refused', connection, action: this.event.type, reason });
    this.effects.push({
      kind: 'audit', code: 'control.refused', actor: actorOf(state, connection), subject: undefined, reason,
      from: describeState(state), to: describeState(state), transition: n,
    });
    return state;
  }
}

function actorOf(state: ControlState, connection: string): string {
  return state.participants.get(connection)?.userId ?? `unknown connection ${connection}`;
}

function modeOf(holder: ControlHolder | undefined, lockedBy: ControlState['lockedBy']): ControlMode {
  if (lockedBy !== undefined) return 'locked';
  return holder === undefined ? 'free' : 'held';
}

/** May this participant hold control in this state? Eligibility always; staff as well while locked. */
function mayHold(state: ControlState, p: Participant): boolean {
  return p.canControl && (state.lockedBy === undefined || p.staff);
}

function notEligibleReason(state: ControlState, p: Participant, who: string): string {
  if (!p.canControl) return `${who} may not control this desktop now (the access policy does not allow it; see the desktop's access page for why)`;
  const locker = state.lockedBy?.name ?? 'staff';
  return `control is locked by ${locker}: only beamline staff may drive until it is unlocked`;
}

function holderFrom(p: Participant, at: number): ControlHolder {
  return { connection: p.connection, userId: p.userId, name: p.name, since: at, lastInputAt: at };
}

function nameOf(state: ControlState, connection: string | undefined): string {
  if (connection === undefined) return 'nobody';
  return state.participants.get(connection)?.name ?? (state.holder?.connection === connection ? state.holder.name : connection);
}

function isConnectedHolder(state: ControlState, connection: string): boolean {
  return state.holder?.connection === connection && state.holder.disconnectedAt === undefined;
}

function connectedHolder(state: ControlState): string | undefined {
  return state.holder?.disconnectedAt === undefined ? state.holder?.connection : undefined;
}

/**
 * The one place the holder changes: a new epoch, one holder-changed effect, the offer (which
 * belonged to the old holder) gone, and the new holder's own queued requests fulfilled.
 */
function changeHolder(step: Step, state: ControlState, next: ControlHolder | undefined, reason: TransitionReason): ControlState {
  const epoch = state.epoch + 1;
  step.effects.push({ kind: 'holder-changed', epoch, from: state.holder?.connection, to: next?.connection, reason });
  return {
    ...state,
    holder: next,
    mode: modeOf(next, state.lockedBy),
    epoch,
    offer: undefined,
    queue: next === undefined ? state.queue : withoutRequestsOf(state.queue, next.connection),
  };
}

/** Withdraws an offer whose target can no longer accept (left, lost eligibility, locked out). */
function dropInvalidOffer(step: Step, state: ControlState): ControlState {
  const offer = state.offer;
  if (offer === undefined) return state;
  const target = [...state.participants.values()].filter(p => p.userId === offer.toUserId);
  if (target.some(p => mayHold(state, p))) return state;
  step.notify(connectedHolder(state), `Your offer of control to ${offer.toUserId} was withdrawn: they can no longer accept it`);
  for (const p of target) step.notify(p.connection, 'The offer of control to you was withdrawn: you may not control this desktop now');
  return { ...state, offer: undefined };
}

/**
 * T23: when control has just become free (release, timeouts, eligibility lost, unlock, a holder
 * removed), the oldest queued request whose requester may hold now gets it, as a request made
 * while free would. Not after revoke or lock, whose point is that nobody gets control.
 */
function nextInQueue(step: Step, state: ControlState): ControlState {
  if (state.holder !== undefined) return state;
  const request = state.queue.find((r) => {
    const p = state.participants.get(r.connection);
    return p !== undefined && mayHold(state, p);
  });
  const p = request === undefined ? undefined : state.participants.get(request.connection);
  if (request === undefined || p === undefined) return state;
  const after = changeHolder(step, state, holderFrom(p, step.at), 'next-in-queue');
  step.notify('all', `${p.name} has control (next in the queue)`);
  step.audit(23, state, after, SYSTEM, p.userId, `next-in-queue: request ${request.id}`);
  return after;
}

/** The queue without a connection's requests; the same array when it has none, so unchanged state stays identical. */
function withoutRequestsOf(queue: readonly ControlRequest[], connection: string): readonly ControlRequest[] {
  return queue.some(r => r.connection === connection) ? queue.filter(r => r.connection !== connection) : queue;
}

function withText(word: string, text: string): string {
  return text.trim() === '' ? word : `${word}: ${text}`;
}

// --- the events -----------------------------------------------------------------------------

function dispatch(step: Step, state: ControlState, event: ControlEvent): ControlState {
  switch (event.type) {
    case 'join': return join(step, state, event.participant);
    case 'leave': return leave(step, state, event.connection);
    case 'eligibility': return eligibility(step, state, event);
    case 'request': return request(step, state, event);
    case 'cancel-request': return cancelRequest(step, state, event.connection);
    case 'grant': return grant(step, state, event);
    case 'deny': return deny(step, state, event);
    case 'release': return release(step, state, event.connection);
    case 'hand-over': return handOver(step, state, event);
    case 'accept-hand-over': return acceptHandOver(step, state, event.connection);
    case 'decline-hand-over': return declineHandOver(step, state, event.connection);
    case 'take-over': return takeOver(step, state, event);
    case 'revoke': return revoke(step, state, event);
    case 'lock': return lock(step, state, event.by);
    case 'unlock': return unlock(step, state, event.by);
    case 'remove': return remove(step, state, event);
    case 'input': return input(state, event.connection, event.at);
    case 'tick': return tick(step, state);
  }
}

/** T24 (presence), or T17 when the user of a disconnected holder comes back within the grace. */
function join(step: Step, state: ControlState, p: Participant): ControlState {
  if (state.participants.has(p.connection)) {
    return step.refuse(state, 24, p.connection, `connection ${p.connection} has already joined; each WebSocket connection joins once`);
  }
  const participants = new Map(state.participants).set(p.connection, p);
  const joined: ControlState = { ...state, participants };
  const holder = state.holder;
  const withinGrace = holder?.disconnectedAt !== undefined && step.at < holder.disconnectedAt + step.settings.disconnectGraceMs;
  if (holder === undefined || !withinGrace || holder.userId !== p.userId || !mayHold(joined, p)) return joined;
  const after = changeHolder(step, joined, { ...holderFrom(p, step.at), since: holder.since }, 'reconnect');
  step.notify('all', `${p.name} reconnected and keeps control`);
  step.audit(17, state, after, p.userId, p.userId, 'reconnect');
  return after;
}

/** T16/T18 (then T23) when the holder leaves, T22 when a requester or the offer's target leaves, T25 otherwise. */
function leave(step: Step, state: ControlState, connection: string): ControlState {
  const p = state.participants.get(connection);
  if (p === undefined) return step.refuse(state, 25, connection, `connection ${connection} is not a participant; it never joined or has left`);
  const after = departure(step, state, p, 'left');
  if (state.holder?.connection === p.connection) {
    if (after.holder !== undefined) {
      step.audit(16, state, after, p.userId, p.userId, 'holder-disconnected');
      return after;
    }
    step.audit(18, state, after, p.userId, p.userId, 'disconnect');
    return nextInQueue(step, after);
  }
  if (after.queue.length !== state.queue.length || after.offer !== state.offer) {
    step.audit(22, state, after, p.userId, p.userId, after.queue.length !== state.queue.length ? 'requester-left' : 'offer-target-left');
  }
  return after;
}

/**
 * What a leaving or removed participant leaves behind, shared by leave and remove (which audit
 * it): its queued requests withdrawn with a notice (never silently), a hold kept for the
 * disconnect grace or ended, an offer to it withdrawn.
 */
function departure(step: Step, state: ControlState, p: Participant, how: 'left' | 'removed'): ControlState {
  const participants = new Map(state.participants);
  participants.delete(p.connection);
  const dropped = state.queue.filter(r => r.connection === p.connection);
  const next: ControlState = { ...state, participants, queue: withoutRequestsOf(state.queue, p.connection) };
  for (const r of dropped) {
    step.notify(connectedHolder(next) ?? 'all', `${p.name} ${how}; their request for control (${r.id}) was withdrawn`);
  }
  const holder = state.holder;
  if (holder?.connection !== p.connection) return dropInvalidOffer(step, next);
  if (how === 'left' && step.settings.disconnectGraceMs > 0) {
    step.notify('all', `${p.name} lost their connection; control is kept for them for ${Math.ceil(step.settings.disconnectGraceMs / 1000)} s`);
    return { ...next, holder: { ...holder, disconnectedAt: step.at } };
  }
  step.notify('all', `${p.name} ${how}; control is free`);
  return changeHolder(step, next, undefined, how === 'left' ? 'disconnect' : 'removed');
}

/** T19 when lost eligibility costs the holder control, a queued request or the offer; T26 otherwise. */
function eligibility(step: Step, state: ControlState, event: Extract<ControlEvent, { type: 'eligibility' }>): ControlState {
  const p = state.participants.get(event.connection);
  if (p === undefined) return step.refuse(state, 26, event.connection, `connection ${event.connection} is not a participant; it never joined or has left`);
  if (p.canControl === event.canControl) return state;
  const updated: Participant = { ...p, canControl: event.canControl };
  let next: ControlState = { ...state, participants: new Map(state.participants).set(p.connection, updated) };
  if (event.canControl) return next;
  const dropped = next.queue.filter(r => r.connection === p.connection);
  for (const r of dropped) step.notify(p.connection, `Your request for control (${r.id}) was withdrawn: ${event.reason}`);
  next = { ...next, queue: withoutRequestsOf(next.queue, p.connection) };
  const losesControl = state.holder?.connection === p.connection;
  if (losesControl) {
    next = changeHolder(step, next, undefined, 'eligibility-lost');
    step.notify(p.connection, `You no longer have control: ${event.reason}`);
    step.notify('all', `${p.name} lost control (no longer eligible); control is free`);
  }
  next = dropInvalidOffer(step, next);
  if (!losesControl && dropped.length === 0 && next.offer === state.offer) return next;
  step.audit(19, state, next, SYSTEM, p.userId, withText('eligibility-lost', event.reason));
  return losesControl ? nextInQueue(step, next) : next;
}

/** T2 when nobody holds control and the requester may hold, T1 (queued) otherwise. */
function request(step: Step, state: ControlState, event: Extract<ControlEvent, { type: 'request' }>): ControlState {
  const p = state.participants.get(event.connection);
  if (p === undefined) return step.refuse(state, 1, event.connection, 'you are not a participant of this desktop; reconnect and try again');
  if (state.holder?.connection === p.connection) return step.refuse(state, 1, p.connection, 'you already have control');
  if (state.queue.some(r => r.connection === p.connection)) {
    return step.refuse(state, 1, p.connection, 'you have already asked for control; wait for an answer or cancel the request');
  }
  if (state.queue.some(r => r.id === event.requestId)) {
    return step.refuse(state, 1, p.connection, `request id ${event.requestId} is already in use; send the request again`);
  }
  if (!mayHold(state, p)) return step.refuse(state, 1, p.connection, notEligibleReason(state, p, 'you'));
  if (state.holder === undefined) {
    const after = changeHolder(step, state, holderFrom(p, step.at), 'request');
    step.notify('all', `${p.name} has control`);
    step.audit(2, state, after, p.userId, p.userId, withText('request', event.message));
    return after;
  }
  if (state.queue.length >= step.settings.maxQueue) {
    return step.refuse(state, 1, p.connection, `${state.queue.length} requests are already waiting (the limit); try again later`);
  }
  const r: ControlRequest = { id: event.requestId, connection: p.connection, userId: p.userId, message: event.message, at: step.at };
  const after: ControlState = { ...state, queue: [...state.queue, r] };
  step.notify(connectedHolder(state), withText(`${p.name} asks for control`, event.message));
  step.audit(1, state, after, p.userId, p.userId, withText('request', event.message));
  return after;
}

/** T3. */
function cancelRequest(step: Step, state: ControlState, connection: string): ControlState {
  const r = state.queue.find(q => q.connection === connection);
  if (r === undefined) return step.refuse(state, 3, connection, 'you have no pending request for control to cancel');
  const after: ControlState = { ...state, queue: state.queue.filter(q => q !== r) };
  step.notify(connectedHolder(state), `${nameOf(state, connection)} cancelled their request for control`);
  step.audit(3, state, after, r.userId, r.userId, 'request-cancelled');
  return after;
}

/** Grant and deny are answers: by the holder or by staff. Returns a refusal reason, or the request. */
function answerable(state: ControlState, by: string, requestId: string, verb: string): ControlRequest | string {
  const actor = state.participants.get(by);
  if (actor === undefined) return 'you are not a participant of this desktop; reconnect and try again';
  if (!isConnectedHolder(state, by) && !actor.staff) return `only the person in control or beamline staff may ${verb} requests for control`;
  return state.queue.find(r => r.id === requestId) ?? `there is no pending request ${requestId}; it may have been answered, cancelled or withdrawn`;
}

/** T4. */
function grant(step: Step, state: ControlState, event: Extract<ControlEvent, { type: 'grant' }>): ControlState {
  const r = answerable(state, event.by, event.requestId, 'grant');
  if (typeof r === 'string') return step.refuse(state, 4, event.by, r);
  const p = state.participants.get(r.connection);
  if (p === undefined) return step.refuse(state, 4, event.by, `the requester of ${r.id} has left`);
  if (!mayHold(state, p)) return step.refuse(state, 4, event.by, notEligibleReason(state, p, p.name));
  const after = changeHolder(step, state, holderFrom(p, step.at), 'grant');
  step.notify('all', `${nameOf(state, event.by)} gave control to ${p.name}`);
  step.audit(4, state, after, actorOf(state, event.by), p.userId, `grant: request ${r.id}`);
  return after;
}

/** T5. */
function deny(step: Step, state: ControlState, event: Extract<ControlEvent, { type: 'deny' }>): ControlState {
  const r = answerable(state, event.by, event.requestId, 'deny');
  if (typeof r === 'string') return step.refuse(state, 5, event.by, r);
  const after: ControlState = { ...state, queue: state.queue.filter(q => q !== r) };
  step.notify(r.connection, withText(`${nameOf(state, event.by)} declined your request for control`, event.reason));
  step.audit(5, state, after, actorOf(state, event.by), r.userId, withText('deny', event.reason));
  return after;
}

/** T6, then T23. */
function release(step: Step, state: ControlState, connection: string): ControlState {
  if (!isConnectedHolder(state, connection)) return step.refuse(state, 6, connection, 'you do not have control, so there is nothing to release');
  const after = changeHolder(step, state, undefined, 'release');
  step.notify('all', `${nameOf(state, connection)} released control`);
  step.audit(6, state, after, actorOf(state, connection), actorOf(state, connection), 'release');
  return nextInQueue(step, after);
}

/** T7: the holder offers control to a named participant, who must accept. A new offer replaces a pending one. */
function handOver(step: Step, state: ControlState, event: Extract<ControlEvent, { type: 'hand-over' }>): ControlState {
  if (!isConnectedHolder(state, event.by)) return step.refuse(state, 7, event.by, 'only the person in control may hand it over');
  if (state.holder?.userId === event.toUserId) return step.refuse(state, 7, event.by, 'you already have control');
  const targets = [...state.participants.values()].filter(p => p.userId === event.toUserId);
  const first = targets[0];
  if (first === undefined) return step.refuse(state, 7, event.by, `${event.toUserId} is not watching this desktop; they must open it first`);
  if (!targets.some(p => mayHold(state, p))) return step.refuse(state, 7, event.by, notEligibleReason(state, first, first.name));
  const previous = state.offer;
  if (previous !== undefined && previous.toUserId !== event.toUserId) {
    for (const p of state.participants.values()) {
      if (p.userId === previous.toUserId) step.notify(p.connection, 'The offer of control to you was withdrawn');
    }
  }
  const after: ControlState = { ...state, offer: { from: event.by, toUserId: event.toUserId, at: step.at } };
  for (const p of targets) step.notify(p.connection, `${nameOf(state, event.by)} offers you control; accept to take it`);
  step.audit(7, state, after, actorOf(state, event.by), event.toUserId, 'hand-over-offered');
  return after;
}

/** T8. */
function acceptHandOver(step: Step, state: ControlState, connection: string): ControlState {
  const p = state.participants.get(connection);
  const offer = state.offer;
  if (p === undefined || offer?.toUserId !== p.userId) return step.refuse(state, 8, connection, 'there is no offer of control to you');
  if (!mayHold(state, p)) return step.refuse(state, 8, connection, notEligibleReason(state, p, 'you'));
  const after = changeHolder(step, state, holderFrom(p, step.at), 'hand-over');
  step.notify('all', `${nameOf(state, offer.from)} handed control to ${p.name}`);
  step.audit(8, state, after, p.userId, p.userId, `hand-over from ${state.holder?.userId ?? 'nobody'}`);
  return after;
}

/** T9. */
function declineHandOver(step: Step, state: ControlState, connection: string): ControlState {
  const p = state.participants.get(connection);
  const offer = state.offer;
  if (p === undefined || offer?.toUserId !== p.userId) return step.refuse(state, 9, connection, 'there is no offer of control to you');
  const after: ControlState = { ...state, offer: undefined };
  step.notify(connectedHolder(state), `${p.name} declined your offer of control`);
  step.audit(9, state, after, p.userId, p.userId, 'hand-over-declined');
  return after;
}

function staffActor(state: ControlState, by: string, what: string): Participant | string {
  const p = state.participants.get(by);
  if (p === undefined) return 'you are not a participant of this desktop; reconnect and try again';
  if (!p.staff) return `only beamline staff (the local contact) may ${what}`;
  return p;
}

/** T11: staff take control at once, without consent. */
function takeOver(step: Step, state: ControlState, event: Extract<ControlEvent, { type: 'take-over' }>): ControlState {
  const p = staffActor(state, event.by, 'take over control');
  if (typeof p === 'string') return step.refuse(state, 11, event.by, p);
  if (state.holder?.connection === p.connection) return step.refuse(state, 11, p.connection, 'you already have control');
  if (!p.canControl) return step.refuse(state, 11, p.connection, notEligibleReason(state, p, 'you'));
  const after = changeHolder(step, state, holderFrom(p, step.at), 'take-over');
  step.notify('all', withText(`${p.name} took over control`, event.reason));
  step.audit(11, state, after, p.userId, state.holder?.userId, withText('take-over', event.reason));
  return after;
}

/** T12: staff end the hold; nobody gets control (no T23). */
function revoke(step: Step, state: ControlState, event: Extract<ControlEvent, { type: 'revoke' }>): ControlState {
  const p = staffActor(state, event.by, 'revoke control');
  if (typeof p === 'string') return step.refuse(state, 12, event.by, p);
  const holder = state.holder;
  if (holder === undefined) return step.refuse(state, 12, p.connection, 'nobody has control, so there is nothing to revoke');
  const after = changeHolder(step, state, undefined, 'revoke');
  step.notify('all', withText(`${p.name} revoked control from ${holder.name}`, event.reason));
  step.audit(12, state, after, p.userId, holder.userId, withText('revoke', event.reason));
  return after;
}

/** T13: only staff may hold from now on; a non-staff holder loses control (no T23). */
function lock(step: Step, state: ControlState, by: string): ControlState {
  const p = staffActor(state, by, 'lock control');
  if (typeof p === 'string') return step.refuse(state, 13, by, p);
  if (state.lockedBy !== undefined) return step.refuse(state, 13, by, `control is already locked by ${state.lockedBy.name}`);
  const lockedBy = { userId: p.userId, name: p.name };
  let after: ControlState = { ...state, lockedBy, mode: 'locked' };
  const holder = state.holder;
  const holderIsStaff = holder !== undefined && state.participants.get(holder.connection)?.staff === true;
  if (holder !== undefined && !holderIsStaff) after = changeHolder(step, after, undefined, 'lock');
  after = dropInvalidOffer(step, after);
  step.notify('all', `${p.name} locked control: only beamline staff may drive`);
  step.audit(13, state, after, p.userId, holder !== undefined && !holderIsStaff ? holder.userId : undefined, 'lock');
  return after;
}

/** T14, then T23 when nobody holds control. */
function unlock(step: Step, state: ControlState, by: string): ControlState {
  const p = staffActor(state, by, 'unlock control');
  if (typeof p === 'string') return step.refuse(state, 14, by, p);
  if (state.lockedBy === undefined) return step.refuse(state, 14, by, 'control is not locked');
  const after: ControlState = { ...state, lockedBy: undefined, mode: modeOf(state.holder, undefined) };
  step.notify('all', `${p.name} unlocked control`);
  step.audit(14, state, after, p.userId, undefined, 'unlock');
  return nextInQueue(step, after);
}

/** T21: staff remove a viewer: it is disconnected and leaves (a removed holder gets no grace), then T23. */
function remove(step: Step, state: ControlState, event: Extract<ControlEvent, { type: 'remove' }>): ControlState {
  const p = staffActor(state, event.by, 'remove viewers');
  if (typeof p === 'string') return step.refuse(state, 21, event.by, p);
  const target = state.participants.get(event.connection);
  if (target === undefined) return step.refuse(state, 21, event.by, `connection ${event.connection} is not watching this desktop`);
  if (target.connection === p.connection) return step.refuse(state, 21, event.by, 'you cannot remove yourself; close the desktop instead');
  step.effects.push({ kind: 'disconnect', connection: target.connection, reason: withText(`removed by ${p.name}`, event.reason) });
  const after = departure(step, state, target, 'removed');
  step.audit(21, state, after, p.userId, target.userId, withText('remove', event.reason));
  return nextInQueue(step, after);
}

/** T27: activity of the connected holder. Input reported for anyone else is stale (control moved on) and ignored. */
function input(state: ControlState, connection: string, at: number): ControlState {
  const holder = state.holder;
  if (holder === undefined || !isConnectedHolder(state, connection) || at <= holder.lastInputAt) return state;
  return { ...state, holder: { ...holder, lastInputAt: at } };
}

/** Time passes: T18 (grace over), T15 (idle), T10 (offer not accepted), T20 (auto-grant), in that order. */
function tick(step: Step, state: ControlState): ControlState {
  const { settings, at } = step;
  let next = state;
  const holder = next.holder;
  if (holder?.disconnectedAt !== undefined && at >= holder.disconnectedAt + settings.disconnectGraceMs) {
    const after = changeHolder(step, next, undefined, 'disconnect-grace-expired');
    step.notify('all', `${holder.name} did not come back in time; control is free`);
    step.audit(18, next, after, SYSTEM, holder.userId, 'disconnect-grace-expired');
    next = nextInQueue(step, after);
  } else if (holder !== undefined && settings.idleTimeoutMs > 0 && at >= holder.lastInputAt + settings.idleTimeoutMs) {
    const after = changeHolder(step, next, undefined, 'idle-timeout');
    step.notify(connectedHolder(next), `You lost control after ${Math.round(settings.idleTimeoutMs / 1000)} s without input`);
    step.notify('all', `${holder.name} was idle; control is free`);
    step.audit(15, next, after, SYSTEM, holder.userId, 'idle-timeout');
    next = nextInQueue(step, after);
  }
  const offer = next.offer;
  if (offer !== undefined && settings.handOverTimeoutMs > 0 && at >= offer.at + settings.handOverTimeoutMs) {
    const after: ControlState = { ...next, offer: undefined };
    step.notify(connectedHolder(next), `${offer.toUserId} did not accept your offer of control in time; it was withdrawn`);
    for (const p of next.participants.values()) {
      if (p.userId === offer.toUserId) step.notify(p.connection, 'The offer of control to you expired');
    }
    step.audit(10, next, after, SYSTEM, offer.toUserId, 'hand-over-timed-out');
    next = after;
  }
  return autoGrant(step, next);
}

/**
 * T20: the oldest request that has waited autoGrantAfterMs, counted from when it was made or
 * from when the current holder got control (whichever is later), so a new holder gets the full
 * time to answer too.
 */
function autoGrant(step: Step, state: ControlState): ControlState {
  const after = step.settings.autoGrantAfterMs;
  if (after === undefined) return state;
  const since = state.holder?.since ?? Number.NEGATIVE_INFINITY;
  const request = state.queue.find((r) => {
    const p = state.participants.get(r.connection);
    return p !== undefined && mayHold(state, p) && step.at >= Math.max(r.at, since) + after;
  });
  const p = request === undefined ? undefined : state.participants.get(request.connection);
  if (request === undefined || p === undefined) return state;
  const next = changeHolder(step, state, holderFrom(p, step.at), 'auto-grant');
  step.notify('all', `${p.name} has control (the request was not answered within ${Math.round(after / 1000)} s)`);
  step.audit(20, state, next, SYSTEM, p.userId, `auto-grant: request ${request.id}`);
  return next;
}
