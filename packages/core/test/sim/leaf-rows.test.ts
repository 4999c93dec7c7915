/**
 * LEAF_REQUEST / LEAVES (PROTOCOL.md §7): a receiver holding an older copy of an offered file
 * asks for the leaf row, checks it against the root, and accepts the chunks of its copy that
 * match as held; only the rest crosses the wire. The sim peer does what the node does with the
 * file an overwrite replaces.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nodeBackend } from '../../src/crypto/index.js';
import { SeededRng } from '../../src/rng.js';
import type { SessionEvent, TransferStats } from '../../src/session/index.js';
import { SimPair } from '../../src/sim/index.js';
import { MerkleTree, buildFileTree } from '../../src/transfer/index.js';
import { fastBlake3, receiverWithout, senderWithout } from './helpers.js';

const CHUNK = 16 * 1024;
const link = { bandwidthBps: 200e6, delay: 5_000, queueBytes: 1024 * 1024, lossRate: 0.02, reorderRate: 0.02, reorderDelay: 3_000 };

/** 5000 chunks and a short one (three LEAVES messages); the old copy differs in `changed` and lacks the last 70 KiB. */
function versions(): { old: Uint8Array; next: Uint8Array; changed: number[] } {
  const rng = new SeededRng(11);
  const next = new Uint8Array(5000 * CHUNK + 777);
  rng.fill(next);
  const old = next.slice(0, next.length - 70_000);
  const changed = [0, 17, 2039, 2040, 4001];
  for (const i of changed) (old[i * CHUNK + 5] as number) ^= 0xff;
  return { old, next, changed };
}

type Complete = Extract<SessionEvent, { type: 'transfer_complete' }>;
type Failed = Extract<SessionEvent, { type: 'transfer_failed' }>;

function run(old: Uint8Array, next: Uint8Array): { pair: SimPair; id: number; stats: TransferStats | null; read: number[] } {
  const pair = new SimPair({ seed: 5, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
  pair.b.basis.set('db.img', old);
  const sid = pair.connect();
  expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 2e6)).toBe(true);
  const id = pair.send(sid, 'db.img', next, CHUNK);
  const ended = (): SessionEvent | undefined =>
    pair.a.events.find((e) => (e.type === 'transfer_complete' || e.type === 'transfer_failed') && e.transferId === id);
  expect(pair.runUntil(() => ended() !== undefined, 120e6)).toBe(true);
  const read: number[] = [];
  for (const e of pair.a.events) if (e.type === 'read_chunks' && e.transferId === id) read.push(...e.chunks);
  const done = ended();
  return { pair, id, stats: done?.type === 'transfer_complete' ? done.stats : null, read: [...new Set(read)].sort((a, b) => a - b) };
}

describe('leaf rows: a receiver reuses the chunks of its older copy', () => {
  afterEach(() => vi.restoreAllMocks());

  it('sends only the chunks the old copy lacks, over a lossy link, and the file arrives identical', () => {
    const { old, next, changed } = versions();
    const { pair, stats, read } = run(old, next);
    expect(Buffer.compare(pair.b.received.get('db.img') as Uint8Array, next)).toBe(0);
    // The changed chunks, the one the old copy cuts short, and the three it lacks.
    const cut = Math.floor(old.length / CHUNK);
    const want = [...changed, ...Array.from({ length: 5001 - cut }, (_, k) => cut + k)];
    expect(read).toEqual(want);
    const sent = want.reduce((n, i) => n + Math.min(CHUNK, next.length - i * CHUNK), 0);
    expect(stats?.payloadBytesSent).toBe(sent + (stats?.bytesRetransmitted ?? 0));
    expect(stats?.bytesReused).toBe(next.length - sent);
    expect(stats?.bytesSkippedResume).toBe(next.length - sent);
    // The row the receiver got is the sender's, whole.
    const rows = pair.b.events.filter((e) => e.type === 'leaves');
    expect(rows).toHaveLength(1);
    const { tree } = buildFileTree(fastBlake3, 'db.img', next, CHUNK);
    expect(Buffer.compare((rows[0] as { leaves: Uint8Array }).leaves, tree.leafRange(0, 5001))).toBe(0);
  });

  it("sends the row within the receiver's control_window; within 65536 bytes for one that announces none", () => {
    const { old, next } = versions();
    const windowOf = (pair: SimPair): number => {
      const sid = (pair.a.events.find((e) => e.type === 'connected') as { session: number }).session;
      return (pair.a.endpoint.session(sid) as unknown as { ctlSend: { window: number } }).ctlSend.window;
    };
    const wide = run(old, next);
    expect(windowOf(wide.pair)).toBe(4 * 1024 * 1024);
    receiverWithout('controlWindow');
    const narrow = run(old, next);
    expect(windowOf(narrow.pair)).toBe(65_536);
    // Either way the row arrives whole and the same chunks are reused.
    expect(Buffer.compare(narrow.pair.b.received.get('db.img') as Uint8Array, next)).toBe(0);
    expect(narrow.stats?.bytesReused).toBe(wide.stats?.bytesReused);
  });

  it('asks nothing of a sender that does not announce leaf_rows: every chunk is sent', () => {
    senderWithout('leafRows');
    const { old, next } = versions();
    const { pair, stats, read } = run(old, next);
    expect(Buffer.compare(pair.b.received.get('db.img') as Uint8Array, next)).toBe(0);
    expect(read).toHaveLength(5001);
    expect(stats?.bytesReused).toBe(0);
    expect(pair.b.events.some((e) => e.type === 'leaves')).toBe(false);
  });

  it('refuses a leaf row that does not hash to the root with E_INTEGRITY, and the session goes on', () => {
    const { old, next } = versions();
    const own = MerkleTree.prototype.leafRange;
    vi.spyOn(MerkleTree.prototype, 'leafRange').mockImplementation(function (this: MerkleTree, first: number, count: number) {
      const row = own.call(this, first, count).slice();
      if (first === 2040) row[100] = (row[100] as number) ^ 1; // a lie about leaf 2043
      return row;
    });
    const { pair, id, stats } = run(old, next);
    expect(stats).toBeNull();
    const failed = pair.a.events.find((e): e is Failed => e.type === 'transfer_failed' && e.transferId === id);
    expect(failed).toMatchObject({ code: 'E_INTEGRITY', byPeer: true });
    expect(failed?.reason).toMatch(/does not hash to its root/);
    expect(pair.b.events.some((e) => e.type === 'transfer_failed' && e.code === 'E_INTEGRITY' && !e.byPeer)).toBe(true);
    expect(pair.b.events.some((e) => e.type === 'leaves')).toBe(false);
    expect(pair.a.events.some((e) => e.type === 'closed')).toBe(false);
    // The same session takes the next file.
    vi.restoreAllMocks();
    const again = pair.send(pair.a.events.find((e) => e.type === 'connected')?.session as number, 'db.img', next, CHUNK);
    expect(pair.runUntil(() => pair.a.events.some((e): e is Complete => e.type === 'transfer_complete' && e.transferId === again), 120e6)).toBe(true);
    expect(Buffer.compare(pair.b.received.get('db.img') as Uint8Array, next)).toBe(0);
  });
});
