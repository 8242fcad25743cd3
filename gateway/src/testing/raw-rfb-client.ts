// A minimal RFB 3.8 *client* over plain TCP or a Unix socket, for tests that talk to a real
// Xtigervnc (or to the gateway's upstream side) without going through the gateway: version,
// security None or VncAuth, ClientInit, ServerInit, then raw client messages.
//
// It is deliberately independent of gateway/src/rfb (its own DES answer, its own parsing), so a
// test using it checks the gateway's RFB code against a second implementation instead of
// against itself. Test-only: it never decodes framebuffer updates, keeps at most a bounded
// amount of server output, and must never be used by the gateway itself.
import { createCipheriv } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const VERSION_38 = 'RFB 003.008\n';
const SECURITY_NONE = 1;
const SECURITY_VNC_AUTH = 2;
/** Server output kept after ServerInit; beyond this the oldest bytes are dropped. */
const MAX_KEPT = 8 * 1024 * 1024;

/** The server refused us: zero security types, or a failed SecurityResult. */
export class RfbRefusedError extends Error {
  constructor(readonly stage: 'security-types' | 'security-result', readonly reason: string) {
    super(`RFB server refused the connection (${stage}): ${reason}`);
    this.name = 'RfbRefusedError';
  }
}

export interface RawServerInit {
  width: number;
  height: number;
  /** The 16 PIXEL_FORMAT bytes as sent. */
  pixelFormat: Buffer;
  name: string;
}

/**
 * VncAuth answer: DES-ECB of the 16-byte challenge, keyed with the password's first 8 bytes
 * (zero-padded) with every key byte bit-reversed (the RFB quirk). OpenSSL 3 has no plain
 * 'des-ecb' in its default provider; 3DES-EDE with K||K||K is single DES.
 */
export function vncAuthResponse(password: string, challenge: Buffer): Buffer {
  if (challenge.length !== 16) throw new RangeError(`VncAuth challenge must be 16 bytes, got ${challenge.length}`);
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    const b = key[i] ?? 0;
    let r = 0;
    for (let j = 0; j < 8; j++) if (b & (1 << j)) r |= 1 << (7 - j);
    key[i] = r;
  }
  const cipher = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(challenge), cipher.final()]);
}

/** KeyEvent (type 4): U8 4, U8 down, 2 pad, U32 keysym. */
export function keyEventBytes(keysym: number, down: boolean): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(4, 0);
  b.writeUInt8(down ? 1 : 0, 1);
  b.writeUInt32BE(keysym >>> 0, 4);
  return b;
}

/** PointerEvent (type 5): U8 5, U8 button-mask (bit 0 = button 1), U16 x, U16 y. */
export function pointerEventBytes(buttonMask: number, x: number, y: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt8(5, 0);
  b.writeUInt8(buttonMask & 0xff, 1);
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  return b;
}

/** QEMU Extended Key Event (255/0): U8 255, U8 0, U16 down, U32 keysym, U32 XT keycode. */
export function qemuKeyEventBytes(keysym: number, xtKeycode: number, down: boolean): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(255, 0);
  b.writeUInt8(0, 1);
  b.writeUInt16BE(down ? 1 : 0, 2);
  b.writeUInt32BE(keysym >>> 0, 4);
  b.writeUInt32BE(xtKeycode >>> 0, 8);
  return b;
}

/** SetEncodings (type 2): U8 2, pad, U16 n, S32[n]. */
export function setEncodingsBytes(encodings: readonly number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * encodings.length);
  b.writeUInt8(2, 0);
  b.writeUInt16BE(encodings.length, 2);
  encodings.forEach((e, i) => b.writeInt32BE(e, 4 + 4 * i));
  return b;
}

/** FramebufferUpdateRequest (type 3): U8 3, U8 incremental, U16 x, y, w, h. */
export function framebufferUpdateRequestBytes(incremental: boolean, x: number, y: number, w: number, h: number): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt8(3, 0);
  b.writeUInt8(incremental ? 1 : 0, 1);
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  b.writeUInt16BE(w, 6);
  b.writeUInt16BE(h, 8);
  return b;
}

export interface RawRfbConnectOptions {
  /** TCP host (default 127.0.0.1) and port, or a Unix socket path. */
  host?: string;
  port?: number;
  path?: string;
  /** VncAuth password; without it only security type None is accepted. */
  password?: string;
  /** ClientInit shared flag (default true: never kick other viewers). */
  shared?: boolean;
  /** Whole-handshake timeout (default 10 s). */
  timeoutMs?: number;
}

