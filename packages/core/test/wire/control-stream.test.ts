import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import {
  CONTROL_STREAM_WINDOW,
  ControlStreamAssembler,
  ControlStreamSender,
  Writer,
  controlFrameOverhead,
  controlMessageLength,
  encodeControlMessage,
  type ControlMessage,
} from '../../src/wire/index.js';
import { RUNS, controlMessage, expectCode, same } from './arbitraries.js';

function streamOf(msgs: ControlMessage[]): Uint8Array {
  const buf = new Uint8Array(msgs.reduce((n, m) => n + controlMessageLength(m), 0));
  const w = new Writer(buf);
  for (const m of msgs) encodeControlMessage(w, m);
  return buf;
}

function drain(a: ControlStreamAssembler, out: ControlMessage[]): void {
  for (let m = a.poll(); m !== null; m = a.poll()) out.push(m);
}

const resend = (i: number): ControlMessage => ({ type: 'resend', transferId: 1, chunkIndex: i });

describe('ControlStreamAssembler', () => {
  it('yields messages in order from pieces delivered backwards', () => {
    const msgs = [resend(1), resend(2), { type: 'done', transferId: 9, status: 0 } as ControlMessage];
    const s = streamOf(msgs);
    const a = new ControlStreamAssembler(1024);
    const out: ControlMessage[] = [];
    for (let i = s.length - 1; i >= 0; i--) {
      a.push(i, s.subarray(i, i + 1));
      drain(a, out);
      if (i > 0) expect(out).toEqual([]);
    }
    expect(out).toEqual(msgs);
    expect(a.consumedOffset).toBe(s.length);
  });

  it('ignores duplicates and overlaps', () => {
    const msgs = [resend(1), resend(2)];
    const s = streamOf(msgs);
    const a = new ControlStreamAssembler(1024);
    const out: ControlMessage[] = [];
    a.push(2, s.subarray(2, 6));
    a.push(0, s.subarray(0, 3));
    drain(a, out);
    a.push(0, s); // everything again
    a.push(1, s.subarray(1, 4)); // below what was consumed
    drain(a, out);
    expect(out).toEqual(msgs);
    expect(a.poll()).toBeNull();
  });

  it('copies what it keeps, so callers may reuse their buffers', () => {
    const s = streamOf([resend(5)]);
    const piece = s.slice(0, 2);
    const a = new ControlStreamAssembler(64);
    a.push(0, piece);
    piece.fill(0xff);
    a.push(2, s.subarray(2));
    expect(a.poll()).toEqual(resend(5));
  });

  it('returns messages whose byte fields survive later pushes', () => {
    const offer: ControlMessage = {
      type: 'offer', transferId: 1, kind: 0, size: 1, chunkLog2: 14, mode: 0, mtimeMs: 0, root: new Uint8Array(32).fill(7), name: 'a',
    };
    const s = streamOf([offer, offer]);
    const a = new ControlStreamAssembler(256);
    a.push(0, s);
    const first = a.poll();
    const second = a.poll();
    a.push(s.length, streamOf([resend(1)]));
    expect(a.poll()).toEqual(resend(1));
    expect(first).toEqual(offer);
    expect(second).toEqual(offer);
  });

  it('raises E_FLOW_CONTROL for data beyond the buffer, and accepts data up to it', () => {
    const a = new ControlStreamAssembler(16);
    a.push(15, new Uint8Array(1));
    expectCode(() => a.push(15, new Uint8Array(2)), 'E_FLOW_CONTROL');
    expectCode(() => a.push(1000, new Uint8Array(1)), 'E_FLOW_CONTROL');
  });

  it('raises E_FLOW_CONTROL for a message that could never fit', () => {
    const a = new ControlStreamAssembler(16);
    a.push(0, new Uint8Array([4, 0x40, 0x20])); // DONE claiming a 32-byte body
    expectCode(() => a.poll(), 'E_FLOW_CONTROL');
  });

  it('moves its window as messages are consumed', () => {
    const msgs = Array.from({ length: 50 }, (_, i) => resend(i));
    const s = streamOf(msgs);
    const a = new ControlStreamAssembler(16);
    const out: ControlMessage[] = [];
    for (let at = 0; at < s.length; at += 4) {
      a.push(at, s.subarray(at, Math.min(at + 4, s.length)));
      drain(a, out);
    }
    expect(out).toEqual(msgs);
  });

  it('passes malformed messages up as wire errors', () => {
    const a = new ControlStreamAssembler(64);
    a.push(0, new Uint8Array([0x3f, 0]));
    expectCode(() => a.poll(), 'E_WIRE_FRAME_TYPE');
    const b = new ControlStreamAssembler(64);
    b.push(0, new Uint8Array([1, 0xc0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expectCode(() => b.poll(), 'E_WIRE_VARINT');
  });

  it('reassembles any fragmentation, order and duplication (property)', () => {
    fc.assert(
      fc.property(fc.array(controlMessage(), { minLength: 1, maxLength: 5 }), fc.integer(), (msgs, seed) => {
        const s = streamOf(msgs);
        const rng = new SeededRng(seed);
        const pieces: Array<[number, number]> = [];
        for (let at = 0; at < s.length; ) {
          const n = 1 + rng.nextInt(40);
          pieces.push([at, Math.min(s.length, at + n)]);
          at += n;
        }
        for (let i = 0; i < pieces.length / 2; i++) {
          const lo = rng.nextInt(s.length);
          pieces.push([lo, Math.min(s.length, lo + 1 + rng.nextInt(60))]); // overlapping duplicates
        }
        for (let i = pieces.length - 1; i > 0; i--) {
          const j = rng.nextInt(i + 1);
          [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
        }
        const a = new ControlStreamAssembler(Math.max(9, s.length)); // exactly the stream: any byte beyond would overflow
        const out: ControlMessage[] = [];
        for (const [lo, hi] of pieces) {
          a.push(lo, s.subarray(lo, hi));
          drain(a, out);
        }
        same(out, msgs);
      }),
      RUNS,
    );
  });
});

describe('ControlStreamSender', () => {
  it('cuts the stream into frames that fit and re-sends losses first', () => {
    const msgs = [resend(1), resend(2), resend(3)];
    const s = streamOf(msgs);
    const tx = new ControlStreamSender();
    for (const m of msgs) tx.queue(m);
    expect(tx.hasPending).toBe(true);
    const a = tx.nextFrame(controlFrameOverhead(0, 4) + 4)!;
    expect(a.offset).toBe(0);
    expect(Array.from(a.data)).toEqual(Array.from(s.subarray(0, 4)));
    const b = tx.nextFrame(100)!;
    expect(b.offset).toBe(4);
    expect(b.data.length).toBe(s.length - 4);
    expect(tx.nextFrame(100)).toBeNull();
    expect(tx.hasPending).toBe(false);
    tx.onLost(0, 4);
    expect(tx.hasPending).toBe(true);
    const again = tx.nextFrame(100)!;
    expect(again.offset).toBe(0);
    expect(again.data.length).toBe(4);
    expect(tx.nextFrame(100)).toBeNull();
  });

  it('returns null when not even one data byte fits', () => {
    const tx = new ControlStreamSender();
    tx.queue(resend(1));
    expect(tx.nextFrame(controlFrameOverhead(0, 0))).toBeNull();
    expect(tx.nextFrame(controlFrameOverhead(0, 1) + 1)?.data.length).toBe(1);
  });

  it('does not re-send acknowledged bytes, even when a loss is declared late', () => {
    const tx = new ControlStreamSender();
    tx.queue(resend(1));
    tx.queue(resend(2));
    const f = tx.nextFrame(100)!;
    tx.onAcked(2, 4);
    tx.onLost(0, f.data.length);
    const r = tx.nextFrame(100)!;
    expect(r).toMatchObject({ offset: 0 });
    expect(r.data.length).toBe(2);
    const r2 = tx.nextFrame(100)!;
    expect(r2).toMatchObject({ offset: 6 });
    expect(r2.data.length).toBe(2);
    expect(tx.nextFrame(100)).toBeNull();
    tx.onAcked(0, 2);
    expect(tx.allAcked).toBe(false);
    tx.onAcked(6, 2);
    expect(tx.allAcked).toBe(true);
    expect(tx.buffered).toBe(0);
  });

  it('keeps new data below the start of the first unacknowledged message + window', () => {
    const tx = new ControlStreamSender({ window: 16 });
    for (let i = 0; i < 10; i++) tx.queue(resend(i)); // 4 bytes each
    let sent = 0;
    for (let f = tx.nextFrame(1000); f !== null; f = tx.nextFrame(1000)) sent = f.offset + f.data.length;
    expect(sent).toBe(16);
    tx.onAcked(0, 6); // message 0 and half of message 1: the window starts at message 1
    expect(tx.nextFrame(1000)).toMatchObject({ offset: 16 });
    expect(tx.nextFrame(1000)).toBeNull();
  });

  it('bounds what it holds', () => {
    expectCode(() => new ControlStreamSender({ window: 16 }).queue({ type: 'accept', transferId: 1, ranges: [[0, 1], [5, 1], [9, 1], [20, 1], [40, 1], [60, 1], [80, 1]] }), 'E_WIRE_TOO_LARGE');
    const tx = new ControlStreamSender({ window: 16, maxQueued: 20 });
    for (let i = 0; i < 5; i++) tx.queue(resend(i));
    expectCode(() => tx.queue(resend(5)), 'E_WIRE_TOO_LARGE');
    expectCode(() => new ControlStreamSender({ window: 1 }), 'E_INTERNAL');
  });

  it('keeps its bookkeeping compact across thousands of small messages', () => {
    const msgs = Array.from({ length: 5000 }, (_, i) => resend(i));
    const tx = new ControlStreamSender({ window: 64 });
    const rx = new ControlStreamAssembler(64);
    for (const m of msgs) tx.queue(m);
    const out: ControlMessage[] = [];
    for (let f = tx.nextFrame(30); f !== null || !tx.allAcked; f = tx.nextFrame(30)) {
      if (f === null) throw new Error('stalled');
      rx.push(f.offset, f.data);
      drain(rx, out);
      tx.onAcked(f.offset, f.data.length);
    }
    expect(out).toEqual(msgs);
    expect(tx.buffered).toBe(0);
  });

  it("widens its window to a peer's larger control_window, within maxQueued, never narrowing; a message stays within the first window", () => {
    const tx = new ControlStreamSender({ window: 16, maxQueued: 40 });
    for (let i = 0; i < 10; i++) tx.queue(resend(i)); // 4 bytes each
    const sentUpTo = (): number => {
      let end = -1;
      for (let f = tx.nextFrame(1000); f !== null; f = tx.nextFrame(1000)) end = f.offset + f.data.length;
      return end;
    };
    expect(sentUpTo()).toBe(16);
    tx.widenWindow(32);
    expect(tx.window).toBe(32);
    expect(sentUpTo()).toBe(32);
    tx.widenWindow(24); // never narrows: those bytes may be in flight already
    tx.widenWindow(1000); // held to maxQueued
    expect(tx.window).toBe(40);
    expect(sentUpTo()).toBe(40);
    expectCode(() => tx.queue({ type: 'accept', transferId: 1, ranges: [[0, 1], [5, 1], [9, 1], [20, 1], [40, 1], [60, 1], [80, 1]] }), 'E_WIRE_TOO_LARGE');
    const big = new ControlStreamSender();
    big.widenWindow(4 * 1024 * 1024);
    expect(big.window).toBe(4 * 1024 * 1024);
    const leaves = (n: number): ControlMessage => ({ type: 'leaves', transferId: 1, first: 0, leaves: new Uint8Array(32 * n) });
    big.queue(leaves(2040));
    const ranges = Array.from({ length: 20_000 }, (_, i): [number, number] => [i * 3, 1]);
    expectCode(() => big.queue({ type: 'accept', transferId: 1, ranges }), 'E_WIRE_TOO_LARGE'); // over 65536 bytes: still too large
  });

  it('uses the protocol window by default', () => {
    expect(new ControlStreamSender().window).toBe(CONTROL_STREAM_WINDOW);
    expect(new ControlStreamAssembler().maxBuffered).toBe(CONTROL_STREAM_WINDOW);
  });

  it('delivers every message in order through loss, reordering, duplication and lost acks, never overflowing a window-sized receiver (property)', () => {
    const WINDOW = 256;
    fc.assert(
      fc.property(
        fc.array(controlMessage().filter((m) => controlMessageLength(m) <= WINDOW), { minLength: 1, maxLength: 12 }),
        fc.integer(),
        (msgs, seed) => {
          const rng = new SeededRng(seed);
          const tx = new ControlStreamSender({ window: WINDOW, maxQueued: 1 << 16 });
          const rx = new ControlStreamAssembler(WINDOW);
          for (const m of msgs) tx.queue(m);
          const inflight: Array<{ offset: number; data: Uint8Array }> = [];
          const out: ControlMessage[] = [];
          for (let step = 0; !tx.allAcked; step++) {
            if (step > 20_000) throw new Error('no progress');
            if (inflight.length === 0 && !tx.hasPending) throw new Error('stalled: nothing in flight and nothing to send');
            if (tx.hasPending && (inflight.length === 0 || rng.nextInt(3) === 0)) {
              const f = tx.nextFrame(6 + rng.nextInt(120));
              if (f !== null) inflight.push({ offset: f.offset, data: f.data.slice() });
              continue;
            }
            const [p] = inflight.splice(rng.nextInt(inflight.length), 1);
            if (p === undefined) continue;
            const fate = rng.nextInt(10);
            if (fate < 3) {
              tx.onLost(p.offset, p.data.length); // the packet was lost
              continue;
            }
            rx.push(p.offset, p.data);
            if (fate === 3) rx.push(p.offset, p.data); // duplicated by the network
            drain(rx, out);
            if (fate === 4) tx.onLost(p.offset, p.data.length); // its ack was lost
            else tx.onAcked(p.offset, p.data.length);
          }
          same(out, msgs);
          expect(tx.buffered).toBe(0);
        },
      ),
      RUNS,
    );
  });
});
