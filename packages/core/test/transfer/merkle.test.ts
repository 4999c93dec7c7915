import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { blake3 } from '@noble/hashes/blake3.js';
import { SeededRng } from '../../src/rng.js';
import {
  MerkleBuilder,
  MerkleTree,
  buildFileTree,
  leafHash,
  merkleProof,
  merkleRoot,
  treeDepth,
  verifyProof,
  type Blake3,
} from '../../src/transfer/index.js';
import { nobleBlake3 } from '../../src/noble.js';

const h = nobleBlake3;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Independent reference: the whole padded tree, level by level, straight from the spec text. */
function naiveLevels(leaves: Uint8Array[]): Uint8Array[][] {
  let size = 1;
  while (size < leaves.length) size *= 2;
  const row = [...leaves];
  while (row.length < size) row.push(new Uint8Array(32));
  const levels = [row];
  for (let cur = row; cur.length > 1; ) {
    const up: Uint8Array[] = [];
    for (let j = 0; j < cur.length; j += 2) {
      up.push(blake3(Uint8Array.from([0x01, ...(cur[j] as Uint8Array), ...(cur[j + 1] as Uint8Array)])));
    }
    levels.push(up);
    cur = up;
  }
  return levels;
}
const naiveRoot = (leaves: Uint8Array[]): Uint8Array => {
  const lv = naiveLevels(leaves);
  return (lv[lv.length - 1] as Uint8Array[])[0] as Uint8Array;
};
function naiveProof(leaves: Uint8Array[], index: number): Uint8Array {
  const lv = naiveLevels(leaves);
  const parts: number[] = [];
  let idx = index;
  for (let l = 0; l < lv.length - 1; l++) {
    parts.push(...((lv[l] as Uint8Array[])[idx ^ 1] as Uint8Array));
    idx >>= 1;
  }
  return Uint8Array.from(parts);
}

function randomLeaves(rng: SeededRng, n: number): Uint8Array[] {
  return Array.from({ length: n }, () => {
    const b = new Uint8Array(32);
    rng.fill(b);
    return b;
  });
}
const concat = (xs: Uint8Array[]): Uint8Array => Uint8Array.from(xs.flatMap((x) => [...x]));

/** Counts calls, to check work per proof without timing anything. */
function counting(inner: Blake3): Blake3 & { calls: number } {
  const c = {
    name: 'counting',
    calls: 0,
    hash(d: Uint8Array) {
      c.calls++;
      return inner.hash(d);
    },
    create() {
      c.calls++;
      return inner.create();
    },
  };
  return c;
}

describe('leaf and tree shape', () => {
  it('leaf = BLAKE3(0x00 ‖ chunk); an empty file has the one leaf BLAKE3(0x00) as its root', () => {
    const chunk = Uint8Array.from([1, 2, 3, 250]);
    expect(hex(leafHash(h, chunk))).toBe(hex(blake3(Uint8Array.from([0, 1, 2, 3, 250]))));
    expect(hex(leafHash(h, new Uint8Array(0)))).toBe(hex(blake3(Uint8Array.of(0))));
    const { manifest, tree } = buildFileTree(h, 'empty', new Uint8Array(0), 16384);
    expect(tree.leafCount).toBe(1);
    expect(hex(manifest.root)).toBe(hex(blake3(Uint8Array.of(0))));
  });

  it('treeDepth is ceil(log2 n), 0 for one leaf, and rejects 0', () => {
    const table: Array<[number, number]> = [
      [1, 0], [2, 1], [3, 2], [4, 2], [5, 3], [8, 3], [9, 4], [2 ** 20, 20], [2 ** 20 + 1, 21], [2 ** 39, 39], [2 ** 39 + 1, 40],
    ];
    for (const [n, d] of table) expect(treeDepth(n)).toBe(d);
    expect(() => treeDepth(0)).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
    expect(() => treeDepth(1.5)).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
  });
});

describe('roots and proofs against the naive full tree', () => {
  const rng = new SeededRng(0x3e41);
  for (let n = 1; n <= 33; n++) {
    it(`${n} leaves`, () => {
      const leaves = randomLeaves(rng, n);
      const row = concat(leaves);
      const want = hex(naiveRoot(leaves));
      const b = new MerkleBuilder(h);
      for (const l of leaves) b.addLeaf(l);
      expect(b.leafCount).toBe(n);
      expect(hex(b.root())).toBe(want);
      expect(hex(b.root())).toBe(want); // root() does not consume the builder
      expect(hex(merkleRoot(h, row))).toBe(want);
      for (const cacheFrom of [1, 2, 3, 5]) {
        const tree = new MerkleTree(h, row, { cacheFrom });
        expect(hex(tree.root)).toBe(want);
        for (let i = 0; i < n; i++) expect(hex(tree.proof(i))).toBe(hex(naiveProof(leaves, i)));
      }
      for (let i = 0; i < n; i++) {
        const proof = merkleProof(h, row, i);
        expect(hex(proof)).toBe(hex(naiveProof(leaves, i)));
        expect(verifyProof(h, naiveRoot(leaves), i, n, leaves[i] as Uint8Array, proof)).toBe(true);
      }
    });
  }

  it('the builder keeps streaming after an intermediate root', () => {
    const leaves = randomLeaves(rng, 21);
    const b = new MerkleBuilder(h);
    leaves.forEach((l, i) => {
      b.addLeaf(l);
      expect(hex(b.root())).toBe(hex(naiveRoot(leaves.slice(0, i + 1))));
    });
  });
});

