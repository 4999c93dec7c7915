/**
 * After a PMTU black hole a session sends 1200-byte datagrams; probes (PING + PADDING, outside
 * the congestion window) bring the size back up: all the way when the black hole was
 * transient, and to just under a narrower link's MTU when it is real. Before, a session stayed
 * at 1200 bytes for the rest of its life, even after a burst of loss that only looked like one.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair, type SimLinkConfig } from '../../src/sim/index.js';
import { secs } from '../../src/time.js';
import { SEARCH_DONE } from '../../src/session/pmtu-raise.js';
import { fastBlake3, sha256hex } from './helpers.js';

const SIZE = 32 * 1024 * 1024;

function sizes(pair: SimPair, type: 'black_hole' | 'pmtu_raised'): Array<{ from: number; to: number }> {
  return pair.a.events.flatMap((e) => (e.type === type ? [{ from: e.from, to: e.to }] : []));
}

/** A 32 MiB transfer over a 1 MB/s link; `narrow` runs once a tenth of it is through. */
function transfer(seed: number, narrow: (pair: SimPair) => void) {
  const link: SimLinkConfig = { bandwidthBps: 8e6, delay: 5_000, queueBytes: 256 * 1024 };
  const pair = new SimPair({ seed, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
  const data = new Uint8Array(SIZE);
  new SeededRng(seed + 1).fill(data);
  const s = pair.connect();
  pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6);
  pair.send(s, 'f.bin', data, 1024 * 1024);
  pair.runUntil(() => pair.ab.stats.delivered > SIZE / 1452 / 10, pair.now + 60e6);
  narrow(pair);
  pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete'), pair.now + 120e6);
  const got = pair.b.received.get('f.bin');
  return { pair, ok: got !== undefined && sha256hex(got) === sha256hex(data) };
}

describe('raising the datagram size after a black hole', () => {
  it('a transient black hole: the first probe, 5 s later, brings back the full size', () => {
    let blackHoleAt = 0;
    let raisedAt = 0;
    let dropped = 0;
    const { pair, ok } = transfer(11, (p) => {
      p.ab.cfg.mtu = 1280;
      p.runUntil(() => sizes(p, 'black_hole').length > 0, p.now + 20e6);
      blackHoleAt = p.now;
      p.ab.cfg.mtu = undefined;
      p.runUntil(() => sizes(p, 'pmtu_raised').length > 0, p.now + 20e6);
      raisedAt = p.now;
      dropped = p.ab.stats.droppedMtu;
    });
    expect(ok).toBe(true);
    expect(sizes(pair, 'black_hole')).toEqual([{ from: 1452, to: 1200 }]);
    expect(sizes(pair, 'pmtu_raised')).toEqual([{ from: 1200, to: 1452 }]);
    expect(raisedAt - blackHoleAt).toBeGreaterThanOrEqual(secs(5));
    expect(raisedAt - blackHoleAt).toBeLessThan(secs(6));
    expect(dropped).toBeGreaterThan(0);
    expect(pair.ab.stats.droppedMtu).toBe(dropped); // the link is whole again: nothing more dropped
  }, 60_000);

  it('a 1400-byte link: the size climbs to just under it and never above, the file arrives identical', () => {
    let droppedAtBlackHole = 0;
    const { pair, ok } = transfer(12, (p) => {
      p.ab.cfg.mtu = 1400;
      p.runUntil(() => sizes(p, 'black_hole').length > 0, p.now + 20e6);
      droppedAtBlackHole = p.ab.stats.droppedMtu;
    });
    expect(ok).toBe(true);
    expect(sizes(pair, 'black_hole')).toEqual([{ from: 1452, to: 1200 }]);
    const raised = sizes(pair, 'pmtu_raised');
    expect(raised.length).toBeGreaterThan(0);
    const final = raised[raised.length - 1]!.to;
    expect(final).toBeLessThanOrEqual(1400);
    expect(final).toBeGreaterThan(1400 - SEARCH_DONE);
    for (const r of raised) expect(r.to).toBeLessThanOrEqual(1400);
    // After the black hole only probes were too big: a handful, not the data.
    expect(pair.ab.stats.droppedMtu - droppedAtBlackHole).toBeLessThanOrEqual(4);
  }, 60_000);

  it('a black hole that stays: probes back off (one datagram per wait, waits doubling)', () => {
    let droppedAtBlackHole = 0;
    let blackHoleAt = 0;
    const { pair, ok } = transfer(13, (p) => {
      p.ab.cfg.mtu = 1200;
      p.runUntil(() => sizes(p, 'black_hole').length > 0, p.now + 20e6);
      droppedAtBlackHole = p.ab.stats.droppedMtu;
      blackHoleAt = p.now;
    });
    expect(ok).toBe(true);
    expect(sizes(pair, 'pmtu_raised')).toEqual([]);
    // About 30 s of transfer after it: probes at 5, 15 and 35 s (5, 10, 20 s apart), so 2 or 3.
    const probes = pair.ab.stats.droppedMtu - droppedAtBlackHole;
    expect(pair.now - blackHoleAt).toBeGreaterThan(secs(20));
    expect(probes).toBeGreaterThanOrEqual(2);
    expect(probes).toBeLessThanOrEqual(3);
  }, 60_000);
});
