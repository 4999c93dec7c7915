/**
 * All-zero chunks as ZERO_CHUNK items (PROTOCOL.md §7): never read by the sender, checked by the
 * receiver against the root as the zero leaf, and a lie about them caught like a bad chunk.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WraithError } from '../../src/errors.js';
import { SeededRng } from '../../src/rng.js';
import { TransferReceiver, TransferSender, buildFileTree, chunkCount, type SendItem } from '../../src/transfer/index.js';
import { nobleBlake3 } from '../../src/noble.js';
import { Harness, randomBytes } from './harness.js';

const h = nobleBlake3;
const KiB = 1024;
const CS = 16 * KiB;

/** `n` chunks (the last `tail` bytes long when tail > 0); the chunks in `data` hold random bytes, the rest zeros. */
function sparse(rng: SeededRng, n: number, data: ReadonlySet<number>, tail = 0): Uint8Array {
  const size = tail > 0 ? (n - 1) * CS + tail : n * CS;
  const b = new Uint8Array(size);
  for (const i of data) b.set(randomBytes(rng, Math.min(CS, size - i * CS)), i * CS);
  return b;
}

function pair(content: Uint8Array, o: { zeroChunks?: boolean; window?: number } = {}) {
  const { manifest, tree } = buildFileTree(h, 'disk.img', content, CS);
  const window = o.window ?? 8 * CS;
  const sender = new TransferSender({
    id: 1,
    manifest,
    tree,
    hasher: h,
    maxBufferedBytes: 4 * CS,
    initialWindow: window,
    zeroChunks: o.zeroChunks ?? true,
  });
  const receiver = new TransferReceiver({ id: 1, manifest, hasher: h, windowBytes: window });
  return { sender, receiver, manifest, tree };
}

