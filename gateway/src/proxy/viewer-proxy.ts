// One viewer: a browser WebSocket on one side, the gateway's own connection to the VNC server
// on the other. The gateway is the RFB server toward the browser (security None: the socket is
// already authorised) and the RFB client toward the VNC server (the password stays here).
// Browser-to-server bytes are framed, filtered (decideInput) and forwarded. Server-to-browser bytes
// pass through untouched, zero-copy, unless the beamline's desktop->browser clipboard rule needs
// the server stream framed (anything but "allow, no limit"): then ServerCutTextFilter holds back
// each ServerCutText until it is judged and passes everything else as views of the read buffers,
// and the browser may not change its pixel format once it has asked for updates (the scanner
// would not know the size of updates already on their way). Backpressure both ways: a browser
// that stops reading stops the gateway reading that viewer's VNC connection (and only that one);
// a VNC server that stops reading stops the gateway reading that browser.
// With a ControlEpoch (control arbitration on), input passes only while this connection holds the
// desktop's current epoch (grantInput), and when control leaves it (revokeInput, or the viewer
// closing) the keys and buttons it still holds down are released on its own VNC connection.
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { decideInput, MESSAGE_CLASS, type InputDecision } from '../../../policies/src/input-filter.js';
import { C2SFramer, type FramerLimits } from '../rfb/c2s-framer.js';
import { encodeC2S, setEncodings } from '../rfb/c2s-encode.js';
import type { C2SFrame } from '../rfb/c2s-messages.js';
import { Encoding, rewriteEncodings } from '../rfb/encodings.js';
import { CloseCode, GatewayError, isGatewayError, protocolError } from '../rfb/errors.js';
import { ServerHandshake, type ServerEffect } from '../rfb/handshake-server.js';
import { HeldInput } from '../rfb/held-input.js';
import { needsServerCutTextFilter, ServerCutTextFilter, type FilteredChunk } from '../rfb/s2c-cut-text-filter.js';
import { unframeable } from '../rfb/s2c-scanner.js';
import { createFilterState, filterInput, type CompiledPolicy, type FilterState } from '../../../policies/src/input-rules.js';
import { gateInput, type ControlEpoch } from './input-gate.js';
import type { UpstreamConnection } from './upstream-connector.js';

export interface ViewerProxyOptions {
  /** Without `control`: true drops all of this viewer's input. With `control`, the control epoch decides instead. */
  readonly viewOnly: boolean;
  readonly framerLimits: FramerLimits;
  readonly sendHighWaterBytes: number;
  readonly slowViewerTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly pingIntervalMs: number;
  /** Name shown in the browser instead of the VNC server's own desktop name. */
  readonly desktopName?: string | undefined;
  /**
   * The desktop's control epoch, shared by all its viewers. Given: this viewer's input passes only
   * between grantInput and revokeInput, and only while its epoch is current; viewOnly is not
   * consulted (whether a person may drive is the arbiter's decision, and it changes while connected).
   * Absent (no login, the benchmark): viewOnly alone decides, as before control arbitration.
   */
  readonly control?: ControlEpoch | undefined;
  /**
   * The beamline's input policy (denied key combinations, pointer regions, clipboard, resize, rate),
   * applied to input that passed view-only and the control epoch. Absent: no policy filtering.
   */
  readonly inputPolicy?: InputPolicyHook | undefined;
}

export interface InputPolicyHook {
  /** The policy in force now (it is hot-reloaded). */
  readonly policy: () => CompiledPolicy;
  readonly context: () => { readonly staff: boolean; readonly viewOnlyBeamline: boolean };
  /** A message was blocked (or changed) by a rule: audit it (aggregated) and tell the person. */
  readonly blocked: (ruleId: string, reason: string) => void;
}

