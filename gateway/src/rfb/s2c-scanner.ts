// Incremental scanner of the server-to-client RFB stream (after ServerInit): finds where each
// message starts and ends without buffering or decoding rectangle payloads. It keeps only the
// few header bytes it needs across chunks (at most 16) and skips payload bytes by count, so its
// memory is constant whatever the server sends. Used where the gateway must act on whole server
// messages (the desktop->browser clipboard rule, the session recorder).
//
// Framing needs every rectangle's encoding: FramebufferUpdate has no overall length. The scanner
// knows the encodings the gateway lets the VNC server use (encodings.ts keeps SetEncodings to
// these) and fails closed on anything else: an unknown message type or encoding, or a header
// that cannot be right, throws a coded GatewayError, because a relay that lost the message
// boundaries could pass a clipboard message as pixels. Layouts: rfbproto (rfbproto.rst,
// "Server to Client Messages", "Encodings", "Pseudo-encodings"), cross-checked with noVNC 1.7's
// decoders, which are what the browser runs.
// Pure: no sockets, timers or logging.
import { CloseCode, GatewayError } from './errors.js';
import { pixelFormatProblem, type PixelFormat } from './pixel-format.js';

/** One whole server-to-client message: its type and where it lies in the stream. */
export interface S2CMessageSpan {
  /** RFB S2C message type (0 FramebufferUpdate, 1, 2, 3 ServerCutText, 150, 248, 250). */
  readonly type: number;
  /** Absolute stream offset of the message's first byte (offset 0 = first byte after ServerInit). */
  readonly start: number;
  /** Absolute offset just past its last byte. */
  readonly end: number;
}

export interface S2CScannerLimits {
  /**
   * Largest ServerCutText payload (|length|) accepted; a longer one throws. Not a memory bound (the
   * scanner skips the text by count) but a sanity check: a length beyond it means the stream is not
   * what the scanner thinks it is.
   */
  readonly maxServerCutText: number;
}

export const DEFAULT_S2C_SCANNER_LIMITS: S2CScannerLimits = { maxServerCutText: 8 * 1024 * 1024 };

/** Server-to-client message types. */
export const S2C = {
  FramebufferUpdate: 0,
  SetColourMapEntries: 1,
  Bell: 2,
  ServerCutText: 3,
  EndOfContinuousUpdates: 150,
  ServerFence: 248,
  Xvp: 250,
} as const;

/** Encodings and pseudo-encodings whose rectangles the scanner frames (rfbproto numbers, s32). */
export const FRAMED_ENCODING = {
  Raw: 0,
  CopyRect: 1,
  RRE: 2,
  Hextile: 5,
  Zlib: 6,
  Tight: 7,
  ZRLE: 16,
  TightPNG: -260,
  DesktopSize: -223,
  LastRect: -224,
  Cursor: -239,
  XCursor: -240,
  QemuExtendedKeyEvent: -258,
  QemuLedState: -261,
  DesktopName: -307,
  ExtendedDesktopSize: -308,
  VMwareCursor: 0x574d5664,
  VMwareLedState: 0x574d5668,
} as const;

const MAX_FENCE_PAYLOAD = 64;
const HEADER_CAPACITY = 16;

// What to do when the current step (collect header bytes, or skip payload bytes) is complete.
const enum Step {
  MessageType,
  FbuHeader,
  ColourMapHeader,
  CutTextHeader,
  FenceHeader,
  MessageDone,
  RectHeader,
  RectDone,
  RreHeader,
  Length32, // u32 length (Zlib, ZRLE, DesktopName), then that many bytes
  ExtendedDesktopSizeHeader,
  VMwareCursorHeader,
  HextileSubencoding,
  HextileSubrectCount,
  HextileTileDone,
  TightControl,
  TightFilter,
  TightPaletteSize,
  TightPaletteDone,
  TightCompactLength,
}

const UNFRAMEABLE_USER_MESSAGE = 'The beamline desktop sent data the gateway cannot check, so the connection was closed.';

/** The error the scanner throws: the server stream cannot be framed (fail closed). */
export function unframeable(message: string): GatewayError {
  return new GatewayError('GW_ERR_RFB_UNFRAMEABLE_SERVER_MESSAGE', message, UNFRAMEABLE_USER_MESSAGE, CloseCode.upstreamFailed);
}

