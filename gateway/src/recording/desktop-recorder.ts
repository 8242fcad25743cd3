// Records one desktop session through a VNC connection of its own (never a viewer's: a viewer's
// stream carries its own encodings, zlib state and pace). The recorder asks for stateless encodings
// only (Hextile, RRE, Raw: no zlib stream, no CopyRect) in noVNC's pixel format, so any
// non-incremental full-screen update is a key frame playback can start from, and the bytes replay
// in noVNC unchanged. It paces itself (one outstanding request, at most one update per
// minUpdateIntervalMs), asks for a key frame every keyFrameIntervalMs, and leaves out
// ServerCutText (clipboard contents are not recorded: privacy). The VNC server draws the pointer
// into the picture because the recorder does not announce cursor encodings, so recordings show it.
// If the VNC server drops the connection, the recorder reconnects and starts a new segment.
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
 * Stateless encodings only (see the top of the file), DesktopSize so resizes are followed, and
 * DesktopName. Not ExtendedDesktopSize: TigerVNC answers the first non-incremental request of a
 * client that announces it with an ExtendedDesktopSize rectangle alone: a key frame without pixels.
 */
export const RECORDER_ENCODINGS: readonly number[] = [
  5, // Hextile
  2, // RRE
  0, // Raw
  -223, // DesktopSize
  -307, // DesktopName
];

const S2C_SERVER_CUT_TEXT = 3;
const HEARTBEAT_MS = 1000;
const S2C_FRAMEBUFFER_UPDATE = 0;

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
  segments: number;
  keyFrames: number;
  updates: number;
  bytesReceived: number;
  /** ServerCutText messages left out. */
  clipboardOmitted: number;
}

/** Framebuffer size a scanner reports for an update that resized the desktop (DesktopSize / ExtendedDesktopSize). */
interface SizedSpan extends S2CMessageSpan {
  readonly framebufferSize?: { readonly width: number; readonly height: number } | undefined;
}