export interface ViewerStats {
  bytesToBrowser: number;
  bytesToServer: number;
  messagesForwarded: number;
  /** Every message not forwarded: view-only, power control, or not holding control. */
  messagesDropped: number;
  /** Of messagesDropped: input that arrived while this connection did not hold the current control epoch. */
  droppedWithoutControl: number;
  /** Key and button releases the gateway sent for this connection when control left it. */
  releasesSent: number;
  /** Of messagesDropped: input a rule of the beamline's input policy blocked. */
  blockedByPolicy: number;
  /** Server clipboard messages (ServerCutText) the desktop->browser rule kept from the browser. */
  serverClipboardBlocked: number;
  /** When the viewer's VNC connection was last paused because the browser did not keep up. */
  pausedSince: number | undefined;
}

export type ViewerPhase = 'handshake' | 'relay' | 'closed';

const SEND_OPTIONS = { binary: true, compress: false } as const;
/** How long a closing viewer's VNC connection may take to deliver its releases before it is cut. */
const RELEASE_LINGER_MS = 2000;

export class ViewerProxy {
  private phase: ViewerPhase = 'handshake';
  private readonly browserHandshake = new ServerHandshake({ type: 'none' });
  private readonly framer: C2SFramer;
  private upstream: UpstreamConnection | undefined;
  private browserDone: Uint8Array | undefined; // bytes after ClientInit, once the browser handshake is done
  private readonly timers: NodeJS.Timeout[] = [];
  private awaitingPong = false;
  /**
   * One entry per ws.send of server bytes from a pooled read, in send order: the read buffer when this is
   * the last send that references it (it goes back to the pool when that send completes), else undefined.
   */
  private readonly inflight: (Buffer | undefined)[] = [];
  /** Frames the server stream and applies the desktop->browser clipboard rule; undefined: untouched relay. */
  private serverFilter: ServerCutTextFilter | undefined;
  /** The browser asked for framebuffer updates (request or continuous updates): its pixel format is fixed from now on. */
  private updatesRequested = false;
  /** The viewer's last SetEncodings (as forwarded) announced ExtendedDesktopSize. */
  private extendedDesktopSize = false;
  private readonly closeListeners: ((error: GatewayError | undefined) => void)[] = [];
  private readonly inputListeners: (() => void)[] = [];
  /** With control: what this connection's forwarded input holds down, and the epoch it was granted (undefined: none). */
  private readonly held: HeldInput | undefined;
  private readonly filterState: FilterState = createFilterState();
  private granted: number | undefined;
  readonly stats: ViewerStats = {
    bytesToBrowser: 0, bytesToServer: 0, messagesForwarded: 0, messagesDropped: 0,
    droppedWithoutControl: 0, releasesSent: 0, blockedByPolicy: 0, serverClipboardBlocked: 0, pausedSince: undefined,
  };

  constructor(
    private readonly ws: WebSocket,
    upstream: Promise<UpstreamConnection>,
    private readonly options: ViewerProxyOptions,
    private readonly log: Logger,
  ) {
    this.framer = new C2SFramer(options.framerLimits);
    this.held = options.control === undefined ? undefined : new HeldInput();
    ws.on('message', this.onBrowserMessage);
    ws.on('close', this.onBrowserClose);
    ws.on('error', this.onBrowserError);
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    this.timers.push(setTimeout(() => {
      if (this.phase === 'handshake') {
        this.close(protocolError('GW_ERR_RFB_HANDSHAKE_TIMEOUT', `RFB handshake with the browser not completed within ${options.handshakeTimeoutMs} ms`));
      }
    }, options.handshakeTimeoutMs));
    this.timers.push(setInterval(this.onPingTick, options.pingIntervalMs));
    this.applyBrowser(this.browserHandshake.start());
    upstream.then(
      (connection) => {
        if (this.phase === 'closed') {
          connection.socket.destroy();
          return;
        }
        this.upstream = connection;
        const name = this.options.desktopName ?? connection.serverInit.name;
        const init = { ...connection.serverInit, name };
        this.applyBrowser(this.browserHandshake.serverInitReady(init));
      },
      (error: unknown) => {
        const failure = isGatewayError(error) ? error : new GatewayError('GW_ERR_UPSTREAM_UNREACHABLE', String(error), 'The beamline desktop is not available right now.', CloseCode.upstreamFailed);
        this.applyBrowser(this.browserHandshake.refuse(failure));
      },
    );
  }

