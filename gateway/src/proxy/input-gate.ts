// The control token as the proxy enforces it. Every grant of control on a desktop bumps that
// desktop's epoch; a connection is told the epoch it was granted, and its input reaches the VNC
// server only while that epoch is still the desktop's current one. A take-over therefore cuts the
// old holder off the moment the epoch moves, before anyone tells its proxy, and whatever
// message carries the input (KeyEvent, QEMU key, PointerEvent, clipboard, SetDesktopSize).
// Messages that only keep a viewer's own picture flowing pass for everyone.
// Pure: no sockets, timers or logging; the arbiter decides who holds control, this only checks.
import { MESSAGE_CLASS, type InputDecision } from '../../../policies/src/input-filter.js';
import type { C2SMessage } from '../rfb/c2s-messages.js';

/**
 * One per desktop (target), shared by the proxies of all its viewers and moved by the control
 * arbiter's holder-changed effect. `holder` names who holds `current` (for logs and audit), or is
 * undefined when control is free or locked: then nobody's input passes, whatever epoch they hold.
 */
export class ControlEpoch {
  current = 0;
  holder: string | undefined = undefined;

  /**
   * Applies a holder change. Epochs never go back (that would hand control back to a connection
   * already cut off), and a new holder needs a new epoch; control becoming free may keep the epoch.
   */
  advance(epoch: number, holder: string | undefined): void {
    if (!Number.isSafeInteger(epoch) || epoch < this.current) {
      throw new RangeError(`control epoch must not go back: it is ${this.current}, got ${epoch}; apply the arbiter's holder-changed effects in order`);
    }
    if (epoch === this.current && holder !== undefined && holder !== this.holder) {
      throw new RangeError(`control moved to ${holder} without a new epoch (still ${epoch}): every grant must bump the epoch`);
    }
    this.current = epoch;
    this.holder = holder;
  }
}

const ALLOW: InputDecision = { allow: true };
const NOT_HOLDER: InputDecision = {
  allow: false, rule: 'control-epoch', reason: 'Someone else has control of this desktop: your input is not sent to the beamline.',
};

/** True when a connection granted `granted` (undefined: never, or revoked) holds control now. */
export function holdsControl(granted: number | undefined, control: ControlEpoch): boolean {
  return granted !== undefined && granted === control.current && control.holder !== undefined;
}

/**
 * The epoch rule alone: protocol messages pass, everything else (input, and anything not known
 * to be harmless) only from the current holder. The other input rules (view-only, power control)
 * are decideInput's; the proxy needs both to allow a message.
 */
export function gateInput(granted: number | undefined, control: ControlEpoch, message: C2SMessage): InputDecision {
  if ((MESSAGE_CLASS[message.type] as string | undefined) === 'protocol') return ALLOW;
  return holdsControl(granted, control) ? ALLOW : NOT_HOLDER;
}
