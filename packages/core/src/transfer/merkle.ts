/**
 * The transfer Merkle tree (PROTOCOL.md §7): leaf i = BLAKE3(0x00 ‖ chunk i),
 * node = BLAKE3(0x01 ‖ left ‖ right), the leaf row padded with 32-byte zero
 * leaves up to the next power of two; an empty file has one leaf BLAKE3(0x00).
 *
 * Padding subtrees are never materialised: a subtree made only of padding has
 * a hash that depends on its level alone, cached per hasher.
 * Chunk indexes can exceed 2^32, so index arithmetic avoids bitwise operators.
 */
import { WraithError } from '../errors.js';
import { bytesEqual, zeroBytes } from './bytes.js';

/** Shared read-only zeros (see bytes.ts), for code that loads only this entry (hash workers). */
export { zeroBytes } from './bytes.js';
import { HASH_LEN, type Blake3 } from './hasher.js';

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = 0x01;

/** Scratch for node inputs; hashing is synchronous, so one buffer serves every call. */
const nodeInput = new Uint8Array(1 + 2 * HASH_LEN);

/** Hash of chunk bytes as a leaf. */
export function leafHash(hasher: Blake3, chunk: Uint8Array): Uint8Array {
  return hasher.create().update(LEAF_PREFIX).update(chunk).digest();
}

const zeroLeaves = new WeakMap<Blake3, Map<number, Uint8Array>>();

/**
 * The leaf of a chunk of `length` zero bytes. A leaf does not depend on its position, so every
 * all-zero chunk of a file has one of two leaves (full chunks, a shorter last one): hashed once.
 */
export function zeroLeaf(hasher: Blake3, length: number): Uint8Array {
  let byLength = zeroLeaves.get(hasher);
  if (byLength === undefined) {
    byLength = new Map();
    zeroLeaves.set(hasher, byLength);
  }
  let leaf = byLength.get(length);
  if (leaf === undefined) {
    leaf = leafHash(hasher, zeroBytes(length));
    if (byLength.size >= 8) byLength.clear(); // chunk sizes are few: this only bounds a misuse
    byLength.set(length, leaf);
  }
  return leaf;
}

/** Hash of an inner node from its two children. */
export function nodeHash(hasher: Blake3, left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeInput[0] = NODE_PREFIX;
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_LEN);
  return hasher.hash(nodeInput);
}

/** Levels above the leaves: 0 for one leaf, ceil(log2(leafCount)) otherwise. */
export function treeDepth(leafCount: number): number {
  if (!Number.isSafeInteger(leafCount) || leafCount < 1) {
    throw new WraithError('E_INTERNAL', `a Merkle tree needs a positive integer leaf count, got ${leafCount}`, {
      leafCount,
    });
  }
  let depth = 0;
  for (let span = 1; span < leafCount; span *= 2) depth++;
  return depth;
}

const zeroCache = new WeakMap<Blake3, Uint8Array[]>();

/** Hash of a subtree of 2^level padding leaves (level 0: the 32 zero bytes themselves). */
export function zeroSubtree(hasher: Blake3, level: number): Uint8Array {
  let row = zeroCache.get(hasher);
  if (row === undefined) {
    row = [new Uint8Array(HASH_LEN)];
    zeroCache.set(hasher, row);
  }
  while (row.length <= level) {
    const below = row[row.length - 1] as Uint8Array;
    row.push(nodeHash(hasher, below, below));
  }
  return row[level] as Uint8Array;
}

/** Nodes at `level` that are not pure padding, for `leafCount` leaves. */
export function levelWidth(leafCount: number, level: number): number {
  return Math.ceil(leafCount / 2 ** level);
}

function checkHash(what: string, h: Uint8Array): void {
  if (h.length !== HASH_LEN) {
    throw new WraithError('E_INTERNAL', `${what} must be ${HASH_LEN} bytes, got ${h.length}`);
  }
}

/** The next row up: pairs hashed, a missing right child replaced by the padding subtree. */
export function parentRow(hasher: Blake3, row: Uint8Array, count: number, level: number): Uint8Array {
  const up = Math.ceil(count / 2);
  const out = new Uint8Array(up * HASH_LEN);
  for (let j = 0; j < up; j++) {
    const l = 2 * j;
    const left = row.subarray(l * HASH_LEN, (l + 1) * HASH_LEN);
    const right = l + 1 < count ? row.subarray((l + 1) * HASH_LEN, (l + 2) * HASH_LEN) : zeroSubtree(hasher, level);
    out.set(nodeHash(hasher, left, right), j * HASH_LEN);
  }
  return out;
}

