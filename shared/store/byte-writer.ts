const encoder = new TextEncoder();

/**
 * A growing little-endian byte buffer, reused from one message to the next (`reset`): the series
 * record codec and the Redis store's packed compare-and-set argument both build their bytes here.
 */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private at = 0;

  constructor(size = 256) {
    this.buf = new Uint8Array(Math.max(16, size));
    this.view = new DataView(this.buf.buffer);
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + bytes));
    bigger.set(this.buf.subarray(0, this.at));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.at, v, true);
    this.at += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.at, v, true);
    this.at += 4;
  }
  /** A signed 32-bit integer (the same 4 bytes as u32 of `v >>> 0`, without making a large number). */
  i32(v: number): void {
    this.room(4);
    this.view.setInt32(this.at, v, true);
    this.at += 4;
  }
  /**
   * Take `bytes` at once and return where they start, to be written through `dataView()` (fetched
   * after this call: growing replaces it). For runs of numbers on a hot path: DataView's own
   * methods are inlined where this writer's may not be, and a number passed to a call that is not
   * inlined is boxed on the heap.
   */
  reserve(bytes: number): number {
    this.room(bytes);
    const at = this.at;
    this.at += bytes;
    return at;
  }
  dataView(): DataView {
    return this.view;
  }
  f64(v: number): void {
    this.room(8);
    this.view.setFloat64(this.at, v, true);
    this.at += 8;
  }
  bytes(v: Uint8Array): void {
    this.room(v.length);
    this.buf.set(v, this.at);
    this.at += v.length;
  }
  /**
   * A 16-bit length, then `head` and the UTF-8 bytes of `text` (encoded in place, no string or
   * buffer made per call). Throws when the whole is longer than 65 535 bytes.
   */
  str16(head: Uint8Array, text: string): void {
    this.room(2 + head.length + 3 * text.length);
    const start = this.at;
    this.buf.set(head, start + 2);
    const { written } = encoder.encodeInto(text, this.buf.subarray(start + 2 + head.length));
    const length = head.length + written;
    if (length > 0xffff) throw new RangeError(`string too long for a 16-bit length (${length} bytes)`);
    this.view.setUint16(start, length, true);
    this.at = start + 2 + length;
  }

  /** Bytes written since the last reset. */
  get length(): number {
    return this.at;
  }

  /** What was written since the last reset: a view, valid until the writer is reset or grows. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }
  reset(): this {
    this.at = 0;
    return this;
  }
}
