import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair } from '../../src/sim/index.js';
import { fastBlake3, sha256hex } from './helpers.js';

describe('rekeying under a long transfer', () => {
  it('rekeys every 5 s for 10 simulated minutes at 2 Mbit/s with no stall over one RTT, and rejects every replay', () => {
    const seed = 4242;
    console.log(`sim seed ${seed}`);
    const rtt = 50_000;
    const link = { bandwidthBps: 2e6, delay: rtt / 2, queueBytes: 64 * 1024 };
    const pair = new SimPair({
      seed,
      ab: link,
      ba: link,
      backend: nodeBackend,
      hasher: fastBlake3,
      session: { rekeyInterval: 5_000_000, idleTimeout: 60_000_000 },
    });
    const size = 160 * 1024 * 1024; // more than 10 minutes at 2 Mbit/s
    const data = new Uint8Array(size);
    new SeededRng(seed).fill(data);
    const s = pair.connect();
    pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6);
    pair.send(s, 'long.bin', data, 256 * 1024);
    pair.capture = [];

    const bSession = () => pair.b.endpoint.listSessions()[0];
    let lastCount = 0;
    let lastAt = pair.now;
    let maxGap = 0;
    const start = pair.now;
    const end = start + 600e6;
    // Skip the first second (slow start and the first chunk reads).
    while (pair.now < end) {
      if (!pair.step()) break;
      const n = bSession()?.stats.packetsReceived ?? 0;
      if (n !== lastCount) {
        if (pair.now - start > 1e6) maxGap = Math.max(maxGap, pair.now - lastAt);
        lastCount = n;
        lastAt = pair.now;
      }
    }
    const aSess = pair.a.endpoint.session(s);
    const rekeys = aSess.metrics().key_updates ?? 0;
    console.log(`rekeys ${rekeys}, longest gap between packets at the receiver ${maxGap} µs, written ${pair.b.chunkBytesWritten}`);
    expect(rekeys).toBeGreaterThanOrEqual(100);
    expect(maxGap).toBeLessThanOrEqual(rtt);
    // What arrived so far is exactly the source.
    const got = pair.b.received.get('long.bin') as Uint8Array;
    const written = pair.b.chunkBytesWritten;
    expect(written).toBeGreaterThan(100 * 1024 * 1024);
    expect(sha256hex(got.subarray(0, 64 * 1024 * 1024))).toBe(sha256hex(data.subarray(0, 64 * 1024 * 1024)));

    // Replay every captured packet from A to B: all are rejected, none changes state.
    const b = pair.b.endpoint;
    // First let B receive what is still on the wire, so every capture is a true replay.
    for (let d = pair.ab.pollDelivery(Infinity); d; d = pair.ab.pollDelivery(Infinity)) {
      b.handleDatagram(pair.now, pair.a.addr, d.bytes);
    }
    const sess = bSession();
    const before = { received: sess?.stats.packetsReceived, drops: b.drops.total };
    const replays = pair.capture.filter((c) => c.from.host === pair.a.addr.host);
    for (const c of replays) b.handleDatagram(pair.now, c.from, c.bytes);
    expect(sess?.stats.packetsReceived).toBe(before.received);
    expect(b.drops.total - before.drops).toBe(replays.length);
    console.log('replay drops by reason', b.drops.snapshot());
  });
});
