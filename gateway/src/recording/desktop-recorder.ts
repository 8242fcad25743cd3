// Records one desktop session through VNC connections of its own (never a viewer's: a viewer's
// stream carries its own encodings, zlib state and pace). The VNC server compresses (ZRLE, in
// noVNC's pixel format, so the bytes replay in noVNC unchanged) and the gateway only frames and
// stores: that keeps recording cheap. ZRLE's zlib stream lives as long as its connection, so every
// key frame comes from a fresh connection: every keyFrameIntervalMs (when the screen changed) the
// recorder opens one, asks it for the whole screen, and when that first update is complete writes
// a Segment record and the update as a KeyFrame, then closes the previous connection. Playback can
// start at any key frame with a fresh noVNC. The recorder paces itself (one outstanding request,
// at most one update per minUpdateIntervalMs) and leaves out ServerCutText (clipboard contents are
// not recorded: privacy). The VNC server draws the pointer into the picture because the recorder
// announces no cursor encoding, so recordings show it. If the VNC server drops the connection,
// the recorder notes a gap and reconnects.
import type { Logger } from 'pino';
import { framebufferUpdateRequest, setEncodings, setPixelFormat } from '../rfb/c2s-encode.js';
import type { PixelFormat } from '../rfb/pixel-format.js';
import { S2CScanner, type S2CMessageSpan } from '../rfb/s2c-scanner.js';
import type { UpstreamConnection } from '../proxy/upstream-connector.js';
import {
  encodeJson, encodeKeyFramePayload, encodeSegmentStart, RecordKind, type TimelineEvent,
} from '../../../session-recorder/src/recording/format.js';
import type { RecordingWriter, RecordingWriterError } from '../../../session-recorder/src/recording/recording-writer.js';

/** noVNC's pixel format (RFB.messages.pixelFormat(24, true)): playback feeds recorded bytes to noVNC as they are. */
export const NOVNC_PIXEL_FORMAT: PixelFormat = {
  bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true,
  redMax: 255, greenMax: 255, blueMax: 255, redShift: 0, greenShift: 8, blueShift: 16,
};

/**
 * ZRLE (Raw for servers without it), DesktopSize so resizes are followed, and DesktopName. Not
 * ExtendedDesktopSize: TigerVNC answers the first non-incremental request of a client that
 * announces it with an ExtendedDesktopSize rectangle alone: a key frame without pixels. Not
 * CopyRect: a key frame must not refer to pixels of an earlier picture.
 */
export const RECORDER_ENCODINGS: readonly number[] = [
  16, // ZRLE
  0, // Raw
  -223, // DesktopSize
  -307, // DesktopName
];

const S2C_SERVER_CUT_TEXT = 3;
const S2C_FRAMEBUFFER_UPDATE = 0;
const HEARTBEAT_MS = 1000;

export interface DesktopRecorderOptions {
  readonly keyFrameIntervalMs: number;
  readonly minUpdateIntervalMs: number;
  /** First delay before reconnecting after the VNC server dropped the recorder; doubles up to 30 s. */
  readonly reconnectDelayMs: number;
}

export const DEFAULT_RECORDER_OPTIONS: DesktopRecorderOptions = {
  keyFrameIntervalMs: 30_000, minUpdateIntervalMs: 100, reconnectDelayMs: 1000,
};

export interface RecorderStats {
  /** Connections whose key frame started a segment. */
  segments: number;
  keyFrames: number;
  updates: number;
  bytesReceived: number;
  /** ServerCutText messages left out. */
  clipboardOmitted: number;
}

/** One VNC connection of the recorder. */
interface Link {
  readonly connection: UpstreamConnection;
  readonly scanner: S2CScanner;
  /** Received bytes from `bufferStart` (stream offset) on that do not yet form whole messages. */
  buffered: Buffer[];
  bufferStart: number;
  /** The request the server has not answered yet ('reserved': a paced request waits on a timer). */
  outstanding: 'key' | 'incremental' | 'reserved' | undefined;
  lastRequestAt: number;
}