/** Sizes a pixel format gives the encodings: PIXEL (bytes per pixel) and Tight's TPIXEL. */
interface PixelSizes {
  readonly pixel: number;
  readonly tightPixel: number;
}

/**
 * PIXEL and TPIXEL sizes of a pixel format. Throws for a format the scanner cannot size: bits per
 * pixel other than 8/16/32, or a 32-bit 8-8-8 true-colour format with channels not on byte
 * boundaries, where rfbproto ("exactly 8 bits wide": 3-byte TPIXEL) and TigerVNC (is888 also
 * wants byte-aligned shifts: 4 bytes) disagree about TPIXEL, so the boundaries would be a guess.
 */
export function pixelSizes(pf: PixelFormat): PixelSizes {
  const problem = pixelFormatProblem(pf);
  if (problem !== undefined) throw unframeable(`pixel format: ${problem}`);
  const pixel = pf.bitsPerPixel / 8;
  const rgb888 = pf.trueColour && pf.bitsPerPixel === 32 && pf.depth === 24
    && pf.redMax === 255 && pf.greenMax === 255 && pf.blueMax === 255;
  if (rgb888 && ((pf.redShift | pf.greenShift | pf.blueShift) & 7) !== 0) {
    throw unframeable(`pixel format: 8-bit channels at shifts ${pf.redShift}/${pf.greenShift}/${pf.blueShift} (not byte-aligned) make Tight's TPIXEL size ambiguous`);
  }
  return { pixel, tightPixel: rgb888 ? 3 : pixel };
}

export class S2CScanner {
  private readonly maxServerCutText: number;
  /** Sizes for FramebufferUpdates whose header is scanned from now on. */
  private nextSizes: PixelSizes;
  /** Sizes of the FramebufferUpdate in progress. */
  private sizes: PixelSizes;
  private failure: GatewayError | undefined;

  private abs = 0; // absolute offset of the next byte to scan
  private step: Step = Step.MessageType;
  private remaining = 1; // bytes left in the current collect or skip
  private collecting = true;
  private readonly header = new Uint8Array(HEADER_CAPACITY);
  private headerLength = 0;

  private message: { readonly type: number; readonly start: number } | undefined;
  private spans: S2CMessageSpan[] = [];

  // FramebufferUpdate and its rectangle in progress.
  private rects = 0;
  private rectWidth = 0;
  private rectHeight = 0;
  private encoding = 0;
  // Hextile: tiles of the rectangle, the current one, its subencoding.
  private tilesAcross = 0;
  private tileCount = 0;
  private tile = 0;
  private subencoding = 0;
  // Tight: palette size, compact length being read.
  private paletteSize = 0;
  private compactLength = 0;
  private compactShift = 0;

  constructor(pixelFormat: PixelFormat, limits: S2CScannerLimits = DEFAULT_S2C_SCANNER_LIMITS) {
    this.maxServerCutText = limits.maxServerCutText;
    this.nextSizes = pixelSizes(pixelFormat);
    this.sizes = this.nextSizes;
  }

  /**
   * The client's SetPixelFormat: applies to every FramebufferUpdate whose header is scanned after
   * this call (the one in progress keeps its format). Throws for a format pixelSizes refuses.
   */
  setPixelFormat(pixelFormat: PixelFormat): void {
    this.nextSizes = pixelSizes(pixelFormat);
  }

  /** Total bytes scanned so far. */
  get offset(): number {
    return this.abs;
  }

  /** Header bytes kept across chunks right now: the scanner's only buffer (at most 16 bytes). */
  get heldBytes(): number {
    return this.collecting ? this.headerLength : 0;
  }

  /** The message in progress (its type and start) or undefined between messages. */
  get current(): { readonly type: number; readonly start: number } | undefined {
    return this.message;
  }