/** Buffers socket data and hands out exact byte counts, with a deadline. */
class Reader {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.length += chunk.length;
      // Bounded: a test that never reads must not grow memory without limit.
      while (this.length > MAX_KEPT && this.chunks.length > 1) {
        const dropped = this.chunks.shift();
        this.length -= dropped?.length ?? 0;
      }
      this.notify();
    });
    socket.on('end', () => {
      this.ended ??= new Error('RFB server closed the connection');
      this.notify();
    });
    socket.on('error', (err: Error) => {
      this.ended ??= err;
      this.notify();
    });
    socket.on('close', () => {
      this.ended ??= new Error('RFB connection closed');
      this.notify();
    });
  }

  get available(): number {
    return this.length;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private take(n: number): Buffer {
    const all = Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.length = all.length - n;
    return all.subarray(0, n);
  }

  async read(n: number, deadline: number): Promise<Buffer> {
    while (this.length < n) {
      if (this.ended) throw this.ended;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} bytes from the RFB server (have ${this.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.take(n);
  }
}

export class RawRfbClient {
  private constructor(
    readonly socket: Socket,
    private readonly reader: Reader,
    readonly serverInit: RawServerInit,
    /** The security type that was used (1 None, 2 VncAuth). */
    readonly securityType: number,
  ) {}

  /** Connects and completes the handshake; rejects with RfbRefusedError when the server says no. */
  static async connect(options: RawRfbConnectOptions): Promise<RawRfbClient> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    const socket = options.path !== undefined
      ? connect({ path: options.path })
      : connect({ host: options.host ?? '127.0.0.1', port: options.port ?? 5900 });
    socket.setNoDelay(true);
    const reader = new Reader(socket);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });

      const version = (await reader.read(12, deadline)).toString('latin1');
      const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(version);
      // Answer 3.8 only to a server that speaks at least 3.8 (a client must not answer higher).
      if (!m || Number(m[1]) * 1000 + Number(m[2]) < 3008) {
        throw new Error(`unsupported RFB server version ${JSON.stringify(version)} (need 3.8)`);
      }
      socket.write(VERSION_38);

      const count = (await reader.read(1, deadline)).readUInt8(0);
      if (count === 0) {
        const len = (await reader.read(4, deadline)).readUInt32BE(0);
        throw new RfbRefusedError('security-types', (await reader.read(len, deadline)).toString('utf8'));
      }
      const types = [...(await reader.read(count, deadline))];
      let chosen: number;
      if (options.password !== undefined && types.includes(SECURITY_VNC_AUTH)) chosen = SECURITY_VNC_AUTH;
      else if (types.includes(SECURITY_NONE)) chosen = SECURITY_NONE;
      else throw new Error(`no usable security type among [${types.join(', ')}] (password given: ${options.password !== undefined})`);
      socket.write(Buffer.from([chosen]));

      if (chosen === SECURITY_VNC_AUTH) {
        const challenge = await reader.read(16, deadline);
        socket.write(vncAuthResponse(options.password ?? '', challenge));
      }
      // 3.8 sends SecurityResult for None too.
      const result = (await reader.read(4, deadline)).readUInt32BE(0);
      if (result !== 0) {
        const len = (await reader.read(4, deadline)).readUInt32BE(0);
        throw new RfbRefusedError('security-result', (await reader.read(len, deadline)).toString('utf8'));
      }

      socket.write(Buffer.from([options.shared === false ? 0 : 1]));
      const head = await reader.read(24, deadline);
      const nameLength = head.readUInt32BE(20);
      const name = (await reader.read(nameLength, deadline)).toString('utf8');
      const init: RawServerInit = {
        width: head.readUInt16BE(0),
        height: head.readUInt16BE(2),
        pixelFormat: Buffer.from(head.subarray(4, 20)),
        name,
      };
      return new RawRfbClient(socket, reader, init, chosen);
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  /** Writes raw client-to-server bytes; resolves once they are handed to the kernel. */
  send(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }

  keyEvent(keysym: number, down: boolean): Promise<void> {
    return this.send(keyEventBytes(keysym, down));
  }

  /** Press and release a key (KeyEvent down, then up). */
  async tapKey(keysym: number): Promise<void> {
    await this.keyEvent(keysym, true);
    await this.keyEvent(keysym, false);
  }

  pointerEvent(buttonMask: number, x: number, y: number): Promise<void> {
    return this.send(pointerEventBytes(buttonMask, x, y));
  }

  /** Move to (x, y), press button (1-8), release it. */
  async click(x: number, y: number, button = 1): Promise<void> {
    const bit = 1 << (button - 1);
    await this.pointerEvent(0, x, y);
    await this.pointerEvent(bit, x, y);
    await this.pointerEvent(0, x, y);
  }

  qemuKeyEvent(keysym: number, xtKeycode: number, down: boolean): Promise<void> {
    return this.send(qemuKeyEventBytes(keysym, xtKeycode, down));
  }

  /** Bytes the server sent after ServerInit that nobody has read yet. */
  get pendingBytes(): number {
    return this.reader.available;
  }

  /** Reads exactly n server bytes (after ServerInit). */
  read(n: number, timeoutMs = 10_000): Promise<Buffer> {
    return this.reader.read(n, Date.now() + timeoutMs);
  }

  /** Closes the connection; resolves when the socket is closed. Safe to call twice. */
  close(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => {
        resolve();
      });
      this.socket.end();
      // Do not wait for a server that never closes its side.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}
