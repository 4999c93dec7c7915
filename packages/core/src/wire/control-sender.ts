/**
 * Send side of the control stream (PROTOCOL.md §7): queued messages become one
 * byte stream, cut into CONTROL frames; lost pieces are re-sent (before new
 * data) until acknowledged. New data stays below S + window, where S is the
 * start of the first message not yet fully acknowledged, so a receiver that
 * buffers `window` bytes beyond its consumed messages never overflows.
 * Memory is bounded by maxQueued; range bookkeeping by the window.
 */
import { WraithError } from '../errors.js';
import { CONTROL_STREAM_WINDOW, controlMessageLength, encodeControlMessage, type ControlMessage } from './control.js';
import { controlDataFit } from './frames.js';
import { RangeSet } from './range-set.js';
import { Writer } from './writer.js';

export interface ControlStreamSenderOptions {
  /** Control-stream window (PROTOCOL.md §7); the peer must buffer at least this much. */
  window?: number;
  /** Most bytes held (queued or unacknowledged) before queue() refuses. */
  maxQueued?: number;
}

/** One CONTROL frame's piece. `data` is a view valid until the next call on the sender. */
export interface ControlPiece {
  offset: number;
  data: Uint8Array;
}

const DEFAULT_MAX_QUEUED = 4 * 1024 * 1024;
const INITIAL_CAPACITY = 1024;

export class ControlStreamSender {
  private windowBytes: number;
  readonly maxQueued: number;
  /** Largest message: the window it was created with (PROTOCOL.md §7 bounds a message by 65536). */
  private readonly maxMessage: number;
  /** Stream bytes from `base` on, starting at index `head`. */
  private buf = new Uint8Array(0);
  private head = 0;
  /** Every byte below `base` is acknowledged. */
  private base = 0;
  /** Bytes below `sentEnd` were sent at least once. */
  private sentEnd = 0;
  /** Stream offset after the last queued byte. */
  private end = 0;
  /** Message start offsets, ascending; those before `startsHead` are fully acknowledged. */
  private readonly starts: number[] = [];
  private startsHead = 0;
  private readonly acked = new RangeSet();
  private readonly lost = new RangeSet();
  private readonly writer = new Writer(new Uint8Array(0));

  constructor(opts: ControlStreamSenderOptions = {}) {
    this.windowBytes = opts.window ?? CONTROL_STREAM_WINDOW;
    this.maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED;
    if (!Number.isInteger(this.windowBytes) || this.windowBytes < 16 || !Number.isInteger(this.maxQueued) || this.maxQueued < this.windowBytes) {
      throw new WraithError('E_INTERNAL', `control sender window ${this.windowBytes} / maxQueued ${this.maxQueued} are invalid`);
    }
    this.maxMessage = Math.min(this.windowBytes, CONTROL_STREAM_WINDOW);
  }

  /** Control-stream window (PROTOCOL.md §7): new data stays below S + window. */
  get window(): number {
    return this.windowBytes;
  }

  /**
   * The peer announced a larger window (its control_window): more may be in flight from now
   * on, up to maxQueued. Never shrinks (data already sent stays valid); messages stay bounded
   * by the initial window.
   */
  widenWindow(bytes: number): void {
    if (!Number.isInteger(bytes)) return;
    this.windowBytes = Math.max(this.windowBytes, Math.min(bytes, this.maxQueued));
  }

  /** True when nextFrame() has something to send now (a loss to repair or new data in the window). */
  get hasPending(): boolean {
    return !this.lost.isEmpty || this.sentEnd < this.newDataLimit();
  }

  /** True when every queued byte has been acknowledged. */
  get allAcked(): boolean {
    return this.base === this.end;
  }

  /** Bytes queued or unacknowledged. */
  get buffered(): number {
    return this.end - this.base;
  }

