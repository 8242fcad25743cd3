// Appends records to a recording file. Records are queued in memory and written in batches
// (every flushIntervalMs, or sooner when a batch grows large), so a crash loses at most the last
// batch; fdatasync every syncIntervalMs bounds what a power cut loses. A failed write (full disk,
// a shared file system gone) stops the writer for good and reports the error once: the caller
// stops recording, the live session goes on.
import { open, type FileHandle } from 'node:fs/promises';
import { crc32, deflateRaw, constants as zlibConstants } from 'node:zlib';
import { promisify } from 'node:util';
import {
  encodeHeader, encodeJson, encodeRecord, FLAG_DEFLATED, RecordKind, storedPrefixLength, type RecordingEnd, type RecordingHeader,
} from './format.js';

const deflate = promisify(deflateRaw);

export interface RecordingWriterOptions {
  readonly flushIntervalMs: number;
  readonly syncIntervalMs: number;
  /** Queued bytes above which a batch is written at once. */
  readonly flushBytes: number;
  /** Queued bytes above which the disk is declared too slow and the recording fails (memory bound). */
  readonly maxQueuedBytes: number;
  /** Opens the new file; tests pass one that fails like a full disk (default: fs.open(path, 'wx', 0o640)). */
  readonly openFile?: ((path: string) => Promise<FileHandle>) | undefined;
}

export const DEFAULT_WRITER_OPTIONS: RecordingWriterOptions = {
  flushIntervalMs: 1000, syncIntervalMs: 10_000, flushBytes: 1024 * 1024, maxQueuedBytes: 64 * 1024 * 1024,
};

/** RFB payloads below this are stored as they are: deflate's overhead would eat the gain. */
const COMPRESS_MIN_BYTES = 256;
/** After this many stored-compressed bytes, decide whether deflate pays for this stream. */
const COMPRESS_PROBE_BYTES = 256 * 1024;

export class RecordingWriterError extends Error {
  override readonly name = 'RecordingWriterError';
  constructor(message: string, readonly code: string | undefined, options?: ErrorOptions) {
    super(message, options);
  }
}

export class RecordingWriter {
  /** Encoded records in order; a deflating one is a promise until zlib is done. */
  private queue: (Uint8Array | Promise<Uint8Array>)[] = [];
  /** Payload bytes queued (before deflate), and of the batch being written: the memory the writer holds. */
  private queuedBytes = 0;
  private inFlightBytes = 0;
  private written: number;
  private writing: Promise<void> = Promise.resolve();
  private failure: RecordingWriterError | undefined;
  private closed = false;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly syncTimer: NodeJS.Timeout;
  private readonly failureListeners: ((error: RecordingWriterError) => void)[] = [];
  /** Deflate statistics of the current stream: the VNC server may already compress (ZRLE, Tight), Raw/Hextile compress well. */
  private probeIn = 0;
  private probeOut = 0;
  private compressing = true;

  private constructor(
    private readonly file: FileHandle, headerBytes: number, readonly path: string, private readonly options: RecordingWriterOptions,
  ) {
    this.written = headerBytes;
    this.flushTimer = setInterval(() => {
      void this.flush();
    }, options.flushIntervalMs);
    this.syncTimer = setInterval(() => {
      this.sync();
    }, options.syncIntervalMs);
  }

  /** Creates the file (it must not exist) and writes the header durably. */
  static async create(
    path: string, header: RecordingHeader, options: RecordingWriterOptions = DEFAULT_WRITER_OPTIONS,
  ): Promise<RecordingWriter> {
    let file: FileHandle;
    try {
      file = await (options.openFile ?? ((p: string) => open(p, 'wx', 0o640)))(path);
    } catch (e) {
      throw writerError(`cannot create the recording ${path}`, e);
    }
    const bytes = encodeHeader(header);
    try {
      await file.write(bytes, 0, bytes.length, null);
      await file.datasync();
    } catch (e) {
      await file.close().catch(() => undefined);
      throw writerError(`cannot write the header of the recording ${path}`, e);
    }
    return new RecordingWriter(file, bytes.length, path, options);
  }

  /** Bytes in the file (what is still queued not counted). */
  get bytes(): number {
    return this.written;
  }

  get failed(): RecordingWriterError | undefined {
    return this.failure;
  }

  onFailure(listener: (error: RecordingWriterError) => void): void {
    this.failureListeners.push(listener);
  }

  /** A new RFB stream begins: judge anew whether deflate pays. */
  resetCompression(): void {
    this.probeIn = 0;
    this.probeOut = 0;
    this.compressing = true;
  }