  get state(): ViewerPhase {
    return this.phase;
  }

  onClose(listener: (error: GatewayError | undefined) => void): void {
    this.closeListeners.push(listener);
  }

  /**
   * Called after input (keys, pointer, clipboard, resize) of this viewer went to the VNC server,
   * at most once per browser message: the holder's activity, for the idle timeout.
   */
  onInputForwarded(listener: () => void): void {
    this.inputListeners.push(listener);
  }

  /** The epoch this connection was granted control with, or undefined when it does not drive. */
  get grantedEpoch(): number | undefined {
    return this.granted;
  }

  /**
   * This connection now drives, under `epoch` (the one the desktop's ControlEpoch was moved to).
   * Its input passes while that epoch stays current.
   */
  grantInput(epoch: number): void {
    if (this.options.control === undefined) {
      throw new Error('grantInput on a viewer created without a ControlEpoch: pass options.control for desktops under control arbitration');
    }
    this.granted = epoch;
  }

  /**
   * Control left this connection: release every key and button its forwarded input still holds
   * down, on its own VNC connection (the only one whose releases the server honours), then drop
   * its input. The releases go out even while the connection is paused by backpressure.
   */
  revokeInput(): void {
    this.granted = undefined;
    const releases = this.takeReleases();
    if (releases !== undefined) this.upstream?.socket.write(releases);
  }

