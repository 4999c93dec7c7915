/**
 * ConnectOptions.maxDatagramSize (the dialler's path MTU): both ends of that session keep their
 * datagrams to it, so a path that drops larger ones (a tunnel, a router that does not fragment)
 * still carries the transfer. It only lowers the configured size, and never below 1200.
 * Endpoint.limitDatagramSize does the same for a running session (ICMP "packet too big").
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { nodeBackend } from '../../src/crypto/index.js';
import type { ConnectOptions } from '../../src/endpoint.js';
import { SimPair, type SimLinkConfig } from '../../src/sim/index.js';
import { fastBlake3, sha256hex } from './helpers.js';

const SIZE = 2 * 1024 * 1024;

function run(mtu: number, opts: ConnectOptions) {
  const link: SimLinkConfig = { bandwidthBps: 200e6, delay: 2_000, queueBytes: 1 << 20, mtu };
  const pair = new SimPair({ seed: 3, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
  const data = new Uint8Array(SIZE);
  new SeededRng(4).fill(data);
  const s = pair.connect(opts);
  pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6);
  pair.send(s, 'f.bin', data, 256 * 1024);
  pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete'), pair.now + 20e6);
  const got = pair.b.received.get('f.bin');
  return {
    ok: got !== undefined && sha256hex(got) === sha256hex(data),
    droppedMtu: pair.ab.stats.droppedMtu + pair.ba.stats.droppedMtu,
  };
}

describe('maxDatagramSize given at the dial', () => {
  it('a 1280-byte path: with it the file arrives identical and nothing is too large either way', () => {
    const r = run(1280, { maxDatagramSize: 1280 });
    expect(r.ok).toBe(true);
    expect(r.droppedMtu).toBe(0);
  });

  it('without it, the same path drops the data datagrams and the file does not arrive (the check above can fail)', () => {
    const r = run(1280, {});
    expect(r.ok).toBe(false);
    expect(r.droppedMtu).toBeGreaterThan(0);
  });

  it('only lowers the configured size (1452), and never below 1200', () => {
    expect(run(1452, { maxDatagramSize: 9000 }).droppedMtu).toBe(0);
    expect(run(1200, { maxDatagramSize: 1000 })).toMatchObject({ ok: true, droppedMtu: 0 });
    expect(run(1452, { maxDatagramSize: 9000 }).ok).toBe(true);
  });
});

describe('limitDatagramSize on a running session', () => {
  /** The path narrows to 1280 a quarter into the transfer; `tell` says so to the sender. */
  function narrowed(tell: number | null) {
    const link: SimLinkConfig = { bandwidthBps: 200e6, delay: 2_000, queueBytes: 1 << 20 };
    const pair = new SimPair({ seed: 6, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
    const data = new Uint8Array(SIZE);
    new SeededRng(7).fill(data);
    const s = pair.connect();
    pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6);
    pair.send(s, 'f.bin', data, 256 * 1024);
    pair.runUntil(() => pair.ab.stats.delivered > SIZE / 1452 / 4, pair.now + 10e6);
    pair.ab.cfg.mtu = 1280;
    const lowered = tell === null ? [] : pair.a.endpoint.limitDatagramSize(pair.b.addr, tell);
    pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete'), pair.now + 20e6);
    const got = pair.b.received.get('f.bin');
    return { ok: got !== undefined && sha256hex(got) === sha256hex(data), lowered, size: pair.a.endpoint.session(s).datagramSize, id: s };
  }

  it('told, the session keeps its packets (retransmissions too) within the new size, and the file arrives identical', () => {
    const r = narrowed(1280);
    expect(r.lowered).toEqual([r.id]);
    expect(r.size).toBe(1280);
    expect(r.ok).toBe(true);
  });

  it('not told, it stalls (the check above can fail)', () => {
    expect(narrowed(null).ok).toBe(false);
  });

  it('never raises the size, and never lowers it below 1200', () => {
    const link: SimLinkConfig = { delay: 1_000 };
    const pair = new SimPair({ seed: 8, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
    const s = pair.connect();
    pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6);
    const session = pair.a.endpoint.session(s);
    expect(session.datagramSize).toBe(1452);
    expect(pair.a.endpoint.limitDatagramSize(pair.b.addr, 9000)).toEqual([]);
    expect(pair.a.endpoint.limitDatagramSize({ host: '192.0.2.9', port: 1 }, 1300)).toEqual([]);
    expect(session.datagramSize).toBe(1452);
    expect(pair.a.endpoint.limitDatagramSize(pair.b.addr, 600)).toEqual([s]);
    expect(session.datagramSize).toBe(1200);
  });
});
