/**
 * ZERO_CHUNK (PROTOCOL.md §7): a sender whose receiver announced zero_chunks sends an all-zero
 * chunk as its proof and a ZERO_CHUNK frame, without reading or sending its bytes; the receiver
 * still checks it against the root. A receiver that did not announce it (an older build) gets
 * every byte.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nodeBackend } from '../../src/crypto/index.js';
import { SeededRng } from '../../src/rng.js';
import type { SessionEvent, TransferStats } from '../../src/session/index.js';
import { SimPair } from '../../src/sim/index.js';
import { fastBlake3, receiverWithout } from './helpers.js';

const CHUNK = 256 * 1024;
const link = { bandwidthBps: 200e6, delay: 5_000, queueBytes: 1024 * 1024, lossRate: 0.02, reorderRate: 0.02, reorderDelay: 3_000 };

/** 32 MiB and a short last chunk, all zeros but for four chunks and one byte at the end of a fifth. */
function sparseFile(): { data: Uint8Array; dataChunks: number[] } {
  const data = new Uint8Array(128 * CHUNK + 12_345);
  const rng = new SeededRng(7);
  const dataChunks = [3, 40, 41, 100];
  for (const i of dataChunks) rng.fill(data.subarray(i * CHUNK, (i + 1) * CHUNK));
  data[61 * CHUNK - 1] = 1; // chunk 60: zeros up to its last byte
  return { data, dataChunks: [...dataChunks, 60].sort((a, b) => a - b) };
}

function send(data: Uint8Array): { stats: TransferStats; read: number[]; packetsAB: number; received: Uint8Array } {
  const pair = new SimPair({ seed: 31, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
  const sid = pair.connect();
  expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 2e6)).toBe(true);
  const id = pair.send(sid, 'disk.img', data, CHUNK);
  type Complete = Extract<SessionEvent, { type: 'transfer_complete' }>;
  const done = (): Complete | undefined => pair.a.events.find((e): e is Complete => e.type === 'transfer_complete' && e.transferId === id);
  expect(pair.runUntil(() => done() !== undefined, 60e6)).toBe(true);
  const read: number[] = [];
  for (const e of pair.a.events) if (e.type === 'read_chunks' && e.transferId === id) read.push(...e.chunks);
  return { stats: (done() as Complete).stats, read: read.sort((a, b) => a - b), packetsAB: pair.ab.stats.sent, received: pair.b.received.get('disk.img') as Uint8Array };
}

describe('ZERO_CHUNK: all-zero chunks without their bytes', () => {
  afterEach(() => vi.restoreAllMocks());

  it('sends only the chunks that hold data, reads only those, and the file arrives identical', () => {
    const { data, dataChunks } = sparseFile();
    const { stats, read, packetsAB, received } = send(data);
    expect(Buffer.compare(received, data)).toBe(0);
    // Resent data chunks are read again only if a RESEND asks, which a clean link never does.
    expect([...new Set(read)]).toEqual(dataChunks);
    const dataBytes = dataChunks.length * CHUNK;
    expect(stats.payloadBytesSent - stats.bytesRetransmitted).toBe(dataBytes);
    expect(stats.bytesZero).toBe(data.length - dataBytes);
    // 1.25 MiB of data in ~1400-byte packets, with ACK-only and proof packets besides.
    expect(packetsAB).toBeLessThan((dataBytes / 1000) * 1.5);
  });

  it('sends every byte to a receiver that did not announce zero_chunks', () => {
    const { data } = sparseFile();
    receiverWithout('zeroChunks');
    const { stats, read, received } = send(data);
    expect(Buffer.compare(received, data)).toBe(0);
    expect(stats.bytesZero).toBe(0);
    expect(stats.payloadBytesSent - stats.bytesRetransmitted).toBe(data.length);
    expect(new Set(read).size).toBe(129);
  });

  it('a sender whose OFFER claims more zero bytes than it then sends as zeros is cancelled with PROTOCOL past size − zero_bytes of data', () => {
    const { data, dataChunks } = sparseFile();
    const pair = new SimPair({ seed: 32, ab: { ...link, lossRate: 0 }, ba: { ...link, lossRate: 0 }, backend: nodeBackend, hasher: fastBlake3 });
    const sid = pair.connect();
    expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 2e6)).toBe(true);
    // The lie: all but two chunks are zeros (five hold data).
    const claimed = data.length - 2 * CHUNK;
    const deps = (pair.a.endpoint.session(sid) as unknown as { transfers: { d: { sendControl: (m: { type: string }) => void } } }).transfers.d;
    const send = deps.sendControl.bind(deps);
    deps.sendControl = (m) => send(m.type === 'offer' ? { ...m, zeroBytes: claimed } : m);
    const id = pair.send(sid, 'disk.img', data, CHUNK);
    type Failed = Extract<SessionEvent, { type: 'transfer_failed' }>;
    const failedOn = (p: typeof pair.a): Failed | undefined => p.events.find((e): e is Failed => e.type === 'transfer_failed' && e.transferId === id);
    expect(pair.runUntil(() => failedOn(pair.a) !== undefined, 60e6)).toBe(true);
    expect(failedOn(pair.b)).toMatchObject({ code: 'E_PROTOCOL', byPeer: false, reason: `the sender sent more than the ${2 * CHUNK} bytes of data its offer announced` });
    expect(failedOn(pair.a)).toMatchObject({ code: 'E_PROTOCOL', byPeer: true });
    // Two chunks of data were handed on, the third was not; the session goes on.
    const verified = pair.b.events.filter((e) => e.type === 'chunk_verified' && !e.zero).length;
    expect(verified).toBe(2);
    expect(dataChunks.length).toBeGreaterThan(2);
    expect(pair.a.events.some((e) => e.type === 'closed')).toBe(false);
  });
});
