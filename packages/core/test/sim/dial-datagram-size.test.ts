/**
 * ConnectOptions.maxDatagramSize (the dialler's path MTU): both ends of that session keep their
 * datagrams to it, so a path that drops larger ones (a tunnel, a router that does not fragment)
 * still carries the transfer. It only lowers the configured size, and never below 1200.
 * Endpoint.limitDatagramSize does the same for a running session (ICMP "packet too big"), and
 * a session that is told nothing finds such a black hole itself and falls back to 1200.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { nodeBackend } from '../../src/crypto/index.js';
import type { ConnectOptions } from '../../src/endpoint.js';
import type { SocketAddr } from '../../src/transport.js';
import { SimPair, type SimLinkConfig } from '../../src/sim/index.js';
import { fastBlake3, sha256hex } from './helpers.js';

const SIZE = 2 * 1024 * 1024;

function blackHoles(pair: SimPair): Array<{ from: number; to: number }> {
  return pair.a.events.flatMap((e) => (e.type === 'black_hole' ? [{ from: e.from, to: e.to }] : []));
}

/** SIZE random bytes from a to b over `pair`, dialled with `opts`: the session, and whether they arrived identical. */
function transferOn(pair: SimPair, opts: ConnectOptions, seed: number): { s: number; ok: boolean } {
  const data = new Uint8Array(SIZE);
  new SeededRng(seed).fill(data);
  const s = pair.connect(opts);
  pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6);
  pair.send(s, 'f.bin', data, 256 * 1024);
  pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete'), pair.now + 30e6);
  const got = pair.b.received.get('f.bin');
  return { s, ok: got !== undefined && sha256hex(got) === sha256hex(data) };
}

