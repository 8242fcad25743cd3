// The per-beamline input rules applied to one viewer connection's client-to-server messages: denied
// key combinations (judged on keysyms AND QEMU key codes, with the connection's modifiers tracked),
// pointer regions where presses are dropped, clipboard per direction, desktop resize, the input
// rate, and the beamline's view-only mode. The proxy calls filterInput for every message of the
// connection holding control (after the control-epoch gate), so it is built for speed: the policy is
// compiled once into lookup tables, verdicts are preallocated, and the per-connection state is
// mutated in place.
//
// Invariant: the filter never leaves a key or a button held on the VNC server that the person has
// let go. A press that is dropped has its release dropped too; a release of a press that was
// forwarded is always forwarded, whatever rule, mode or rate applies now. Docs: docs/input-policy.md.
// Pure: time comes in as an argument; no sockets, timers or logging. (zlib only inflates an
// extended-clipboard payload, with a cap, to learn its real size.)
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import type { C2SMessage } from '../../gateway/src/rfb/c2s-messages.js';
import { defaultKeyRules, type BeamlineInputPolicy, type ResizeWho } from './input-policy.js';
import { modifierOfKeycode, modifierOfKeysym, parseCombo } from './key-combos.js';

/**
 * What to do with one message. `forward` false: drop it. `replacement`: forward this message
 * instead (a pointer event with the buttons whose press was dropped taken out). `ruleId` and
 * `reason` are set when something the person did was blocked (audit it, tell them); a drop without
 * a ruleId is the quiet consequence of an earlier block (the release of a dropped press).
 */
export interface InputVerdict {
  readonly forward: boolean;
  readonly replacement?: C2SMessage;
  readonly ruleId?: string;
  readonly reason?: string;
}

export interface InputContext {
  /** Milliseconds on any monotonic clock; only differences matter (the rate limit). */
  readonly now: number;
  /** The person is staff (a local contact) of this beamline. */
  readonly staff: boolean;
  /** The person holds control of this desktop. */
  readonly holder: boolean;
  /** The beamline is in view-only mode: no input from anyone remote. */
  readonly viewOnlyBeamline: boolean;
}

interface Blocked extends InputVerdict {
  readonly forward: false;
  readonly ruleId: string;
  readonly reason: string;
}

interface KeyEntry {
  /** Modifier groups (key-combos MOD bits) that must all be held. */
  readonly modifiers: number;
  readonly verdict: Blocked;
}

interface ClipboardDirection {
  readonly allow: boolean;
  readonly maxBytes: number;
  readonly denied: Blocked;
  readonly tooLarge: Blocked;
  readonly malformed: Blocked;
}

/** A policy turned into lookup tables; build once per policy (re)load with compilePolicy. */
export interface CompiledPolicy {
  readonly beamline: string;
  readonly byKeysym: ReadonlyMap<number, readonly KeyEntry[]>;
  readonly byKeycode: ReadonlyMap<number, readonly KeyEntry[]>;
  readonly altGrIsAlt: boolean;
  /** x0, y0, x1, y1 (exclusive) per region, flat, for a tight loop. */
  readonly regionBounds: Int32Array;
  readonly regionVerdicts: readonly Blocked[];
  readonly toDesktop: ClipboardDirection;
  readonly toBrowser: ClipboardDirection;
  readonly resize: {
    readonly who: ResizeWho;
    readonly minWidth: number; readonly minHeight: number; readonly maxWidth: number; readonly maxHeight: number;
    readonly denied: Blocked; readonly notStaff: Blocked; readonly notHolder: Blocked; readonly outOfBounds: Blocked;
  };
  readonly rate: { readonly perMs: number; readonly burst: number; readonly verdict: Blocked };
  /** Every rule id with its reason, for listing the policy (UI, docs, audit of a reload). */
  readonly rules: readonly { readonly id: string; readonly reason: string }[];
}

/** Rule ids the filter uses besides the policy's own. */
export const BUILTIN_RULE_IDS = { viewOnly: 'beamline-view-only', power: 'power-control', unknown: 'unknown-message' } as const;

