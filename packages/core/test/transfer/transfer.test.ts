import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SeededRng } from '../../src/rng.js';
import {
  TransferReceiver,
  TransferSender,
  buildFileTree,
  chunkCount,
  hashChunks,
  parseResumeState,
  type FileManifest,
  type MerkleTree,
  type SendItem,
} from '../../src/transfer/index.js';
import { nobleBlake3 } from '../../src/noble.js';
import { Harness, randomBytes } from './harness.js';

const h = nobleBlake3;
const KiB = 1024;
const MiB = 1024 * 1024;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function setup(
  data: Uint8Array,
  chunkSize: number,
  o: {
    window?: number;
    buffer?: number;
    initialWindow?: number;
    held?: Array<[number, number]>;
    tree?: MerkleTree;
    manifest?: FileManifest;
    verifySource?: 'supply' | 'resend';
    allocChunk?: (size: number) => Uint8Array;
  } = {},
): { sender: TransferSender; receiver: TransferReceiver; manifest: FileManifest; tree: MerkleTree } {
  const built = o.tree && o.manifest ? { tree: o.tree, manifest: o.manifest } : buildFileTree(h, 'dir/file.bin', data, chunkSize);
  const { manifest, tree } = built;
  const window = o.window ?? 4 * chunkSize;
  const sender = new TransferSender({
    id: 3,
    manifest,
    tree,
    hasher: h,
    maxBufferedBytes: o.buffer ?? 6 * chunkSize,
    initialWindow: o.initialWindow ?? window,
    ...(o.verifySource ? { verifySource: o.verifySource } : {}),
  });
  const receiver = new TransferReceiver({
    id: 3,
    manifest,
    hasher: h,
    windowBytes: window,
    ...(o.held ? { held: o.held } : {}),
    ...(o.allocChunk ? { allocChunk: o.allocChunk } : {}),
  });
  return { sender, receiver, manifest, tree };
}

describe('sender ↔ receiver over a lossy, reordering link', () => {
  it('an 8 MiB file in 64 KiB chunks arrives byte-identical', () => {
    const rng = new SeededRng(2024);
    const data = randomBytes(rng, 8 * MiB);
    const { sender, receiver } = setup(data, 64 * KiB, { window: 16 * 64 * KiB, buffer: 8 * 64 * KiB });
    const hs = new Harness(rng, data, sender, receiver, { loss: 0.05, spuriousLoss: 0.02, reorder: 64, burst: 48 });
    hs.start();
    hs.run();
    expect(hex(h.hash(hs.dest))).toBe(hex(h.hash(data)));
    expect(receiver.complete).toBe(true);
    expect(sender.finished).toBe(true);
    expect(receiver.stats.chunksVerified).toBe(128);
    expect(receiver.stats.integrityFailures).toBe(0);
    expect(sender.stats.bytesRetransmitted).toBeGreaterThan(0);
    expect(sender.stats.payloadBytesSent - sender.stats.bytesRetransmitted).toBe(8 * MiB);
    expect(receiver.bufferedBytes).toBe(0);
    expect(sender.bufferedBytes).toBe(0);
    expect(hs.maxReceiverBuffered).toBeLessThanOrEqual(receiver.windowBytes);
    expect(hs.maxReceiverBuffered).toBeGreaterThan(64 * KiB); // several chunks were in flight at once
    expect(hs.maxSenderBuffered).toBeLessThanOrEqual(8 * 64 * KiB + 64 * KiB);
  });

  it('chunk buffers: whole chunks come from a pool, a short chunk gets a buffer of its own size (4 KiB multiple)', () => {
    for (const [size, want] of [
      [5000, [8192]], // a small file: its only chunk, short
      [3 * 64 * KiB + 100, 'pooled'],
    ] as const) {
      const rng = new SeededRng(size);
      const data = randomBytes(rng, size);
      const sizes: number[] = [];
      const { sender, receiver } = setup(data, 64 * KiB, {
        allocChunk: (n) => {
          sizes.push(n);
          return new Uint8Array(n);
        },
      });
      const hs = new Harness(rng, data, sender, receiver, { loss: 0, spuriousLoss: 0, reorder: 0, burst: 8 });
      hs.start();
      hs.run();
      expect(hex(h.hash(hs.dest))).toBe(hex(h.hash(data)));
      if (want === 'pooled') {
        expect(sizes.filter((n) => n === 64 * KiB).length).toBeLessThanOrEqual(4); // the window's worth at most
        expect(sizes.filter((n) => n !== 64 * KiB)).toEqual([4096]); // the 100-byte tail
      } else {
        expect(sizes).toEqual(want);
      }
    }
  });

  it('random files, chunk sizes, payload sizes and loss: always complete and identical', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 0, max: 400 * KiB }),
        fc.constantFrom(16 * KiB, 32 * KiB),
        fc.integer({ min: 40, max: 1400 }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.integer({ min: 1, max: 6 }),
        (seed, size, chunkSize, maxPayload, loss, windowChunks) => {
          const rng = new SeededRng(seed);
          const data = randomBytes(rng, size);
          const { sender, receiver } = setup(data, chunkSize, {
            window: windowChunks * chunkSize,
            buffer: 2 * chunkSize,
          });
          const hs = new Harness(rng, data, sender, receiver, { loss, spuriousLoss: loss / 2, maxPayload });
          hs.start();
          hs.run();
          expect(hex(h.hash(hs.dest))).toBe(hex(h.hash(data)));
          expect(hs.maxSenderBuffered).toBeLessThanOrEqual(3 * chunkSize);
        },
      ),
      { numRuns: 25, seed: 31337 },
    );
  });

  it('splits proofs over several items when a payload holds few hashes', () => {
    const rng = new SeededRng(5);
    const data = randomBytes(rng, 40 * 16 * KiB + 5); // 41 chunks: depth 6
    const { sender, receiver } = setup(data, 16 * KiB);
    const proofs: SendItem[] = [];
    const hs = new Harness(rng, data, sender, receiver, {
      maxPayload: 70, // two hashes per PROOF item
      corrupt: (item) => {
        if (item.kind === 'proof') proofs.push(item);
        return null;
      },
    });
    hs.start();
    hs.run();
    expect(hex(h.hash(hs.dest))).toBe(hex(h.hash(data)));
    expect(proofs.every((p) => p.kind === 'proof' && p.hashes.length <= 64)).toBe(true);
    const firsts = new Set(proofs.map((p) => (p.kind === 'proof' ? p.first : -1)));
    expect(firsts).toEqual(new Set([0, 2, 4]));
  });
});

