export type { FileIo, FileIoOptions, Logger, OpenFlags, OpenOptions, ReadRequest, WriteRequest } from './types.js';
export { createFileIo, probeIoUring, type BackendPreference, type CreateOptions } from './create.js';
export { FsFileIo } from './fs-file-io.js';
export { UringFileIo } from './uring-file-io.js';
export { safeOpenBeneath, renameNoReplace, relativeComponents } from './safe-open.js';
export { nativeStatus } from './native.js';
export { codeForErrno, errnoName } from './errno.js';
export { allocAligned, isAligned } from './aligned.js';
export { ALIGN } from './buffer-pool.js';
