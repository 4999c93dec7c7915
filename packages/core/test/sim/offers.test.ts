/**
 * The sender's view of its offers:
 * - Endpoint.transferAccepted, what a sender's progress shows while the receiver decides on an
 *   offer (e.g. hashing a copy it already has): false from the offer until the ACCEPT arrives,
 *   true after it, null once the transfer is no longer sending (and for unknown ids);
 * - Endpoint.offerLimit, how many offers may be open at once: the lower of our max_transfers
 *   and the peer's (its transport parameter).
 */
import { describe, expect, it } from 'vitest';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair } from '../../src/sim/index.js';
import { fastBlake3 } from './helpers.js';

describe('transferAccepted', () => {
  it('is false until the receiver accepts, true after, null when done', () => {
    const link = { bandwidthBps: 100e6, delay: 20_000, queueBytes: 512 * 1024 };
    const pair = new SimPair({ seed: 4401, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
    const sid = pair.connect();
    expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 2e6)).toBe(true);
    const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    const id = pair.send(sid, 'f', data, 16 * 1024);
    let offeredAt = -1;
    let atOffer: boolean | null = null;
    pair.b.onOffer = () => {
      offeredAt = pair.now;
      atOffer = pair.a.endpoint.transferAccepted(sid, id);
      return 'accept';
    };
    const a = pair.a.endpoint;
    expect(a.transferAccepted(sid, id)).toBe(false);
    expect(a.transferAccepted(sid, id + 100)).toBe(null);
    // The offer crosses and B accepts at once; while B decides, A still waits.
    expect(pair.runUntil(() => a.transferAccepted(sid, id) === true, pair.now + 1e6)).toBe(true);
    expect(atOffer).toBe(false);
    expect(pair.now - offeredAt).toBeGreaterThanOrEqual(link.delay);
    expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete'), pair.now + 5e6)).toBe(true);
    expect(pair.b.received.get('f')).toEqual(data);
    expect(a.transferAccepted(sid, id)).toBe(null);
  });
});

describe('offerLimit', () => {
  it('is the lower of our max_transfers and the peer\'s; an offer past it is refused, and room comes back as transfers end', () => {
    const link = { bandwidthBps: 100e6, delay: 5_000, queueBytes: 512 * 1024 };
    const pair = new SimPair({
      seed: 4402,
      ab: { ...link },
      ba: { ...link },
      backend: nodeBackend,
      hasher: fastBlake3,
      endpointA: { session: { maxTransfers: 64 } },
      endpointB: { session: { maxTransfers: 3 } },
    });
    const sid = pair.connect();
    expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 2e6)).toBe(true);
    const a = pair.a.endpoint;
    expect(a.offerLimit(sid)).toBe(3);
    expect(pair.b.endpoint.offerLimit(sid)).toBe(3); // B's own limit is the lower one for its offers too
    expect(a.offerLimit(sid + 1000)).toBe(null);
    const files = [0, 1, 2].map((i) => new Uint8Array(50_000).fill(i + 1));
    for (const [i, f] of files.entries()) pair.send(sid, `f${i}`, f, 16 * 1024);
    expect(() => pair.send(sid, 'f3', new Uint8Array(10), 16 * 1024)).toThrow(/too many transfers in flight \(max 3\)/);
    expect(pair.runUntil(() => pair.a.events.filter((e) => e.type === 'transfer_complete').length === 3, pair.now + 5e6)).toBe(true);
    for (const [i, f] of files.entries()) expect(pair.b.received.get(`f${i}`)).toEqual(f);
    pair.send(sid, 'f3', new Uint8Array(10).fill(9), 16 * 1024);
    expect(pair.runUntil(() => pair.b.received.get('f3')?.[0] === 9 && pair.a.events.filter((e) => e.type === 'transfer_complete').length === 4, pair.now + 5e6)).toBe(true);
  });
});
