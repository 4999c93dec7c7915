import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { SimLink, type SimLinkConfig } from '../../src/sim/link.js';
import { NEVER } from '../../src/time.js';

const SEED = 0x11c;

function drain(link: SimLink, until = Number.POSITIVE_INFINITY): Array<{ at: number; bytes: Uint8Array; meta: unknown }> {
  const out: Array<{ at: number; bytes: Uint8Array; meta: unknown }> = [];
  for (let t = link.nextDeliveryTime(); t <= until && t !== NEVER; t = link.nextDeliveryTime()) {
    for (let d = link.pollDelivery(t); d; d = link.pollDelivery(t)) out.push({ at: t, bytes: d.bytes, meta: d.meta });
  }
  return out;
}

const pkt = (n: number, len = 1000): Uint8Array => new Uint8Array(len).fill(n & 0xff);

describe('SimLink', () => {
  it('serialises at the bandwidth, then adds the propagation delay, in order', () => {
    // 8 Mbit/s: 1000 bytes take 1 ms.
    const link = new SimLink({ bandwidthBps: 8e6, delay: 10_000 }, new SeededRng(SEED));
    for (let i = 0; i < 5; i++) link.send(0, pkt(i), i);
    expect(link.queuedBytes(0)).toBe(5000);
    const got = drain(link);
    expect(got.map((d) => d.at)).toEqual([11_000, 12_000, 13_000, 14_000, 15_000]);
    expect(got.map((d) => d.meta)).toEqual([0, 1, 2, 3, 4]);
    expect(got[3]?.bytes[0]).toBe(3);
  });

  it('copies what it is given', () => {
    const link = new SimLink({ delay: 1 }, new SeededRng(SEED));
    const b = pkt(7, 10);
    link.send(0, b);
    b.fill(9);
    expect(drain(link)[0]?.bytes[0]).toBe(7);
  });

  it('drops at the tail when the byte queue is full and reports the largest backlog', () => {
    const link = new SimLink({ bandwidthBps: 8e6, delay: 0, queueBytes: 3000 }, new SeededRng(SEED));
    for (let i = 0; i < 5; i++) link.send(0, pkt(i), i);
    expect(link.stats.droppedQueue).toBe(2);
    expect(link.stats.maxQueueBytes).toBe(3000);
    // Half a packet later there is room for one more only after a whole packet left.
    link.send(500, pkt(5), 5);
    expect(link.stats.droppedQueue).toBe(3);
    link.send(1000, pkt(6), 6);
    expect(drain(link).map((d) => d.meta)).toEqual([0, 1, 2, 6]);
  });

  it('drops datagrams above the MTU', () => {
    const link = new SimLink({ delay: 0, mtu: 1200 }, new SeededRng(SEED));
    link.send(0, pkt(1, 1201));
    link.send(0, pkt(1, 1200));
    expect(link.stats.droppedMtu).toBe(1);
    expect(drain(link)).toHaveLength(1);
  });

  it('loses about the configured fraction, deterministically by seed', () => {
    const run = (seed: number) => {
      const link = new SimLink({ delay: 0, lossRate: 0.1 }, new SeededRng(seed));
      for (let i = 0; i < 20_000; i++) link.send(i, pkt(0, 20), i);
      return { lost: link.stats.droppedLoss, order: drain(link).map((d) => d.meta as number) };
    };
    const a = run(SEED);
    expect(a.lost / 20_000).toBeGreaterThan(0.09);
    expect(a.lost / 20_000).toBeLessThan(0.11);
    expect(run(SEED)).toEqual(a);
    expect(run(SEED + 1).lost).not.toBe(a.lost);
  });

  it('Gilbert–Elliott loss comes in bursts of mean length 1/pBadToGood', () => {
    const link = new SimLink({ delay: 0, burstLoss: { pGoodToBad: 0.01, pBadToGood: 0.25 } }, new SeededRng(SEED));
    const n = 100_000;
    for (let i = 0; i < n; i++) link.send(i, pkt(0, 20), i);
    const got = new Set(drain(link).map((d) => d.meta as number));
    let bursts = 0;
    let lost = 0;
    for (let i = 0; i < n; i++) {
      if (got.has(i)) continue;
      lost++;
      if (i === 0 || got.has(i - 1)) bursts++;
    }
    // Stationary loss = p/(p+r) ≈ 3.8 %; mean burst = 1/r = 4.
    expect(lost / n).toBeGreaterThan(0.03);
    expect(lost / n).toBeLessThan(0.047);
    expect(lost / bursts).toBeGreaterThan(3.5);
    expect(lost / bursts).toBeLessThan(4.5);
  });

  it('reorders, duplicates and corrupts the configured fractions', () => {
    const cfg: SimLinkConfig = { delay: 1000, reorderRate: 0.1, reorderDelay: 5000, duplicateRate: 0.05, corruptRate: 0.02 };
    const link = new SimLink(cfg, new SeededRng(SEED));
    const n = 10_000;
    for (let i = 0; i < n; i++) link.send(i * 100, pkt(0, 200), i);
    const got = drain(link);
    const s = link.stats;
    expect(s.reordered / n).toBeGreaterThan(0.08);
    expect(s.reordered / n).toBeLessThan(0.12);
    expect(s.duplicated / n).toBeGreaterThan(0.04);
    expect(s.duplicated / n).toBeLessThan(0.06);
    expect(got.length).toBe(n + s.duplicated);
    // Out of order: some packet arrives after a higher-numbered one.
    let inversions = 0;
    for (let i = 1; i < got.length; i++) if ((got[i]?.meta as number) < (got[i - 1]?.meta as number)) inversions++;
    expect(inversions).toBeGreaterThan(0);
    // Each corrupted packet has exactly one byte changed, within the first 50.
    let corrupted = 0;
    for (const d of got) {
      const bad = [...d.bytes.keys()].filter((i) => d.bytes[i] !== 0);
      if (bad.length === 0) continue;
      expect(bad).toHaveLength(1);
      expect(bad[0]).toBeLessThan(50);
      corrupted++;
    }
    expect(corrupted).toBeGreaterThanOrEqual(s.corrupted); // duplicates of a corrupted packet count twice
    expect(s.corrupted / n).toBeGreaterThan(0.01);
  });

  it('reuses recycled buffers and never delivers early', () => {
    const link = new SimLink({ delay: 50 }, new SeededRng(SEED));
    link.send(0, pkt(1, 64));
    expect(link.pollDelivery(49)).toBeNull();
    const d = link.pollDelivery(50);
    const buf = d?.bytes as Uint8Array;
    link.recycle(buf);
    link.send(100, pkt(2, 64));
    const e = link.pollDelivery(150);
    expect(e?.bytes).toBe(buf);
    expect(e?.bytes[0]).toBe(2);
    expect(link.nextDeliveryTime()).toBe(NEVER);
  });
});