  append(kind: RecordKind, t: number, payload: Uint8Array): void {
    if (this.closed || this.failure !== undefined) return;
    const rfb = kind === RecordKind.Rfb || kind === RecordKind.KeyFrame;
    if (rfb && this.compressing && payload.length >= COMPRESS_MIN_BYTES) {
      const prefix = storedPrefixLength(kind);
      const compressed = deflate(payload.subarray(prefix), { level: zlibConstants.Z_BEST_SPEED }).then((out) => {
        this.probeIn += payload.length;
        this.probeOut += out.length + prefix;
        if (this.probeIn >= COMPRESS_PROBE_BYTES && this.probeOut > this.probeIn * 0.85) this.compressing = false;
        if (out.length + prefix >= payload.length) return encodeRecord(kind, t, payload, crc32);
        const stored = new Uint8Array(prefix + out.length);
        stored.set(payload.subarray(0, prefix), 0);
        stored.set(out, prefix);
        return encodeRecord(kind, t, stored, crc32, FLAG_DEFLATED);
      }, () => encodeRecord(kind, t, payload, crc32)); // zlib failing is no reason to lose the frame
      this.enqueue(compressed, payload.length);
    } else {
      this.enqueue(encodeRecord(kind, t, payload, crc32), payload.length);
    }
  }

  appendEnd(t: number, end: RecordingEnd): void {
    this.append(RecordKind.End, t, encodeJson(end));
  }

  /** Writes what is queued; resolves when it is in the file (or the writer failed). */
  flush(): Promise<void> {
    if (this.queue.length === 0 || this.failure !== undefined) return this.writing;
    const batch = this.queue;
    const batchBytes = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    this.inFlightBytes += batchBytes;
    this.writing = this.writing.then(async () => {
      try {
        if (this.failure !== undefined) return;
        const parts = await Promise.all(batch.map(async part => part));
        const bytes = Buffer.concat(parts);
        await this.file.write(bytes, 0, bytes.length, null);
        this.written += bytes.length;
      } catch (e) {
        this.fail(writerError(`writing the recording ${this.path} failed`, e));
      } finally {
        this.inFlightBytes -= batchBytes;
      }
    });
    return this.writing;
  }

  /** Writes everything queued, syncs, closes the file. Resolves also after a failure (which was reported). */
  async close(): Promise<void> {
    if (this.closed) return this.writing;
    this.closed = true;
    clearInterval(this.flushTimer);
    clearInterval(this.syncTimer);
    await this.flush();
    if (this.failure === undefined) {
      try {
        await this.file.datasync();
      } catch (e) {
        this.fail(writerError(`syncing the recording ${this.path} failed`, e));
      }
    }
    await this.file.close().catch(() => undefined);
  }

  private enqueue(record: Uint8Array | Promise<Uint8Array>, payloadBytes: number): void {
    this.queue.push(record);
    this.queuedBytes += payloadBytes + 14;
    if (this.queuedBytes + this.inFlightBytes > this.options.maxQueuedBytes) {
      this.fail(new RecordingWriterError(
        `the recording ${this.path} fell ${this.queuedBytes + this.inFlightBytes} bytes behind: the disk or file system is too slow; recording stopped`, 'EQUEUEFULL',
      ));
      return;
    }
    if (this.queuedBytes >= this.options.flushBytes) void this.flush();
  }

  private sync(): void {
    if (this.failure !== undefined || this.closed) return;
    this.writing = this.writing.then(async () => {
      if (this.failure !== undefined || this.closed) return;
      try {
        await this.file.datasync();
      } catch (e) {
        this.fail(writerError(`syncing the recording ${this.path} failed`, e));
      }
    });
  }

  private fail(error: RecordingWriterError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.queue = [];
    clearInterval(this.flushTimer);
    clearInterval(this.syncTimer);
    for (const listener of this.failureListeners) listener(error);
  }
}

function writerError(what: string, e: unknown): RecordingWriterError {
  const code = (e as { code?: unknown } | undefined)?.code;
  const codeText = typeof code === 'string' ? code : undefined;
  const hint = codeText === 'ENOSPC' ? ' (the disk is full: free space or point recordings.directory elsewhere)'
    : codeText === 'EACCES' || codeText === 'EPERM' ? ' (the gateway may not write there: check the directory\'s owner and mode)'
      : '';
  return new RecordingWriterError(`${what}: ${(e as Error).message}${hint}`, codeText, { cause: e });
}
