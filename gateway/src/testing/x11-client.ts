// Test-only X11 client for the kiosk desktop, over the core protocol (the kiosk packages have no
// xclip or xsel): it can own a selection with a text, as an application that copies does
// (answering TARGETS, UTF8_STRING, STRING and TEXT requests), read a selection's contents, as an
// application that pastes does, and paint pictures on the screen (noise, stripes) so the VNC server
// has something to encode in every way it knows. Connects with the kiosk's MIT cookie. Never
// import it from the gateway.
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';

const ATOM = 4; // predefined atoms
const STRING = 31;
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** The MIT-MAGIC-COOKIE-1 in an Xauthority file (entries: family, address, number, name, data). */
export function mitCookie(xauth: Buffer): Buffer {
  let o = 0;
  const field = (): Buffer => {
    const length = xauth.readUInt16BE(o);
    const value = xauth.subarray(o + 2, o + 2 + length);
    o += 2 + length;
    return value;
  };
  while (o + 2 <= xauth.length) {
    o += 2; // family
    field(); // address
    field(); // display number
    const name = field().toString('latin1');
    const data = field();
    if (name === 'MIT-MAGIC-COOKIE-1') return data;
  }
  throw new Error('no MIT-MAGIC-COOKIE-1 in the Xauthority file');
}

/** What paint() draws: random pixels (photo-like), a few colours in bands (palette-like), or one colour (0xRRGGBB). */
export type Picture = 'noise' | 'stripes' | number;

export interface X11Client {
  /** Takes `selection` with `text`, and answers requests for it until another client takes it or close(). */
  own(selection: string, text: string): Promise<void>;
  /** The selection's text as UTF8_STRING, or undefined when nobody owns it or the owner refuses. */
  read(selection: string, timeoutMs?: number): Promise<string | undefined>;
  /** Requests for our text answered so far (Xvnc asks when it forwards the clipboard to viewers). */
  readonly served: number;
  /** Shows `picture` in an unmanaged window at x, y (24-bit screens); resolves once the X server has drawn it. */
  paint(x: number, y: number, width: number, height: number, picture: Picture, seed?: number): Promise<void>;
  close(): void;
}

interface Pending {
  resolve: (reply: Buffer) => void;
  reject: (error: Error) => void;
}