  /**
   * Scans a chunk; returns the messages it completed, in order. Throws GatewayError
   * (GW_ERR_RFB_UNFRAMEABLE_SERVER_MESSAGE) on an unknown message type, an unknown or unframeable
   * encoding, or a malformed header; after that every call throws the same error.
   */
  scan(chunk: Uint8Array): S2CMessageSpan[] {
    if (this.failure !== undefined) throw this.failure;
    const spans: S2CMessageSpan[] = [];
    this.spans = spans;
    const n = chunk.length;
    let pos = 0;
    try {
      for (;;) {
        if (this.remaining > 0) {
          const take = Math.min(this.remaining, n - pos);
          if (take === 0) break;
          if (this.collecting) {
            const header = this.header;
            let h = this.headerLength;
            for (let i = pos, end = pos + take; i < end; i++) header[h++] = chunk[i] ?? 0;
            this.headerLength = h;
          }
          pos += take;
          this.abs += take;
          this.remaining -= take;
          if (this.remaining > 0) break;
        }
        this.advance();
      }
    } catch (e) {
      this.failure = e instanceof GatewayError ? e : unframeable(`scanner failure: ${String(e)}`);
      throw this.failure;
    }
    return spans;
  }

  // ---- steps

  private collect(bytes: number, then: Step): void {
    this.collecting = true;
    this.headerLength = 0;
    this.remaining = bytes;
    this.step = then;
  }

  private skip(bytes: number, then: Step): void {
    this.collecting = false;
    this.remaining = bytes;
    this.step = then;
  }

  private u16(i: number): number {
    return ((this.header[i] ?? 0) << 8) | (this.header[i + 1] ?? 0);
  }

  private u32(i: number): number {
    return ((this.u16(i) << 16) | this.u16(i + 2)) >>> 0;
  }

  private fail(what: string): never {
    const at = this.message === undefined ? `offset ${this.abs}` : `message type ${this.message.type} at offset ${this.message.start}`;
    throw unframeable(`server-to-client stream: ${what} (${at})`);
  }

  /** Runs when the current step's bytes are all there; sets the next step. */
  private advance(): void {
    switch (this.step) {
      case Step.MessageType:
        this.messageType(this.header[0] ?? 0);
        return;
      case Step.MessageDone:
        this.finishMessage();
        return;
      case Step.FbuHeader: {
        this.sizes = this.nextSizes;
        this.rects = this.u16(1);
        this.nextRect();
        return;
      }
      case Step.ColourMapHeader:
        this.skip(6 * this.u16(3), Step.MessageDone);
        return;
      case Step.CutTextHeader: {
        const length = Math.abs(this.u32(3) | 0); // s32: negative = Extended Clipboard
        if (length > this.maxServerCutText) this.fail(`ServerCutText of ${length} bytes, limit ${this.maxServerCutText}`);
        this.skip(length, Step.MessageDone);
        return;
      }
      case Step.FenceHeader: {
        const length = this.header[7] ?? 0;
        if (length > MAX_FENCE_PAYLOAD) this.fail(`ServerFence payload of ${length} bytes, limit ${MAX_FENCE_PAYLOAD}`);
        this.skip(length, Step.MessageDone);
        return;
      }
      case Step.RectHeader:
        this.rectHeader();
        return;
      case Step.RectDone:
        this.rects--;
        this.nextRect();
        return;
      case Step.RreHeader:
        this.skip(this.sizes.pixel + this.u32(0) * (this.sizes.pixel + 8), Step.RectDone);
        return;
      case Step.Length32:
        this.skip(this.u32(0), Step.RectDone);
        return;
      case Step.ExtendedDesktopSizeHeader:
        this.skip(16 * (this.header[0] ?? 0), Step.RectDone);
        return;
      case Step.VMwareCursorHeader: {
        const area = this.rectWidth * this.rectHeight;
        const type = this.header[0] ?? 0;
        if (type === 0) this.skip(2 * area * this.sizes.pixel, Step.RectDone); // AND and XOR masks in the client's PIXEL
        else if (type === 1) this.skip(4 * area, Step.RectDone); // RGBA
        else this.fail(`VMware cursor type ${type}`);
        return;
      }
      case Step.HextileSubencoding:
        this.hextileTile(this.header[0] ?? 0);
        return;
      case Step.HextileSubrectCount: {
        const count = this.header[this.headerLength - 1] ?? 0;
        this.skip(count * ((this.subencoding & 16) !== 0 ? this.sizes.pixel + 2 : 2), Step.HextileTileDone);
        return;
      }
      case Step.HextileTileDone:
        if (++this.tile === this.tileCount) this.skip(0, Step.RectDone);
        else this.collect(1, Step.HextileSubencoding);
        return;
      case Step.TightControl:
        this.tight(this.header[0] ?? 0);
        return;
      case Step.TightFilter:
        this.tightFilter(this.header[0] ?? 0);
        return;
      case Step.TightPaletteSize: {
        this.paletteSize = (this.header[0] ?? 0) + 1;
        this.skip(this.paletteSize * this.sizes.tightPixel, Step.TightPaletteDone);
        return;
      }
      case Step.TightPaletteDone: {
        const bitsPerIndex = this.paletteSize <= 2 ? 1 : 8;
        this.tightData(Math.floor((this.rectWidth * bitsPerIndex + 7) / 8) * this.rectHeight);
        return;
      }
      case Step.TightCompactLength: {
        // 1-3 bytes, 7 bits each (the third 8); rfbproto "JpegCompression".
        const byte = this.header[0] ?? 0;
        if (this.compactShift < 14) {
          this.compactLength |= (byte & 0x7f) << this.compactShift;
          if ((byte & 0x80) !== 0) {
            this.compactShift += 7;
            this.collect(1, Step.TightCompactLength);
            return;
          }
        } else {
          this.compactLength |= byte << 14;
        }
        this.skip(this.compactLength, Step.RectDone);
        return;
      }
    }
  }

