// The desktop->browser clipboard rule on the server-to-client stream: built on S2CScanner, it
// passes every byte that is not ServerCutText through as views into the chunk it came in (no
// copy), in order, and holds each ServerCutText back until it is whole, then forwards or drops it
// as filterServerCutText says with the policy in force at that moment (plain text: allow and size;
// Extended Clipboard: caps pass, notify and provide are judged as the desktop's data, request and
// peek as the browser's). Memory stays bounded: a ServerCutText longer than the policy could ever
// let through is dropped as it streams by, never buffered.
// Pure: no sockets, timers or logging; the policy comes in as a function (it is hot-reloaded).
import { filterServerCutText, type CompiledPolicy } from '../../../policies/src/input-rules.js';
import type { PixelFormat } from './pixel-format.js';
import { S2C, S2CScanner, type S2CScannerLimits } from './s2c-scanner.js';

/**
 * `maxBytes` at the schema's maximum (16 MiB, policies/src/input-policy.ts) means "no limit": with
 * `allow: true` and this limit the gateway does not frame the server stream at all.
 */
export const UNLIMITED_CLIPBOARD_BYTES = 16 * 1024 * 1024;

/** Does this policy need the server-to-client stream framed (anything but "allow, no limit")? */
export function needsServerCutTextFilter(policy: CompiledPolicy): boolean {
  return !(policy.toBrowser.allow && policy.toBrowser.maxBytes >= UNLIMITED_CLIPBOARD_BYTES);
}

/**
 * Largest ServerCutText (its |length|) worth buffering under `policy`: anything longer cannot pass.
 * Allowed text: maxBytes plus room for an Extended Clipboard provide, whose zlib stream may be a little
 * longer than the text it carries (stored blocks, header, the size field). Denied: only the small
 * Extended Clipboard messages (caps, request, peek) can pass, and they are far below 1 KiB.
 */
export function cutTextBufferLimit(policy: CompiledPolicy): number {
  const direction = policy.toBrowser;
  return direction.allow ? direction.maxBytes + (direction.maxBytes >>> 6) + SMALL_CLIPBOARD_MESSAGE : SMALL_CLIPBOARD_MESSAGE;
}

const SMALL_CLIPBOARD_MESSAGE = 1024;
const HEADER = 8; // | 3 | pad(3) | length s32 |

/** A clipboard message that was not forwarded because of a rule: audit it and tell the person. */
export interface BlockedCutText {
  readonly ruleId: string;
  readonly reason: string;
}

export interface FilteredChunk {
  /** What to send to the browser, in order: views into the chunk, and whole clipboard messages that passed (own copies). */
  readonly parts: readonly Uint8Array[];
  /** Index of the last part that is a view into the chunk, -1 when none is (the chunk's memory may then be reused at once). */
  readonly lastViewIndex: number;
  readonly blocked: readonly BlockedCutText[];
}

/** The ServerCutText being held back. */
interface Held {
  /** Bytes of the message seen so far. */
  seen: number;
  /** The first 8 bytes, until the length is known. */
  readonly header: Uint8Array;
  /** The whole message once its length is known and it is worth keeping; undefined while dropping it. */
  message: Uint8Array | undefined;
  /** Length known and judged too long: its bytes are counted and dropped. */
  dropping: boolean;
}

const NOTHING_BLOCKED: readonly BlockedCutText[] = Object.freeze([]);

/**
 * No ServerCutText is too long for the scanner here: the filter drops one longer than the rule lets
 * through by count, without buffering it, so a large desktop clipboard costs no memory and must
 * not end the session (as the scanner's 8 MiB sanity limit would).
 */
export const FILTER_SCANNER_LIMITS: S2CScannerLimits = { maxServerCutText: 0x7fffffff };

export class ServerCutTextFilter {
  private readonly scanner: S2CScanner;
  private held: Held | undefined;

  constructor(pixelFormat: PixelFormat, limits: S2CScannerLimits = FILTER_SCANNER_LIMITS) {
    this.scanner = new S2CScanner(pixelFormat, limits);
  }

  /** The browser's SetPixelFormat (see S2CScanner.setPixelFormat). Throws for a format the scanner cannot size. */
  setPixelFormat(pixelFormat: PixelFormat): void {
    this.scanner.setPixelFormat(pixelFormat);
  }

  /** Bytes of the server stream seen so far. */
  get offset(): number {
    return this.scanner.offset;
  }