  /** Append a message to the stream. Throws E_WIRE_TOO_LARGE if it exceeds the window or the queue bound. */
  queue(m: ControlMessage): void {
    const len = controlMessageLength(m);
    if (len > this.maxMessage) {
      throw new WraithError('E_WIRE_TOO_LARGE', `${m.type} message of ${len} bytes exceeds the ${this.maxMessage}-byte control window`, {
        size: len,
      });
    }
    if (this.end - this.base + len > this.maxQueued) {
      throw new WraithError('E_WIRE_TOO_LARGE', `control send buffer holds ${this.end - this.base} bytes; ${len} more exceed ${this.maxQueued}`, {
        size: len,
      });
    }
    this.ensure(this.end - this.base + len);
    const at = this.head + (this.end - this.base);
    encodeControlMessage(this.writer.reset(this.buf, at, at + len), m);
    this.starts.push(this.end);
    this.end += len;
  }

  /**
   * The next piece to send in a CONTROL frame of at most `maxFrameLen` bytes
   * (type and fields included): lost data first, then new data. Null when
   * nothing is due or nothing fits.
   */
  nextFrame(maxFrameLen: number): ControlPiece | null {
    const loss = this.lost.first();
    if (loss !== undefined) {
      const n = Math.min(loss.end - loss.start, controlDataFit(loss.start, maxFrameLen));
      if (n <= 0) return null;
      const offset = loss.start;
      this.lost.remove(offset, offset + n);
      return { offset, data: this.view(offset, n) };
    }
    const limit = this.newDataLimit();
    if (this.sentEnd >= limit) return null;
    const n = Math.min(limit - this.sentEnd, controlDataFit(this.sentEnd, maxFrameLen));
    if (n <= 0) return null;
    const offset = this.sentEnd;
    this.sentEnd += n;
    return { offset, data: this.view(offset, n) };
  }

  /** The peer acknowledged a CONTROL frame carrying [offset, offset + len). */
  onAcked(offset: number, len: number): void {
    const s = Math.max(offset, this.base);
    const e = Math.min(offset + len, this.sentEnd);
    if (s >= e) return;
    this.lost.remove(s, e);
    this.acked.add(s, e);
    const f = this.acked.first();
    if (f === undefined || f.start > this.base) return;
    const newBase = f.end;
    this.acked.removeBelow(newBase);
    this.head += newBase - this.base;
    this.base = newBase;
    // Keep the start of the message that holds `base` (the window's anchor).
    while ((this.starts.at(this.startsHead + 1) ?? Infinity) <= newBase) this.startsHead++;
    if (newBase === this.end) {
      this.starts.length = 0;
      this.startsHead = 0;
      this.head = 0;
    } else if (this.startsHead >= 1024 && this.startsHead * 2 >= this.starts.length) {
      this.starts.splice(0, this.startsHead); // amortised O(1) per message
      this.startsHead = 0;
    }
  }

  /** A CONTROL frame carrying [offset, offset + len) was declared lost: send its unacknowledged bytes again. */
  onLost(offset: number, len: number): void {
    const s = Math.max(offset, this.base);
    const e = Math.min(offset + len, this.sentEnd);
    if (s >= e) return;
    this.lost.add(s, e);
    for (const a of this.acked.values()) {
      if (a.start >= e) break;
      if (a.end > s) this.lost.remove(a.start, a.end);
    }
  }

  private newDataLimit(): number {
    const anchor = this.starts.at(this.startsHead) ?? this.base;
    return Math.min(this.end, anchor + this.window);
  }

  private view(offset: number, n: number): Uint8Array {
    const at = this.head + (offset - this.base);
    return this.buf.subarray(at, at + n);
  }

  /** Room for `span` bytes from `base`: compact, then grow. */
  private ensure(span: number): void {
    if (this.head + span <= this.buf.length) return;
    const used = this.end - this.base;
    if (this.head > 0) {
      this.buf.copyWithin(0, this.head, this.head + used);
      this.head = 0;
    }
    if (span <= this.buf.length) return;
    let cap = Math.max(INITIAL_CAPACITY, this.buf.length);
    while (cap < span) cap *= 2;
    const buf = new Uint8Array(Math.min(cap, Math.max(span, this.maxQueued)));
    buf.set(this.buf.subarray(0, used));
    this.buf = buf;
  }
}