  private messageType(type: number): void {
    this.message = { type, start: this.abs - 1 };
    switch (type) {
      case S2C.FramebufferUpdate:
        this.collect(3, Step.FbuHeader); // | pad | n-rects u16 |
        return;
      case S2C.SetColourMapEntries:
        this.collect(5, Step.ColourMapHeader); // | pad | first-colour u16 | n u16 |, then 6 bytes per colour
        return;
      case S2C.ServerCutText:
        this.collect(7, Step.CutTextHeader); // | pad(3) | length s32 |
        return;
      case S2C.ServerFence:
        this.collect(8, Step.FenceHeader); // | pad(3) | flags u32 | length u8 |
        return;
      case S2C.Xvp:
        this.skip(3, Step.MessageDone); // | pad | version u8 | code u8 |
        return;
      case S2C.Bell:
      case S2C.EndOfContinuousUpdates:
        this.finishMessage();
        return;
      default:
        this.fail(`unknown message type ${type}`);
    }
  }

  private finishMessage(): void {
    const message = this.message;
    if (message !== undefined) this.spans.push({ type: message.type, start: message.start, end: this.abs });
    this.message = undefined;
    this.collect(1, Step.MessageType);
  }

  private nextRect(): void {
    if (this.rects === 0) this.finishMessage();
    else this.collect(12, Step.RectHeader);
  }

  private rectHeader(): void {
    const width = this.u16(4);
    const height = this.u16(6);
    const encoding = this.u32(8) | 0;
    this.rectWidth = width;
    this.rectHeight = height;
    this.encoding = encoding;
    const pixel = this.sizes.pixel;
    const maskRow = Math.ceil(width / 8);
    switch (encoding) {
      case FRAMED_ENCODING.Raw:
        this.skip(width * height * pixel, Step.RectDone);
        return;
      case FRAMED_ENCODING.CopyRect:
        this.skip(4, Step.RectDone); // src-x u16, src-y u16
        return;
      case FRAMED_ENCODING.RRE:
        this.collect(4, Step.RreHeader); // n-subrects u32, then background PIXEL and n × (PIXEL + 8)
        return;
      case FRAMED_ENCODING.Hextile:
        this.tilesAcross = Math.ceil(width / 16);
        this.tileCount = this.tilesAcross * Math.ceil(height / 16);
        this.tile = 0;
        if (this.tileCount === 0) this.skip(0, Step.RectDone);
        else this.collect(1, Step.HextileSubencoding);
        return;
      case FRAMED_ENCODING.Zlib:
        // rfbproto always sends the length; noVNC 1.7 reads nothing for an empty rectangle. Which one
        // the server meant cannot be known, so such a rectangle is refused rather than guessed.
        if (width === 0 || height === 0) this.fail('empty Zlib rectangle (its framing is ambiguous)');
        this.collect(4, Step.Length32);
        return;
      case FRAMED_ENCODING.ZRLE:
        this.collect(4, Step.Length32);
        return;
      case FRAMED_ENCODING.Tight:
      case FRAMED_ENCODING.TightPNG:
        this.collect(1, Step.TightControl);
        return;
      case FRAMED_ENCODING.LastRect:
        // The client "stops parsing when it reaches a LastRect" (rfbproto; noVNC ends the update
        // there too), whatever number-of-rectangles said; servers announce 0xFFFF for it.
        this.finishMessage();
        return;
      case FRAMED_ENCODING.DesktopSize:
      case FRAMED_ENCODING.QemuExtendedKeyEvent:
        this.skip(0, Step.RectDone);
        return;
      case FRAMED_ENCODING.ExtendedDesktopSize:
        this.collect(4, Step.ExtendedDesktopSizeHeader); // n-screens u8, pad(3), then 16 bytes per screen
        return;
      case FRAMED_ENCODING.DesktopName:
        this.collect(4, Step.Length32);
        return;
      case FRAMED_ENCODING.Cursor:
        this.skip(width * height * pixel + maskRow * height, Step.RectDone);
        return;
      case FRAMED_ENCODING.XCursor:
        this.skip(width * height > 0 ? 6 + 2 * maskRow * height : 0, Step.RectDone);
        return;
      case FRAMED_ENCODING.VMwareCursor:
        this.collect(2, Step.VMwareCursorHeader); // cursor-type u8, pad
        return;
      case FRAMED_ENCODING.QemuLedState:
        this.skip(1, Step.RectDone);
        return;
      case FRAMED_ENCODING.VMwareLedState:
        this.skip(4, Step.RectDone);
        return;
      default:
        this.fail(`rectangle with encoding ${encoding}, which the gateway did not negotiate`);
    }
  }

