/**
 * The shared transport compliance suite (the js-libp2p habit): every
 * transport registers it with a pair factory, so memory, UDP and AF_XDP are
 * held to one contract. Imported as `@wraith/core/compliance` from test files
 * only: it imports vitest, so it is not re-exported from the package index.
 *
 * The pair's two transports must reach each other at the addresses their
 * localAddr() report (bind to a concrete address such as 127.0.0.1 or ::1,
 * not a wildcard). `tick()` lets time pass: the memory pair pumps its
 * network, a socket pair awaits an event-loop turn. Every wait is bounded by
 * a deadline, so a broken transport fails instead of hanging.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isWraithError } from './errors.js';
import { addrEquals, DatagramBatch, type SocketAddr, type Transport } from './transport.js';

export interface TransportPair {
  a: Transport;
  b: Transport;
  tick(): Promise<void>;
  close(): Promise<void>;
  /** May lose datagrams (UDP may, the memory transport never does). */
  lossy?: boolean;
}

export interface ComplianceOptions {
  /** Deadline of each wait, in milliseconds (default 2000). */
  waitMs?: number;
  /** The transport implements txBatch(): its lent buffers are held to the contract too. */
  lendsBuffers?: boolean;
}

/** Datagrams per send call in the suite's batches. */
const BATCH = 64;
/** Loss the 1000-datagram burst test tolerates from a lossy transport. */
const LOSSY_TOLERANCE = 0.01;
/** A transport must refuse sends before this many datagrams are queued. */
const MAX_UNBOUNDED_QUEUE = 65536;

interface Received {
  bytes: Uint8Array;
  from: SocketAddr;
}

/** Copies every received datagram out of the (reused) receive batch. */
class Sink {
  readonly got: Received[] = [];
  constructor(t: Transport) {
    t.onRecv((batch) => {
      for (let i = 0; i < batch.count; i++) {
        const from = batch.addrs[i]!;
        this.got.push({ bytes: batch.datagram(i).slice(), from: { host: from.host, port: from.port } });
      }
    });
  }
  get count(): number {
    return this.got.length;
  }
}

/**
 * Datagram `seq` of `size` bytes: a 4-byte little-endian tag (seq, and the
 * direction in the top bit), then bytes derived from the tag so any
 * corruption or mix-up shows.
 */
function payload(seq: number, size: number, dir: 0 | 1): Uint8Array {
  const out = new Uint8Array(size);
  const tag = (seq | (dir << 31)) >>> 0;
  for (let j = 0; j < size; j++) {
    out[j] = j < 4 ? (tag >>> (8 * j)) & 0xff : (tag * 31 + j * 7 + (tag >>> 8)) & 0xff;
  }
  return out;
}