  /** Bytes held back right now (a ServerCutText being collected; bounded by cutTextBufferLimit). */
  get heldBytes(): number {
    const held = this.held;
    if (held === undefined) return 0;
    return held.message === undefined ? Math.min(held.seen, HEADER) : held.seen;
  }

  /**
   * Filters one chunk of the server stream. `policy` is asked when a ServerCutText's length is known
   * (to bound what is buffered) and again when it is whole (the verdict). Throws the scanner's
   * GatewayError when the stream cannot be framed.
   */
  feed(chunk: Uint8Array, policy: () => CompiledPolicy): FilteredChunk {
    const base = this.scanner.offset;
    const spans = this.scanner.scan(chunk);
    const current = this.scanner.current;
    const inCutText = current?.type === S2C.ServerCutText;
    // The common case: no clipboard anywhere in this chunk, the whole chunk goes out as it came.
    if (this.held === undefined && !inCutText && !spans.some(s => s.type === S2C.ServerCutText)) {
      return chunk.length === 0
        ? { parts: [], lastViewIndex: -1, blocked: NOTHING_BLOCKED }
        : { parts: [chunk], lastViewIndex: 0, blocked: NOTHING_BLOCKED };
    }
    const parts: Uint8Array[] = [];
    const blocked: BlockedCutText[] = [];
    let lastViewIndex = -1;
    let cursor = 0; // chunk index of the first byte not yet sent or held
    const pass = (to: number): void => {
      if (to > cursor) {
        parts.push(chunk.subarray(cursor, to));
        lastViewIndex = parts.length - 1;
      }
      cursor = to;
    };
    for (const span of spans) {
      if (span.type !== S2C.ServerCutText) continue;
      pass(Math.max(span.start - base, 0));
      this.hold(chunk.subarray(cursor, span.end - base), policy, blocked);
      cursor = span.end - base;
      const whole = this.release(policy, blocked);
      if (whole !== undefined) parts.push(whole);
    }
    if (inCutText) {
      pass(Math.max(current.start - base, 0));
      this.hold(chunk.subarray(cursor), policy, blocked);
      cursor = chunk.length;
    }
    pass(chunk.length);
    return { parts, lastViewIndex, blocked: blocked.length === 0 ? NOTHING_BLOCKED : blocked };
  }

  /** Adds bytes of the ServerCutText in progress (its header first). */
  private hold(bytes: Uint8Array, policy: () => CompiledPolicy, blocked: BlockedCutText[]): void {
    let held = this.held;
    if (held === undefined) {
      held = { seen: 0, header: new Uint8Array(HEADER), message: undefined, dropping: false };
      this.held = held;
    }
    let from = 0;
    if (held.seen < HEADER) {
      from = Math.min(HEADER - held.seen, bytes.length);
      held.header.set(bytes.subarray(0, from), held.seen);
      held.seen += from;
      if (held.seen < HEADER) return;
      const view = new DataView(held.header.buffer);
      const length = Math.abs(view.getInt32(4));
      const rules = policy();
      if (length > cutTextBufferLimit(rules)) {
        // It cannot pass whatever it says: count it off instead of buffering it.
        held.dropping = true;
        const d = rules.toBrowser;
        const verdict = d.allow ? d.tooLarge : d.denied;
        blocked.push({ ruleId: verdict.ruleId, reason: verdict.reason });
      } else {
        held.message = new Uint8Array(HEADER + length);
        held.message.set(held.header);
      }
    }
    const rest = bytes.subarray(from);
    if (held.message !== undefined) held.message.set(rest, held.seen);
    held.seen += rest.length;
  }

  /** The held ServerCutText is whole: judges it; returns it when it passes. */
  private release(policy: () => CompiledPolicy, blocked: BlockedCutText[]): Uint8Array | undefined {
    const held = this.held;
    this.held = undefined;
    if (held === undefined || held.dropping) return undefined;
    const message = held.message;
    if (message === undefined || held.seen !== message.length) {
      // The scanner said the message ended where its own length field says: anything else is a bug here.
      throw new Error(`ServerCutTextFilter: held ${held.seen} bytes of a ${message?.length ?? '?'}-byte ServerCutText`);
    }
    const extended = new DataView(message.buffer).getInt32(4) < 0;
    const verdict = filterServerCutText({ extended, data: message.subarray(HEADER) }, policy());
    if (verdict.ruleId !== undefined) blocked.push({ ruleId: verdict.ruleId, reason: verdict.reason ?? verdict.ruleId });
    // A clipboard verdict never carries a replacement (that is for pointer events): forward as is or not at all.
    return verdict.forward && verdict.replacement === undefined ? message : undefined;
  }
}