const FORWARD: InputVerdict = Object.freeze({ forward: true });
const QUIET_DROP: InputVerdict = Object.freeze({ forward: false });
const VIEW_ONLY: Blocked = blocked(BUILTIN_RULE_IDS.viewOnly, 'This beamline is in view-only mode: no remote input reaches it.');
const POWER: Blocked = blocked(BUILTIN_RULE_IDS.power, 'Shutting down or resetting the beamline workstation is not possible remotely.');
const UNKNOWN: Blocked = blocked(BUILTIN_RULE_IDS.unknown, 'This kind of input is not allowed.');

function blocked(ruleId: string, reason: string): Blocked {
  return Object.freeze({ forward: false, ruleId, reason });
}

export function compilePolicy(policy: BeamlineInputPolicy): CompiledPolicy {
  const byKeysym = new Map<number, KeyEntry[]>();
  const byKeycode = new Map<number, KeyEntry[]>();
  const rules: { id: string; reason: string }[] = [];
  const omitted = new Set(policy.keys.omitDefaults);
  const keyRules = [...defaultKeyRules(policy.keys.defaults).filter(r => !omitted.has(r.id)), ...policy.keys.deny];
  for (const rule of keyRules) {
    const verdict = blocked(rule.id, rule.reason);
    rules.push({ id: rule.id, reason: rule.reason });
    for (const text of rule.combos) {
      for (const { modifiers, key } of parseCombo(text).alternatives) {
        const entry: KeyEntry = { modifiers, verdict };
        for (const keysym of key.keysyms) add(byKeysym, keysym, entry);
        for (const keycode of key.keycodes) add(byKeycode, keycode, entry);
      }
    }
  }
  const regions = policy.pointer.denyRegions;
  const regionBounds = new Int32Array(regions.length * 4);
  regions.forEach((r, i) => {
    regionBounds.set([r.x, r.y, r.x + r.width, r.y + r.height], i * 4);
    rules.push({ id: r.id, reason: r.reason });
  });
  const direction = (d: BeamlineInputPolicy['clipboard']['browserToDesktop'], what: string): ClipboardDirection => {
    rules.push({ id: d.id, reason: d.reason });
    return {
      allow: d.allow,
      maxBytes: d.maxBytes,
      denied: blocked(d.id, d.reason),
      tooLarge: blocked(d.id, `Clipboard text larger than ${d.maxBytes} bytes is not ${what}.`),
      malformed: blocked(d.id, `A clipboard message that could not be read was not ${what}.`),
    };
  };
  const r = policy.resize;
  rules.push({ id: r.id, reason: r.reason }, { id: policy.rateLimit.id, reason: policy.rateLimit.reason });
  return {
    beamline: policy.beamline,
    byKeysym,
    byKeycode,
    altGrIsAlt: policy.keys.altGrIsAlt,
    regionBounds,
    regionVerdicts: regions.map(region => blocked(region.id, region.reason)),
    toDesktop: direction(policy.clipboard.browserToDesktop, 'sent to the beamline'),
    toBrowser: direction(policy.clipboard.desktopToBrowser, 'sent to your browser'),
    resize: {
      who: r.who,
      minWidth: r.minWidth, minHeight: r.minHeight, maxWidth: r.maxWidth, maxHeight: r.maxHeight,
      denied: blocked(r.id, r.reason),
      notStaff: blocked(r.id, 'Only the beamline staff may resize this desktop.'),
      notHolder: blocked(r.id, 'Only the person holding control may resize this desktop.'),
      outOfBounds: blocked(r.id, `The desktop size must stay between ${r.minWidth}×${r.minHeight} and ${r.maxWidth}×${r.maxHeight}.`),
    },
    rate: {
      perMs: policy.rateLimit.eventsPerSecond / 1000,
      burst: policy.rateLimit.burst,
      verdict: blocked(policy.rateLimit.id, policy.rateLimit.reason),
    },
    rules,
  };
}

function add(map: Map<number, KeyEntry[]>, key: number, entry: KeyEntry): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [entry]);
  else list.push(entry);
}

const FORWARDED = 1;
const DROPPED = 2;

/**
 * One connection's filter state. filterInput mutates it in place (it runs on every message). It
 * does not depend on the policy, so it survives a policy reload. Only the connection's own
 * messages may pass through it, in order.
 */