describe('ZERO_CHUNK items', () => {
  it('random sparse files over a lossy, reordering link: identical, zero chunks never read and sent as items', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const rng = new SeededRng(seed);
      const n = 1 + (rng.nextU32() % 60);
      const data = new Set<number>();
      for (let i = 0; i < n; i++) if (rng.nextFloat() < 0.3) data.add(i);
      const tail = rng.nextFloat() < 0.5 ? 1 + (rng.nextU32() % (CS - 1)) : 0;
      const content = sparse(rng, n, data, tail);
      const { sender, receiver } = pair(content);
      const hs = new Harness(rng, content, sender, receiver, { loss: 0.05, spuriousLoss: 0.05, reorder: 8 });
      hs.start();
      hs.run();
      expect(Buffer.compare(hs.dest, content), `seed ${seed}`).toBe(0);
      const zeros = [...Array(n).keys()].filter((i) => !data.has(i));
      expect([...new Set(hs.reads)].sort((a, b) => a - b)).toEqual([...data].sort((a, b) => a - b));
      expect([...new Set(hs.zeroItems)].sort((a, b) => a - b)).toEqual(zeros);
      const zeroBytes = zeros.reduce((s, i) => s + Math.min(CS, content.length - i * CS), 0);
      expect(sender.stats.bytesZero).toBe(zeroBytes);
      expect(sender.stats.payloadBytesSent - sender.stats.bytesRetransmitted).toBe(content.length - zeroBytes);
    }
  });

  it('without zeroChunks every chunk is read and sent as data', () => {
    const rng = new SeededRng(3);
    const content = sparse(rng, 10, new Set([2]));
    const { sender, receiver } = pair(content, { zeroChunks: false });
    const hs = new Harness(rng, content, sender, receiver);
    hs.start();
    hs.run();
    expect(Buffer.compare(hs.dest, content)).toBe(0);
    expect(hs.zeroItems).toEqual([]);
    expect(new Set(hs.reads).size).toBe(10);
    expect(sender.stats.bytesZero).toBe(0);
  });

  it('held zero chunks count as zeros, not as resumed, when the receiver took them from the leaf row', () => {
    const content = sparse(new SeededRng(6), 10, new Set([1, 2, 7]), 1000);
    const held: Array<[number, number]> = [[0, 4], [8, 2]]; // zeros 0, 3, 8, 9 (9: the short tail) and data 1, 2
    const fromRow = pair(content).sender;
    fromRow.onAccept(held, true);
    expect(fromRow.stats.bytesZero).toBe(3 * CS + 1000);
    expect(fromRow.stats.bytesSkippedResume).toBe(2 * CS);
    const resumed = pair(content).sender;
    resumed.onAccept(held);
    expect(resumed.stats.bytesZero).toBe(0);
    expect(resumed.stats.bytesSkippedResume).toBe(5 * CS + 1000);
    // To a receiver that takes no ZERO_CHUNK, a zero chunk is data like any other.
    const plain = pair(content, { zeroChunks: false }).sender;
    plain.onAccept(held, true);
    expect([plain.stats.bytesZero, plain.stats.bytesSkippedResume]).toEqual([0, 5 * CS + 1000]);
  });

  it('the receiver hands a zero chunk on flagged, as shared zeros, with the zero leaf', () => {
    const content = sparse(new SeededRng(4), 4, new Set([1]));
    const { receiver, tree } = pair(content);
    receiver.initialWindow();
    receiver.onProof(2, 0, tree.proof(2));
    receiver.onZeroChunk(2);
    const v = receiver.pollVerified();
    expect(v).toMatchObject({ index: 2, offset: 2 * CS, zero: true });
    expect(v?.bytes.length).toBe(CS);
    expect(v?.bytes.every((x) => x === 0)).toBe(true);
    expect(Buffer.from(v?.leaf ?? []).equals(Buffer.from(tree.leaf(2)))).toBe(true);
    expect(receiver.bufferedBytes).toBe(0);
    receiver.chunkWritten(2);
    expect(receiver.heldChunks).toBe(1);
  });

  it('a ZERO_CHUNK for a chunk that holds data fails verification and is asked for again; 8 times is E_INTEGRITY', () => {
    const content = sparse(new SeededRng(5), 4, new Set([1]));
    const { receiver, tree } = pair(content);
    receiver.initialWindow();
    for (let k = 1; k < 8; k++) {
      receiver.onProof(1, 0, tree.proof(1));
      receiver.onZeroChunk(1);
      expect(receiver.pollVerified()).toBeNull();
      expect(receiver.pollResend()).toBe(1);
      expect(receiver.stats.integrityFailures).toBe(k);
    }
    receiver.onProof(1, 0, tree.proof(1));
    expect(() => receiver.onZeroChunk(1)).toThrow(expect.objectContaining({ code: 'E_INTEGRITY' }));
  });

  it('a ZERO_CHUNK beyond the window is E_FLOW_CONTROL, outside the file or for an empty file E_PROTOCOL', () => {
    const content = new Uint8Array(10 * CS);
    const { receiver } = pair(content, { window: 2 * CS });
    receiver.initialWindow();
    expect(() => receiver.onZeroChunk(2)).toThrow(expect.objectContaining({ code: 'E_FLOW_CONTROL' }));
    expect(() => receiver.onZeroChunk(10)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    expect(() => receiver.onZeroChunk(-1)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    const empty = pair(new Uint8Array(0));
    expect(() => empty.receiver.onZeroChunk(0)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
  });

  it('data for a chunk already announced as zeros is a duplicate; a ZERO_CHUNK drops data that came before it', () => {
    const content = new Uint8Array(4 * CS);
    const { receiver, tree } = pair(content);
    receiver.initialWindow();
    receiver.onZeroChunk(1);
    receiver.onChunk(CS, new Uint8Array(100).fill(7));
    expect(receiver.stats.duplicateBytes).toBe(100);
    expect(receiver.bufferedBytes).toBe(0);
    receiver.onProof(1, 0, tree.proof(1));
    expect(receiver.pollVerified()).toMatchObject({ index: 1, zero: true });

    receiver.onChunk(2 * CS, new Uint8Array(100));
    expect(receiver.bufferedBytes).toBe(CS);
    receiver.onZeroChunk(2);
    expect(receiver.bufferedBytes).toBe(0);
    receiver.onProof(2, 0, tree.proof(2));
    expect(receiver.pollVerified()).toMatchObject({ index: 2, zero: true });
  });

  it('a grant that ends inside a zero chunk holds it back until the grant covers it', () => {
    const content = new Uint8Array(4 * CS);
    const { manifest, tree } = buildFileTree(h, 'z.img', content, CS);
    const sender = new TransferSender({ id: 1, manifest, tree, hasher: h, maxBufferedBytes: CS, initialWindow: 0, zeroChunks: true });
    sender.onAccept([]);
    const zerosNow = (): number[] => {
      const out: number[] = [];
      for (let it = sender.nextItem(1200); it !== null; it = sender.nextItem(1200)) if (it.kind === 'zero') out.push(it.chunkIndex);
      return out;
    };
    expect(zerosNow()).toEqual([]);
    sender.onWindow(CS + 100);
    expect(zerosNow()).toEqual([0]);
    sender.onWindow(3 * CS);
    expect(zerosNow()).toEqual([1, 2]);
  });

  it('a RESEND of a zero chunk after it was acked sends it as zeros again, without a read', () => {
    const content = new Uint8Array(4 * CS);
    const { sender, receiver } = pair(content);
    sender.onAccept(receiver.acceptRanges());
    sender.onWindow(receiver.initialWindow());
    expect(sender.wantedChunks(8)).toEqual([]);
    const items: SendItem[] = [];
    for (let it = sender.nextItem(1200); it !== null; it = sender.nextItem(1200)) items.push(it);
    expect(items.filter((i) => i.kind === 'zero').map((i) => (i as { chunkIndex: number }).chunkIndex)).toEqual([0, 1, 2, 3]);
    for (const i of items) sender.onItemAcked(i);
    expect(sender.finished).toBe(true);
    sender.onResend(2);
    expect(sender.finished).toBe(false);
    expect(sender.wantedChunks(8)).toEqual([]);
    const again: SendItem[] = [];
    for (let it = sender.nextItem(1200); it !== null; it = sender.nextItem(1200)) again.push(it);
    expect(again.map((i) => i.kind)).toEqual(['proof', 'zero']);
    for (const i of again) sender.onItemAcked(i);
    expect(sender.finished).toBe(true);
    expect(sender.stats.bytesZero).toBe(4 * CS); // a resend is not counted twice
    expect(chunkCount(sender.manifest)).toBe(4);
  });

  it('a hostile mix of CHUNK, PROOF and ZERO_CHUNK in any order: only WraithErrors, bounded buffers, and nothing verified that is not the file', () => {
    const seen = { zero: 0, data: 0, failures: 0, errors: 0 };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.array(fc.tuple(fc.constantFrom('data', 'bad-data', 'proof', 'bad-proof', 'zero', 'write'), fc.nat(40), fc.nat(CS)), { minLength: 60, maxLength: 300 }),
        (seed, ops) => {
          const rng = new SeededRng(seed);
          const n = 2 + (seed % 20);
          const data = new Set<number>();
          for (let i = 0; i < n; i++) if (rng.nextFloat() < 0.5) data.add(i);
          const content = sparse(rng, n, data, seed % 3 === 0 ? 1 + (seed % (CS - 1)) : 0);
          const { receiver, tree } = pair(content, { window: 4 * CS });
          receiver.initialWindow();
          const written: number[] = [];
          for (const [op, a, b] of ops) {
            const i = a < 38 ? a % Math.min(n, 4) : a % n; // mostly inside the 4-chunk window
            const start = i * CS;
            const end = Math.min(content.length, start + CS);
            try {
              if (op === 'data' || op === 'bad-data') {
                const from = b % 3 === 0 ? start : start + Math.min(b, end - start - 1); // whole or a tail
                const bytes = content.slice(from, end);
                if (op === 'bad-data' && bytes.length > 0) bytes[0] = (bytes[0] as number) ^ 1;
                receiver.onChunk(from, bytes);
              } else if (op === 'proof' || op === 'bad-proof') {
                const proof = tree.proof(i).slice();
                if (op === 'bad-proof' && proof.length > 0) proof[0] = (proof[0] as number) ^ 1;
                receiver.onProof(i, 0, proof);
              } else if (op === 'zero') {
                receiver.onZeroChunk(i);
              }
            } catch (e) {
              expect(e).toBeInstanceOf(WraithError);
              expect(['E_FLOW_CONTROL', 'E_PROTOCOL', 'E_INTEGRITY']).toContain((e as WraithError).code);
              seen.errors++;
              return; // the session would end here
            }
            for (let v = receiver.pollVerified(); v !== null; v = receiver.pollVerified()) {
              // Whatever came out is the file's: data as it is, zeros only where it is zeros.
              expect(Buffer.from(v.bytes).equals(Buffer.from(content.subarray(v.offset, v.offset + v.bytes.length)))).toBe(true);
              expect(v.bytes.length).toBe(Math.min(CS, content.length - v.offset));
              seen[v.zero ? 'zero' : 'data']++;
              if (op === 'write' || rng.nextFloat() < 0.5) receiver.chunkWritten(v.index);
              else written.push(v.index);
            }
            while (written.length > 0 && (op === 'write' || rng.nextFloat() < 0.3)) receiver.chunkWritten(written.shift() as number);
            expect(receiver.bufferedBytes).toBeGreaterThanOrEqual(0);
            expect(receiver.bufferedBytes).toBeLessThanOrEqual(4 * CS + CS);
            for (let r = receiver.pollResend(); r !== null; r = receiver.pollResend()) {
              expect(r).toBeLessThan(n);
              seen.failures++;
            }
          }
        },
      ),
      { numRuns: 200, seed: 4242 },
    );
    // The runs reached every path: chunks verified both ways, failures, and errors that end it.
    expect(seen.zero).toBeGreaterThan(50);
    expect(seen.data).toBeGreaterThan(50);
    expect(seen.errors).toBeGreaterThan(10);
    expect(seen.failures).toBeGreaterThan(10);
  });
});