function tagOf(bytes: Uint8Array): number {
  if (bytes.length < 4) return -1;
  return (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Payload sizes cycling through small, medium and the largest allowed. */
function sizeFor(seq: number, max: number): number {
  const sizes = [4, 64, 512, 1200, max];
  return Math.min(sizes[seq % sizes.length]!, max);
}

export function runTransportCompliance(
  name: string,
  makePair: () => Promise<TransportPair>,
  opts: ComplianceOptions = {},
): void {
  const waitMs = opts.waitMs ?? 2000;

  describe(`transport compliance: ${name}`, () => {
    let pair: TransportPair | undefined;

    afterEach(async () => {
      const p = pair;
      pair = undefined;
      if (p !== undefined) await p.close();
    });

    async function open(): Promise<TransportPair> {
      pair = await makePair();
      return pair;
    }

    /** Tick until `cond` holds; false at the deadline. */
    async function settle(p: TransportPair, cond: () => boolean): Promise<boolean> {
      const deadline = Date.now() + waitMs;
      while (!cond()) {
        if (Date.now() > deadline) return false;
        await p.tick();
      }
      return true;
    }

    async function until(p: TransportPair, cond: () => boolean, what: string): Promise<void> {
      if (!(await settle(p, cond))) throw new Error(`${name}: timed out after ${waitMs} ms waiting for ${what}`);
    }

    /** Send seq [from, to) from `t` to `dst`, waiting out refusals. */
    async function sendRange(
      p: TransportPair,
      t: Transport,
      dst: SocketAddr,
      from: number,
      to: number,
      dir: 0 | 1,
      sizeOf: (seq: number) => number,
    ): Promise<void> {
      const max = t.maxDatagram(dst);
      const batch = new DatagramBatch(BATCH, max);
      let next = from;
      while (next < to) {
        batch.clear();
        for (let s = next; s < to && batch.count < BATCH; s++) batch.push(payload(s, sizeOf(s), dir), dst);
        const accepted = t.send(batch);
        expect(accepted).toBeGreaterThanOrEqual(0);
        expect(accepted).toBeLessThanOrEqual(batch.count);
        next += accepted;
        if (accepted < batch.count) await p.tick();
      }
    }

    function expectExactly(sink: Sink, from: SocketAddr, n: number, dir: 0 | 1, sizeOf: (seq: number) => number): void {
      const seen = new Set<number>();
      for (const r of sink.got) {
        const tag = tagOf(r.bytes);
        const seq = tag & 0x7fffffff;
        expect(tag >>> 31, 'direction bit').toBe(dir);
        expect(seq).toBeLessThan(n);
        expect(seen.has(seq), `datagram ${seq} delivered twice`).toBe(false);
        seen.add(seq);
        expect(sameBytes(r.bytes, payload(seq, sizeOf(seq), dir)), `datagram ${seq} intact`).toBe(true);
        expect(addrEquals(r.from, from), `source ${r.from.host}:${r.from.port}`).toBe(true);
      }
      expect(seen.size).toBe(n);
    }

    it('delivers a single datagram each way with its source address', async () => {
      const p = await open();
      const sa = new Sink(p.a);
      const sb = new Sink(p.b);
      const ab = new DatagramBatch(1, 64);
      ab.push(payload(0, 17, 0), p.b.localAddr());
      expect(p.a.send(ab)).toBe(1);
      const ba = new DatagramBatch(1, 64);
      ba.push(payload(0, 33, 1), p.a.localAddr());
      expect(p.b.send(ba)).toBe(1);
      await until(p, () => sa.count >= 1 && sb.count >= 1, 'one datagram each way');
      expectExactly(sb, p.a.localAddr(), 1, 0, () => 17);
      expectExactly(sa, p.b.localAddr(), 1, 1, () => 33);
    });

    it('delivers batches of mixed sizes both ways at once', async () => {
      const p = await open();
      const sa = new Sink(p.a);
      const sb = new Sink(p.b);
      const n = 3 * BATCH + 5;
      const maxAB = p.a.maxDatagram(p.b.localAddr());
      const maxBA = p.b.maxDatagram(p.a.localAddr());
      await Promise.all([
        sendRange(p, p.a, p.b.localAddr(), 0, n, 0, (s) => sizeFor(s, maxAB)),
        sendRange(p, p.b, p.a.localAddr(), 0, n, 1, (s) => sizeFor(s, maxBA)),
      ]);
      await until(p, () => sa.count >= n && sb.count >= n, `${n} datagrams each way`);
      expectExactly(sb, p.a.localAddr(), n, 0, (s) => sizeFor(s, maxAB));
      expectExactly(sa, p.b.localAddr(), n, 1, (s) => sizeFor(s, maxBA));
    });

    it('carries maxDatagram(peer)-byte datagrams intact', async () => {
      const p = await open();
      const sb = new Sink(p.b);
      const max = p.a.maxDatagram(p.b.localAddr());
      expect(max).toBeGreaterThanOrEqual(1200);
      await sendRange(p, p.a, p.b.localAddr(), 0, 8, 0, () => max);
      await until(p, () => sb.count >= 8, '8 max-size datagrams');
      expectExactly(sb, p.a.localAddr(), 8, 0, () => max);
    });

    it('consumes an oversized datagram, counts it as dropped and sends the rest', async () => {
      const p = await open();
      const sb = new Sink(p.b);
      const dst = p.b.localAddr();
      const max = p.a.maxDatagram(dst);
      const batch = new DatagramBatch(3, max + 1);
      batch.push(payload(0, 10, 0), dst);
      batch.push(payload(1, max + 1, 0), dst);
      batch.push(payload(2, 10, 0), dst);
      expect(p.a.send(batch)).toBe(3);
      await until(p, () => sb.count >= 2 && p.a.stats().txDropped >= 1, 'the two datagrams that fit');
      const tags = sb.got.map((r) => tagOf(r.bytes)).sort((x, y) => x - y);
      expect(tags).toEqual([0, 2]);
      expect(p.a.stats().txDropped).toBe(1);
    });

    it('keeps tx and rx counters consistent with what moved', async () => {
      const p = await open();
      const sb = new Sink(p.b);
      const max = p.a.maxDatagram(p.b.localAddr());
      const n = 100;
      let bytes = 0;
      for (let s = 0; s < n; s++) bytes += sizeFor(s, max);
      const before = { a: p.a.stats(), b: p.b.stats() };
      expect(before.a.txPackets).toBe(0);
      expect(before.b.rxPackets).toBe(0);
      await sendRange(p, p.a, p.b.localAddr(), 0, n, 0, (s) => sizeFor(s, max));
      await until(
        p,
        () => sb.count >= n && p.a.stats().txPackets >= n && p.b.stats().rxPackets >= n,
        'counters to reach the datagrams sent',
      );
      const a = p.a.stats();
      const b = p.b.stats();
      expect(a.txPackets).toBe(n);
      expect(a.txBytes).toBe(bytes);
      expect(b.rxPackets).toBe(n);
      expect(b.rxBytes).toBe(bytes);
      expect(a.txDropped).toBe(0);
      expect(b.rxDropped).toBe(0);
      expect(a.rxPackets).toBe(0);
      expect(b.txPackets).toBe(0);
      // stats() is a snapshot: changing it changes nothing inside.
      a.txPackets = -1;
      expect(p.a.stats().txPackets).toBe(n);
    });

    it('copies what it accepts: reusing the batch after send changes nothing delivered', async () => {
      const p = await open();
      const sb = new Sink(p.b);
      const dst = p.b.localAddr();
      const batch = new DatagramBatch(BATCH, 256);
      for (let s = 0; s < BATCH; s++) batch.push(payload(s, 100 + s, 0), dst);
      expect(p.a.send(batch)).toBe(BATCH);
      // The caller owns the batch again: scribble over bytes, lengths and addresses.
      batch.buf.fill(0xee);
      batch.lengths.fill(3);
      const elsewhere: SocketAddr = { host: dst.host, port: dst.port === 9 ? 10 : 9 };
      batch.addrs.fill(elsewhere);
      batch.clear();
      await until(p, () => sb.count >= BATCH, `${BATCH} datagrams`);
      expectExactly(sb, p.a.localAddr(), BATCH, 0, (s) => 100 + s);
    });

    it('accepts a prefix when full and fires onWritable until everything is sent', async () => {
      const p = await open();
      const sb = new Sink(p.b);
      const dst = p.b.localAddr();
      const size = 200;
      const batch = new DatagramBatch(BATCH, size);
      let next = 0;
      let total = MAX_UNBOUNDED_QUEUE;
      let refusals = 0;
      let writables = 0;
      // Send until refused; return whether everything up to `total` went out.
      const pump = (): boolean => {
        while (next < total) {
          batch.clear();
          for (let s = next; s < total && batch.count < BATCH; s++) batch.push(payload(s, size, 0), dst);
          const accepted = p.a.send(batch);
          expect(accepted).toBeLessThanOrEqual(batch.count);
          next += accepted;
          if (accepted < batch.count) {
            refusals++;
            return false;
          }
        }
        return true;
      };
      p.a.onWritable(() => {
        writables++;
        pump();
      });
      // Without yielding, a bounded transport must refuse at some point.
      expect(pump(), `no refusal within ${MAX_UNBOUNDED_QUEUE} datagrams: the send queue is unbounded`).toBe(false);
      total = next + 1000;
      await until(p, () => next === total, `onWritable to let all ${total} datagrams out`);
      expect(refusals).toBeGreaterThanOrEqual(1);
      expect(writables).toBeGreaterThanOrEqual(1);
      await until(p, () => sb.count >= total, `${total} datagrams to arrive`);
      expectExactly(sb, p.a.localAddr(), total, 0, () => size);
    });

    it('reports a bound local address with a real port', async () => {
      const p = await open();
      for (const t of [p.a, p.b]) {
        const addr = t.localAddr();
        expect(addr.host.length).toBeGreaterThan(0);
        expect(Number.isInteger(addr.port)).toBe(true);
        expect(addr.port).toBeGreaterThan(0);
        expect(addr.port).toBeLessThanOrEqual(65535);
      }
      expect(addrEquals(p.a.localAddr(), p.b.localAddr())).toBe(false);
    });

    it('closes idempotently, then throws E_TRANSPORT_CLOSED on send and fires nothing', async () => {
      const p = await open();
      const sa = new Sink(p.a);
      const aAddr = p.a.localAddr();
      const bAddr = p.b.localAddr();
      // Leave a refused send behind, so an onWritable is owed when close() runs.
      let writables = 0;
      p.a.onWritable(() => writables++);
      const fill = new DatagramBatch(BATCH, 64);
      for (let sent = 0; sent < MAX_UNBOUNDED_QUEUE; sent += BATCH) {
        fill.clear();
        while (fill.push(payload(sent + fill.count, 64, 0), bAddr));
        if (p.a.send(fill) < fill.count) break;
      }
      await Promise.all([p.a.close(), p.a.close()]);
      await p.a.close();
      const batch = new DatagramBatch(1, 16);
      batch.push(payload(0, 8, 0), bAddr);
      let thrown: unknown;
      try {
        p.a.send(batch);
      } catch (e) {
        thrown = e;
      }
      expect(isWraithError(thrown, 'E_TRANSPORT_CLOSED'), `send after close threw ${String(thrown)}`).toBe(true);
      // The peer sending to the closed address must not reach the old callback.
      const back = new DatagramBatch(1, 16);
      back.push(payload(0, 8, 1), aAddr);
      expect(p.b.send(back)).toBe(1);
      await until(p, () => p.b.stats().txPackets + p.b.stats().txDropped >= 1, 'the peer send to complete');
      for (let i = 0; i < 20; i++) await p.tick();
      expect(sa.count).toBe(0);
      expect(writables).toBe(0);
      expect(() => p.a.stats()).not.toThrow();
    });

    it('delivers 1000 datagrams sent in bursts', async () => {
      const p = await open();
      const sb = new Sink(p.b);
      const max = p.a.maxDatagram(p.b.localAddr());
      const n = 1000;
      const burst = 50;
      const sizeOf = (s: number): number => sizeFor(s, max);
      for (let s = 0; s < n; s += burst) {
        await sendRange(p, p.a, p.b.localAddr(), s, Math.min(n, s + burst), 0, sizeOf);
        await p.tick();
      }
      const all = await settle(p, () => sb.count >= n);
      if (!all && p.lossy !== true) throw new Error(`${name}: only ${sb.count} of ${n} datagrams arrived`);
      const floor = p.lossy === true ? Math.ceil(n * (1 - LOSSY_TOLERANCE)) : n;
      expect(sb.count).toBeGreaterThanOrEqual(floor);
      const seen = new Set<number>();
      for (const r of sb.got) {
        const seq = tagOf(r.bytes);
        expect(seen.has(seq), `datagram ${seq} delivered twice`).toBe(false);
        seen.add(seq);
        expect(sameBytes(r.bytes, payload(seq, sizeOf(seq), 0)), `datagram ${seq} intact`).toBe(true);
      }
    });

    if (opts.lendsBuffers === true) {
      it('lends its own send buffers: datagrams written there arrive intact, and unsent lends come back', async () => {
        const p = await open();
        const lend = p.a.txBatch?.bind(p.a);
        if (lend === undefined) throw new Error(`${name}: lendsBuffers is set but txBatch() is missing`);
        const sb = new Sink(p.b);
        const dst = p.b.localAddr();
        // Batches taken and never sent must not use the buffers up.
        for (let k = 0; k < 1000; k++) expect(lend(), `lend ${k}`).not.toBeNull();
        const n = 1000;
        const max = Math.min(p.a.maxDatagram(dst), lend()!.slotSize);
        const sizeOf = (s: number): number => sizeFor(s, max);
        const own = new DatagramBatch(BATCH, max);
        let seq = 0;
        while (seq < n) {
          const b = lend();
          if (b === null) {
            await p.tick();
            continue;
          }
          expect(b.count).toBe(0);
          for (; b.count < b.capacity && seq < n; seq++) {
            const bytes = payload(seq, sizeOf(seq), 0);
            const i = b.count++;
            b.buf.set(bytes, b.offsets[i]);
            b.lengths[i] = bytes.length;
            b.addrs[i] = dst;
          }
          const accepted = p.a.send(b);
          // What it refuses is copied out before the next lend, as the contract says.
          const rest: Uint8Array[] = [];
          for (let i = accepted; i < b.count; i++) rest.push(b.datagram(i).slice());
          for (let k = 0; k < rest.length; ) {
            own.clear();
            for (let j = k; j < rest.length && own.count < BATCH; j++) own.push(rest[j]!, dst);
            k += p.a.send(own);
            if (k < rest.length) await p.tick();
          }
          await p.tick();
        }
        await until(p, () => sb.count >= n, `${n} datagrams sent from lent buffers`);
        expectExactly(sb, p.a.localAddr(), n, 0, sizeOf);
      });
    }
  });
}