function run(mtu: number, opts: ConnectOptions) {
  const link: SimLinkConfig = { bandwidthBps: 200e6, delay: 2_000, queueBytes: 1 << 20, mtu };
  const pair = new SimPair({ seed: 3, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
  const { ok } = transferOn(pair, opts, 4);
  return { ok, droppedMtu: pair.ab.stats.droppedMtu + pair.ba.stats.droppedMtu, blackHoles: blackHoles(pair) };
}

describe('maxDatagramSize given at the dial', () => {
  it('a 1280-byte path: with it the file arrives identical and nothing is too large either way', () => {
    const r = run(1280, { maxDatagramSize: 1280 });
    expect(r.ok).toBe(true);
    expect(r.droppedMtu).toBe(0);
  });

  it('without it, the data datagrams are dropped until the session finds the black hole (the check above can fail)', () => {
    const r = run(1280, {});
    expect(r.droppedMtu).toBeGreaterThan(0);
    expect(r.blackHoles).toEqual([{ from: 1452, to: 1200 }]);
    expect(r.ok).toBe(true);
  });

  it('only lowers the configured size (1452), and never below 1200', () => {
    expect(run(1452, { maxDatagramSize: 9000 }).droppedMtu).toBe(0);
    expect(run(1200, { maxDatagramSize: 1000 })).toMatchObject({ ok: true, droppedMtu: 0 });
    expect(run(1452, { maxDatagramSize: 9000 }).ok).toBe(true);
  });
});

describe("the responder's own route (EndpointConfig.routeDatagram)", () => {
  /** A link into the responder that drops datagrams over 1280 bytes (its interface's MTU). */
  function intoNarrowResponder(route: number | null) {
    const link: SimLinkConfig = { bandwidthBps: 200e6, delay: 2_000, queueBytes: 1 << 20 };
    const asked: SocketAddr[] = [];
    const pair = new SimPair({
      seed: 21, ab: { ...link, mtu: 1280 }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3,
      endpointB: { routeDatagram: (addr) => (asked.push(addr), route) },
    });
    const { s, ok } = transferOn(pair, {}, 22);
    return {
      ok,
      droppedMtu: pair.ab.stats.droppedMtu,
      blackHoles: blackHoles(pair),
      size: pair.a.endpoint.session(s).datagramSize,
      asked,
    };
  }

  it('announced in the handshake: the initiator sends within it from the first datagram', () => {
    const r = intoNarrowResponder(1252);
    expect(r.asked.length).toBe(1); // once, for the INITIATION it answered
    expect(r.size).toBe(1252);
    expect(r.droppedMtu).toBe(0);
    expect(r.blackHoles).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('without word of it, the same link is a black hole the initiator has to find', () => {
    const r = intoNarrowResponder(null);
    expect(r.droppedMtu).toBeGreaterThan(0);
    expect(r.blackHoles).toEqual([{ from: 1452, to: 1200 }]);
    expect(r.ok).toBe(true);
  });
});

describe('limitDatagramSize on a running session', () => {
  /** A quarter into a transfer, `disturb` changes the path (and says what it tells the sender). */
  function midTransfer(seed: number, disturb: (pair: SimPair) => number[]) {
    const link: SimLinkConfig = { bandwidthBps: 200e6, delay: 2_000, queueBytes: 1 << 20 };
    const pair = new SimPair({ seed, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
    const data = new Uint8Array(SIZE);
    new SeededRng(seed + 1).fill(data);
    const s = pair.connect();
    pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6);
    const t0 = pair.now;
    pair.send(s, 'f.bin', data, 256 * 1024);
    pair.runUntil(() => pair.ab.stats.delivered > SIZE / 1452 / 4, pair.now + 10e6);
    const lowered = disturb(pair);
    pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete'), pair.now + 30e6);
    const got = pair.b.received.get('f.bin');
    return {
      ok: got !== undefined && sha256hex(got) === sha256hex(data),
      lowered,
      size: pair.a.endpoint.session(s).datagramSize,
      id: s,
      blackHoles: blackHoles(pair),
      seconds: (pair.now - t0) / 1e6,
    };
  }

  /** The path narrows to 1280; `tell` says so to the sender. */
  function narrowed(tell: number | null) {
    return midTransfer(6, (pair) => {
      pair.ab.cfg.mtu = 1280;
      return tell === null ? [] : pair.a.endpoint.limitDatagramSize(pair.b.addr, tell);
    });
  }

  it('told, the session keeps its packets (retransmissions too) within the new size, and the file arrives identical', () => {
    const r = narrowed(1280);
    expect(r.lowered).toEqual([r.id]);
    expect(r.size).toBe(1280);
    expect(r.ok).toBe(true);
  });

  it('not told (ICMP filtered), it finds the black hole: 1200-byte datagrams once the peer is heard through 3 probe timeouts', () => {
    const told = narrowed(1280);
    const r = narrowed(null);
    expect(r.blackHoles).toEqual([{ from: 1452, to: 1200 }]);
    expect(r.size).toBe(1200);
    expect(r.ok).toBe(true);
    // The peer is heard through its keep-alives (every 5 s at most).
    expect(r.seconds).toBeGreaterThan(told.seconds);
    expect(r.seconds).toBeLessThan(told.seconds + 12);
  });

  it.each([1452, 1400])('a black hole at the very end (only retransmissions left, whose PTO probes are small pings that get through): found by the full-size losses (max_datagram_size %i)', (size) => {
    const link: SimLinkConfig = { bandwidthBps: 200e6, delay: 2_000, queueBytes: 1 << 20 };
    const pair = new SimPair({ seed: 31, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3, session: { maxDatagramSize: size } });
    const data = new Uint8Array(SIZE);
    new SeededRng(32).fill(data);
    const s = pair.connect();
    pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6);
    pair.send(s, 'f.bin', data, 256 * 1024);
    // Every byte sent once: what is in flight now, and each retransmission of it, is dropped.
    pair.runUntil(() => pair.ab.stats.sent * 1400 > SIZE, pair.now + 10e6);
    pair.ab.cfg.mtu = 1280;
    const t0 = pair.now;
    pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete'), pair.now + 30e6);
    const got = pair.b.received.get('f.bin');
    expect(got !== undefined && sha256hex(got) === sha256hex(data)).toBe(true);
    expect(blackHoles(pair)).toEqual([{ from: size, to: 1200 }]);
    // Before, over 5 s: the receiver, with nothing left to send, went unheard until its keep-alive.
    expect(pair.now - t0).toBeLessThan(2e6);
  });

  it('random loss (20 %) and drop-tail congestion lose full-size packets in runs too, but are no black hole', () => {
    for (const link of [
      { bandwidthBps: 100e6, delay: 10_000, queueBytes: 1 << 20, lossRate: 0.2 },
      { bandwidthBps: 200e6, delay: 10_000, queueBytes: 16 * 1024 },
    ] as SimLinkConfig[]) {
      const pair = new SimPair({ seed: 41, ab: { ...link }, ba: { ...link, lossRate: (link.lossRate ?? 0) / 2 }, backend: nodeBackend, hasher: fastBlake3 });
      const data = new Uint8Array(4 << 20);
      new SeededRng(42).fill(data);
      const s = pair.connect();
      pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6);
      pair.send(s, 'f.bin', data, 256 * 1024);
      pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete'), pair.now + 120e6);
      expect(pair.a.endpoint.session(s).metrics()['lost_packets']).toBeGreaterThan(100);
      expect(blackHoles(pair)).toEqual([]);
      expect(sha256hex(pair.b.received.get('f.bin')!)).toBe(sha256hex(data));
    }
  });

  it('a total outage (nothing heard from the peer either) is no black hole: the size stays', () => {
    const r = midTransfer(9, (pair) => {
      pair.ab.cfg.lossRate = 1;
      pair.ba.cfg.lossRate = 1;
      pair.runUntil(() => false, pair.now + 8e6);
      pair.ab.cfg.lossRate = 0;
      pair.ba.cfg.lossRate = 0;
      return [];
    });
    expect(r.ok).toBe(true);
    expect(r.blackHoles).toEqual([]);
    expect(r.size).toBe(1452);
  });

  /** A session up, with nothing to send. */
  function idleSession() {
    const link: SimLinkConfig = { delay: 1_000 };
    const pair = new SimPair({ seed: 8, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
    const s = pair.connect();
    pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6);
    return { pair, s, session: pair.a.endpoint.session(s) };
  }

  it('limitDatagramSize never raises the size, and never lowers it below 1200', () => {
    const { pair, s, session } = idleSession();
    expect(session.datagramSize).toBe(1452);
    expect(pair.a.endpoint.limitDatagramSize(pair.b.addr, 9000)).toEqual([]);
    expect(pair.a.endpoint.limitDatagramSize({ host: '192.0.2.9', port: 1 }, 1300)).toEqual([]);
    expect(session.datagramSize).toBe(1452);
    expect(pair.a.endpoint.limitDatagramSize(pair.b.addr, 600)).toEqual([s]);
    expect(session.datagramSize).toBe(1200);
  });

  it('raiseDatagramSize: a route that widens again takes a lowered size back up, never above the configured one', () => {
    const { pair, s, session } = idleSession();
    expect(pair.a.endpoint.raiseDatagramSize(pair.b.addr, 9000)).toEqual([]); // never lowered: nothing to raise
    expect(pair.a.endpoint.limitDatagramSize(pair.b.addr, 1252)).toEqual([s]);
    expect(pair.a.endpoint.raiseDatagramSize(pair.b.addr, 1252)).toEqual([]);
    expect(pair.a.endpoint.raiseDatagramSize({ host: '192.0.2.9', port: 1 }, 1400)).toEqual([]);
    expect(pair.a.endpoint.raiseDatagramSize(pair.b.addr, 1400)).toEqual([s]);
    expect(session.datagramSize).toBe(1400);
    expect(pair.a.endpoint.raiseDatagramSize(pair.b.addr, 65_487)).toEqual([s]);
    expect(session.datagramSize).toBe(1452);
    // Lowered again later, it follows again.
    expect(pair.a.endpoint.limitDatagramSize(pair.b.addr, 1300)).toEqual([s]);
    expect(session.datagramSize).toBe(1300);
  });

  it('a route that widens does not lift a black hole: probes decide that', () => {
    const r = midTransfer(6, (pair) => {
      pair.ab.cfg.mtu = 1280;
      pair.runUntil(() => blackHoles(pair).length > 0, pair.now + 20e6);
      return pair.a.endpoint.raiseDatagramSize(pair.b.addr, 1452);
    });
    expect(r.blackHoles).toEqual([{ from: 1452, to: 1200 }]);
    expect(r.lowered).toEqual([]);
    expect(r.size).toBe(1200);
    expect(r.ok).toBe(true);
  });
});