/** Opens a connection to `display` (':N', a local X server) with the cookie in `xauthority`. */
export async function openX11Client(display: string, xauthority: string, timeoutMs = 5000): Promise<X11Client> {
  const number = /^:(\d+)$/.exec(display)?.[1];
  if (number === undefined) throw new Error(`display ${display}: want :N`);
  const cookie = mitCookie(await readFile(xauthority));
  const socket: Socket = connect({ path: `/tmp/.X11-unix/X${number}` });
  let buffered = Buffer.alloc(0);
  let sequence = 0;
  const pending = new Map<number, Pending>();
  const eventWaiters: ((event: Buffer) => boolean)[] = [];
  let failure: Error | undefined;
  let owned: { selection: number; text: Buffer } | undefined;
  let served = 0;

  const setup = await new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`X server ${display} did not answer the connection setup within ${timeoutMs} ms`));
    }, timeoutMs);
    const authName = Buffer.from('MIT-MAGIC-COOKIE-1', 'latin1');
    const hello = Buffer.alloc(12 + authName.length + pad4(authName.length) + cookie.length + pad4(cookie.length));
    hello.write('l', 0, 'latin1'); // little-endian requests and replies
    hello.writeUInt16LE(11, 2);
    hello.writeUInt16LE(authName.length, 6);
    hello.writeUInt16LE(cookie.length, 8);
    authName.copy(hello, 12);
    cookie.copy(hello, 12 + authName.length + pad4(authName.length));
    socket.once('error', reject);
    socket.on('connect', () => socket.write(hello));
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 8) return;
      const total = 8 + 4 * buffered.readUInt16LE(6);
      if (buffered.length < total) return;
      clearTimeout(timer);
      socket.off('data', onData);
      const reply = buffered.subarray(0, total);
      buffered = buffered.subarray(total);
      if (reply[0] !== 1) reject(new Error(`X connection refused: ${reply.subarray(8, 8 + (reply[1] ?? 0)).toString('latin1')}`));
      else resolve(reply);
    };
    socket.on('data', onData);
  });
  const idBase = setup.readUInt32LE(12);
  const vendorLength = setup.readUInt16LE(24);
  const formats = setup.readUInt8(29);
  const screen = 40 + vendorLength + pad4(vendorLength) + 8 * formats;
  const root = setup.readUInt32LE(screen);
  const rootDepth = setup.readUInt8(screen + 38);
  const maxRequestBytes = setup.readUInt16LE(26) * 4;
  const window = idBase | 1;
  let nextId = 2;

  /** Sends a request without a reply. */
  const send = (request: Buffer): void => {
    if (failure !== undefined) throw failure;
    sequence = (sequence + 1) & 0xffff;
    socket.write(request);
  };
  /** Sends a request and resolves with its reply. */
  const ask = (request: Buffer): Promise<Buffer> => {
    send(request);
    const seq = sequence;
    return new Promise((resolve, reject) => {
      pending.set(seq, { resolve, reject });
    });
  };

  const onEvent = (event: Buffer): void => {
    const code = (event[0] ?? 0) & 0x7f;
    if (code === 29 && owned !== undefined && event.readUInt32LE(12) === owned.selection) owned = undefined; // SelectionClear
    if (code === 30) answer(event); // SelectionRequest
    for (let i = eventWaiters.length - 1; i >= 0; i--) if (eventWaiters[i]?.(event) === true) eventWaiters.splice(i, 1);
  };

  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 32) {
      const kind = buffered[0];
      const length = kind === 1 ? 32 + 4 * buffered.readUInt32LE(4) : 32;
      if (buffered.length < length) return;
      const packet = Buffer.from(buffered.subarray(0, length));
      buffered = buffered.subarray(length);
      if (kind === 0) {
        const error = new Error(`X error ${packet[1] ?? '?'} for request ${packet.readUInt16LE(2)} (major opcode ${packet[10] ?? '?'})`);
        const waiter = pending.get(packet.readUInt16LE(2));
        pending.delete(packet.readUInt16LE(2));
        if (waiter !== undefined) waiter.reject(error);
        else failure = error;
      } else if (kind === 1) {
        const waiter = pending.get(packet.readUInt16LE(2));
        pending.delete(packet.readUInt16LE(2));
        waiter?.resolve(packet);
      } else {
        onEvent(packet);
      }
    }
  });

  const atoms = new Map<string, number>();
  const atom = async (name: string): Promise<number> => {
    const known = atoms.get(name);
    if (known !== undefined) return known;
    const text = Buffer.from(name, 'latin1');
    const request = Buffer.alloc(8 + text.length + pad4(text.length));
    request.writeUInt8(16, 0); // InternAtom, only-if-exists false
    request.writeUInt16LE(request.length / 4, 2);
    request.writeUInt16LE(text.length, 4);
    text.copy(request, 8);
    const reply = await ask(request);
    const value = reply.readUInt32LE(8);
    atoms.set(name, value);
    return value;
  };
  const [TARGETS, UTF8_STRING, TEXT] = [await atom('TARGETS'), await atom('UTF8_STRING'), await atom('TEXT')];

  // CreateWindow: an InputOnly 1x1 window, never mapped, to own selections and receive their contents.
  const create = Buffer.alloc(32);
  create.writeUInt8(1, 0);
  create.writeUInt16LE(8, 2);
  create.writeUInt32LE(window, 4);
  create.writeUInt32LE(root, 8);
  create.writeUInt16LE(1, 16);
  create.writeUInt16LE(1, 18);
  create.writeUInt16LE(2, 22); // InputOnly
  send(create);

  function changeProperty(target: number, property: number, type: number, format: 8 | 32, data: Buffer): void {
    const request = Buffer.alloc(24 + data.length + pad4(data.length));
    request.writeUInt8(18, 0); // ChangeProperty, mode Replace
    request.writeUInt16LE(request.length / 4, 2);
    request.writeUInt32LE(target, 4);
    request.writeUInt32LE(property, 8);
    request.writeUInt32LE(type, 12);
    request.writeUInt8(format, 16);
    request.writeUInt32LE(data.length / (format / 8), 20);
    data.copy(request, 24);
    send(request);
  }

  /** Answers a SelectionRequest for our text (ICCCM 2.2: set the property, then SelectionNotify). */
  function answer(event: Buffer): void {
    const time = event.readUInt32LE(4);
    const requestor = event.readUInt32LE(12);
    const selection = event.readUInt32LE(16);
    const target = event.readUInt32LE(20);
    let property = event.readUInt32LE(24);
    if (property === 0) property = target; // obsolete requestors
    if (owned !== undefined && selection === owned.selection && target === TARGETS) {
      const list = Buffer.alloc(16);
      [TARGETS, UTF8_STRING, STRING, TEXT].forEach((a, i) => list.writeUInt32LE(a, 4 * i));
      changeProperty(requestor, property, ATOM, 32, list);
    } else if (owned !== undefined && selection === owned.selection && (target === UTF8_STRING || target === STRING || target === TEXT)) {
      changeProperty(requestor, property, target === TEXT ? UTF8_STRING : target, 8, owned.text);
      served++;
    } else {
      property = 0; // refused
    }
    const notify = Buffer.alloc(44);
    notify.writeUInt8(25, 0); // SendEvent, propagate false
    notify.writeUInt16LE(11, 2);
    notify.writeUInt32LE(requestor, 4);
    notify.writeUInt8(31, 12); // SelectionNotify
    notify.writeUInt32LE(time, 16);
    notify.writeUInt32LE(requestor, 20);
    notify.writeUInt32LE(selection, 24);
    notify.writeUInt32LE(target, 28);
    notify.writeUInt32LE(property, 32);
    send(notify);
  }

  return {
    get served() {
      return served;
    },
    async paint(x: number, y: number, width: number, height: number, picture: Picture, seed = 1) {
      if (rootDepth !== 24) throw new Error(`paint needs a 24-bit screen, this one is ${rootDepth}`);
      const canvas = idBase | nextId++;
      const gc = idBase | nextId++;
      const create = Buffer.alloc(40);
      create.writeUInt8(1, 0); // CreateWindow, depth CopyFromParent
      create.writeUInt16LE(10, 2);
      create.writeUInt32LE(canvas, 4);
      create.writeUInt32LE(root, 8);
      create.writeInt16LE(x, 12);
      create.writeInt16LE(y, 14);
      create.writeUInt16LE(width, 16);
      create.writeUInt16LE(height, 18);
      create.writeUInt16LE(1, 22); // InputOutput
      create.writeUInt32LE(0x200 | 0x800, 28); // override-redirect (no window manager), event-mask
      create.writeUInt32LE(1, 32);
      create.writeUInt32LE(0x8000, 36); // Exposure
      send(create);
      const map = Buffer.alloc(8);
      map.writeUInt8(8, 0); // MapWindow
      map.writeUInt16LE(2, 2);
      map.writeUInt32LE(canvas, 4);
      send(map);
      const makeGc = Buffer.alloc(16);
      makeGc.writeUInt8(55, 0); // CreateGC
      makeGc.writeUInt16LE(4, 2);
      makeGc.writeUInt32LE(gc, 4);
      makeGc.writeUInt32LE(canvas, 8);
      send(makeGc);
      // PutImage, ZPixmap, 32 bits per pixel for depth 24; in bands of rows that fit one request.
      const rows = Math.max(1, Math.floor((maxRequestBytes - 24) / (4 * width)));
      let state = (seed * 2654435761) >>> 0;
      for (let row = 0; row < height; row += rows) {
        const count = Math.min(rows, height - row);
        const request = Buffer.alloc(24 + 4 * width * count);
        request.writeUInt8(72, 0);
        request.writeUInt8(2, 1);
        request.writeUInt16LE(request.length / 4, 2);
        request.writeUInt32LE(canvas, 4);
        request.writeUInt32LE(gc, 8);
        request.writeUInt16LE(width, 12);
        request.writeUInt16LE(count, 14);
        request.writeInt16LE(0, 16);
        request.writeInt16LE(row, 18);
        request.writeUInt8(24, 21);
        for (let i = 0; i < width * count; i++) {
          let pixel: number;
          if (typeof picture === 'number') {
            pixel = picture;
          } else if (picture === 'noise') {
            state = (state * 1103515245 + 12345) >>> 0;
            pixel = state >>> 8;
          } else {
            pixel = [0xc0392b, 0x27ae60, 0x2980b9, 0xf1c40f][Math.floor((i % width) / 7 + (row + Math.floor(i / width)) / 5) % 4] ?? 0;
          }
          request.writeUInt32LE(pixel, 24 + 4 * i);
        }
        send(request);
      }
      const sync = Buffer.alloc(8);
      sync.writeUInt8(43, 0); // GetInputFocus: a round trip, so everything above has been done
      sync.writeUInt16LE(1, 2);
      await ask(sync.subarray(0, 4));
    },
    async own(selection: string, text: string) {
      const selectionAtom = await atom(selection);
      owned = { selection: selectionAtom, text: Buffer.from(text, 'utf8') };
      const request = Buffer.alloc(16);
      request.writeUInt8(22, 0); // SetSelectionOwner, time CurrentTime
      request.writeUInt16LE(4, 2);
      request.writeUInt32LE(window, 4);
      request.writeUInt32LE(selectionAtom, 8);
      send(request);
      const check = Buffer.alloc(8);
      check.writeUInt8(23, 0); // GetSelectionOwner: also a round trip, so the ownership is in effect
      check.writeUInt16LE(2, 2);
      check.writeUInt32LE(selectionAtom, 4);
      const reply = await ask(check);
      if (reply.readUInt32LE(8) !== window) throw new Error(`could not take ${selection}`);
    },
    async read(selection: string, readTimeoutMs = 3000) {
      const selectionAtom = await atom(selection);
      const property = await atom('BEAMGATE_TEST_PASTE');
      const notified = new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => {
          resolve(undefined);
        }, readTimeoutMs);
        eventWaiters.push((event) => {
          if (((event[0] ?? 0) & 0x7f) !== 31 || event.readUInt32LE(8) !== window) return false;
          clearTimeout(timer);
          resolve(event);
          return true;
        });
      });
      const convert = Buffer.alloc(24);
      convert.writeUInt8(24, 0); // ConvertSelection, time CurrentTime
      convert.writeUInt16LE(6, 2);
      convert.writeUInt32LE(window, 4);
      convert.writeUInt32LE(selectionAtom, 8);
      convert.writeUInt32LE(UTF8_STRING, 12);
      convert.writeUInt32LE(property, 16);
      send(convert);
      const event = await notified;
      if (event === undefined) throw new Error(`no answer for ${selection} within ${readTimeoutMs} ms`);
      if (event.readUInt32LE(20) === 0) return undefined;
      const get = Buffer.alloc(24);
      get.writeUInt8(20, 0); // GetProperty, delete
      get.writeUInt8(1, 1);
      get.writeUInt16LE(6, 2);
      get.writeUInt32LE(window, 4);
      get.writeUInt32LE(property, 8);
      get.writeUInt32LE(0, 12); // AnyPropertyType
      get.writeUInt32LE(0, 16);
      get.writeUInt32LE(1 << 20, 20);
      const reply = await ask(get);
      const length = reply.readUInt32LE(16) * ((reply[1] ?? 8) / 8);
      return reply.subarray(32, 32 + length).toString('utf8');
    },
    close() {
      socket.destroy();
      for (const p of pending.values()) p.reject(new Error('X connection closed'));
      pending.clear();
    },
  };
}