describe('integrity', () => {
  it('a corrupted data byte fails verification, is resent, and the file still arrives intact', () => {
    const rng = new SeededRng(9);
    const data = randomBytes(rng, 2 * MiB);
    const { sender, receiver } = setup(data, 64 * KiB);
    let corrupted = 0;
    const hs = new Harness(rng, data, sender, receiver, {
      loss: 0.02,
      corrupt: (item) => {
        // Flip one byte in the first delivery of chunk 5's middle.
        if (corrupted === 0 && item.kind === 'chunk' && item.offset >= 5 * 64 * KiB + 1000 && item.offset < 6 * 64 * KiB) {
          corrupted++;
          const data2 = item.data.slice();
          data2[0] = (data2[0] as number) ^ 0x40;
          return { ...item, data: data2 };
        }
        return null;
      },
    });
    hs.start();
    hs.run();
    expect(corrupted).toBe(1);
    expect(receiver.stats.integrityFailures).toBe(1);
    expect(sender.stats.bytesRetransmitted).toBeGreaterThanOrEqual(64 * KiB);
    expect(hex(h.hash(hs.dest))).toBe(hex(h.hash(data)));
  });

  it('a corrupted proof hash is caught the same way', () => {
    const rng = new SeededRng(10);
    const data = randomBytes(rng, 1 * MiB);
    const { sender, receiver } = setup(data, 16 * KiB);
    let corrupted = 0;
    const hs = new Harness(rng, data, sender, receiver, {
      // The level-0 sibling: the receiver remembers proven nodes, so hashes above the first
      // proven node on a path are not needed (and a corruption there changes nothing).
      corrupt: (item) => {
        if (corrupted === 0 && item.kind === 'proof' && item.chunkIndex === 16 && item.first === 0) {
          corrupted++;
          const hashes = item.hashes.slice();
          hashes[0] = (hashes[0] as number) ^ 1;
          return { ...item, hashes };
        }
        return null;
      },
    });
    hs.start();
    hs.run();
    expect(corrupted).toBe(1);
    expect(receiver.stats.integrityFailures).toBe(1);
    expect(hex(h.hash(hs.dest))).toBe(hex(h.hash(data)));
  });

  it('a RESEND after the chunk was fully acked makes the sender read it again', () => {
    const rng = new SeededRng(12);
    const data = randomBytes(rng, 5 * 16 * KiB);
    const { sender, receiver } = setup(data, 16 * KiB);
    const hs = new Harness(rng, data, sender, receiver);
    hs.start();
    hs.run();
    expect(sender.finished).toBe(true);
    // The receiver (say, after a failed write) asks again for chunk 2.
    sender.onResend(2);
    expect(sender.finished).toBe(false);
    expect(sender.wantedChunks(8)).toEqual([2]);
    sender.supplyChunk(2, data.slice(2 * 16 * KiB, 3 * 16 * KiB));
    let resent = 0;
    for (let it = sender.nextItem(1200); it !== null; it = sender.nextItem(1200)) {
      if (it.kind === 'chunk') resent += it.data.length;
      sender.onItemAcked(it);
    }
    expect(resent).toBe(16 * KiB);
    expect(sender.finished).toBe(true);
    expect(sender.stats.bytesRetransmitted).toBe(16 * KiB);
  });

  it('a sender whose root does not match its data makes the receiver give up with E_INTEGRITY', () => {
    const rng = new SeededRng(13);
    const data = randomBytes(rng, 3 * 16 * KiB);
    const real = buildFileTree(h, 'f', data, 16 * KiB);
    const lie: FileManifest = { ...real.manifest, root: new Uint8Array(32).fill(7) };
    const receiver = new TransferReceiver({ id: 1, manifest: lie, hasher: h, windowBytes: 4 * 16 * KiB });
    const proof = real.tree.proof(0);
    let err: unknown;
    for (let k = 0; k < 10 && err === undefined; k++) {
      try {
        receiver.onProof(0, 0, proof);
        receiver.onChunk(0, data.subarray(0, 16 * KiB));
        expect(receiver.pollResend()).toBe(0);
      } catch (e) {
        err = e;
      }
    }
    expect(err).toMatchObject({ code: 'E_INTEGRITY' });
    expect(receiver.stats.integrityFailures).toBe(8);
  });

  it("verifySource 'supply': a source file changed after hashing fails with E_SOURCE_CHANGED when supplied", () => {
    const data = randomBytes(new SeededRng(14), 3 * 16 * KiB);
    const { sender, receiver } = setup(data, 16 * KiB, { verifySource: 'supply' });
    sender.onAccept(receiver.acceptRanges());
    sender.onWindow(receiver.initialWindow());
    expect(sender.wantedChunks(1)).toEqual([0]);
    const changed = data.slice(0, 16 * KiB);
    changed[100] = (changed[100] as number) ^ 1;
    expect(() => sender.supplyChunk(0, changed)).toThrow(expect.objectContaining({ code: 'E_SOURCE_CHANGED' }));
  });
});