describe('tampering is detected', () => {
  it('any flipped bit in the leaf, the proof or the root, or a wrong index or count, fails', () => {
    const rng = new SeededRng(77);
    for (const n of [2, 5, 13]) {
      const leaves = randomLeaves(rng, n);
      const root = naiveRoot(leaves);
      for (const i of [0, n - 1, Math.floor(n / 2)]) {
        const leaf = leaves[i] as Uint8Array;
        const proof = merkleProof(h, concat(leaves), i);
        expect(verifyProof(h, root, i, n, leaf, proof)).toBe(true);
        const flips = (b: Uint8Array, check: (x: Uint8Array) => boolean): void => {
          for (let bit = 0; bit < b.length * 8; bit++) {
            const x = b.slice();
            x[bit >> 3] = (x[bit >> 3] as number) ^ (1 << (bit & 7));
            expect(check(x)).toBe(false);
          }
        };
        flips(leaf, (x) => verifyProof(h, root, i, n, x, proof));
        flips(proof, (x) => verifyProof(h, root, i, n, leaf, x));
        flips(root, (x) => verifyProof(h, x, i, n, leaf, proof));
        for (let bit = 0; 2 ** bit <= 2 * n; bit++) {
          expect(verifyProof(h, root, i ^ (1 << bit), n, leaf, proof)).toBe(false);
        }
        for (const bad of [-1, n, 0.5, Number.NaN]) expect(verifyProof(h, root, bad, n, leaf, proof)).toBe(false);
        expect(verifyProof(h, root, i, n + 2 ** treeDepth(n), leaf, proof)).toBe(false);
        expect(verifyProof(h, root, i, n, leaf, proof.subarray(32))).toBe(false);
        expect(verifyProof(h, root, i, n, leaf, Uint8Array.from([...proof, ...new Uint8Array(32)]))).toBe(false);
      }
    }
  });

  it('a padding sibling must be the padding hash even if the rest is consistent', () => {
    // 3 leaves: leaf 2's level-0 sibling is padding (32 zero bytes).
    const leaves = randomLeaves(new SeededRng(5), 3);
    const root = naiveRoot(leaves);
    const proof = merkleProof(h, concat(leaves), 2);
    expect(proof.subarray(0, 32).every((b) => b === 0)).toBe(true);
    const forged = proof.slice();
    forged[0] = 1;
    expect(verifyProof(h, root, 2, 3, leaves[2] as Uint8Array, forged)).toBe(false);
  });
});

describe('properties', () => {
  it('builder, row root and cached tree agree; every proof verifies; another leaf does not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.nat(), (n, seed, pick) => {
        const leaves = randomLeaves(new SeededRng(seed), n);
        const row = concat(leaves);
        const tree = new MerkleTree(h, row);
        const b = new MerkleBuilder(h);
        for (const l of leaves) b.addLeaf(l);
        expect(hex(b.root())).toBe(hex(tree.root));
        expect(hex(merkleRoot(h, row))).toBe(hex(tree.root));
        const i = pick % n;
        const proof = tree.proof(i);
        expect(verifyProof(h, tree.root, i, n, leaves[i] as Uint8Array, proof)).toBe(true);
        const j = (i + 1) % n;
        if (j !== i) expect(verifyProof(h, tree.root, i, n, leaves[j] as Uint8Array, proof)).toBe(false);
      }),
      { numRuns: 60, seed: 1234 },
    );
  });

  it('chunk hashing: the tree of a file equals the naive tree of its chunk leaves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 * 16384 + 3 }), fc.integer({ min: 0, max: 1000 }), (size, seed) => {
        const data = new Uint8Array(size);
        new SeededRng(seed).fill(data);
        const { manifest, tree } = buildFileTree(h, 'f', data, 16384);
        const leaves: Uint8Array[] = [];
        for (let o = 0; o < Math.max(1, size); o += 16384) {
          leaves.push(blake3(Uint8Array.from([0, ...data.subarray(o, o + 16384)])));
        }
        expect(tree.leafCount).toBe(leaves.length);
        expect(hex(manifest.root)).toBe(hex(naiveRoot(leaves)));
      }),
      { numRuns: 15, seed: 99 },
    );
  });
});

