// The control bar: who drives now, the queue, and the actions this person may take (request,
// release, hand over; for staff take over, lock, grant, deny, remove). Talks to the gateway's
// control channel (/control/:id) with the versioned messages of gateway/src/control/protocol.ts,
// validated here too. The gateway decides; this only shows and asks.
import { serverMessageSchema, type ClientMessage, type StateMessage } from '../../gateway/src/control/protocol.js';
import { el } from './api.js';

export interface ControlBarEvents {
  /** The channel is open: its connection id ties the desktop socket to this tab's token. */
  onConnection(connection: string): void;
  /** Whether this tab holds the token now (the desktop view switches between driving and watching). */
  onHolding(holding: boolean): void;
  onNotice(text: string): void;
  onClosed(code: number): void;
}

export class ControlBar {
  private ws: WebSocket | undefined;
  private state: StateMessage | undefined;

  constructor(private readonly root: HTMLElement, private readonly target: string, private readonly events: ControlBarEvents) {}

  open(): void {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/control/${encodeURIComponent(this.target)}`);
    this.ws = ws;
    ws.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return;
      const parsed = serverMessageSchema.safeParse(JSON.parse(event.data));
      if (!parsed.success) {
        this.events.onNotice('The gateway sent a control message this page does not understand; reload the page.');
        return;
      }
      const m = parsed.data;
      switch (m.type) {
        case 'hello':
          this.events.onConnection(m.connection);
          break;
        case 'state': {
          const wasHolding = this.state?.you.holding ?? false;
          this.state = m;
          this.render();
          if (m.you.holding !== wasHolding) this.events.onHolding(m.you.holding);
          break;
        }
        case 'notice':
          this.events.onNotice(m.text);
          break;
        case 'refused':
          this.events.onNotice(m.reason);
          break;
        case 'error':
          this.events.onNotice(m.message);
          break;
      }
    });
    ws.addEventListener('close', (event) => {
      if (this.ws === ws) this.ws = undefined;
      this.events.onClosed(event.code);
    });
  }

  close(): void {
    this.ws?.close();
    this.ws = undefined;
  }

  private send(message: ClientMessage): void {
    this.ws?.send(JSON.stringify(message));
  }

  private button(label: string, message: () => ClientMessage | undefined, primary = false): HTMLButtonElement {
    const b = el('button', { type: 'button', class: primary ? 'primary' : '' }, label);
    b.addEventListener('click', () => {
      const m = message();
      if (m !== undefined) this.send(m);
    });
    return b;
  }

  private render(): void {
    const s = this.state;
    if (s === undefined) return;
    const me = s.you;
    const holderText = s.holder === undefined
      ? (s.mode === 'locked' ? `Locked by ${s.lockedBy?.name ?? 'staff'}: only staff drive` : 'Nobody drives')
      : `${me.holding ? 'You drive' : `${s.holder.name} drives`}${s.holder.disconnected ? ' (connection lost, holding for a reconnect)' : ''}${s.mode === 'locked' ? ' — locked' : ''}`;
    const actions = el('div', { class: 'actions' });
    const queued = s.queue.find(r => r.userId === me.userId);
    if (me.holding) {
      actions.append(this.button('Release control', () => ({ v: 1, type: 'release' })));
      const others = s.participants.filter(p => p.canControl && p.userId !== me.userId);
      if (others.length > 0) {
        const select = el('select', { id: 'hand-over-to' });
        for (const p of new Map(others.map(o => [o.userId, o])).values()) select.append(new Option(p.name, p.userId));
        actions.append(select, this.button('Hand over', () => ({ v: 1, type: 'hand-over', toUserId: select.value })));
      }
    } else if (queued !== undefined) {
      actions.append(el('span', {}, 'You asked for control.'), this.button('Cancel request', () => ({ v: 1, type: 'cancel-request' })));
    } else if (me.canControl) {
      const note = el('input', { id: 'request-message', type: 'text' });
      note.placeholder = 'message (optional)';
      note.maxLength = 500;
      actions.append(note, this.button('Request control', () => ({ v: 1, type: 'request', message: note.value }), true));
    } else {
      actions.append(el('span', { class: 'muted' }, 'You may watch but not drive.'));
    }
    if (s.offer !== undefined && s.offer.toUserId === me.userId) {
      actions.append(el('span', {}, `${s.offer.from.name} offers you control.`),
        this.button('Accept', () => ({ v: 1, type: 'accept-hand-over' }), true),
        this.button('Decline', () => ({ v: 1, type: 'decline-hand-over' })));
    }
    if (me.staff) {
      if (!me.holding) actions.append(this.button('Take over', () => ({ v: 1, type: 'take-over', reason: 'local contact took over' }), true));
      if (s.holder !== undefined && !me.holding) actions.append(this.button('Revoke', () => ({ v: 1, type: 'revoke', reason: 'revoked by the local contact' })));
      actions.append(s.mode === 'locked' ? this.button('Unlock', () => ({ v: 1, type: 'unlock' })) : this.button('Lock', () => ({ v: 1, type: 'lock' })));
    }
    const queue = el('ul', { class: 'queue' }, ...s.queue.map((r) => {
      const li = el('li', {}, `${r.name} asks for control${r.message === '' ? '' : `: "${r.message}"`}`);
      if (me.holding || me.staff) {
        li.append(this.button('Grant', () => ({ v: 1, type: 'grant', requestId: r.id }), true),
          this.button('Deny', () => ({ v: 1, type: 'deny', requestId: r.id, reason: '' })));
      }
      return li;
    }));
    const people = el('ul', { class: 'participants' }, ...s.participants.map((p) => {
      const li = el('li', {}, `${p.name}${p.staff ? ' (staff)' : ''}${p.canControl ? '' : ' (watch only)'}${p.connection === me.connection ? ' — you' : ''}`);
      if (me.staff && p.connection !== me.connection) li.append(this.button('Remove', () => ({ v: 1, type: 'remove', connection: p.connection, reason: 'removed by the local contact' })));
      return li;
    }));
    this.root.replaceChildren(
      el('div', { class: 'holder', id: 'holder', role: 'status' }, holderText),
      actions,
      s.queue.length === 0 ? '' : queue,
      el('details', {}, el('summary', {}, `${s.participants.length} connected`), people),
    );
    this.root.hidden = false;
  }
}
