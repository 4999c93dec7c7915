/**
 * Resume across a receiver crash, at the session level: interrupt at 50 %,
 * rebuild the receiver from its serialised state, finish; the chunk bytes
 * resent are no more than what was missing plus one window.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair, type SimLinkConfig } from '../../src/sim/index.js';
import { buildFileTree, parseResumeState, resumeMatches, type ResumeState } from '../../src/transfer/index.js';
import type { SessionEvent, TransferStats } from '../../src/session/index.js';
import { fastBlake3, sha256hex } from './helpers.js';

const MiB = 1024 * 1024;
const CHUNK = 256 * 1024;
/**
 * The receiver's per-transfer window. The default (16 MiB) would make "missing
 * plus one window" the whole 32 MiB file; 2 MiB makes the bound mean something.
 */
const WINDOW = 2 * MiB;

function randomFile(seed: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  new SeededRng(seed).fill(b);
  return b;
}

function heldBytes(st: ResumeState): number {
  let n = 0;
  for (const [first, count] of st.held) {
    const end = Math.min(st.size, (first + count) * st.chunkSize);
    n += end - first * st.chunkSize;
  }
  return n;
}

type Complete = Extract<SessionEvent, { type: 'transfer_complete' }>;

/**
 * A sends `first` to B; at 50 % written B crashes (its resume state is
 * serialised to JSON and read back, its endpoint replaced); A's session dies
 * (`death`), A reconnects and offers `second` under the same name.
 */
function crashAndResume(seed: number, first: Uint8Array, second: Uint8Array, death: 'idle' | 'close', lossRate: number) {
  console.log(`sim seed ${seed}`);
  const link: SimLinkConfig = { bandwidthBps: 200e6, delay: 10_000, queueBytes: 2 * MiB, lossRate };
  // 'idle': the restarted B sends no stateless resets, so A's session can only die of
  // idle_timeout (stateless-reset.test.ts covers the reset that ends it sooner).
  const endpointB = death === 'idle' ? { statelessResetsPerSec: 0 } : {};
  const pair = new SimPair({ seed, ab: link, ba: link, backend: nodeBackend, hasher: fastBlake3, session: { transferWindow: WINDOW }, endpointB });
  const { a, b } = pair;
  const s1 = pair.connect();
  expect(pair.runUntil(() => a.events.some((e) => e.type === 'connected'), 10e6)).toBe(true);
  const t1 = pair.send(s1, 'big.bin', first, CHUNK);
  expect(pair.runUntil(() => b.chunkBytesWritten >= first.length / 2, 120e6)).toBe(true);

  // The crash: B's state survives only as JSON.
  b.snapshotResume();
  expect(b.resume.size).toBe(1);
  const [root1, saved] = [...b.resume][0] as [string, ResumeState];
  const restored = parseResumeState(JSON.parse(JSON.stringify(saved)));
  expect(restored).toEqual(saved);
  b.resume.clear();
  b.resume.set(root1, restored);
  const held = heldBytes(restored);
  const heldChunks = restored.held.reduce((n, r) => n + r[1], 0);
  const writtenBefore = b.chunkBytesWritten;
  expect(held).toBe(writtenBefore); // what was written is exactly what is held
  pair.restartB();
  console.log(`crashed at ${pair.now} µs holding ${held} bytes (${heldChunks} chunks) of ${first.length}`);

  if (death === 'close') pair.a.endpoint.close(pair.now, s1, null, 'the receiver went away');
  const died = pair.runUntil(() => a.events.some((e) => e.type === 'closed' && e.session === s1), pair.now + 60e6);
  expect(died).toBe(true);
  const closed = a.events.find((e) => e.type === 'closed' && e.session === s1) as Extract<SessionEvent, { type: 'closed' }>;
  if (death === 'idle') expect(closed.code).toBe('E_IDLE_TIMEOUT');
  expect(a.events.some((e) => e.type === 'transfer_failed' && e.session === s1 && e.transferId === t1)).toBe(true);

  const s2 = pair.connect();
  expect(pair.runUntil(() => a.events.some((e) => e.type === 'connected' && e.session === s2), pair.now + 10e6)).toBe(true);
  const t2 = pair.send(s2, 'big.bin', second, CHUNK);
  const done = pair.runUntil(
    () => a.events.some((e) => e.type === 'transfer_complete' && e.session === s2 && e.transferId === t2),
    pair.now + 600e6,
  );
  expect(done).toBe(true);
  const complete = a.events.find((e) => e.type === 'transfer_complete' && e.session === s2) as Complete;
  const accepted = a.events.find((e) => e.type === 'accepted' && e.session === s2) as Extract<SessionEvent, { type: 'accepted' }>;
  const stats: TransferStats = complete.stats;
  console.log('second transfer', stats, `held chunks announced ${accepted.heldChunks}, lost on the links ${pair.ab.stats.droppedLoss + pair.ba.stats.droppedLoss}`);
  return { pair, stats, held, heldChunks, accepted, restored, writtenAfter: b.chunkBytesWritten - writtenBefore };
}

