/**
 * Manifest and tree of a file held in memory (simulations, tests, small
 * files). The node hashes real files chunk by chunk while reading them and
 * builds the same two things from the leaf row.
 */
import { HASH_LEN, type Blake3 } from './hasher.js';
import { chunkCountFor, validateChunkSize, validateManifest, type FileManifest } from './manifest.js';
import { leafHash } from './merkle.js';
import { MerkleTree } from './merkle-tree.js';

/** The leaf row (chunkCount × 32 bytes) of `data` cut into `chunkSize` chunks. */
export function hashChunks(hasher: Blake3, data: Uint8Array, chunkSize: number): Uint8Array {
  validateChunkSize(chunkSize);
  const n = chunkCountFor(data.length, chunkSize);
  const leaves = new Uint8Array(n * HASH_LEN);
  for (let i = 0; i < n; i++) {
    const chunk = data.subarray(i * chunkSize, Math.min(data.length, (i + 1) * chunkSize));
    leaves.set(leafHash(hasher, chunk), i * HASH_LEN);
  }
  return leaves;
}

export function buildFileTree(
  hasher: Blake3,
  name: string,
  data: Uint8Array,
  chunkSize: number,
  opts: { mode?: number; mtimeMs?: number } = {},
): { manifest: FileManifest; tree: MerkleTree } {
  const tree = new MerkleTree(hasher, hashChunks(hasher, data, chunkSize));
  const manifest: FileManifest = {
    name,
    kind: 'file',
    size: data.length,
    chunkSize,
    mode: opts.mode ?? 0o644,
    mtimeMs: opts.mtimeMs ?? 0,
    root: tree.root.slice(),
  };
  validateManifest(manifest);
  return { manifest, tree };
}
