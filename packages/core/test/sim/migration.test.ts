/**
 * NAT rebinding mid-transfer (PROTOCOL.md §4 PATH_CHALLENGE/PATH_RESPONSE):
 * A's datagrams start arriving at B from a new host:port, and the old mapping
 * is gone (nothing sent to A's old address arrives). B must keep its data on
 * the validated path, send the new address no more than 3x what it received
 * from it until a PATH_RESPONSE validates it, then move there.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair, type SimLinkConfig, type SimPeer } from '../../src/sim/index.js';
import type { SessionEvent } from '../../src/session/index.js';
import { addrKey, type DatagramBatch, type SocketAddr } from '../../src/transport.js';
import { fastBlake3, sha256hex } from './helpers.js';

const MiB = 1024 * 1024;
const CHUNK = 256 * 1024;

function randomFile(seed: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  new SeededRng(seed).fill(b);
  return b;
}

/**
 * Counts, per address, the bytes B received (at its endpoint) and sent (on
 * the wire, from the pair's capture), and checks after every step that B
 * never sent an address it has not validated more than 3x what came from it.
 */
class PathWatch {
  readonly rx = new Map<string, number>();
  readonly tx = new Map<string, number>();
  /** Datagrams B sent to each address before it validated it. */
  readonly sentBeforeValidation = new Map<string, number>();
  /** Simulated time of the first datagram from / to each address. */
  readonly firstRxAt = new Map<string, number>();
  readonly firstTxAt = new Map<string, number>();
  worst = 0;
  private seen = 0;

  constructor(
    readonly pair: SimPair,
    private readonly peer: SimPeer,
  ) {
    const ep = peer.endpoint;
    const batch = ep.handleBatch.bind(ep);
    ep.handleBatch = (now: number, b: DatagramBatch) => {
      for (let i = 0; i < b.count; i++) this.received(now, addrKey(b.addrs[i] as SocketAddr), b.lengths[i] ?? 0);
      batch(now, b);
    };
    const one = ep.handleDatagram.bind(ep);
    ep.handleDatagram = (now: number, from: SocketAddr, bytes: Uint8Array) => {
      this.received(now, addrKey(from), bytes.length);
      one(now, from, bytes);
    };
    pair.capture = [];
  }

  private received(now: number, k: string, n: number): void {
    this.add(this.rx, k, n);
    if (!this.firstRxAt.has(k)) this.firstRxAt.set(k, now);
  }

  private add(m: Map<string, number>, k: string, n: number): void {
    m.set(k, (m.get(k) ?? 0) + n);
  }

  private readonly everValidated = new Set<string>();

  /** Addresses B has validated: where its session's path is, or was. */
  private validated(): Set<string> {
    const s = this.everValidated;
    for (const e of this.peer.events) if (e.type === 'path_validated') s.add(addrKey(e.addr));
    for (const x of this.peer.endpoint.listSessions()) if (x.path.validated) s.add(addrKey(x.path.addr));
    return s;
  }

  /** Account for what B sent in the last step, at `sentAt`. */
  check(sentAt: number): void {
    const cap = this.pair.capture ?? [];
    const me = addrKey(this.peer.addr);
    const ok = this.validated();
    for (; this.seen < cap.length; this.seen++) {
      const c = cap[this.seen] as { from: SocketAddr; to: SocketAddr; bytes: Uint8Array };
      if (addrKey(c.from) !== me) continue;
      const k = addrKey(c.to);
      this.add(this.tx, k, c.bytes.length);
      if (!this.firstTxAt.has(k)) this.firstTxAt.set(k, sentAt);
      if (ok.has(k)) continue;
      this.add(this.sentBeforeValidation, k, 1);
      const rx = this.rx.get(k) ?? 0;
      const ratio = (this.tx.get(k) ?? 0) / Math.max(1, rx);
      this.worst = Math.max(this.worst, ratio);
      if ((this.tx.get(k) ?? 0) > 3 * rx) throw new Error(`B sent ${this.tx.get(k)} B to unvalidated ${k} after receiving ${rx} B`);
    }
    cap.length = 0;
    this.seen = 0;
  }