  private hextileTile(subencoding: number): void {
    // Bits: 1 Raw, 2 BackgroundSpecified, 4 ForegroundSpecified, 8 AnySubrects, 16 SubrectsColoured.
    // Higher bits belong to zlibhex, which is never negotiated.
    if (subencoding > 31) this.fail(`Hextile subencoding ${subencoding}`);
    this.subencoding = subencoding;
    const pixel = this.sizes.pixel;
    if ((subencoding & 1) !== 0) {
      const column = this.tile % this.tilesAcross;
      const row = (this.tile - column) / this.tilesAcross;
      const tileWidth = Math.min(16, this.rectWidth - column * 16);
      const tileHeight = Math.min(16, this.rectHeight - row * 16);
      this.skip(tileWidth * tileHeight * pixel, Step.HextileTileDone);
      return;
    }
    const colours = ((subencoding & 2) !== 0 ? pixel : 0) + ((subencoding & 4) !== 0 ? pixel : 0);
    if ((subencoding & 8) !== 0) this.collect(colours + 1, Step.HextileSubrectCount); // the count is the last byte
    else this.skip(colours, Step.HextileTileDone);
  }

  private tight(control: number): void {
    // Low nibble: zlib streams to reset. High nibble: 8 fill, 9 JPEG, 10 PNG (TightPNG), 0-7 basic
    // (bit 2: a filter id follows, bits 0-1: stream). 10 and 14 also mean "basic without zlib",
    // which needs a pseudo-encoding the gateway never negotiates, so 10 is PNG and 14 is refused.
    const method = control >> 4;
    this.compactLength = 0;
    this.compactShift = 0;
    if (method === 8) {
      this.skip(this.sizes.tightPixel, Step.RectDone);
    } else if (method === 9 || method === 10) {
      this.collect(1, Step.TightCompactLength);
    } else if ((method & 8) === 0) {
      if ((method & 4) !== 0) this.collect(1, Step.TightFilter);
      else this.tightFilter(0);
    } else {
      this.fail(`Tight compression control 0x${control.toString(16)} (${this.encoding === FRAMED_ENCODING.Tight ? 'Tight' : 'TightPNG'})`);
    }
  }

  private tightFilter(filter: number): void {
    switch (filter) {
      case 0: // copy
      case 2: // gradient: same size, differences instead of values
        this.tightData(this.rectWidth * this.rectHeight * this.sizes.tightPixel);
        return;
      case 1: // palette: size - 1, the colours, then 1-bit (2 colours) or 8-bit indexes
        this.collect(1, Step.TightPaletteSize);
        return;
      default:
        this.fail(`Tight filter ${filter}`);
    }
  }

  /** Tight basic compression: data under 12 bytes is sent as it is, else compact length + zlib data. */
  private tightData(size: number): void {
    if (size < 12) this.skip(size, Step.RectDone);
    else this.collect(1, Step.TightCompactLength);
  }
}
