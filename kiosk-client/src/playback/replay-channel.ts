// A stand-in for the WebSocket noVNC reads from (Websock.attach accepts any object with these
// members): the player delivers recorded server messages; what noVNC sends back (its pixel format,
// encodings, update requests) has no one to answer it and is dropped.

interface CloseEventLike { code: number; reason: string; wasClean: boolean }

export class ReplayChannel {
  // Own properties, not accessors: noVNC checks for them by name on the object and its prototype.
  binaryType = 'arraybuffer';
  protocol = '';
  /** RTCDataChannel-style state: noVNC treats 'open' as already connected and starts its handshake at once. */
  readyState: 'open' | 'closed' = 'open';
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: ArrayBuffer }) => void) | null = null;
  onclose: ((event: CloseEventLike) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  send(_data: unknown): void {
    // A recording answers nothing.
  }

  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    // Later, as a socket would: noVNC arms its disconnect timer right after asking to close and
    // expects the close event after that.
    queueMicrotask(() => {
      this.onclose?.({ code: 1000, reason: '', wasClean: true });
    });
  }

  /** One server message (or several, or part of one: noVNC reassembles). */
  deliver(bytes: Uint8Array): void {
    if (this.readyState !== 'open' || bytes.length === 0) return;
    const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    this.onmessage?.({ data });
  }
}
