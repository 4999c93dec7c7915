/**
 * WRITTEN (PROTOCOL.md §7): a receiver tells a sender that announced written_progress how much of
 * a file it holds on its disk, in steps, so the sender can show the disk's progress once every
 * byte is sent. A sender that did not announce it (an older build) gets none.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nodeBackend } from '../../src/crypto/index.js';
import { Session } from '../../src/session/session.js';
import { WRITTEN_STEP_MIN } from '../../src/session/transfers.js';
import { SimPair } from '../../src/sim/index.js';
import { fastBlake3, senderWithout } from './helpers.js';

const link = { bandwidthBps: 200e6, delay: 2_000, queueBytes: 1024 * 1024 };

/** Sends 8 MiB and samples, at every step, what the sender has been told and what B wrote. */
function sendSampling(): { seen: Array<{ told: number; written: number }>; size: number } {
  const pair = new SimPair({ seed: 4242, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
  const sid = pair.connect();
  expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 2e6)).toBe(true);
  const size = 8 * 1024 * 1024 + 12_345; // a short last chunk
  const data = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
  const id = pair.send(sid, 'w.bin', data, 64 * 1024);
  const seen: Array<{ told: number; written: number }> = [];
  let complete = false;
  let scanned = 0;
  const sample = (): boolean => {
    for (; scanned < pair.a.events.length; scanned++) if (pair.a.events[scanned]!.type === 'transfer_complete') complete = true;
    const told = pair.a.endpoint.transferWritten(sid, id);
    if (told !== null && seen[seen.length - 1]?.told !== told) seen.push({ told, written: pair.b.chunkBytesWritten });
    return complete;
  };
  expect(pair.runUntil(sample, 20e6)).toBe(true);
  expect(Buffer.compare(pair.b.received.get('w.bin')!, data)).toBe(0); // toEqual on 8 MiB takes seconds
  return { seen, size };
}

describe('WRITTEN: the receiver disk progress', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reaches the sender in steps of at least 1 MiB, growing, never ahead of what the receiver wrote', () => {
    const { seen, size } = sendSampling();
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen.length).toBeLessThanOrEqual(Math.ceil(size / WRITTEN_STEP_MIN));
    let prev = 0;
    for (const s of seen) {
      expect(s.told - prev).toBeGreaterThanOrEqual(WRITTEN_STEP_MIN);
      expect(s.told).toBeLessThanOrEqual(s.written);
      expect(s.told % (64 * 1024)).toBe(0); // whole chunks: the short last one completes the file, told by DONE
      prev = s.told;
    }
    expect(prev).toBeLessThan(size);
  });

  it('a sender that did not announce written_progress is told nothing', () => {
    senderWithout('writtenProgress');
    expect(sendSampling().seen).toEqual([]);
  });

  it('a sender keeps the largest WRITTEN, ignores a stale one, and refuses one beyond the file', () => {
    const pair = new SimPair({ seed: 99, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
    const sid = pair.connect();
    expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 2e6)).toBe(true);
    pair.b.stallWrites = true; // keep the transfer open
    const id = pair.send(sid, 'x.bin', new Uint8Array(3 << 20), 64 * 1024);
    pair.runUntil(() => false, pair.now + 50_000);
    const session = (pair.a.endpoint as unknown as { byId: Map<number, Session> }).byId.get(sid)!;
    session.transfers.onControl({ type: 'written', transferId: id, bytes: 2 << 20 });
    session.transfers.onControl({ type: 'written', transferId: id, bytes: 1 << 20 });
    expect(pair.a.endpoint.transferWritten(sid, id)).toBe(2 << 20);
    session.transfers.onControl({ type: 'written', transferId: id + 100, bytes: 5 }); // unknown: ignored
    expect(() => session.transfers.onControl({ type: 'written', transferId: id, bytes: (3 << 20) + 1 })).toThrow(/WRITTEN of 3145729 bytes/);
  });
});
