/**
 * EndpointConfig.receiveBufferBytes: the sessions of a receiver share one budget for chunk
 * data granted and not yet held, so many senders at once cannot make it hold a session cap
 * (SessionConfig.sessionBufferBytes) for each. Without it the sum goes to sessions × cap.
 * Every file still arrives identical.
 */
import { describe, expect, it } from 'vitest';
import { nodeBackend } from '../../src/crypto/index.js';
import { ReceiveBudget } from '../../src/session/index.js';
import { SimPair } from '../../src/sim/index.js';
import { fastBlake3 } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 64 * KiB;
const SESSIONS = 6;
const FILES = 2; // per session
const SIZE = 3 * MiB;
const SESSION_CAP = 1 * MiB;
const NODE_BUDGET = 1.5 * MiB;

function run(receiveBufferBytes: number | undefined): { most: number; seconds: number } {
  // 400 Mbit/s, 40 ms RTT: a bandwidth-delay product of 2 MB, over the node budget.
  const link = { bandwidthBps: 400e6, delay: 20_000, queueBytes: 2 * MiB };
  const pair = new SimPair({
    seed: 4601,
    ab: { ...link },
    ba: { ...link },
    backend: nodeBackend,
    hasher: fastBlake3,
    endpointB: { session: { transferWindow: SESSION_CAP, sessionBufferBytes: SESSION_CAP }, ...(receiveBufferBytes !== undefined ? { receiveBufferBytes } : {}) },
  });
  const sids = Array.from({ length: SESSIONS }, () => pair.connect());
  expect(pair.runUntil(() => pair.a.events.filter((e) => e.type === 'connected').length === SESSIONS, 5e6)).toBe(true);
  const files = new Map<string, Buffer>();
  for (const [k, sid] of sids.entries()) {
    for (let i = 0; i < FILES; i++) {
      const f = Buffer.alloc(SIZE);
      for (let j = 0; j < SIZE; j += 4) f.writeUInt32LE((j * 2654435761 + k * 7919 + i * 40503) >>> 0, j);
      files.set(`s${k}f${i}`, f);
      pair.send(sid, `s${k}f${i}`, f, CHUNK);
    }
  }
  let most = 0;
  const t0 = pair.now;
  const done = (): boolean => {
    let sum = 0;
    for (const s of pair.b.endpoint.listSessions()) sum += s.transfers.receiveOutstandingBytes;
    most = Math.max(most, sum);
    return pair.a.events.filter((e) => e.type === 'transfer_complete').length === SESSIONS * FILES;
  };
  expect(pair.runUntil(done, t0 + 120e6)).toBe(true);
  for (const [name, f] of files) expect(f.equals(pair.b.received.get(name) ?? new Uint8Array(0)), `${name} identical`).toBe(true);
  return { most, seconds: (pair.now - t0) / 1e6 };
}

describe('a receive budget over all sessions', () => {
  it(`${SESSIONS} sessions at once: granted-not-held stays within the node budget plus a chunk per transfer; without it, sessions × cap`, () => {
    const capped = run(NODE_BUDGET);
    const free = run(undefined);
    console.log(`node budget ${NODE_BUDGET / MiB} MiB: most outstanding ${(capped.most / MiB).toFixed(2)} MiB, ${capped.seconds.toFixed(2)} s; session caps only: ${(free.most / MiB).toFixed(2)} MiB, ${free.seconds.toFixed(2)} s`);
    expect(capped.most).toBeLessThanOrEqual(NODE_BUDGET + SESSIONS * FILES * CHUNK);
    expect(capped.most).toBeGreaterThan(NODE_BUDGET / 2); // used, not starved
    expect(free.most).toBeGreaterThan(NODE_BUDGET + SESSIONS * FILES * CHUNK);
  });

  it('shares equally among the sessions taking data, within what the others leave', () => {
    const b = new ReceiveBudget(1000);
    expect(b.limitFor(1)).toBe(1000);
    b.report(1, true, 900);
    b.report(2, true, 0);
    expect(b.limitFor(2)).toBe(100); // 1 holds 900 of its old share: 2 gets what is left
    expect(b.limitFor(1)).toBe(500); // 1's share shrank: nothing more until it drains
    b.report(1, true, 300);
    expect(b.limitFor(2)).toBe(500);
    b.report(1, false, 0);
    expect(b.sessions).toBe(1);
    expect(b.limitFor(2)).toBe(1000);
    expect(b.outstandingBytes).toBe(0);
  });
});
