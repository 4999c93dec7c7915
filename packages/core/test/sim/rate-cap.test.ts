/**
 * maxSendRate (a user's rate limit, `wraith send --rate`): file data leaves at the cap, and a
 * backlog built up during a blackhole still leaves at the cap once the path is back, where
 * congestion control alone sends it as fast as the path takes it.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair, type SimLinkConfig } from '../../src/sim/index.js';
import { fastBlake3, sha256hex } from './helpers.js';

const MiB = 1024 * 1024;
const CAP = 4e6; // bytes per second
const WINDOW = 100_000; // µs
const SIZE = 12 * MiB;

/** The cap for every session (the endpoint's config) or for the one dialled ('connect'). */
function run(maxSendRate: number | null, via: 'config' | 'connect' = 'config') {
  // 100 Mbit/s: faster than the cap, slow enough that the uncapped run is not done before the blackhole.
  const link: SimLinkConfig = { bandwidthBps: 100e6, delay: 5_000, queueBytes: 4 * MiB };
  const pair = new SimPair({ seed: 5, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3, session: { maxSendRate: via === 'config' ? maxSendRate : null } });
  const data = new Uint8Array(SIZE);
  new SeededRng(9).fill(data);
  const s = via === 'config' ? pair.connect() : pair.connect({ maxSendRate });
  pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6);
  const t0 = pair.now;
  pair.send(s, 'f.bin', data, 256 * 1024);
  const done = () => pair.a.events.some((e) => e.type === 'transfer_complete');
  // 0.5 s open, then 1 s blackhole both ways, then open again.
  pair.runUntil(() => false, t0 + 500_000);
  pair.ab.cfg.lossRate = 1;
  pair.ba.cfg.lossRate = 1;
  pair.runUntil(() => false, t0 + 1_500_000);
  pair.ab.cfg.lossRate = 0;
  pair.ba.cfg.lossRate = 0;
  // Datagrams a→b per 100 ms once the path is back.
  const perWindow: number[] = [];
  let last = pair.ab.stats.sent;
  for (let end = t0 + 1_500_000 + WINDOW; !done() && end < t0 + 60e6; end += WINDOW) {
    pair.runUntil(done, end);
    perWindow.push(pair.ab.stats.sent - last);
    last = pair.ab.stats.sent;
  }
  console.log(`maxSendRate ${maxSendRate}: ${((pair.now - t0) / 1e6).toFixed(2)} s, datagrams per 100 ms after the blackhole: max ${Math.max(...perWindow)}, first ${perWindow.slice(0, 5).join(",")}`);
  return { ok: done() && sha256hex(pair.b.received.get('f.bin')) === sha256hex(data), seconds: (pair.now - t0) / 1e6, perWindow };
}

describe('maxSendRate', () => {
  // At the cap, 100 ms carry ~4e5 bytes: at most ~290 datagrams of >= 1400 bytes, plus the
  // pacer's 10-datagram burst and ACK-only packets' share (none: a→b is the data side).
  const bound = Math.ceil((CAP * WINDOW) / 1e6 / 1400) + 10;

  it('holds file data at the cap, also right after a blackhole; the file arrives identical', () => {
    const r = run(CAP);
    expect(r.ok).toBe(true);
    // 12 MiB at 4 MB/s is >= 3.1 s of sending, plus the 1 s stall.
    expect(r.seconds).toBeGreaterThan(SIZE / CAP + 1);
    expect(Math.max(...r.perWindow)).toBeLessThanOrEqual(bound);
  });

  it('a cap given at the dial holds for that session as the config does', () => {
    const r = run(CAP, 'connect');
    expect(r.ok).toBe(true);
    expect(r.seconds).toBeGreaterThan(SIZE / CAP + 1);
    expect(Math.max(...r.perWindow)).toBeLessThanOrEqual(bound);
  });

  it('without it, the backlog after the blackhole leaves faster than that (the check above can fail)', () => {
    const r = run(null);
    expect(r.ok).toBe(true);
    expect(Math.max(...r.perWindow)).toBeGreaterThan(bound);
  });
});