export interface FilterState {
  /** Keys the person holds, by identity (QEMU key code as -code, else the keysym): forwarded or dropped. */
  readonly keys: Map<number, typeof FORWARDED | typeof DROPPED>;
  /** Modifier groups of the forwarded held keys, by identity. */
  readonly modifierKeys: Map<number, number>;
  /** Modifier groups held on the server (OR of modifierKeys). */
  modifiers: number;
  /** Buttons the browser last said are down (extended buttons from bit 8). */
  clientButtons: number;
  /** Buttons the server was last told are down. */
  serverButtons: number;
  tokens: number;
  lastRefill: number;
}

export function createFilterState(): FilterState {
  return {
    keys: new Map(), modifierKeys: new Map(), modifiers: 0, clientButtons: 0, serverButtons: 0, tokens: Number.NaN, lastRefill: Number.NaN,
  };
}

/** Keys the server holds because of this connection (forwarded presses not yet released), for tests and hand-over checks. */
export function forwardedHeldKeys(state: FilterState): number[] {
  return [...state.keys].filter(([, s]) => s === FORWARDED).map(([id]) => id);
}

/** Judges one client-to-server message of this connection; mutates state (see FilterState). */
export function filterInput(state: FilterState, message: C2SMessage, ctx: InputContext, policy: CompiledPolicy): InputVerdict {
  switch (message.type) {
    case 'SetPixelFormat':
    case 'SetEncodings':
    case 'FramebufferUpdateRequest':
    case 'EnableContinuousUpdates':
    case 'ClientFence':
      return FORWARD;
    case 'QemuExtendedKeyEvent':
      return key(state, message.down, message.keysym, message.keycode === 0 ? -1 : message.keycode, ctx, policy);
    case 'KeyEvent':
      return key(state, message.down, message.keysym, -1, ctx, policy);
    case 'PointerEvent':
      return pointer(state, message, ctx, policy);
    case 'ClientCutText':
      if (ctx.viewOnlyBeamline) return VIEW_ONLY;
      if (!takeToken(state, ctx.now, policy)) return policy.rate.verdict;
      return message.extended
        ? extendedClipboard(message.data, policy.toDesktop, policy.toBrowser)
        : plainClipboard(message.data.length, policy.toDesktop);
    case 'SetDesktopSize':
      return resize(state, message.width, message.height, message.screens, ctx, policy);
    case 'Xvp':
      return POWER;
  }
  // Deny by absence: a message type added to C2SMessage without a rule here is not input anyone may send.
  return UNKNOWN;
}

/** keycode: the QEMU key code, or -1 for a KeyEvent (or a QEMU event without a code). */
function key(state: FilterState, down: boolean, keysym: number, keycode: number, ctx: InputContext, policy: CompiledPolicy): InputVerdict {
  // The server's own identity of a held key (TigerVNC, and HeldInput): the key code of a QEMU event,
  // the exact keysym of a KeyEvent (a press of T and a release of t are two different keys there).
  const id = keycode >= 0 ? -keycode : keysym;
  const prior = state.keys.get(id);
  if (!down) {
    // A release is never judged: letting go cannot act on the beamline, and holding it back would leave a stuck key.
    if (prior === undefined) return FORWARD; // nothing known held: harmless (e.g. released after control changed)
    state.keys.delete(id);
    if (state.modifierKeys.delete(id)) state.modifiers = modifiersOf(state.modifierKeys);
    return prior === FORWARDED ? FORWARD : QUIET_DROP;
  }
  // A key whose press was dropped stays dropped until released: its auto-repeat must not start it anew.
  if (prior === DROPPED) return QUIET_DROP;
  let verdict: Blocked | undefined = ctx.viewOnlyBeamline ? VIEW_ONLY : deniedCombo(state.modifiers, keysym, keycode, policy);
  // Auto-repeat is judged again: X acts on a repeated press with the modifiers held now.
  if (verdict === undefined && !takeToken(state, ctx.now, policy)) verdict = policy.rate.verdict;
  if (verdict !== undefined) {
    if (prior === undefined) state.keys.set(id, DROPPED);
    return verdict;
  }
  if (prior === undefined) {
    state.keys.set(id, FORWARDED);
    const bits = modifierOfKeysym(keysym) | (keycode >= 0 ? modifierOfKeycode(keycode, policy.altGrIsAlt) : 0);
    if (bits !== 0) {
      state.modifierKeys.set(id, bits);
      state.modifiers |= bits;
    }
  }
  return FORWARD;
}