describe('scale', () => {
  it('a cached tree serves each proof with at most 4 hashes, matching the uncached proof', () => {
    const n = 2 ** 12 + 3;
    const rng = new SeededRng(8);
    const row = new Uint8Array(n * 32);
    rng.fill(row);
    const ch = counting(h);
    const tree = new MerkleTree(ch, row);
    for (const i of [0, 1, 7, 2047, n - 4, n - 1, 3001]) {
      ch.calls = 0;
      const proof = tree.proof(i);
      expect(ch.calls).toBeLessThanOrEqual(4);
      expect(hex(proof)).toBe(hex(merkleProof(h, row, i)));
      expect(verifyProof(h, tree.root, i, n, row.subarray(i * 32, i * 32 + 32), proof)).toBe(true);
    }
  });

  it('verifies paths with indexes beyond 2^32 (no 32-bit index arithmetic)', () => {
    const n = 2 ** 33 + 5;
    const depth = treeDepth(n);
    const rng = new SeededRng(11);
    // Padding subtree hashes per level, straight from the definition.
    const zero: Uint8Array[] = [new Uint8Array(32)];
    for (let l = 1; l <= depth; l++) {
      const z = zero[l - 1] as Uint8Array;
      zero.push(blake3(Uint8Array.from([1, ...z, ...z])));
    }
    for (const index of [2 ** 33 + 4, 2 ** 33 + 1, 2 ** 32 + 7]) {
      const leaf = randomLeaves(rng, 1)[0] as Uint8Array;
      const proof = new Uint8Array(depth * 32);
      let cur = leaf;
      let idx = BigInt(index);
      for (let l = 0; l < depth; l++) {
        const sib = idx ^ 1n;
        const width = (BigInt(n) + (1n << BigInt(l)) - 1n) >> BigInt(l);
        const s = sib >= width ? (zero[l] as Uint8Array) : (randomLeaves(rng, 1)[0] as Uint8Array);
        proof.set(s, l * 32);
        cur = (idx & 1n) === 0n ? blake3(Uint8Array.from([1, ...cur, ...s])) : blake3(Uint8Array.from([1, ...s, ...cur]));
        idx >>= 1n;
      }
      expect(verifyProof(h, cur, index, n, leaf, proof)).toBe(true);
      expect(verifyProof(h, cur, index - 2 ** 32, n, leaf, proof)).toBe(false);
    }
  });
});

describe('ProofVerifier (remembers proven nodes)', () => {
  it('passes a leaf only if it is the real one, passes every real proof, in any order, and hashes less in order', async () => {
    const { ProofVerifier } = await import('../../src/transfer/proof-verifier.js');
    const op = fc.record({ i: fc.nat(), forge: fc.option(fc.record({ where: fc.constantFrom('leaf', 'proof'), bit: fc.nat() }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.array(op, { maxLength: 60 }), (n, seed, ops) => {
        const leaves = randomLeaves(new SeededRng(seed), n);
        const tree = new MerkleTree(h, concat(leaves));
        const v = new ProofVerifier(h, tree.root, n);
        for (const o of ops) {
          const i = o.i % n;
          let leaf = leaves[i] as Uint8Array;
          let proof = tree.proof(i);
          if (o.forge) {
            const target = o.forge.where === 'leaf' || proof.length === 0 ? leaf.slice() : proof.slice();
            target[(o.forge.bit >> 3) % target.length]! ^= 1 << (o.forge.bit & 7);
            if (o.forge.where === 'leaf' || proof.length === 0) leaf = target;
            else proof = target;
          }
          // With nothing proven yet it is verifyProof exactly.
          expect(new ProofVerifier(h, tree.root, n).verify(i, leaf, proof)).toBe(verifyProof(h, tree.root, i, n, leaf, proof));
          const got = v.verify(i, leaf, proof);
          const genuine = hex(leaf) === hex(leaves[i] as Uint8Array);
          // Sound: only the real leaf passes. Complete: a real proof always passes. A real leaf
          // with a forged proof may pass once its path is proven (the proof is not needed then).
          if (!genuine) expect(got, `forged leaf ${i} of ${n}`).toBe(false);
          else if (verifyProof(h, tree.root, i, n, leaf, proof)) expect(got, `chunk ${i} of ${n}`).toBe(true);
          // A forged leaf never passes, however much the verifier has seen.
          const other = leaves[(i + 1) % n] as Uint8Array;
          if (n > 1 && hex(other) !== hex(leaves[i] as Uint8Array)) expect(v.verify(i, other, tree.proof(i))).toBe(false);
        }
      }),
      { numRuns: 150, seed: 4321 },
    );
    // In order, after the first chunk, a proof costs at most two node hashes on average.
    const n = 1000;
    const leaves = randomLeaves(new SeededRng(3), n);
    const tree = new MerkleTree(h, concat(leaves));
    let hashes = 0;
    const counting: Blake3 = { ...h, hash: (b: Uint8Array) => (hashes++, h.hash(b)) };
    const v = new ProofVerifier(counting, tree.root, n);
    for (let i = 0; i < n; i++) expect(v.verify(i, leaves[i] as Uint8Array, tree.proof(i))).toBe(true);
    expect(hashes).toBeLessThanOrEqual(2 * n);
    expect(hashes).toBeGreaterThan(0);
  });
});
