// A queue of received chunks that hands out the first n bytes without copying when they lie
// in one chunk (the common case: one WebSocket message carries whole RFB messages).
// Pure: no I/O.

export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0; // offset into chunks[0]
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The byte at position i (i < length). */
  byteAt(i: number): number {
    let index = i + this.head;
    for (const chunk of this.chunks) {
      if (index < chunk.length) return chunk[index] ?? 0;
      index -= chunk.length;
    }
    throw new RangeError(`byteAt(${i}) beyond ${this.total} buffered bytes`);
  }

  u16(i: number): number {
    return (this.byteAt(i) << 8) | this.byteAt(i + 1);
  }

  s32(i: number): number {
    return (this.byteAt(i) << 24) | (this.byteAt(i + 1) << 16) | (this.byteAt(i + 2) << 8) | this.byteAt(i + 3);
  }

  /** Removes and returns the first n bytes (n ≤ length). A view when possible, else one copy. */
  take(n: number): Uint8Array {
    if (n > this.total) throw new RangeError(`take(${n}) beyond ${this.total} buffered bytes`);
    this.total -= n;
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      if (chunk === undefined) break;
      const count = Math.min(chunk.length - this.head, n - filled);
      out.set(chunk.subarray(this.head, this.head + count), filled);
      filled += count;
      this.head += count;
      if (this.head === chunk.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }

  /** Removes and returns everything buffered. */
  takeAll(): Uint8Array {
    return this.take(this.total);
  }
}