function deniedCombo(held: number, keysym: number, keycode: number, policy: CompiledPolicy): Blocked | undefined {
  // Letters are listed under both cases (key-combos), so one lookup suffices.
  const bySym = policy.byKeysym.get(keysym);
  if (bySym !== undefined) {
    for (const entry of bySym) if ((held & entry.modifiers) === entry.modifiers) return entry.verdict;
  }
  if (keycode >= 0) {
    const byCode = policy.byKeycode.get(keycode);
    if (byCode !== undefined) {
      for (const entry of byCode) if ((held & entry.modifiers) === entry.modifiers) return entry.verdict;
    }
  }
  return undefined;
}

function modifiersOf(keys: ReadonlyMap<number, number>): number {
  let bits = 0;
  for (const b of keys.values()) bits |= b;
  return bits;
}

type PointerMessage = Extract<C2SMessage, { type: 'PointerEvent' }>;

function pointer(state: FilterState, message: PointerMessage, ctx: InputContext, policy: CompiledPolicy): InputVerdict {
  const extended = message.extendedButtonMask !== undefined;
  // In the 7-byte form bit 7 of the mask only marks the extra byte; the extra buttons go from bit 8.
  const buttons = extended ? (message.buttonMask & 0x7f) | ((message.extendedButtonMask ?? 0) << 8) : message.buttonMask;
  const pressed = buttons & ~state.clientButtons;
  const kept = buttons & state.serverButtons;
  state.clientButtons = buttons;
  let verdict: Blocked | undefined = ctx.viewOnlyBeamline ? VIEW_ONLY : undefined;
  if (verdict === undefined && !takeToken(state, ctx.now, policy)) verdict = policy.rate.verdict;
  let allowedPresses = pressed;
  if (verdict === undefined && pressed !== 0) {
    const hit = regionAt(message.x, message.y, policy);
    if (hit !== undefined) {
      verdict = hit;
      allowedPresses = 0;
    }
  } else if (verdict !== undefined) {
    allowedPresses = 0;
  }
  const effective = kept | allowedPresses;
  if (verdict !== undefined && effective === state.serverButtons) {
    // Nothing the server must hear (no release): drop the whole message, motion included.
    return verdict;
  }
  state.serverButtons = effective;
  const reportable = verdict !== undefined && pressed !== 0 ? verdict : undefined;
  if (effective === buttons) return reportable ?? FORWARD;
  const replacement: C2SMessage = extended
    ? { type: 'PointerEvent', buttonMask: (effective & 0x7f) | 0x80, x: message.x, y: message.y, extendedButtonMask: effective >>> 8 }
    : { type: 'PointerEvent', buttonMask: effective, x: message.x, y: message.y };
  return reportable === undefined
    ? { forward: true, replacement }
    : { forward: true, replacement, ruleId: reportable.ruleId, reason: reportable.reason };
}

function regionAt(x: number, y: number, policy: CompiledPolicy): Blocked | undefined {
  const b = policy.regionBounds;
  for (let i = 0; i < b.length; i += 4) {
    if (x >= (b[i] ?? 0) && y >= (b[i + 1] ?? 0) && x < (b[i + 2] ?? 0) && y < (b[i + 3] ?? 0)) return policy.regionVerdicts[i / 4];
  }
  return undefined;
}

function resize(
  state: FilterState, width: number, height: number, screens: readonly { x: number; y: number; width: number; height: number }[],
  ctx: InputContext, policy: CompiledPolicy,
): InputVerdict {
  if (ctx.viewOnlyBeamline) return VIEW_ONLY;
  const r = policy.resize;
  switch (r.who) {
    case 'nobody': return r.denied;
    case 'staff':
      if (!ctx.staff) return r.notStaff;
      break;
    case 'holder':
      if (!ctx.holder) return r.notHolder;
      break;
  }
  if (width < r.minWidth || width > r.maxWidth || height < r.minHeight || height > r.maxHeight) return r.outOfBounds;
  for (const s of screens) if (s.x + s.width > width || s.y + s.height > height) return r.outOfBounds;
  if (!takeToken(state, ctx.now, policy)) return policy.rate.verdict;
  return FORWARD;
}

