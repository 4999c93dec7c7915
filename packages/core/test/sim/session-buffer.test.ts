/**
 * SessionConfig.sessionBufferBytes: a receiver shares one budget out among the transfers of a
 * session, so what it has granted and not yet holds (its receive memory) stays within the
 * budget plus a chunk per transfer, however many files the sender sends at once. Without it,
 * each transfer gets its own transferWindow (the control run shows the sum going far past).
 * Every file still arrives identical, and the advertised initial_window promises no more than
 * a new transfer is sure to get.
 */
import { describe, expect, it } from 'vitest';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair } from '../../src/sim/index.js';
import { fastBlake3 } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 64 * KiB;
const FILES = 8;
const BUDGET = 1 * MiB;
const WINDOW = 1 * MiB;
const SIZE = 4 * MiB;

function run(sessionBufferBytes: number | null): { most: number; seconds: number; initialWindow: number | undefined } {
  // 200 Mbit/s, 20 ms RTT: a bandwidth-delay product of 0.5 MB, under the budget.
  const link = { bandwidthBps: 200e6, delay: 10_000, queueBytes: 1 * MiB };
  const pair = new SimPair({
    seed: 4501,
    ab: { ...link },
    ba: { ...link },
    backend: nodeBackend,
    hasher: fastBlake3,
    endpointB: { session: { transferWindow: WINDOW, sessionBufferBytes } },
  });
  const sid = pair.connect();
  expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 2e6)).toBe(true);
  const files = Array.from({ length: FILES }, (_, i) => {
    const f = Buffer.alloc(SIZE);
    for (let j = 0; j < SIZE; j += 4) f.writeUInt32LE((j * 2654435761 + i * 40503) >>> 0, j);
    return f;
  });
  for (const [i, f] of files.entries()) pair.send(sid, `f${i}`, f, CHUNK);
  const table = pair.b.endpoint.session(sid).transfers;
  let most = 0;
  const t0 = pair.now;
  const done = (): boolean => {
    most = Math.max(most, table.receiveOutstandingBytes);
    return pair.a.events.filter((e) => e.type === 'transfer_complete').length === FILES;
  };
  expect(pair.runUntil(done, t0 + 60e6)).toBe(true);
  for (const [i, f] of files.entries()) expect(f.equals(pair.b.received.get(`f${i}`) ?? new Uint8Array(0)), `f${i} identical`).toBe(true);
  return { most, seconds: (pair.now - t0) / 1e6, initialWindow: pair.b.endpoint.session(sid).localParams().initialWindow };
}

describe('a session-wide receive buffer', () => {
  it(`${FILES} files at once: granted-not-held stays within the budget plus a chunk each; without it, far past`, () => {
    const capped = run(BUDGET);
    const free = run(null);
    console.log(`session budget ${BUDGET / MiB} MiB: most outstanding ${(capped.most / MiB).toFixed(2)} MiB, ${capped.seconds.toFixed(2)} s; per-transfer windows only: ${(free.most / MiB).toFixed(2)} MiB, ${free.seconds.toFixed(2)} s`);
    expect(capped.most).toBeLessThanOrEqual(BUDGET + FILES * CHUNK);
    // A new transfer is sure of its first chunk only, so that is all initial_window promises.
    expect(capped.initialWindow).toBe(1);
    expect(free.initialWindow).toBe(WINDOW);
    expect(capped.most).toBeGreaterThan(BUDGET / 2); // the budget is used, not starved
    expect(free.most).toBeGreaterThan(BUDGET + FILES * CHUNK);
    // A budget over the bandwidth-delay product does not slow the link: within 25 % of the uncapped time.
    expect(capped.seconds).toBeLessThan(free.seconds * 1.25);
  });
});
