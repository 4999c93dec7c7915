export * from './store.js';
export { Admission, statfsFree, type FreeSpaceFn, type SpaceLimits } from './admission.js';
export { Beneath, type BeneathLstat, type BeneathOpener } from './beneath.js';
export { conflictName, isPartialName, partialName, validateRelativeName, MAX_COMPONENT_BYTES, MAX_NAME_BYTES } from './names.js';
export { ResumeStore, chunkCount, rangesBytes, type ChunkRanges, type ResumeState } from './resume.js';