export class DesktopRecorder {
  /** The connection being recorded: its key frame was written. */
  private current: Link | undefined;
  /** A connection opened for the next key frame: nothing of it is written until its first update is whole. */
  private next: Link | undefined;
  private opening = false;
  /** The current connection sent an update since its key frame: a new key frame is worth taking. */
  private changedSinceKeyFrame = false;
  private lastWriteAt = 0;
  private stopped = false;
  private reconnectDelay: number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly failureListeners: ((error: Error) => void)[] = [];
  readonly stats: RecorderStats = { segments: 0, keyFrames: 0, updates: 0, bytesReceived: 0, clipboardOmitted: 0 };

  constructor(
    private readonly connect: () => Promise<UpstreamConnection>,
    private readonly writer: RecordingWriter,
    /** Epoch ms the recording's times count from (the header's startedAt). */
    private readonly startedAt: number,
    private readonly options: DesktopRecorderOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.reconnectDelay = options.reconnectDelayMs;
    writer.onFailure((error: RecordingWriterError) => {
      this.fail(error);
    });
  }

  start(): void {
    this.every(this.options.keyFrameIntervalMs, () => {
      // A still screen needs no new key frame: the last one still shows it.
      if (this.changedSinceKeyFrame && this.next === undefined && !this.opening) void this.openLink();
    });
    // A still screen sends nothing: an empty record each second shows the recording was alive then,
    // so a file cut by a crash says how far it really got (14 bytes a second).
    this.every(HEARTBEAT_MS, () => {
      if (this.now() - this.lastWriteAt >= HEARTBEAT_MS) this.append(RecordKind.Rfb, new Uint8Array(0));
    });
    void this.openLink();
  }

  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  /** A timeline event (control change, blocked action, viewer) at the current time. */
  event(event: TimelineEvent): void {
    if (this.stopped) return;
    this.append(RecordKind.Event, encodeJson(event));
  }

  /** Ends the recording with an End record and closes the file. */
  async stop(reason: string): Promise<void> {
    if (this.stopped) return;
    this.halt();
    this.writer.appendEnd(this.elapsed(), { reason });
    await this.writer.close();
  }

  private async openLink(): Promise<void> {
    this.opening = true;
    let connection: UpstreamConnection;
    try {
      connection = await this.connect();
    } catch (e) {
      this.opening = false;
      if (this.stopped) return;
      if (this.current === undefined) {
        this.log.warn({ err: e }, 'recorder cannot reach the VNC server; retrying');
        this.scheduleReconnect();
      } else {
        // The current connection still records; the next key frame tick tries again.
        this.log.warn({ err: e }, 'recorder cannot open a connection for a key frame; keeps the current one');
      }
      return;
    } finally {
      this.opening = false;
    }
    if (this.stopped) {
      connection.socket.destroy();
      return;
    }
    this.reconnectDelay = this.options.reconnectDelayMs;
    const link: Link = {
      connection, scanner: new S2CScanner(NOVNC_PIXEL_FORMAT), buffered: [], bufferStart: 0, outstanding: undefined, lastRequestAt: 0,
    };
    this.next?.connection.socket.destroy();
    this.next = link;
    const socket = connection.socket;
    socket.on('data', (chunk: Buffer) => {
      this.onData(link, chunk);
    });
    socket.once('close', () => {
      this.onLinkClosed(link);
    });
    socket.on('error', (error: Error) => {
      this.log.warn({ err: error }, 'recorder connection failed');
    });
    socket.write(Buffer.concat([setPixelFormat(NOVNC_PIXEL_FORMAT), setEncodings(RECORDER_ENCODINGS)]));
    if (connection.rest.length > 0) this.onData(link, Buffer.from(connection.rest));
    this.request(link);
    socket.resume();
  }

