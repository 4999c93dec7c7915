/**
 * Sender-side Merkle tree: the leaf row plus every level from `cacheFrom` up,
 * so a proof costs at most 2^cacheFrom - cacheFrom - 1 hashes (4 with the
 * default) whatever the leaf count. Extra memory is about 32 / 2^(cacheFrom-1)
 * bytes per leaf: 8 MiB on top of the 32 MiB leaf row for 1M leaves.
 */
import { WraithError } from '../errors.js';
import { HASH_LEN, type Blake3 } from './hasher.js';
import { nodeHash, parentRow, treeDepth, zeroSubtree } from './merkle.js';

/** Lowest level kept; levels 1..cacheFrom-1 are recomputed per proof from the leaves. */
export const DEFAULT_CACHE_FROM = 3;

export class MerkleTree {
  readonly leafCount: number;
  readonly depth: number;
  readonly root: Uint8Array;
  /** rows[k] is level cacheFrom + k; level `depth` (the root) is the last row. */
  private readonly rows: Uint8Array[] = [];
  private readonly cacheFrom: number;

  /** `leaves` is kept by reference (n × 32 bytes); do not modify it afterwards. */
  constructor(
    private readonly hasher: Blake3,
    private readonly leaves: Uint8Array,
    opts: { cacheFrom?: number } = {},
  ) {
    if (leaves.length === 0 || leaves.length % HASH_LEN !== 0) {
      throw new WraithError('E_INTERNAL', `a leaf row is a positive multiple of ${HASH_LEN} bytes, got ${leaves.length}`);
    }
    this.leafCount = leaves.length / HASH_LEN;
    this.depth = treeDepth(this.leafCount);
    this.cacheFrom = Math.max(1, Math.min(opts.cacheFrom ?? DEFAULT_CACHE_FROM, this.depth));
    let row = leaves;
    let count = this.leafCount;
    for (let level = 0; level < this.depth; level++) {
      row = parentRow(hasher, row, count, level);
      count = Math.ceil(count / 2);
      if (level + 1 >= this.cacheFrom) this.rows.push(row);
    }
    this.root = this.depth === 0 ? leaves.slice(0, HASH_LEN) : row.slice(0, HASH_LEN);
  }

  /** Leaf hash `i` (a view into the leaf row). */
  /** Leaves first..first+count-1, as one view of the row. */
  leafRange(first: number, count: number): Uint8Array {
    this.checkIndex(first);
    if (count > 0) this.checkIndex(first + count - 1);
    return this.leaves.subarray(first * HASH_LEN, (first + count) * HASH_LEN);
  }

  leaf(i: number): Uint8Array {
    this.checkIndex(i);
    return this.leaves.subarray(i * HASH_LEN, (i + 1) * HASH_LEN);
  }

  /** Sibling hashes for leaf `index`, bottom-up (depth × 32 bytes). */
  proof(index: number): Uint8Array {
    this.checkIndex(index);
    const out = new Uint8Array(this.depth * HASH_LEN);
    let idx = index;
    for (let level = 0; level < this.depth; level++) {
      const sib = idx % 2 === 0 ? idx + 1 : idx - 1;
      out.set(this.node(level, sib), level * HASH_LEN);
      idx = Math.floor(idx / 2);
    }
    return out;
  }

  /** Hash of node `j` at `level`: cached row, leaf, padding, or recomputed below the cache. */
  private node(level: number, j: number): Uint8Array {
    if (j * 2 ** level >= this.leafCount) return zeroSubtree(this.hasher, level);
    if (level === 0) return this.leaves.subarray(j * HASH_LEN, (j + 1) * HASH_LEN);
    if (level >= this.cacheFrom) {
      const row = this.rows[level - this.cacheFrom] as Uint8Array;
      return row.subarray(j * HASH_LEN, (j + 1) * HASH_LEN);
    }
    return nodeHash(this.hasher, this.node(level - 1, 2 * j), this.node(level - 1, 2 * j + 1));
  }

  private checkIndex(i: number): void {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.leafCount) {
      throw new WraithError('E_INTERNAL', `leaf index ${i} is outside 0..${this.leafCount - 1}`, { index: i });
    }
  }
}
