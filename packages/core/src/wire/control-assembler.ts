/**
 * Receive side of the control stream (PROTOCOL.md §7): CONTROL frame pieces
 * arrive out of order, duplicated or overlapping; complete messages come out
 * in stream order. Buffering is bounded: bytes at or beyond
 * (first unconsumed message + maxBuffered) are E_FLOW_CONTROL, and so is a
 * message that could never fit. Call poll() until null after every push():
 * the window only moves as messages are consumed.
 *
 * Memory grows with use, up to about 2 × maxBuffered: a buffer and a
 * one-byte-per-byte presence map, both indexed from the consumed offset.
 */
import { WraithError } from '../errors.js';
import { CONTROL_STREAM_WINDOW, decodeControlMessage, type ControlMessage } from './control.js';
import { Reader } from './reader.js';
import { MAX_VARINT } from './varint.js';

const INITIAL_CAPACITY = 1024;
/** u8 type + the longest varint length. */
const MAX_HEADER = 9;

export class ControlStreamAssembler {
  private data = new Uint8Array(0);
  /** 1 where `data` holds a received byte. */
  private have = new Uint8Array(0);
  /** Index in `data` of stream offset `consumed`. */
  private head = 0;
  /** Stream offset of the first byte not yet returned in a message. */
  private consumed = 0;
  /** Every byte in [consumed, contiguous) has arrived. */
  private contiguous = 0;
  private readonly header = new Uint8Array(MAX_HEADER);
  private readonly headerReader = new Reader(this.header);

  constructor(readonly maxBuffered: number = CONTROL_STREAM_WINDOW) {
    if (!Number.isInteger(maxBuffered) || maxBuffered < MAX_HEADER) {
      throw new WraithError('E_INTERNAL', `control stream buffer ${maxBuffered} must be an integer >= ${MAX_HEADER}`);
    }
  }

  /** Stream offset up to which messages have been returned by poll(). */
  get consumedOffset(): number {
    return this.consumed;
  }

  /** Stream offset up to which every byte has arrived. */
  get contiguousOffset(): number {
    return this.contiguous;
  }

  /** Accept one CONTROL frame's piece of the stream. */
  push(offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.length;
    if (!Number.isInteger(offset) || offset < 0 || end > MAX_VARINT) {
      throw new WraithError('E_WIRE_FRAME', `control piece at ${offset} of ${bytes.length} bytes is out of range`, { offset });
    }
    const limit = this.consumed + this.maxBuffered;
    if (end > limit) {
      throw new WraithError(
        'E_FLOW_CONTROL',
        `control stream data up to ${end} exceeds the ${this.maxBuffered}-byte buffer from offset ${this.consumed}`,
        { offset, end, limit },
      );
    }
    const start = Math.max(offset, this.contiguous);
    if (start >= end) return; // duplicate of data already in order
    this.ensure(end - this.consumed);
    const at = this.head + (start - this.consumed);
    // First copy wins for overlaps with earlier out-of-order pieces: equal for a correct peer.
    this.data.set(bytes.subarray(start - offset), at);
    this.have.fill(1, at, at + (end - start));
    if (start === this.contiguous) this.advance();
  }

  /** The next complete message in stream order, or null if it has not all arrived. */
  poll(): ControlMessage | null {
    const avail = this.contiguous - this.consumed;
    if (avail < 2) return null;
    const hlen = Math.min(avail, MAX_HEADER);
    this.header.set(this.data.subarray(this.head, this.head + hlen));
    const r = this.headerReader.reset(this.header, 0, hlen);
    r.u8('control type');
    if (r.remaining < r.peekVarintLength('control length')) return null;
    const len = r.varint('control length');
    const total = r.offset + len;
    if (total > this.maxBuffered) {
      throw new WraithError(
        'E_FLOW_CONTROL',
        `control message of ${total} bytes at offset ${this.consumed} exceeds the ${this.maxBuffered}-byte buffer`,
        { offset: this.consumed, size: total },
      );
    }
    if (avail < total) return null;
    // A private copy: the message's views must survive later compaction.
    const copy = this.data.slice(this.head, this.head + total);
    const m = decodeControlMessage(new Reader(copy));
    this.have.fill(0, this.head, this.head + total);
    this.head += total;
    this.consumed += total;
    return m;
  }

  /** Move `contiguous` over the bytes that have arrived. */
  private advance(): void {
    const from = this.head + (this.contiguous - this.consumed);
    const gap = this.have.indexOf(0, from);
    const stop = gap === -1 ? this.have.length : gap;
    this.contiguous += stop - from;
  }

  /** Make room for `span` bytes from `consumed`: compact, then grow. */
  private ensure(span: number): void {
    if (this.head + span <= this.data.length) return;
    const used = this.usedSpan();
    if (this.head > 0) {
      this.data.copyWithin(0, this.head, this.head + used);
      this.have.copyWithin(0, this.head, this.head + used);
      this.have.fill(0, used, this.head + used);
      this.head = 0;
    }
    if (span <= this.data.length) return;
    let cap = Math.max(INITIAL_CAPACITY, this.data.length);
    while (cap < span) cap *= 2;
    cap = Math.min(cap, Math.max(span, this.maxBuffered));
    const data = new Uint8Array(cap);
    const have = new Uint8Array(cap);
    data.set(this.data.subarray(0, used));
    have.set(this.have.subarray(0, used));
    this.data = data;
    this.have = have;
  }

  /** Bytes from `head` up to the last byte present (a bound on what compaction must move). */
  private usedSpan(): number {
    const last = this.have.lastIndexOf(1);
    return last < this.head ? 0 : last + 1 - this.head;
  }
}