  run(done: () => boolean, until: number): boolean {
    while (this.pair.now < until) {
      if (done()) return true;
      const t = this.pair.now; // step() flushes at this time, then moves on
      if (!this.pair.step()) break;
      this.check(t);
    }
    this.check(this.pair.now);
    return done();
  }
}

function validations(peer: SimPeer): Array<Extract<SessionEvent, { type: 'path_validated' }>> {
  return peer.events.filter((e): e is Extract<SessionEvent, { type: 'path_validated' }> => e.type === 'path_validated');
}

const link: SimLinkConfig = { bandwidthBps: 100e6, delay: 10_000, queueBytes: 1 * MiB };

describe('NAT rebinding', () => {
  it('the sender moves twice mid-transfer: B validates each new address before using it, the file arrives identical', () => {
    const seed = 8001;
    console.log(`sim seed ${seed}`);
    const size = 16 * MiB;
    const pair = new SimPair({ seed, ab: link, ba: link, backend: nodeBackend, hasher: fastBlake3 });
    const data = randomFile(seed, size);
    const s = pair.connect();
    expect(pair.runUntil(() => pair.b.events.some((e) => e.type === 'connected'), 10e6)).toBe(true);
    const watch = new PathWatch(pair, pair.b);
    pair.send(s, 'moving.bin', data, CHUNK);
    const moves: SocketAddr[] = [
      { host: '203.0.113.7', port: 40000 }, // a new address and port
      { host: '203.0.113.7', port: 40001 }, // the port only
    ];
    const complete = () => pair.a.events.some((e) => e.type === 'transfer_complete');
    expect(watch.run(() => pair.b.chunkBytesWritten >= size * 0.3, 60e6)).toBe(true);
    pair.a.apparentAddr = moves[0] as SocketAddr;
    expect(watch.run(() => validations(pair.b).length === 1, pair.now + 5e6)).toBe(true);
    expect(watch.run(() => pair.b.chunkBytesWritten >= size * 0.6, pair.now + 60e6)).toBe(true);
    pair.a.apparentAddr = moves[1] as SocketAddr;
    expect(watch.run(complete, pair.now + 120e6)).toBe(true);

    const got = pair.b.received.get('moving.bin') as Uint8Array;
    expect(sha256hex(got)).toBe(sha256hex(data));
    const v = validations(pair.b);
    console.log(
      `path_validated ${v.map((e) => addrKey(e.addr)).join(', ')}; before validation B sent`,
      Object.fromEntries(watch.sentBeforeValidation),
      `datagrams; worst tx/rx to an unvalidated address ${watch.worst.toFixed(2)}; B then sent`,
      Object.fromEntries(watch.tx),
      'bytes',
    );
    expect(v.map((e) => addrKey(e.addr))).toEqual(moves.map(addrKey));
    expect(addrKey(pair.b.endpoint.listSessions()[0]?.path.addr as SocketAddr)).toBe(addrKey(moves[1] as SocketAddr));
    expect(pair.b.endpoint.listSessions()[0]?.stats.pathValidations).toBe(2);
    // Before validation B sent each new address its PATH_CHALLENGE and little else;
    // once validated, the data went there.
    for (const m of moves) {
      // The very first datagram from the new address counts toward its budget: B challenges at once.
      expect(watch.firstTxAt.get(addrKey(m))).toBe(watch.firstRxAt.get(addrKey(m)));
      expect(watch.sentBeforeValidation.get(addrKey(m)) ?? 0).toBeGreaterThan(0); // the PATH_CHALLENGE
      expect(watch.sentBeforeValidation.get(addrKey(m)) ?? 0).toBeLessThanOrEqual(3);
      expect(watch.tx.get(addrKey(m)) ?? 0).toBeGreaterThan(10_000);
    }
    expect(watch.worst).toBeLessThanOrEqual(3);
  });

  it('the receiver moves: the sender stops sending into the void and goes on at the validated new address', () => {
    const seed = 8002;
    console.log(`sim seed ${seed}`);
    const size = 8 * MiB;
    const pair = new SimPair({ seed, ab: link, ba: link, backend: nodeBackend, hasher: fastBlake3 });
    const data = randomFile(seed, size);
    pair.connect();
    expect(pair.runUntil(() => pair.b.events.some((e) => e.type === 'connected'), 10e6)).toBe(true);
    const watch = new PathWatch(pair, pair.b);
    const bSession = pair.b.endpoint.listSessions()[0]?.id as number;
    pair.b.send(bSession, 'to-a.bin', data, CHUNK, pair.hasher);
    expect(watch.run(() => pair.a.chunkBytesWritten >= size * 0.4, 60e6)).toBe(true);
    const moved: SocketAddr = { host: '198.51.100.44', port: 50123 };
    pair.a.apparentAddr = moved;
    expect(watch.run(() => pair.b.events.some((e) => e.type === 'transfer_complete'), pair.now + 120e6)).toBe(true);
    expect(sha256hex(pair.a.received.get('to-a.bin') as Uint8Array)).toBe(sha256hex(data));
    const v = validations(pair.b);
    console.log(
      `path_validated ${v.map((e) => addrKey(e.addr)).join(', ')}; B sent before validation`,
      Object.fromEntries(watch.sentBeforeValidation),
      `worst tx/rx ${watch.worst.toFixed(2)}`,
    );
    expect(v.map((e) => addrKey(e.addr))).toEqual([addrKey(moved)]);
    expect(watch.sentBeforeValidation.get(addrKey(moved)) ?? 0).toBeGreaterThan(0);
    expect(watch.firstTxAt.get(addrKey(moved))).toBe(watch.firstRxAt.get(addrKey(moved)));
    expect(watch.tx.get(addrKey(moved)) ?? 0).toBeGreaterThan(size / 4);
  });
  it('genuine packets re-sourced by an on-path attacker never move the path: the challenge goes unanswered', () => {
    const seed = 8003;
    console.log(`sim seed ${seed}`);
    const size = 8 * MiB;
    const pair = new SimPair({ seed, ab: link, ba: link, backend: nodeBackend, hasher: fastBlake3 });
    const data = randomFile(seed, size);
    const s = pair.connect();
    expect(pair.runUntil(() => pair.b.events.some((e) => e.type === 'connected'), 10e6)).toBe(true);
    const watch = new PathWatch(pair, pair.b);
    pair.send(s, 'stay.bin', data, CHUNK);
    expect(watch.run(() => pair.b.chunkBytesWritten >= size * 0.3, 60e6)).toBe(true);
    // For 2 ms A's packets arrive from the attacker's address (which A never hears from).
    const attacker: SocketAddr = { host: '192.0.2.66', port: 6666 };
    pair.a.apparentAddr = attacker;
    const until = pair.now + 2_000;
    watch.run(() => false, until);
    pair.a.apparentAddr = null;
    expect(watch.run(() => pair.a.events.some((e) => e.type === 'transfer_complete'), pair.now + 120e6)).toBe(true);
    expect(sha256hex(pair.b.received.get('stay.bin') as Uint8Array)).toBe(sha256hex(data));
    const k = addrKey(attacker);
    console.log(`attacker address: received ${watch.rx.get(k) ?? 0} B, sent ${watch.tx.get(k) ?? 0} B; worst tx/rx ${watch.worst.toFixed(2)}`);
    expect(watch.rx.get(k) ?? 0).toBeGreaterThan(0);
    expect(watch.tx.get(k) ?? 0).toBeGreaterThan(0); // the PATH_CHALLENGE
    expect(watch.tx.get(k) ?? 0).toBeLessThanOrEqual(3 * (watch.rx.get(k) ?? 0));
    expect(validations(pair.b)).toHaveLength(0);
    expect(addrKey(pair.b.endpoint.listSessions()[0]?.path.addr as SocketAddr)).toBe(addrKey(pair.a.addr));
  });
});