export class DesktopRecorder {
  private connection: UpstreamConnection | undefined;
  private scanner: S2CScanner | undefined;
  /** Received bytes from `bufferStart` (stream offset) on that do not yet form whole messages. */
  private buffered: Buffer[] = [];
  private bufferStart = 0;
  private framebuffer = { width: 0, height: 0 };
  private keyFrameDue = true;
  private outstanding: 'key' | 'incremental' | undefined;
  private lastRequestAt = 0;
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
      this.keyFrameDue = true;
    });
    // A still screen sends nothing: an empty record each second shows the recording was alive then,
    // so a file cut by a crash says how far it really got (14 bytes a second).
    this.every(HEARTBEAT_MS, () => {
      if (this.now() - this.lastWriteAt >= HEARTBEAT_MS) this.append(RecordKind.Rfb, new Uint8Array(0));
    });
    void this.open();
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

  private async open(): Promise<void> {
    let connection: UpstreamConnection;
    try {
      connection = await this.connect();
    } catch (e) {
      if (this.stopped) return;
      this.log.warn({ err: e }, 'recorder cannot reach the VNC server; retrying');
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) {
      connection.socket.destroy();
      return;
    }
    this.reconnectDelay = this.options.reconnectDelayMs;
    this.connection = connection;
    this.scanner = new S2CScanner(NOVNC_PIXEL_FORMAT);
    this.buffered = [];
    this.bufferStart = 0;
    this.outstanding = undefined;
    this.keyFrameDue = true;
    const init = connection.serverInit;
    this.framebuffer = { width: init.width, height: init.height };
    this.stats.segments++;
    this.writer.resetCompression();
    this.append(RecordKind.Segment, encodeSegmentStart({ width: init.width, height: init.height, name: init.name }));
    const socket = connection.socket;
    socket.on('data', this.onData);
    socket.once('close', this.onClose);
    socket.on('error', (error: Error) => {
      this.log.warn({ err: error }, 'recorder connection failed');
    });
    socket.write(Buffer.concat([setPixelFormat(NOVNC_PIXEL_FORMAT), setEncodings(RECORDER_ENCODINGS)]));
    if (connection.rest.length > 0) this.onData(Buffer.from(connection.rest));
    this.request();
    socket.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    const scanner = this.scanner;
    if (scanner === undefined || this.stopped) return;
    this.stats.bytesReceived += chunk.length;
    let spans: S2CMessageSpan[];
    try {
      spans = scanner.scan(chunk);
    } catch (e) {
      // The VNC server sent something the recorder cannot frame: this segment is over. Reconnect.
      this.log.error({ err: e }, 'recorder cannot frame the VNC server\'s stream; starting a new segment');
      this.event({ kind: 'recorder', detail: 'gap', message: 'The recording skipped data it could not read and started a new segment.' });
      this.connection?.socket.destroy();
      return;
    }
    this.buffered.push(chunk);
    if (spans.length === 0) return;
    const bytes = this.buffered.length === 1 ? chunk : Buffer.concat(this.buffered);
    const end = spans[spans.length - 1]?.end ?? this.bufferStart;
    const t = this.elapsed();
    let runStart: number | undefined; // offset (in `bytes`) of a run of messages to store as one Rfb record
    const flushRun = (upTo: number): void => {
      if (runStart !== undefined && upTo > runStart) this.append(RecordKind.Rfb, bytes.subarray(runStart, upTo), t);
      runStart = undefined;
    };
    let updateCompleted = false;
    for (const span of spans) {
      const from = span.start - this.bufferStart;
      const to = span.end - this.bufferStart;
      if (span.type === S2C_SERVER_CUT_TEXT) {
        flushRun(from);
        this.stats.clipboardOmitted++;
        continue;
      }
      if (span.type === S2C_FRAMEBUFFER_UPDATE) {
        const size = (span as SizedSpan).framebufferSize;
        if (size !== undefined) this.framebuffer = { width: size.width, height: size.height };
        updateCompleted = true;
        this.stats.updates++;
        if (this.outstanding === 'key') {
          flushRun(from);
          this.append(RecordKind.KeyFrame, encodeKeyFramePayload(this.framebuffer, bytes.subarray(from, to)), t);
          this.stats.keyFrames++;
          this.outstanding = undefined;
          continue;
        }
        this.outstanding = undefined;
      }
      runStart ??= from;
    }
    flushRun(end - this.bufferStart);
    // Keep only the unfinished message: copied, since the socket's chunk is not ours to hold.
    const rest = bytes.subarray(end - this.bufferStart);
    this.buffered = rest.length === 0 ? [] : [Buffer.from(rest)];
    this.bufferStart = end;
    if (updateCompleted) this.request();
  };

  /** Sends the next update request, no sooner than minUpdateIntervalMs after the last one. */
  private request(): void {
    if (this.outstanding !== undefined || this.stopped) return;
    const wait = this.lastRequestAt + this.options.minUpdateIntervalMs - this.now();
    if (wait > 0) {
      this.outstanding = 'incremental'; // reserved: the timer sends it
      this.after(wait, () => {
        this.outstanding = undefined;
        this.request();
      });
      return;
    }
    const socket = this.connection?.socket;
    if (socket === undefined || socket.destroyed) return;
    const key = this.keyFrameDue;
    this.keyFrameDue = false;
    this.outstanding = key ? 'key' : 'incremental';
    this.lastRequestAt = this.now();
    socket.write(framebufferUpdateRequest(!key, 0, 0, this.framebuffer.width, this.framebuffer.height));
  }

  private readonly onClose = (): void => {
    this.connection = undefined;
    this.scanner = undefined;
    if (this.stopped) return;
    this.event({ kind: 'recorder', detail: 'gap', message: 'The connection to the desktop was lost; the recording resumes when it is back.' });
    this.scheduleReconnect();
  };

  private scheduleReconnect(): void {
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, 30_000);
    this.after(delay, () => {
      void this.open();
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
    const socket = this.connection?.socket;
    this.connection = undefined;
    socket?.removeListener('close', this.onClose);
    socket?.destroy();
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