/** Token bucket: `burst` events at once, refilled at eventsPerSecond. A clock that goes back refills nothing. */
function takeToken(state: FilterState, now: number, policy: CompiledPolicy): boolean {
  const { perMs, burst } = policy.rate;
  if (Number.isNaN(state.lastRefill)) {
    state.tokens = burst;
  } else if (now > state.lastRefill) {
    state.tokens = Math.min(burst, state.tokens + (now - state.lastRefill) * perMs);
  } else {
    state.tokens = Math.min(burst, state.tokens); // the policy may have been reloaded with a smaller burst
  }
  state.lastRefill = Number.isNaN(state.lastRefill) ? now : Math.max(now, state.lastRefill);
  if (state.tokens < 1) return false;
  state.tokens -= 1;
  return true;
}

// ---- Clipboard ---------------------------------------------------------------------------------

function plainClipboard(length: number, direction: ClipboardDirection): InputVerdict {
  if (!direction.allow) return direction.denied;
  return length > direction.maxBytes ? direction.tooLarge : FORWARD;
}

// Extended Clipboard (rfbproto "Extended Clipboard Pseudo-Encoding"): | flags u32 | payload |,
// flags = formats (bits 0-15, text = bit 0) | one action (bits 24-28).
const CAPS = 1 << 24;
const REQUEST = 1 << 25;
const PEEK = 1 << 26;
const NOTIFY = 1 << 27;
const PROVIDE = 1 << 28;
const TEXT = 1;
const ACTIONS = CAPS | REQUEST | PEEK | NOTIFY | PROVIDE;

/**
 * An Extended Clipboard message, in either direction. `sender` is the direction of data the sender
 * offers (notify, provide); `other` the direction of data the sender asks for (request, peek).
 * Capabilities carry no content and pass.
 */
function extendedClipboard(data: Uint8Array, sender: ClipboardDirection, other: ClipboardDirection): InputVerdict {
  if (data.length < 4) return sender.malformed;
  const flags = ((data[0] ?? 0) << 24 | (data[1] ?? 0) << 16 | (data[2] ?? 0) << 8 | (data[3] ?? 0)) >>> 0;
  // Caps carries no content; its other action and format bits list what the sender accepts
  // (TigerVNC sends 0x1F000001, noVNC answers with every action it knows), so it is recognised by its own bit.
  if ((flags & CAPS) !== 0) return FORWARD;
  const action = flags & ACTIONS;
  const formats = flags & 0xffff;
  switch (action) {
    case REQUEST:
    case PEEK:
      return other.allow ? FORWARD : other.denied;
    case NOTIFY:
      if (!sender.allow) return sender.denied;
      return (formats & ~TEXT) === 0 ? FORWARD : sender.denied;
    case PROVIDE:
      if (!sender.allow) return sender.denied;
      if ((formats & ~TEXT) !== 0) return sender.denied; // only plain text; TigerVNC offers nothing else
      return providedTextFits(data.subarray(4), formats, sender);
    default:
      return sender.malformed; // no action, or several at once
  }
}

/** The provide payload is one zlib stream of `U32 size, bytes` per format; inflated only up to the limit. */
function providedTextFits(compressed: Uint8Array, formats: number, direction: ClipboardDirection): InputVerdict {
  if (formats === 0) return FORWARD;
  let inflated: Buffer;
  try {
    inflated = inflateSync(compressed, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: direction.maxBytes + 4 });
  } catch (e) {
    return (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? direction.tooLarge : direction.malformed;
  }
  if (inflated.length < 4) return direction.malformed;
  const size = inflated.readUInt32BE(0);
  return size > direction.maxBytes ? direction.tooLarge : FORWARD;
}

/**
 * The desktop-to-browser direction (ServerCutText, also the extended form with a negative length on
 * the wire): the proxy calls this on the server-to-client path. The server's Extended Clipboard
 * requests for the browser's clipboard are judged by the browser-to-desktop rule.
 */
export function filterServerCutText(
  message: { readonly extended: boolean; readonly data: Uint8Array }, policy: CompiledPolicy,
): InputVerdict {
  return message.extended
    ? extendedClipboard(message.data, policy.toBrowser, policy.toDesktop)
    : plainClipboard(message.data.length, policy.toBrowser);
}

// ---- Audit aggregation ---------------------------------------------------------------------------

