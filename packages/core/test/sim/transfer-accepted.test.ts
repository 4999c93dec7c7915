/**
 * Endpoint.transferAccepted: what a sender's progress shows while the receiver decides on an
 * offer (e.g. hashing a copy it already has). False from the offer until the ACCEPT arrives,
 * true after it, null once the transfer is no longer sending (and for unknown ids).
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