describe("verifySource 'resend' (the default): a changed source is named at the receiver's RESEND", () => {
  for (const [label, buffer] of [
    ['the chunk is still held', 16],
    ['the chunk was dropped and is read again', 1],
  ] as const) {
    it(`${label}: E_SOURCE_CHANGED, and the changed bytes are never written`, () => {
      const rng = new SeededRng(15);
      const data = randomBytes(rng, 8 * 16 * KiB);
      const { sender, receiver } = setup(data, 16 * KiB, { buffer: buffer * 16 * KiB, window: 8 * 16 * KiB });
      const changed = data.slice();
      changed[5 * 16 * KiB + 77] = (changed[5 * 16 * KiB + 77] as number) ^ 1;
      const hs = new Harness(rng, changed, sender, receiver);
      hs.start();
      expect(() => hs.run()).toThrow(expect.objectContaining({ code: 'E_SOURCE_CHANGED', details: { index: 5 } }));
      expect(receiver.stats.integrityFailures).toBe(1);
      expect(receiver.heldChunks).toBeLessThan(8);
      expect(hs.dest.subarray(5 * 16 * KiB, 6 * 16 * KiB).some((b) => b !== 0)).toBe(false);
    });
  }

  it('unchanged chunks are not hashed twice on the sender', () => {
    const rng = new SeededRng(16);
    const data = randomBytes(rng, 8 * 16 * KiB);
    const built = buildFileTree(h, 'f', data, 16 * KiB);
    let hashed = 0;
    const counting: typeof h = { ...h, create: () => (hashed++, h.create()) };
    const sender = new TransferSender({ id: 3, manifest: built.manifest, tree: built.tree, hasher: counting, maxBufferedBytes: 4 * 16 * KiB, initialWindow: 8 * 16 * KiB });
    const receiver = new TransferReceiver({ id: 3, manifest: built.manifest, hasher: h, windowBytes: 8 * 16 * KiB });
    const hs = new Harness(rng, data, sender, receiver, { loss: 0.05 });
    hs.start();
    hs.run();
    expect(hex(h.hash(hs.dest))).toBe(hex(h.hash(data)));
    expect(hashed).toBe(0);
  });
});