export interface BlockedAction {
  readonly ruleId: string;
  readonly reason: string;
  /** The connection (viewer) whose input was blocked. */
  readonly connection: string;
  /** Milliseconds, same clock as `now`. */
  readonly at: number;
}

/**
 * What to audit: the first block of a burst at once (and tell the person), then, when the burst
 * ends or at every maxBurstMs of a long burst, how many more of the same were blocked.
 */
export type BlockRecord =
  | { readonly kind: 'first'; readonly ruleId: string; readonly reason: string; readonly connection: string; readonly at: number }
  | {
    readonly kind: 'repeated'; readonly ruleId: string; readonly reason: string; readonly connection: string;
    /** Time of the first and the last block counted here. */
    readonly from: number; readonly to: number;
    /** Blocks after the one already reported, in [from, to]. */
    readonly count: number;
  };

interface Burst {
  readonly ruleId: string;
  readonly reason: string;
  readonly connection: string;
  /** Start of the blocks counted since the last record. */
  windowStart: number;
  firstCounted: number;
  last: number;
  count: number;
}

export interface BlockAggregatorOptions {
  /** A burst ends after this long without a block of the same rule on the same connection. */
  readonly quietMs?: number;
  /** A burst that goes on this long is summarised and counted anew, so a flood shows up while it lasts. */
  readonly maxBurstMs?: number;
}

/**
 * Turns a stream of blocked verdicts into one record per burst and connection and rule, so a held
 * key or a script's flood makes a few audit records, not thousands. Time comes in as arguments; the
 * caller calls flush(now) on a timer (nextDeadline says when) and endConnection when a viewer leaves.
 */
export class BlockAggregator {
  private readonly quietMs: number;
  private readonly maxBurstMs: number;
  private readonly bursts = new Map<string, Burst>();

  constructor(options: BlockAggregatorOptions = {}) {
    this.quietMs = options.quietMs ?? 5_000;
    this.maxBurstMs = options.maxBurstMs ?? 60_000;
  }

  /** Records one block; returns the records to write now (a first, maybe the summary of an ended burst). */
  add(action: BlockedAction): BlockRecord[] {
    const key = `${action.connection}\u0000${action.ruleId}`;
    const burst = this.bursts.get(key);
    const out: BlockRecord[] = [];
    if (burst !== undefined && action.at - burst.last <= this.quietMs) {
      if (burst.count === 0) burst.firstCounted = action.at;
      burst.count++;
      burst.last = action.at;
      if (action.at - burst.windowStart >= this.maxBurstMs) {
        out.push(summary(burst));
        burst.windowStart = action.at;
        burst.count = 0;
      }
      return out;
    }
    if (burst !== undefined && burst.count > 0) out.push(summary(burst));
    this.bursts.set(key, {
      ruleId: action.ruleId, reason: action.reason, connection: action.connection,
      windowStart: action.at, firstCounted: action.at, last: action.at, count: 0,
    });
    out.push({ kind: 'first', ruleId: action.ruleId, reason: action.reason, connection: action.connection, at: action.at });
    return out;
  }

  /** Ends the bursts that have been quiet for quietMs by now; returns their summaries. */
  flush(now: number): BlockRecord[] {
    const out: BlockRecord[] = [];
    for (const [key, burst] of this.bursts) {
      if (now - burst.last <= this.quietMs) continue;
      if (burst.count > 0) out.push(summary(burst));
      this.bursts.delete(key);
    }
    return out;
  }

  /** Ends every burst of one connection (it closed); returns their summaries. */
  endConnection(connection: string): BlockRecord[] {
    const out: BlockRecord[] = [];
    for (const [key, burst] of this.bursts) {
      if (burst.connection !== connection) continue;
      if (burst.count > 0) out.push(summary(burst));
      this.bursts.delete(key);
    }
    return out;
  }

  /** When flush next has something to end, or undefined when no burst is open. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const burst of this.bursts.values()) {
      const end = burst.last + this.quietMs + 1;
      if (next === undefined || end < next) next = end;
    }
    return next;
  }
}

function summary(burst: Burst): BlockRecord {
  return {
    kind: 'repeated', ruleId: burst.ruleId, reason: burst.reason, connection: burst.connection,
    from: burst.firstCounted, to: burst.last, count: burst.count,
  };
}
