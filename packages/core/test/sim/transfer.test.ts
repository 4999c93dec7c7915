import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { nodeBackend } from '../../src/crypto/index.js';
import { nobleBlake3 } from '../../src/noble.js';
import { SimPair, type SimLinkConfig } from '../../src/sim/index.js';
import { fastBlake3, sha256hex } from './helpers.js';

const MiB = 1024 * 1024;

function link(over: Partial<SimLinkConfig> = {}): SimLinkConfig {
  return { bandwidthBps: 200e6, delay: 10_000, queueBytes: 2 * MiB, ...over };
}

function randomFile(seed: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  new SeededRng(seed).fill(b);
  return b;
}

function transfer(seed: number, size: number, ab: SimLinkConfig, ba: SimLinkConfig, limitUs = 600e6) {
  console.log(`sim seed ${seed}`);
  const pair = new SimPair({ seed, ab, ba, backend: nodeBackend, hasher: fastBlake3 });
  const data = randomFile(seed, size);
  const s = pair.connect();
  pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 30e6);
  pair.send(s, 'file.bin', data, 256 * 1024);
  const done = pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete'), limitUs);
  return { pair, data, done };
}

describe('simulated transfers', () => {
  for (const loss of [0, 0.01, 0.05, 0.1, 0.3]) {
    it(`64 MiB arrives identical at ${loss * 100} % loss with reordering and duplication`, () => {
      const imp = { lossRate: loss, reorderRate: 0.02, reorderDelay: 5_000, duplicateRate: 0.01 };
      const { pair, data, done } = transfer(1000 + loss * 100, 64 * MiB, link(imp), link(imp), 3000e6);
      expect(done).toBe(true);
      const got = pair.b.received.get('file.bin');
      expect(got && sha256hex(got)).toBe(sha256hex(data));
      if (loss > 0) expect(pair.ab.stats.droppedLoss).toBeGreaterThan(0);
    });
  }

  it('64 MiB arrives identical with one corrupted byte in 2 % of packets', () => {
    const imp = { corruptRate: 0.02 };
    const { pair, data, done } = transfer(77, 64 * MiB, link(imp), link(imp));
    expect(done).toBe(true);
    expect(sha256hex(pair.b.received.get('file.bin') as Uint8Array)).toBe(sha256hex(data));
    expect(pair.ab.stats.corrupted).toBeGreaterThan(0);
    expect(pair.b.endpoint.drops.get('auth')).toBeGreaterThan(0);
  });

  it('8 sessions between the same two endpoints, each with its own file at 2 % loss: all identical, and an idle session still sends when asked', () => {
    const imp = { lossRate: 0.02, reorderRate: 0.02, reorderDelay: 5_000 };
    const pair = new SimPair({
      seed: 88,
      ab: link(imp),
      ba: link(imp),
      backend: nodeBackend,
      hasher: fastBlake3,
      endpointA: { maxSessionsPerPeer: 16 },
      endpointB: { maxSessionsPerPeer: 16 },
    });
    const sessions = Array.from({ length: 8 }, () => pair.connect());
    expect(pair.runUntil(() => pair.a.events.filter((e) => e.type === 'connected').length === 8, 30e6)).toBe(true);
    const files = sessions.map((s, i) => ({ s, name: `f${i}.bin`, data: randomFile(880 + i, 2 * MiB + i * 1000) }));
    for (const f of files) pair.send(f.s, f.name, f.data, 64 * 1024);
    const complete = (n: number): boolean => pair.a.events.filter((e) => e.type === 'transfer_complete').length >= n;
    expect(pair.runUntil(() => complete(8), 600e6)).toBe(true);
    for (const f of files) expect(sha256hex(pair.b.received.get(f.name) as Uint8Array), f.name).toBe(sha256hex(f.data));
    // Every session has been idle for a while; the third one is asked again.
    pair.runUntil(() => false, pair.now + 2e6);
    const late = randomFile(899, 300_000);
    pair.send(files[2]!.s, 'late.bin', late, 64 * 1024);
    expect(pair.runUntil(() => complete(9), pair.now + 60e6)).toBe(true);
    expect(sha256hex(pair.b.received.get('late.bin') as Uint8Array)).toBe(sha256hex(late));
  });

  it('verifies with the reference BLAKE3 too (small file)', () => {
    const pair = new SimPair({ seed: 5, ab: link(), ba: link(), backend: nodeBackend, hasher: nobleBlake3 });
    const data = randomFile(5, 300_000);
    const s = pair.connect();
    pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 30e6);
    pair.send(s, 'small.bin', data, 16 * 1024);
    expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete'), 60e6)).toBe(true);
    expect(sha256hex(pair.b.received.get('small.bin') as Uint8Array)).toBe(sha256hex(data));
  });
});