  /** Ends both connections; the browser sees the error's user message as the close reason. */
  close(error?: GatewayError): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    for (const t of this.timers) clearTimeout(t);
    const code = error?.closeCode ?? CloseCode.normal;
    const reason = truncateUtf8(error?.userMessage ?? 'Session ended.', 123);
    // A browser that reads nothing or is gone cannot receive a close frame queued behind its unsent
    // data; dropping the TCP connection frees that data now instead of after ws's 30 s close timeout.
    const unreachable = error?.code === 'GW_ERR_BROWSER_SLOW' || error?.code === 'GW_ERR_BROWSER_GONE';
    const open = this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING;
    if (open && !unreachable) this.ws.close(code, reason);
    else this.ws.terminate();
    this.granted = undefined;
    const releases = this.takeReleases();
    const socket = this.upstream?.socket;
    if (socket !== undefined && releases !== undefined) {
      // Xvnc releases a closed connection's keys but not its mouse buttons, so a button held by a
      // viewer that just left would block every other viewer's pointer: let go of it first.
      socket.pause();
      socket.end(releases);
      const linger = setTimeout(() => socket.destroy(), RELEASE_LINGER_MS);
      linger.unref();
      socket.once('close', () => {
        clearTimeout(linger);
      });
    } else {
      socket?.destroy();
    }
    for (const listener of this.closeListeners) listener(error);
  }

  private applyBrowser(effects: readonly ServerEffect[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case 'send':
          this.sendToBrowser(effect.bytes);
          break;
        case 'done':
          this.browserDone = effect.rest;
          this.startRelay();
          break;
        case 'failed':
          this.close(effect.error);
          break;
      }
    }
  }

  private startRelay(): void {
    const upstream = this.upstream;
    const pending = this.browserDone;
    if (upstream === undefined || pending === undefined || this.phase !== 'handshake') return;
    this.phase = 'relay';
    const hook = this.options.inputPolicy;
    if (hook !== undefined && needsServerCutTextFilter(hook.policy())) {
      try {
        // The browser got the VNC server's ServerInit pixel format; its SetPixelFormat comes with `pending` or later.
        this.serverFilter = new ServerCutTextFilter(upstream.serverInit.pixelFormat);
      } catch (e) {
        this.close(isGatewayError(e) ? e : unframeable(String(e)));
        return;
      }
    }
    const socket = upstream.socket;
    if (upstream.reader !== undefined) upstream.reader.onChunk = this.onServerChunk;
    else socket.on('data', this.onServerData);
    socket.on('close', this.onServerClose);
    socket.on('error', this.onServerError);
    if (upstream.rest.length > 0) this.onServerData(Buffer.from(upstream.rest));
    if (pending.length > 0) this.relayToServer(pending);
    socket.resume();
  }

  // ---- server -> browser: untouched (or only the clipboard filtered), with backpressure

  private readonly onServerData = (chunk: Buffer): void => {
    this.relayToBrowser(chunk, undefined);
  };

  private readonly onServerChunk = (buffer: Buffer, length: number): void => {
    this.relayToBrowser(length === buffer.length ? buffer : buffer.subarray(0, length), buffer);
  };

  /** `pooled`: the read buffer `chunk` lies in, which goes back to the pool once no send references it. */
  private relayToBrowser(chunk: Buffer, pooled: Buffer | undefined): void {
    const done = pooled === undefined ? this.afterSend : this.afterPooledSend;
    const filter = this.serverFilter;
    if (filter === undefined) {
      if (this.serverFilterNeededNow()) return;
      if (pooled !== undefined) this.inflight.push(pooled);
      this.forward(chunk, done);
      return;
    }
    let result: FilteredChunk;
    try {
      result = filter.feed(chunk, this.serverPolicy);
    } catch (e) {
      // The server stream cannot be framed any more: nothing of it may pass unchecked (fail closed).
      this.close(isGatewayError(e) ? e : unframeable(String(e)));
      return;
    }
    for (const b of result.blocked) {
      this.stats.serverClipboardBlocked++;
      this.options.inputPolicy?.blocked(b.ruleId, b.reason);
    }
    // Only the last send that holds a view of the read buffer may give it back; none does: give it back now.
    if (pooled !== undefined && result.lastViewIndex < 0 && this.phase === 'relay') this.upstream?.reader?.pool.give(pooled);
    result.parts.forEach((part, i) => {
      if (pooled !== undefined) this.inflight.push(i === result.lastViewIndex ? pooled : undefined);
      this.forward(part, done);
    });
  }

  /** The policy in force, asked by the clipboard filter per ServerCutText (it is hot-reloaded). */
  private readonly serverPolicy = (): CompiledPolicy => {
    const hook = this.options.inputPolicy;
    if (hook === undefined) throw new Error('ViewerProxy: server clipboard filter without an input policy hook');
    return hook.policy();
  };

  /**
   * The relay is untouched (the policy allowed the desktop's clipboard without limit when it started)
   * but a reload now restricts it: framing cannot start in the middle of the stream, so the viewer is
   * closed and reconnects under the new rule. Returns true when it closed the viewer.
   */
  private serverFilterNeededNow(): boolean {
    const hook = this.options.inputPolicy;
    if (hook === undefined || !needsServerCutTextFilter(hook.policy())) return false;
    this.close(new GatewayError(
      'GW_ERR_POLICY_RELOADED',
      'the desktop->browser clipboard rule was restricted by a policy reload; checking the server stream needs a new connection',
      'The beamline\'s clipboard rules changed; reconnecting.',
      CloseCode.tryAgainLater,
    ));
    return true;
  }

  private forward(chunk: Uint8Array, done: (error?: Error | null) => void): void {
    this.stats.bytesToBrowser += chunk.length;
    this.ws.send(chunk, SEND_OPTIONS, done);
    if (this.stats.pausedSince === undefined && this.ws.bufferedAmount > this.options.sendHighWaterBytes) {
      this.upstream?.socket.pause();
      this.stats.pausedSince = Date.now();
    }
  }

  private readonly afterPooledSend = (error?: Error | null): void => {
    const buffer = this.inflight.shift();
    // After an error or close, ws may still hold a buffer it never wrote: recycle nothing then.
    if (buffer !== undefined && error == null && this.phase === 'relay') this.upstream?.reader?.pool.give(buffer);
    this.afterSend(error);
  };

  // ws calls this with null (not undefined) when the send succeeded.
  private readonly afterSend = (error?: Error | null): void => {
    if (error != null || this.stats.pausedSince === undefined) return;
    if (this.ws.bufferedAmount <= this.options.sendHighWaterBytes / 4) {
      this.stats.pausedSince = undefined;
      this.upstream?.socket.resume();
    }
  };

  private sendToBrowser(bytes: Uint8Array): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(bytes, SEND_OPTIONS);
  }

  /** The encoded releases of everything held (and forgets it), or undefined when nothing is held or nothing can be sent. */
  private takeReleases(): Uint8Array | undefined {
    const socket = this.upstream?.socket;
    const held = this.held;
    if (held === undefined || held.idle || socket === undefined || socket.destroyed || !socket.writable) return undefined;
    const releases = held.releaseAll();
    const bytes = concat(releases.map(encodeC2S));
    this.stats.releasesSent += releases.length;
    this.stats.bytesToServer += bytes.length;
    return bytes;
  }

  // ---- browser -> server: framed, filtered, forwarded

  private readonly onBrowserMessage = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
    if (this.phase === 'closed') return;
    const bytes = toBytes(data);
    if (!isBinary) {
      this.close(protocolError('GW_ERR_RFB_MALFORMED_MESSAGE', 'text WebSocket frame on the RFB channel', CloseCode.protocolError));
      return;
    }
    if (this.phase === 'handshake') this.applyBrowser(this.browserHandshake.feed(bytes));
    else this.relayToServer(bytes);
  };

  private relayToServer(bytes: Uint8Array): void {
    let frames: C2SFrame[];
    try {
      frames = this.framer.feed(bytes);
    } catch (e) {
      this.close(isGatewayError(e) ? e : protocolError('GW_ERR_RFB_MALFORMED_MESSAGE', String(e)));
      return;
    }
    if (frames.length === 0) return;
    const out: Uint8Array[] = [];
    let unchanged = true;
    let input = false;
    for (const frame of frames) {
      const message = frame.message;
      if (message.type === 'SetEncodings') {
        const encodings = rewriteEncodings(message.encodings);
        this.extendedDesktopSize = encodings.includes(Encoding.ExtendedDesktopSize);
        out.push(setEncodings(encodings));
        unchanged = false;
        continue;
      }
      const control = this.options.control;
      let decision: InputDecision = decideInput({ viewOnly: control === undefined && this.options.viewOnly }, message);
      if (decision.allow && control !== undefined) {
        decision = gateInput(this.granted, control, message);
        if (!decision.allow) this.stats.droppedWithoutControl++;
      }
      const hook = this.options.inputPolicy;
      if (decision.allow && hook !== undefined) {
        const ctx = hook.context();
        const holder = control === undefined ? !this.options.viewOnly : true; // past the gate: this connection holds control
        const context = { now: performance.now(), staff: ctx.staff, holder, viewOnlyBeamline: ctx.viewOnlyBeamline };
        const verdict = filterInput(this.filterState, message, context, hook.policy());
        if (verdict.ruleId !== undefined) hook.blocked(verdict.ruleId, verdict.reason ?? verdict.ruleId);
        if (!verdict.forward) {
          unchanged = false;
          this.stats.messagesDropped++;
          this.stats.blockedByPolicy++;
          continue;
        }
        if (verdict.replacement !== undefined) {
          // The rule removed part of the message (a press inside a denied region): send the rest.
          out.push(encodeC2S(verdict.replacement));
          this.held?.forwarded(verdict.replacement);
          if (MESSAGE_CLASS[verdict.replacement.type] === 'input') input = true;
          unchanged = false;
          continue;
        }
      }
      // RFB allows SetDesktopSize only after the client announced ExtendedDesktopSize. TigerVNC
      // 1.12-1.15 with AcceptSetDesktopSize=1 segfaults on one sent earlier (it answers through
      // the connection the resize just closed), so one viewer could kill the beamline desktop.
      // noVNC never does this: a forwardable one is treated as the protocol violation it is.
      if (decision.allow && message.type === 'SetDesktopSize' && !this.extendedDesktopSize) {
        this.close(protocolError('GW_ERR_RFB_MALFORMED_MESSAGE', 'SetDesktopSize before the viewer announced ExtendedDesktopSize (-308)'));
        return;
      }
      if (decision.allow && !this.noteForServerFraming(message)) return;
      if (decision.allow) {
        out.push(frame.bytes);
        this.held?.forwarded(message);
        if (MESSAGE_CLASS[message.type] === 'input') input = true;
      } else {
        unchanged = false;
        this.stats.messagesDropped++;
      }
    }
    this.stats.messagesForwarded += out.length;
    if (out.length === 0) return;
    // Fast path: a WebSocket message that is exactly whole, allowed messages goes out as it came.
    const payload = unchanged && this.framer.pending === 0 && frames.length > 0 && bytes.length === sum(frames) ? bytes : concat(out);
    this.stats.bytesToServer += payload.length;
    const socket = this.upstream?.socket;
    if (socket !== undefined && !socket.write(payload)) {
      this.ws.pause();
      socket.once('drain', () => {
        this.ws.resume();
      });
    }
    if (input) for (const listener of this.inputListeners) listener();
  }

  /**
   * What the server-to-client scanner must know of a message about to be forwarded: the pixel format
   * (it sizes PIXEL, TPIXEL) and whether updates were requested. Returns false when it closed the viewer.
   */
  private noteForServerFraming(message: C2SFrame['message']): boolean {
    if (message.type === 'FramebufferUpdateRequest' || (message.type === 'EnableContinuousUpdates' && message.enable)) {
      this.updatesRequested = true;
      return true;
    }
    const filter = this.serverFilter;
    if (message.type !== 'SetPixelFormat' || filter === undefined) return true;
    if (this.updatesRequested) {
      // Updates already requested may be on their way in the old format or the new: their size is unknowable.
      this.close(protocolError('GW_ERR_RFB_LATE_PIXEL_FORMAT', 'SetPixelFormat after the first FramebufferUpdateRequest while the server stream is framed'));
      return false;
    }
    try {
      filter.setPixelFormat(message.pixelFormat);
    } catch (e) {
      this.close(protocolError('GW_ERR_RFB_MALFORMED_MESSAGE', `SetPixelFormat the server stream could not be framed in: ${(e as Error).message}`));
      return false;
    }
    return true;
  }

  // ---- ends and liveness

  private readonly onServerClose = (): void => {
    this.close(new GatewayError('GW_ERR_UPSTREAM_CLOSED', 'VNC server closed the connection', 'The beamline desktop closed the connection.', CloseCode.upstreamFailed));
  };

  private readonly onServerError = (error: Error): void => {
    this.close(new GatewayError('GW_ERR_UPSTREAM_CLOSED', `VNC server connection failed: ${error.message}`, 'The connection to the beamline desktop was lost.', CloseCode.upstreamFailed, { cause: error }));
  };

  private readonly onBrowserClose = (): void => {
    this.close();
  };

  private readonly onBrowserError = (error: Error): void => {
    this.log.debug({ err: error }, 'browser websocket error');
    this.close(new GatewayError('GW_ERR_BROWSER_GONE', `browser connection failed: ${error.message}`, 'Connection lost.', CloseCode.goingAway));
  };

  private readonly onPingTick = (): void => {
    if (this.phase === 'closed') return;
    const paused = this.stats.pausedSince;
    if (paused !== undefined && Date.now() - paused > this.options.slowViewerTimeoutMs) {
      this.close(new GatewayError('GW_ERR_BROWSER_SLOW', `browser read nothing for ${Date.now() - paused} ms with ${this.ws.bufferedAmount} bytes waiting`, 'Your connection is too slow to show the desktop; please reconnect.', CloseCode.tryAgainLater));
      return;
    }
    if (this.awaitingPong) {
      this.close(new GatewayError('GW_ERR_BROWSER_GONE', `browser did not answer a ping within ${this.options.pingIntervalMs} ms`, 'Connection lost.', CloseCode.goingAway));
      return;
    }
    this.awaitingPong = true;
    this.ws.ping();
  };
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function sum(frames: readonly C2SFrame[]): number {
  let n = 0;
  for (const f of frames) n += f.bytes.length;
  return n;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= maxBytes ? text : bytes.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
}
