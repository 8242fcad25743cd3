// Which keys and pointer buttons one viewer's connection holds down on the VNC server, judged only
// from the input the gateway FORWARDED on that connection, and the messages that let them all go.
// When control leaves a connection, the gateway sends these releases on that same connection
// (TigerVNC counts a key release only from the connection that pressed the key, and does not
// release a closed connection's mouse buttons; notes section 11), so nobody is left with a stuck
// Shift or a button that blocks every other viewer's pointer.
//
// Keys are tracked the way TigerVNC's VNCSConnectionST tracks them per connection:
// - a KeyEvent is identified by its keysym;
// - a QEMU extended key event by its keycode (the keysym of the press is kept, and the release
//   carries it again, so the keysym path and -RawKeyboard both see a matching release);
//   one with keycode 0 is ignored by TigerVNC and so is not tracked here either.
// Releasing something that is not pressed is harmless (the server ignores it), so the tracker
// errs on the side of releasing: the only thing it must never do is forget a press.
// Pure: no sockets, timers or logging.
import type { C2SMessage } from './c2s-messages.js';

/** One key held down, in the form it was pressed (its release uses the same form). */
export type HeldKey =
  | { readonly form: 'key'; readonly keysym: number }
  | { readonly form: 'qemu'; readonly keysym: number; readonly keycode: number };

export class HeldInput {
  /** Pressed keys in press order (Map keeps insertion order), keyed as the server keys them. */
  private readonly keys = new Map<string, HeldKey>();
  private buttonMask = 0;
  private extendedButtonMask = 0;
  private x = 0;
  private y = 0;

  /** Records one message that was sent to the VNC server on this connection; non-input messages are ignored. */
  forwarded(message: C2SMessage): void {
    switch (message.type) {
      case 'KeyEvent':
        this.key(`k${message.keysym}`, message.down, { form: 'key', keysym: message.keysym });
        return;
      case 'QemuExtendedKeyEvent':
        if (message.keycode === 0) return;
        this.key(`q${message.keycode}`, message.down, { form: 'qemu', keysym: message.keysym, keycode: message.keycode });
        return;
      case 'PointerEvent':
        this.buttonMask = message.buttonMask;
        this.extendedButtonMask = message.extendedButtonMask ?? 0;
        this.x = message.x;
        this.y = message.y;
        return;
      case 'SetPixelFormat':
      case 'SetEncodings':
      case 'FramebufferUpdateRequest':
      case 'ClientCutText':
      case 'EnableContinuousUpdates':
      case 'ClientFence':
      case 'Xvp':
      case 'SetDesktopSize':
        return;
    }
  }

  /** True when no key or button is held. */
  get idle(): boolean {
    return this.keys.size === 0 && !this.buttonsDown();
  }

  /** The keys held, oldest press first (for logs and tests). */
  heldKeys(): readonly HeldKey[] {
    return [...this.keys.values()];
  }

  /**
   * The messages that release everything held, and forgets it all: first the buttons (one
   * PointerEvent with no button at the last position, so a drag ends where it was), then the keys
   * in reverse press order (Shift goes last, as a person would let go of it).
   */
  releaseAll(): C2SMessage[] {
    const out: C2SMessage[] = [];
    if (this.buttonsDown()) out.push({ type: 'PointerEvent', buttonMask: 0, x: this.x, y: this.y });
    for (const key of [...this.keys.values()].reverse()) {
      out.push(key.form === 'key'
        ? { type: 'KeyEvent', down: false, keysym: key.keysym }
        : { type: 'QemuExtendedKeyEvent', down: false, keysym: key.keysym, keycode: key.keycode });
    }
    this.keys.clear();
    this.buttonMask = 0;
    this.extendedButtonMask = 0;
    return out;
  }

  private key(id: string, down: boolean, key: HeldKey): void {
    // A repeated press (auto-repeat) keeps the first press's keysym and place, as TigerVNC does.
    if (down) {
      if (!this.keys.has(id)) this.keys.set(id, key);
    } else {
      this.keys.delete(id);
    }
  }

  private buttonsDown(): boolean {
    return this.buttonMask !== 0 || this.extendedButtonMask !== 0;
  }
}
