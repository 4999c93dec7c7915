/**
 * A source chunk's leaf, for the hash pass: an all-zero chunk (a sparse file's hole) gets the
 * cached zero leaf after a compare that runs at memory speed, instead of a BLAKE3 pass.
 */
import type { Blake3 } from '@wraith/core';
import { leafHash, zeroLeaf } from '@wraith/core/merkle';
import { isAllZero } from '../store/zeros.js';

export function sourceLeaf(hasher: Blake3, chunk: Uint8Array): Uint8Array {
  return isAllZero(chunk) ? zeroLeaf(hasher, chunk.length) : leafHash(hasher, chunk);
}
