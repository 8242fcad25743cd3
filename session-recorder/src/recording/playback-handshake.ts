// The server side of an RFB 3.8 handshake, synthesised for playback: a recording holds only what
// the VNC server sent after its handshake, so the player greets a fresh noVNC as a server would
// (version, security None, SecurityResult OK, ServerInit with the key frame's size, the pixel
// format every recording is in, and the desktop's name) and then feeds it recorded messages. Pure.

/** What noVNC asks for and the recorder records in: 32 bpp, depth 24, little endian, true colour, R/G/B at shifts 0/8/16. */
const SERVER_PIXEL_FORMAT = Uint8Array.of(32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0);

export interface StreamStart {
  readonly width: number;
  readonly height: number;
  readonly name: string;
}

/**
 * The handshake as the messages to deliver, in order. Two of them: noVNC 1.7 stops reading its
 * receive queue after the ProtocolVersion step and resumes only on the next message, so
 * everything after the version must arrive as a message of its own.
 */
export function serverHandshake(start: StreamStart): [version: Uint8Array, rest: Uint8Array] {
  if (!Number.isInteger(start.width) || !Number.isInteger(start.height) || start.width < 1 || start.height < 1
    || start.width > 0xffff || start.height > 0xffff) {
    throw new RangeError(`framebuffer ${start.width}x${start.height} is not a valid RFB size`);
  }
  const version = new TextEncoder().encode('RFB 003.008\n');
  const name = new TextEncoder().encode(start.name);
  // security types [1: None], SecurityResult 0, ServerInit
  const rest = new Uint8Array(2 + 4 + 4 + SERVER_PIXEL_FORMAT.length + 4 + name.length);
  const view = new DataView(rest.buffer);
  view.setUint8(0, 1);
  view.setUint8(1, 1);
  view.setUint32(2, 0);
  view.setUint16(6, start.width);
  view.setUint16(8, start.height);
  rest.set(SERVER_PIXEL_FORMAT, 10);
  view.setUint32(10 + SERVER_PIXEL_FORMAT.length, name.length);
  rest.set(name, 14 + SERVER_PIXEL_FORMAT.length);
  return [version, rest];
}
