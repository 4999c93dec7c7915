/**
 * Capacity-checked big-endian writer into a caller-owned buffer: encoders
 * never allocate. A write that does not fit throws E_WIRE_TOO_LARGE before
 * touching the buffer; a value out of its field's range throws E_WIRE_VARINT.
 */
import { WraithError } from '../errors.js';
import { MAX_VARINT, VARINT_MAX_1, VARINT_MAX_2, VARINT_MAX_4 } from './varint.js';

const TWO_32 = 4_294_967_296;

export class Writer {
  private buf: Uint8Array;
  private pos: number;
  private lim: number;

  constructor(buf: Uint8Array, offset = 0, end = buf.length) {
    this.buf = buf;
    this.pos = 0;
    this.lim = 0;
    this.reset(buf, offset, end);
  }

  /** Re-point the writer (lets a hot loop reuse one instance). */
  reset(buf: Uint8Array, offset = 0, end = buf.length): this {
    if (!Number.isInteger(offset) || !Number.isInteger(end) || offset < 0 || end < offset || end > buf.length) {
      throw new WraithError('E_WIRE_TOO_LARGE', `writer range [${offset}, ${end}) is outside a ${buf.length}-byte buffer`, {
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

  /** Position of the next byte to write, as an index into the underlying buffer. */
  get offset(): number {
    return this.pos;
  }

  get end(): number {
    return this.lim;
  }

  /** The buffer being written. */
  get target(): Uint8Array {
    return this.buf;
  }

  get remaining(): number {
    return this.lim - this.pos;
  }

  get buffer(): Uint8Array {
    return this.buf;
  }

  /** The bytes written since `start` (a view). */
  written(start: number): Uint8Array {
    return this.buf.subarray(start, this.pos);
  }

  private room(n: number, field: string): void {
    if (n > this.lim - this.pos) {
      throw new WraithError(
        'E_WIRE_TOO_LARGE',
        `${field}: needs ${n} byte(s) at offset ${this.pos}, only ${this.lim - this.pos} left`,
        { field, offset: this.pos, needed: n, remaining: this.lim - this.pos },
      );
    }
  }

  private range(v: number, max: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new WraithError('E_WIRE_VARINT', `${field}: ${v} is not an integer in [0, ${max}]`, { field, value: v });
    }
  }

  u8(v: number, field = 'u8'): void {
    this.range(v, 0xff, field);
    this.room(1, field);
    this.buf[this.pos++] = v;
  }

  u16(v: number, field = 'u16'): void {
    this.range(v, 0xffff, field);
    this.room(2, field);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v & 0xff;
    this.pos = p + 2;
  }

  u32(v: number, field = 'u32'): void {
    this.range(v, 0xffff_ffff, field);
    this.room(4, field);
    this.put32(v);
  }

  /** u64 from a number in [0, 2^53 - 1]. */
  u64(v: number, field = 'u64'): void {
    this.range(v, MAX_VARINT, field);
    this.room(8, field);
    this.put32(Math.floor(v / TWO_32));
    this.put32(v % TWO_32);
  }

  /** QUIC varint in its shortest form. */
  varint(v: number, field = 'varint'): void {
    this.range(v, MAX_VARINT, field);
    const b = this.buf;
    const p = this.pos;
    if (v <= VARINT_MAX_1) {
      this.room(1, field);
      b[p] = v;
      this.pos = p + 1;
    } else if (v <= VARINT_MAX_2) {
      this.room(2, field);
      b[p] = 0x40 | (v >>> 8);
      b[p + 1] = v & 0xff;
      this.pos = p + 2;
    } else if (v <= VARINT_MAX_4) {
      this.room(4, field);
      this.put32(v);
      b[p] = b[p]! | 0x80;
    } else {
      this.room(8, field);
      this.put32(Math.floor(v / TWO_32));
      this.put32(v % TWO_32);
      b[p] = b[p]! | 0xc0;
    }
  }

  /** Copy `src` in. */
  bytes(src: Uint8Array, field = 'bytes'): void {
    this.room(src.length, field);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  zeros(n: number, field = 'zeros'): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new WraithError('E_WIRE_TOO_LARGE', `${field}: invalid length ${n}`, { field, value: n });
    }
    this.room(n, field);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  /** Leave `n` bytes for someone else to fill (before the buffer is read); returns where they start. */
  skip(n: number, field = 'bytes'): number {
    this.room(n, field);
    const p = this.pos;
    this.pos = p + n;
    return p;
  }

  /** Reserve `n` bytes and return a writable view of them (for encodeInto and the like). */
  reserve(n: number, field = 'bytes'): Uint8Array {
    this.room(n, field);
    const p = this.pos;
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  private put32(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.pos = p + 4;
  }
}
