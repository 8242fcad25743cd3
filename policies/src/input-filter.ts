// Which client-to-server messages of one viewer may reach the VNC server. The gateway never
// trusts the browser's own view-only flag: this decision is the enforcement point. For now a
// viewer is either view-only (no input of any kind) or interactive; the control token and the
// per-beamline rules (later issues) add their rules here. Deny by absence: a message type that
// this module does not classify is denied.
// Pure: plain data in, a decision out.
import type { C2SMessage, C2SMessageType } from '../../gateway/src/rfb/c2s-messages.js';

export interface InputContext {
  /** True when this viewer may not drive the desktop. */
  readonly viewOnly: boolean;
}

export type InputDecision =
  | { readonly allow: true }
  | { readonly allow: false; readonly rule: string; readonly reason: string };

/**
 * Every message type, by what it does. `protocol` keeps the viewer's own picture flowing and must
 * pass for everyone (TigerVNC stalls a stream whose fence answers are dropped); `input` acts on the
 * desktop; `never` is not a remote user's action at all.
 */
export const MESSAGE_CLASS: Readonly<Record<C2SMessageType, 'protocol' | 'input' | 'never'>> = {
  SetPixelFormat: 'protocol',
  SetEncodings: 'protocol',
  FramebufferUpdateRequest: 'protocol',
  EnableContinuousUpdates: 'protocol',
  ClientFence: 'protocol',
  KeyEvent: 'input',
  QemuExtendedKeyEvent: 'input',
  PointerEvent: 'input',
  ClientCutText: 'input',
  SetDesktopSize: 'input',
  Xvp: 'never',
};

const ALLOW: InputDecision = { allow: true };

export function decideInput(context: InputContext, message: C2SMessage): InputDecision {
  const cls = MESSAGE_CLASS[message.type] as (typeof MESSAGE_CLASS)[C2SMessageType] | undefined;
  switch (cls) {
    case 'protocol':
      return ALLOW;
    case 'input':
      return context.viewOnly
        ? { allow: false, rule: 'view-only', reason: 'You are watching: input is not sent to the beamline.' }
        : ALLOW;
    case 'never':
      return { allow: false, rule: 'power-control', reason: 'Shutting down or resetting the beamline workstation is not possible remotely.' };
    case undefined:
      return { allow: false, rule: 'unknown-message', reason: 'This kind of input is not allowed.' };
  }
}