/**
 * Streaming root computation: leaves in, root out, O(log n) memory. Entry k of
 * the stack is a complete subtree of 2^k leaves still waiting for its right
 * sibling (the binary representation of the leaf count).
 */
export class MerkleBuilder {
  private readonly stack: Array<Uint8Array | undefined> = [];
  private count = 0;

  constructor(private readonly hasher: Blake3) {}

  get leafCount(): number {
    return this.count;
  }

  addChunk(chunk: Uint8Array): void {
    this.addLeaf(leafHash(this.hasher, chunk));
  }

  addLeaf(leaf: Uint8Array): void {
    checkHash('a leaf hash', leaf);
    let cur: Uint8Array = leaf.slice();
    let level = 0;
    for (let left = this.stack[level]; left !== undefined; left = this.stack[level]) {
      cur = nodeHash(this.hasher, left, cur);
      this.stack[level] = undefined;
      level++;
    }
    this.stack[level] = cur;
    this.count++;
  }

  /** The root over the leaves so far; the builder stays usable. */
  root(): Uint8Array {
    const depth = treeDepth(this.count);
    let carry: Uint8Array | undefined;
    for (let level = 0; level < depth; level++) {
      const left = this.stack[level];
      if (left !== undefined) {
        carry = nodeHash(this.hasher, left, carry ?? zeroSubtree(this.hasher, level));
      } else if (carry !== undefined) {
        carry = nodeHash(this.hasher, carry, zeroSubtree(this.hasher, level));
      }
    }
    // A power-of-two count leaves one complete subtree at the top and no carry.
    return (carry ?? this.stack[depth] as Uint8Array).slice();
  }
}

/** Root of a leaf row (n × 32 bytes). */
export function merkleRoot(hasher: Blake3, leaves: Uint8Array): Uint8Array {
  const b = new MerkleBuilder(hasher);
  for (let o = 0; o < leaves.length; o += HASH_LEN) b.addLeaf(leaves.subarray(o, o + HASH_LEN));
  return b.root();
}

function leafCountOf(leaves: Uint8Array): number {
  if (leaves.length === 0 || leaves.length % HASH_LEN !== 0) {
    throw new WraithError('E_INTERNAL', `a leaf row is a positive multiple of ${HASH_LEN} bytes, got ${leaves.length}`);
  }
  return leaves.length / HASH_LEN;
}

/**
 * Sibling hashes on the path of leaf `index`, bottom-up (depth × 32 bytes).
 * Recomputes every level: O(n) time and memory. Use MerkleTree to serve many proofs.
 */
export function merkleProof(hasher: Blake3, leaves: Uint8Array, index: number): Uint8Array {
  const n = leafCountOf(leaves);
  if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
    throw new WraithError('E_INTERNAL', `leaf index ${index} is outside 0..${n - 1}`, { index, leafCount: n });
  }
  const depth = treeDepth(n);
  const out = new Uint8Array(depth * HASH_LEN);
  let row = leaves;
  let count = n;
  let idx = index;
  for (let level = 0; level < depth; level++) {
    const sib = idx % 2 === 0 ? idx + 1 : idx - 1;
    out.set(
      sib < count ? row.subarray(sib * HASH_LEN, (sib + 1) * HASH_LEN) : zeroSubtree(hasher, level),
      level * HASH_LEN,
    );
    row = parentRow(hasher, row, count, level);
    count = Math.ceil(count / 2);
    idx = Math.floor(idx / 2);
  }
  return out;
}

/**
 * Whether `proof` links `leaf` at `index` to `root` in a tree of `leafCount`
 * leaves. Never throws on malformed input (it comes from the peer): false.
 * Siblings that must be padding are also checked to be exactly the padding hash.
 */
export function verifyProof(
  hasher: Blake3,
  root: Uint8Array,
  index: number,
  leafCount: number,
  leaf: Uint8Array,
  proof: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(leafCount) || leafCount < 1) return false;
  if (!Number.isSafeInteger(index) || index < 0 || index >= leafCount) return false;
  if (root.length !== HASH_LEN || leaf.length !== HASH_LEN) return false;
  const depth = treeDepth(leafCount);
  if (proof.length !== depth * HASH_LEN) return false;
  let cur = leaf;
  let idx = index;
  for (let level = 0; level < depth; level++) {
    const sib = proof.subarray(level * HASH_LEN, (level + 1) * HASH_LEN);
    const even = idx % 2 === 0;
    if (even && idx + 1 >= levelWidth(leafCount, level) && !bytesEqual(sib, zeroSubtree(hasher, level))) return false;
    cur = even ? nodeHash(hasher, cur, sib) : nodeHash(hasher, sib, cur);
    idx = Math.floor(idx / 2);
  }
  return bytesEqual(cur, root);
}