describe('resume after a receiver crash', () => {
  it('32 MiB, crash at 50 %, idle timeout, reconnect: only the missing chunks are sent (plus at most one window)', () => {
    const size = 32 * MiB;
    const data = randomFile(31, size);
    const r = crashAndResume(31, data, data, 'idle', 0.01);
    const missing = size - r.held;
    expect(r.held).toBeGreaterThanOrEqual(size / 2);
    expect(r.held).toBeLessThan(size);
    expect(sha256hex(r.pair.b.received.get('big.bin') as Uint8Array)).toBe(sha256hex(data));
    // The criterion.
    expect(r.stats.payloadBytesSent).toBeLessThanOrEqual(missing + WINDOW);
    // Stronger: every missing byte went out exactly once before any retransmission, no held byte at all.
    expect(r.stats.payloadBytesSent - r.stats.bytesRetransmitted).toBe(missing);
    expect(r.stats.bytesSkippedResume).toBeGreaterThanOrEqual(r.held);
    expect(r.accepted.heldChunks).toBe(r.heldChunks);
    // The receiver wrote each missing chunk once and never rewrote a held one.
    expect(r.writtenAfter).toBe(missing);
    expect(r.pair.ab.stats.droppedLoss).toBeGreaterThan(0);
  });

  it('a changed source (one byte in a held chunk, so a new root) starts afresh and never mixes chunks', () => {
    const size = 16 * MiB;
    const before = randomFile(32, size);
    const after = before.slice();
    after[3 * CHUNK + 5] = (after[3 * CHUNK + 5] as number) ^ 0x5a; // chunk 3: held by the time of the crash
    const r = crashAndResume(32, before, after, 'close', 0);
    expect(r.restored.held[0]?.[0]).toBe(0);
    expect(r.heldChunks).toBeGreaterThan(3);
    const { manifest } = buildFileTree(fastBlake3, 'big.bin', after, CHUNK);
    // The saved state belongs to the old content only...
    expect(resumeMatches(r.restored, r.restored.peerId, manifest)).toBe(false);
    expect(r.pair.b.resume.get(r.restored.root)).toEqual(r.restored);
    // ...so nothing is skipped and every chunk comes from the new source.
    expect(r.accepted.heldChunks).toBe(0);
    expect(r.stats.bytesSkippedResume).toBe(0);
    expect(r.stats.payloadBytesSent - r.stats.bytesRetransmitted).toBe(size);
    expect(r.writtenAfter).toBe(size);
    const got = r.pair.b.received.get('big.bin') as Uint8Array;
    expect(sha256hex(got)).toBe(sha256hex(after));
    expect(got[3 * CHUNK + 5]).not.toBe(before[3 * CHUNK + 5]);
  });
});
