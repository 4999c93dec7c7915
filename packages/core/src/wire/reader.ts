/**
 * Bounds-checked big-endian reader over a byte range. Every read checks the
 * range first and throws E_WIRE_TRUNCATED naming the field and offset, so no
 * decoder ever sees the silent `undefined` of an out-of-range index.
 * `bytes(n)` returns a view into the same memory (zero-copy).
 */
import { WraithError } from '../errors.js';

const TWO_32 = 4_294_967_296;
/** High 32-bit word above which a 64-bit value exceeds 2^53 - 1 (MAX_VARINT). */
const MAX_HIGH_WORD = 0x1f_ffff;

export class Reader {
  private buf: Uint8Array;
  private pos: number;
  private lim: number;

  constructor(buf: Uint8Array, offset = 0, end = buf.length) {
    this.buf = buf;
    this.pos = 0;
    this.lim = 0;
    this.reset(buf, offset, end);
  }

  /** Re-point the reader (lets a hot loop reuse one instance). */
  reset(buf: Uint8Array, offset = 0, end = buf.length): this {
    if (!Number.isInteger(offset) || !Number.isInteger(end) || offset < 0 || end < offset || end > buf.length) {
      throw new WraithError('E_WIRE_TRUNCATED', `reader range [${offset}, ${end}) is outside a ${buf.length}-byte buffer`, {
        offset,
        end,
        length: buf.length,
      });
    }
    this.buf = buf;
    this.pos = offset;
    this.lim = end;
    return this;
  }

  /** Position of the next byte to read, as an index into the underlying buffer. */
  get offset(): number {
    return this.pos;
  }

  /** Index one past the last readable byte. */
  get end(): number {
    return this.lim;
  }

  get remaining(): number {
    return this.lim - this.pos;
  }

  /** The underlying buffer (for callers that compute offsets into it). */
  get buffer(): Uint8Array {
    return this.buf;
  }

  atEnd(): boolean {
    return this.pos >= this.lim;
  }

  /** Throws E_WIRE_TRAILING unless every byte was consumed. */
  expectEnd(what = 'value'): void {
    if (this.pos !== this.lim) {
      throw new WraithError('E_WIRE_TRAILING', `${this.lim - this.pos} byte(s) left after ${what} at offset ${this.pos}`, {
        offset: this.pos,
        trailing: this.lim - this.pos,
      });
    }
  }

  private need(n: number, field: string): void {
    if (n > this.lim - this.pos) {
      throw new WraithError(
        'E_WIRE_TRUNCATED',
        `${field}: needs ${n} byte(s) at offset ${this.pos}, only ${this.lim - this.pos} left`,
        { field, offset: this.pos, needed: n, remaining: this.lim - this.pos },
      );
    }
  }

  u8(field = 'u8'): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  /** Next byte without consuming it. */
  peekU8(field = 'u8'): number {
    this.need(1, field);
    return this.buf[this.pos]!;
  }

  u16(field = 'u16'): number {
    this.need(2, field);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u32(field = 'u32'): number {
    this.need(4, field);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!));
  }

  /** u64 as a number; values above 2^53 - 1 throw E_WIRE_VARINT. */
  u64(field = 'u64'): number {
    this.need(8, field);
    const start = this.pos;
    const hi = this.u32(field);
    const lo = this.u32(field);
    if (hi > MAX_HIGH_WORD) {
      this.pos = start;
      throw new WraithError('E_WIRE_VARINT', `${field}: u64 at offset ${start} exceeds 2^53-1`, { field, offset: start });
    }
    return hi * TWO_32 + lo;
  }

  /** QUIC varint (RFC 9000 §16); values above 2^53 - 1 throw E_WIRE_VARINT. */
  varint(field = 'varint'): number {
    this.need(1, field);
    const b = this.buf;
    const p = this.pos;
    const first = b[p]!;
    const len = 1 << (first >> 6);
    this.need(len, field);
    switch (len) {
      case 1:
        this.pos = p + 1;
        return first;
      case 2:
        this.pos = p + 2;
        return ((first & 0x3f) << 8) | b[p + 1]!;
      case 4:
        this.pos = p + 4;
        return (first & 0x3f) * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
      default: {
        const hi = (first & 0x3f) * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
        if (hi > MAX_HIGH_WORD) {
          throw new WraithError('E_WIRE_VARINT', `${field}: varint at offset ${p} exceeds 2^53-1`, { field, offset: p });
        }
        const lo = b[p + 4]! * 0x1000000 + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!);
        this.pos = p + 8;
        return hi * TWO_32 + lo;
      }
    }
  }

  /** Number of bytes the varint at the current position occupies (1, 2, 4 or 8). */
  peekVarintLength(field = 'varint'): number {
    return 1 << (this.peekU8(field) >> 6);
  }

  /** The next `n` bytes as a view into the same buffer (zero-copy). */
  bytes(n: number, field = 'bytes'): Uint8Array {
    if (!Number.isInteger(n) || n < 0) {
      throw new WraithError('E_WIRE_TRUNCATED', `${field}: invalid length ${n} at offset ${this.pos}`, { field, offset: this.pos });
    }
    this.need(n, field);
    const p = this.pos;
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  /** A reader over the next `n` bytes; this reader moves past them. */
  sub(n: number, field = 'body'): Reader {
    const start = this.pos;
    this.bytes(n, field);
    return new Reader(this.buf, start, start + n);
  }

  /** Moves past `n` bytes (the checks of bytes(), without making a view). */
  skip(n: number, field = 'skip'): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new WraithError('E_WIRE_TRUNCATED', `${field}: invalid length ${n} at offset ${this.pos}`, { field, offset: this.pos });
    }
    this.need(n, field);
    this.pos += n;
  }

  /** Consume consecutive zero bytes; returns how many. */
  skipZeros(): number {
    const b = this.buf;
    const start = this.pos;
    let p = start;
    while (p < this.lim && b[p] === 0) p++;
    this.pos = p;
    return p - start;
  }

  /** True when every remaining byte is zero (does not consume). */
  restIsZero(): boolean {
    const b = this.buf;
    for (let p = this.pos; p < this.lim; p++) if (b[p] !== 0) return false;
    return true;
  }
}
