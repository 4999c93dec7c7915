// HASH_LEN and the chunk_log2 bounds are exported by wire/ with the same values;
// they stay internal here so the package index has one of each.
export { type Blake3, type Blake3State } from './hasher.js';
export {
  leafHash,
  zeroLeaf,
  nodeHash,
  treeDepth,
  zeroSubtree,
  levelWidth,
  parentRow,
  MerkleBuilder,
  merkleRoot,
  merkleProof,
  verifyProof,
} from './merkle.js';
export { MerkleTree, DEFAULT_CACHE_FROM } from './merkle-tree.js';
export { hashChunks, buildFileTree } from './file-tree.js';
export {
  type FileManifest,
  MIN_CHUNK_SIZE,
  MAX_CHUNK_SIZE,
  MAX_FILE_SIZE,
  MODE_MASK,
  validateChunkSize,
  chunkLog2,
  chunkSizeFromLog2,
  chunkCountFor,
  chunkCount,
  chunkRange,
  validateManifest,
} from './manifest.js';
export { validateName, MAX_NAME_BYTES, MAX_COMPONENT_BYTES } from './name.js';
export { ChunkSet, type ChunkRanges, type ReadonlyChunkRanges } from './chunk-set.js';
export { ByteRanges } from './byte-ranges.js';
export { FlowWindow } from './flow-window.js';
export {
  TransferSender,
  MAX_PROOF_HASHES_PER_FRAME,
  type SendItem,
  type SenderStats,
  type TransferSenderOptions,
} from './sender.js';
export {
  TransferReceiver,
  defaultWindowBytes,
  MAX_FAILURES_PER_CHUNK,
  type ReceiverStats,
  type TransferReceiverOptions,
  type VerifiedChunk,
} from './receiver.js';
export { parseResumeState, makeResumeState, resumeMatches, type ResumeState } from './resume.js';