  private onData(link: Link, chunk: Buffer): void {
    if (this.stopped || (link !== this.current && link !== this.next)) return;
    this.stats.bytesReceived += chunk.length;
    let spans: S2CMessageSpan[];
    try {
      spans = link.scanner.scan(chunk);
    } catch (e) {
      // The VNC server sent something the recorder cannot frame: this connection is over.
      this.log.error({ err: e }, 'recorder cannot frame the VNC server\'s stream; reconnecting');
      link.connection.socket.destroy();
      return;
    }
    link.buffered.push(chunk);
    if (spans.length === 0) return;
    const bytes = link.buffered.length === 1 ? chunk : Buffer.concat(link.buffered);
    const end = spans[spans.length - 1]?.end ?? link.bufferStart;
    const t = this.elapsed();
    let runStart: number | undefined; // offset (in `bytes`) of a run of messages to store as one Rfb record
    const flushRun = (upTo: number): void => {
      if (runStart !== undefined && upTo > runStart && link === this.current) {
        this.append(RecordKind.Rfb, bytes.subarray(runStart, upTo), t);
      }
      runStart = undefined;
    };
    let updateCompleted = false;
    for (const span of spans) {
      const from = span.start - link.bufferStart;
      const to = span.end - link.bufferStart;
      if (span.type === S2C_SERVER_CUT_TEXT) {
        flushRun(from);
        this.stats.clipboardOmitted++;
        continue;
      }
      if (span.type === S2C_FRAMEBUFFER_UPDATE) {
        updateCompleted = true;
        this.stats.updates++;
        const answered = link.outstanding;
        link.outstanding = undefined;
        if (answered === 'key' && link === this.next) {
          flushRun(from);
          this.switchTo(link, bytes.subarray(from, to), t);
          continue;
        }
        if (link === this.current) this.changedSinceKeyFrame = true;
      }
      if (link === this.current) runStart ??= from;
    }
    flushRun(end - link.bufferStart);
    // Keep only the unfinished message: copied, since the socket's chunk is not ours to hold.
    const rest = bytes.subarray(end - link.bufferStart);
    link.buffered = rest.length === 0 ? [] : [Buffer.from(rest)];
    link.bufferStart = end;
    if (updateCompleted) this.request(link);
  }

  /** The next connection's whole-screen update is complete: it starts a segment and becomes the one recorded. */
  private switchTo(link: Link, update: Uint8Array, t: number): void {
    const init = link.connection.serverInit;
    // Whether deflate pays depends on what the server sends: judged anew only for a server that came back.
    if (this.current === undefined) this.writer.resetCompression();
    this.append(RecordKind.Segment, encodeSegmentStart({ width: init.width, height: init.height, name: init.name }), t);
    this.append(RecordKind.KeyFrame, encodeKeyFramePayload({ width: init.width, height: init.height }, update), t);
    this.stats.segments++;
    this.stats.keyFrames++;
    const old = this.current;
    this.current = link;
    this.next = undefined;
    this.changedSinceKeyFrame = false;
    old?.connection.socket.destroy();
  }

  /** Sends the link's next update request, no sooner than minUpdateIntervalMs after its last one. */
  private request(link: Link): void {
    if (link.outstanding !== undefined || this.stopped) return;
    const wait = link.lastRequestAt + this.options.minUpdateIntervalMs - this.now();
    if (wait > 0) {
      link.outstanding = 'reserved';
      this.after(wait, () => {
        link.outstanding = undefined;
        this.request(link);
      });
      return;
    }
    const socket = link.connection.socket;
    if (socket.destroyed) return;
    // A connection's first request is for the whole screen: its answer is the key frame.
    const key = link.lastRequestAt === 0;
    link.outstanding = key ? 'key' : 'incremental';
    link.lastRequestAt = this.now();
    const { width, height } = link.connection.serverInit;
    socket.write(framebufferUpdateRequest(!key, 0, 0, width, height));
  }

  private onLinkClosed(link: Link): void {
    if (link === this.next) this.next = undefined;
    if (link !== this.current) {
      if (this.current === undefined && this.next === undefined && !this.stopped) this.scheduleReconnect();
      return;
    }
    this.current = undefined;
    if (this.stopped) return;
    this.event({ kind: 'recorder', detail: 'gap', message: 'The connection to the desktop was lost; the recording resumes when it is back.' });
    if (this.next === undefined && !this.opening) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, 30_000);
    this.after(delay, () => {
      if (this.current === undefined && this.next === undefined && !this.opening) void this.openLink();
    });
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.halt();
    for (const listener of this.failureListeners) listener(error);
  }

  private halt(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const link of [this.current, this.next]) link?.connection.socket.destroy();
    this.current = undefined;
    this.next = undefined;
  }

  private append(kind: RecordKind, payload: Uint8Array, t = this.elapsed()): void {
    this.lastWriteAt = this.now();
    this.writer.append(kind, t, payload);
  }

  private elapsed(): number {
    return Math.max(0, Math.round(this.now() - this.startedAt));
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    this.timers.add(timer);
  }
}