describe('read batching', () => {
  it('with a window that opens a chunk at a time, reads are asked for 2 MiB at a time (a short batch only at the end of the file)', () => {
    const rng = new SeededRng(17);
    const cs = 256 * KiB;
    const data = randomBytes(rng, 20 * MiB + 100 * KiB);
    const { sender, receiver } = setup(data, cs, { window: 8 * MiB, buffer: 16 * MiB });
    const sizes: number[][] = [];
    const wanted = sender.wantedChunks.bind(sender);
    sender.wantedChunks = (): number[] => {
      const got = wanted(64);
      if (got.length > 0) sizes.push(got);
      return got;
    };
    const hs = new Harness(rng, data, sender, receiver, { burst: 64, reorder: 64, maxPayload: 1400 });
    hs.start();
    hs.run(2_000_000);
    expect(hex(h.hash(hs.dest))).toBe(hex(h.hash(data)));
    const n = Math.ceil(data.length / cs);
    expect(sizes.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    // The first call fills the buffer; after that, 8 chunks (2 MiB) or the file's last ones.
    for (const batch of sizes.slice(1)) {
      if (batch.includes(n - 1)) continue;
      expect(batch.length).toBeGreaterThanOrEqual(8);
    }
    expect(sizes.length).toBeLessThan(n / 4);
  });
});

describe('flow control', () => {
  it('data or a proof beyond the granted window is E_FLOW_CONTROL', () => {
    const data = randomBytes(new SeededRng(20), 10 * 16 * KiB);
    const { receiver, tree } = setup(data, 16 * KiB, { window: 2 * 16 * KiB });
    expect(receiver.initialWindow()).toBe(2 * 16 * KiB);
    expect(() => receiver.onChunk(2 * 16 * KiB - 10, data.subarray(2 * 16 * KiB - 10, 2 * 16 * KiB + 1))).toThrow(
      expect.objectContaining({ code: 'E_FLOW_CONTROL' }),
    );
    expect(() => receiver.onProof(2, 0, tree.proof(2))).toThrow(expect.objectContaining({ code: 'E_FLOW_CONTROL' }));
    expect(() => receiver.onChunk(0, data.subarray(0, 100))).not.toThrow();
  });

  it('a sender that assumes a larger initial window than the receiver grants is caught', () => {
    const rng = new SeededRng(21);
    const data = randomBytes(rng, 12 * 16 * KiB);
    const { sender, receiver } = setup(data, 16 * KiB, { window: 2 * 16 * KiB, initialWindow: 8 * 16 * KiB });
    const hs = new Harness(rng, data, sender, receiver);
    sender.onAccept(receiver.acceptRanges()); // no WINDOW yet: the sender trusts its initial window
    expect(() => hs.run(1000)).toThrow(expect.objectContaining({ code: 'E_FLOW_CONTROL' }));
  });

  it('data outside the file or a bad chunk index is E_PROTOCOL', () => {
    const data = randomBytes(new SeededRng(22), 16 * KiB + 10);
    const { receiver } = setup(data, 16 * KiB, { window: 4 * 16 * KiB });
    expect(() => receiver.onChunk(16 * KiB + 5, new Uint8Array(6))).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    expect(() => receiver.onChunk(-1, new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    expect(() => receiver.onProof(2, 0, new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    expect(() => receiver.onProof(0, 1, new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    expect(() => receiver.onProof(0, 0, new Uint8Array(33))).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
  });

  it('the window covers the lowest missing chunk even when the budget is smaller than a chunk', () => {
    const rng = new SeededRng(23);
    const data = randomBytes(rng, 5 * 64 * KiB);
    const { sender, receiver } = setup(data, 64 * KiB, { window: 1000, initialWindow: 1000 });
    expect(receiver.initialWindow()).toBe(64 * KiB);
    const hs = new Harness(rng, data, sender, receiver, { loss: 0.1 });
    hs.start();
    hs.run();
    expect(hex(h.hash(hs.dest))).toBe(hex(h.hash(data)));
    expect(hs.maxReceiverBuffered).toBe(64 * KiB);
  });

  it('an initial window of 0 waits for the first WINDOW frame; smaller grants are ignored', () => {
    const data = randomBytes(new SeededRng(24), 4 * 16 * KiB);
    const { sender, receiver } = setup(data, 16 * KiB, { initialWindow: 0 });
    sender.onAccept(receiver.acceptRanges());
    expect(sender.wantedChunks(8)).toEqual([]);
    sender.onWindow(2 * 16 * KiB);
    sender.onWindow(16 * KiB);
    expect(sender.windowOffset).toBe(2 * 16 * KiB);
    expect(sender.wantedChunks(8)).toEqual([0, 1]);
    expect(() => sender.onWindow(-1)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
  });
});

describe('sender rules', () => {
  it('sends nothing before ACCEPT and rejects a second ACCEPT', () => {
    const data = randomBytes(new SeededRng(30), 3 * 16 * KiB);
    const { sender } = setup(data, 16 * KiB);
    sender.onWindow(10 * 16 * KiB);
    expect(sender.accepted).toBe(false);
    expect(sender.wantedChunks(8)).toEqual([]);
    expect(sender.nextItem(1200)).toBeNull();
    sender.onAccept([]);
    expect(sender.accepted).toBe(true);
    expect(() => sender.onAccept([])).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
  });

  it('respects its read budget and rejects wrong supplies', () => {
    const data = randomBytes(new SeededRng(31), 10 * 16 * KiB);
    const { sender } = setup(data, 16 * KiB, { buffer: 3 * 16 * KiB, window: 10 * 16 * KiB });
    sender.onAccept([]);
    expect(sender.wantedChunks(100)).toEqual([0, 1, 2]);
    expect(sender.wantedChunks(100)).toEqual([]);
    expect(() => sender.supplyChunk(5, data.slice(5 * 16 * KiB, 6 * 16 * KiB))).toThrow(
      expect.objectContaining({ code: 'E_INTERNAL' }),
    );
    expect(() => sender.supplyChunk(0, data.slice(0, 100))).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
    // Once chunk 0's data is all acked its bytes are dropped and the budget reopens.
    sender.supplyChunk(0, data.slice(0, 16 * KiB));
    for (let it = sender.nextItem(1400); it !== null; it = sender.nextItem(1400)) sender.onItemAcked(it);
    expect(sender.bufferedBytes).toBe(2 * 16 * KiB);
    expect(sender.wantedChunks(100)).toEqual([3]);
  });

  it('releases each supplied buffer once, when all of its data is acked', () => {
    const data = randomBytes(new SeededRng(34), 3 * 16 * KiB + 5);
    const { manifest, tree } = buildFileTree(h, 'f', data, 16 * KiB);
    const released: Array<[number, Uint8Array]> = [];
    const sender = new TransferSender({
      id: 1,
      manifest,
      tree,
      hasher: h,
      maxBufferedBytes: 8 * 16 * KiB,
      initialWindow: 8 * 16 * KiB,
      release: (i, b) => released.push([i, b]),
    });
    sender.onAccept([]);
    const supplied = new Map<number, Uint8Array>();
    for (const i of sender.wantedChunks(8)) {
      const b = data.slice(i * 16 * KiB, Math.min(data.length, (i + 1) * 16 * KiB));
      supplied.set(i, b);
      sender.supplyChunk(i, b);
    }
    const items: SendItem[] = [];
    for (let it = sender.nextItem(1200); it !== null; it = sender.nextItem(1200)) items.push(it);
    // Ack everything but the last data item of chunk 1: only chunks 0, 2 and 3 are released.
    const lastOf1 = items.filter((it) => it.kind === 'chunk' && it.offset < 2 * 16 * KiB && it.offset >= 16 * KiB).pop();
    for (const it of items) if (it !== lastOf1) sender.onItemAcked(it);
    expect(released.map(([i]) => i).sort()).toEqual([0, 2, 3]);
    expect(sender.finished).toBe(false);
    sender.onItemAcked(lastOf1 as SendItem);
    sender.onItemAcked(lastOf1 as SendItem); // a duplicate ack changes nothing
    expect(released.map(([i]) => i).sort()).toEqual([0, 1, 2, 3]);
    for (const [i, b] of released) expect(b).toBe(supplied.get(i));
    expect(sender.finished).toBe(true);
    expect(sender.bufferedBytes).toBe(0);
  });

  it('rejects RESEND of chunks the receiver holds or that do not exist', () => {
    const data = randomBytes(new SeededRng(32), 4 * 16 * KiB);
    const { sender } = setup(data, 16 * KiB);
    expect(() => sender.onResend(0)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    sender.onAccept([[1, 2]]);
    expect(() => sender.onResend(1)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    expect(() => sender.onResend(4)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    expect(() => sender.onAccept([[3, 5]])).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
  });

  it('needs a tree that matches the manifest; builds one from leaves', () => {
    const data = randomBytes(new SeededRng(33), 3 * 16 * KiB);
    const { manifest } = buildFileTree(h, 'f', data, 16 * KiB);
    const leaves = hashChunks(h, data, 16 * KiB);
    const mk = (m: FileManifest, l?: Uint8Array): TransferSender =>
      new TransferSender({ id: 1, manifest: m, hasher: h, maxBufferedBytes: 1, initialWindow: 0, ...(l ? { leaves: l } : {}) });
    expect(() => mk(manifest, leaves)).not.toThrow();
    expect(() => mk(manifest)).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
    expect(() => mk({ ...manifest, root: new Uint8Array(32) }, leaves)).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
    expect(() => mk(manifest, leaves.subarray(32))).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
  });
});

describe('edge files', () => {
  it('an empty file: nothing is sent, the receiver verifies its one empty chunk at once', () => {
    const { sender, receiver } = setup(new Uint8Array(0), 16 * KiB);
    sender.onAccept(receiver.acceptRanges());
    expect(sender.finished).toBe(true);
    expect(sender.wantedChunks(8)).toEqual([]);
    expect(sender.nextItem(1200)).toBeNull();
    const v = receiver.pollVerified();
    expect(v).toMatchObject({ index: 0, offset: 0 });
    expect(v?.bytes.length).toBe(0);
    expect(receiver.complete).toBe(false);
    receiver.chunkWritten(0);
    expect(receiver.complete).toBe(true);
  });

  it('an empty file offered with a wrong root is refused', () => {
    const { manifest } = buildFileTree(h, 'e', new Uint8Array(0), 16 * KiB);
    expect(
      () => new TransferReceiver({ id: 1, manifest: { ...manifest, root: new Uint8Array(32) }, hasher: h, windowBytes: 1 }),
    ).toThrow(expect.objectContaining({ code: 'E_INTEGRITY' }));
  });

  it('a single-chunk file needs no proof items', () => {
    const rng = new SeededRng(40);
    const data = randomBytes(rng, 1000);
    const { sender, receiver } = setup(data, 16 * KiB);
    const hs = new Harness(rng, data, sender, receiver, { loss: 0.2 });
    hs.start();
    hs.run();
    expect(hs.proofIssued.size).toBe(0);
    expect(hex(hs.dest)).toBe(hex(data));
  });

  it('a directory has no chunks: complete and finished at once', () => {
    const m: FileManifest = { name: 'd', kind: 'dir', size: 0, chunkSize: 16 * KiB, mode: 0o755, mtimeMs: 0, root: new Uint8Array(32) };
    const sender = new TransferSender({ id: 1, manifest: m, hasher: h, maxBufferedBytes: 1, initialWindow: 0 });
    const receiver = new TransferReceiver({ id: 1, manifest: m, hasher: h, windowBytes: 1 });
    expect(chunkCount(m)).toBe(0);
    expect(receiver.complete).toBe(true);
    sender.onAccept(receiver.acceptRanges());
    expect(sender.finished).toBe(true);
  });
});

describe('resume', () => {
  it('interrupted at 50 %, resumed from JSON: only missing chunks are sent again', () => {
    const rng = new SeededRng(77);
    const chunk = 64 * KiB;
    const data = randomBytes(rng, 4 * MiB + 123);
    const built = buildFileTree(h, 'big.bin', data, chunk);
    const n = chunkCount(built.manifest);
    const window = 8 * chunk;

    const first = setup(data, chunk, { window, tree: built.tree, manifest: built.manifest });
    const dest = new Uint8Array(data.length);
    const hs1 = new Harness(rng, data, first.sender, first.receiver, { loss: 0.05, reorder: 64, burst: 32 }, dest);
    hs1.start();
    hs1.run(200_000, () => first.receiver.heldChunks >= n / 2);
    hs1.cut(); // the session dies: everything in flight and every unwritten buffer is lost
    const json = JSON.stringify(first.receiver.resumeState('ab'.repeat(32)));

    const state = parseResumeState(JSON.parse(json));
    const heldChunks = state.held.reduce((s, [, c]) => s + c, 0);
    expect(heldChunks).toBeGreaterThanOrEqual(n / 2);
    expect(heldChunks).toBeLessThan(n);
    const heldSet = new Set(state.held.flatMap(([f, c]) => Array.from({ length: c }, (_, k) => f + k)));
    const missingBytes = [...Array(n).keys()]
      .filter((i) => !heldSet.has(i))
      .reduce((s, i) => s + Math.min(chunk, data.length - i * chunk), 0);

    const second = setup(data, chunk, { window, held: state.held, tree: built.tree, manifest: built.manifest });
    const hs2 = new Harness(rng, data, second.sender, second.receiver, { reorder: 64, burst: 32 }, dest);
    hs2.start();
    hs2.run();
    expect(hex(h.hash(dest))).toBe(hex(h.hash(data)));
    // No loss in the second run: every byte sent is a missing one, and held chunks were never touched.
    expect(second.sender.stats.payloadBytesSent).toBe(missingBytes);
    expect(second.sender.stats.payloadBytesSent).toBeLessThanOrEqual(missingBytes + window);
    expect(second.sender.stats.bytesSkippedResume).toBe(data.length - missingBytes);
    for (const d of hs2.dataItems) expect(heldSet.has(Math.floor(d.offset / chunk))).toBe(false);
    expect(second.receiver.stats.duplicateBytes).toBe(0);
  });

  it('held chunks do not eat the window', () => {
    // Every other chunk held: the receiver grants 4 missing chunks' worth, skipping the held ones.
    const data = randomBytes(new SeededRng(78), 20 * 16 * KiB);
    const held: Array<[number, number]> = Array.from({ length: 10 }, (_, k) => [2 * k, 1]);
    const { sender, receiver } = setup(data, 16 * KiB, { window: 4 * 16 * KiB, held });
    // Missing 1, 3, 5, 7 fill the budget; held chunk 8 rides along for free.
    expect(receiver.initialWindow()).toBe(9 * 16 * KiB);
    sender.onAccept(receiver.acceptRanges());
    expect(sender.windowOffset).toBe(9 * 16 * KiB);
    expect(sender.wantedChunks(100)).toEqual([1, 3, 5, 7]);
  });

  it('a resumed transfer with a lossy link sends each missing byte once plus retransmissions', () => {
    const rng = new SeededRng(79);
    const data = randomBytes(rng, 30 * 16 * KiB);
    const held: Array<[number, number]> = [[0, 5], [9, 11], [25, 1]];
    const { sender, receiver } = setup(data, 16 * KiB, { held });
    const dest = new Uint8Array(data.length);
    for (const [f, c] of held) dest.set(data.subarray(f * 16 * KiB, (f + c) * 16 * KiB), f * 16 * KiB);
    const hs = new Harness(rng, data, sender, receiver, { loss: 0.15, spuriousLoss: 0.05 }, dest);
    hs.start();
    hs.run();
    expect(hex(h.hash(dest))).toBe(hex(h.hash(data)));
    expect(sender.stats.payloadBytesSent - sender.stats.bytesRetransmitted).toBe(13 * 16 * KiB);
  });
});
