/**
 * verifyProof with a memory of what it already proved. After a proof checks
 * out, every node on its path and every sibling it used hashes up to the
 * root, so a later proof can stop at the first of them it meets. Chunks
 * verified in order then cost one or two node hashes instead of depth. Only
 * the last verified pair (node and sibling) per level is kept: O(depth)
 * memory for any file size.
 */
import { bytesEqual } from './bytes.js';
import { HASH_LEN, type Blake3 } from './hasher.js';
import { levelWidth, nodeHash, treeDepth, zeroSubtree } from './merkle.js';

export class ProofVerifier {
  private readonly depth: number;
  /** Per level: the even index of the trusted pair there (-1: none), and left ‖ right. */
  private readonly pairAt: number[] = [];
  private readonly pairs: Uint8Array[] = [];
  /** The pairs the proof at hand went through, committed only if it checks out. */
  private readonly seenAt: number[] = [];
  private readonly seenLeft: Uint8Array[] = [];
  private readonly seenRight: Uint8Array[] = [];

  constructor(
    private readonly hasher: Blake3,
    private readonly root: Uint8Array,
    private readonly leafCount: number,
  ) {
    this.depth = treeDepth(leafCount);
    for (let level = 0; level < this.depth; level++) {
      this.pairAt.push(-1);
      this.pairs.push(new Uint8Array(2 * HASH_LEN));
    }
  }

  /**
   * Whether `proof` links `leaf` at `index` to the root, as verifyProof says
   * (never throws on malformed input). Where the path meets a node proven
   * before, the proof's remaining hashes are not needed.
   */
  verify(index: number, leaf: Uint8Array, proof: Uint8Array): boolean {
    const { depth, hasher } = this;
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.leafCount) return false;
    if (this.root.length !== HASH_LEN || leaf.length !== HASH_LEN || proof.length !== depth * HASH_LEN) return false;
    let cur = leaf;
    let idx = index;
    let level = 0;
    for (; level < depth; level++) {
      const odd = idx % 2;
      const even = idx - odd;
      if (this.pairAt[level] === even) {
        const known = (this.pairs[level] as Uint8Array).subarray(odd * HASH_LEN, (odd + 1) * HASH_LEN);
        if (!bytesEqual(cur, known)) return false;
        this.commit(level);
        return true;
      }
      const sib = proof.subarray(level * HASH_LEN, (level + 1) * HASH_LEN);
      if (odd === 0 && idx + 1 >= levelWidth(this.leafCount, level) && !bytesEqual(sib, zeroSubtree(hasher, level))) return false;
      const left = odd === 0 ? cur : sib;
      const right = odd === 0 ? sib : cur;
      this.seenAt[level] = even;
      this.seenLeft[level] = left;
      this.seenRight[level] = right;
      cur = nodeHash(hasher, left, right);
      idx = even / 2;
    }
    if (!bytesEqual(cur, this.root)) return false;
    this.commit(level);
    return true;
  }

  /** Trust the pairs below `top` that the proof just linked to the root. */
  private commit(top: number): void {
    for (let level = 0; level < top; level++) {
      const pair = this.pairs[level] as Uint8Array;
      pair.set(this.seenLeft[level] as Uint8Array, 0);
      pair.set(this.seenRight[level] as Uint8Array, HASH_LEN);
      this.pairAt[level] = this.seenAt[level] as number;
      this.seenLeft[level] = this.seenRight[level] = EMPTY;
    }
  }
}

const EMPTY = new Uint8Array(0);
