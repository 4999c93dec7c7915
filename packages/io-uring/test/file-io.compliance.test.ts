// The FileIo compliance suite against both backends. Listed in
// test/no-native.list: the WRAITH_NO_NATIVE=1 pass re-runs the fs half.
import { describe } from 'vitest';
import { createFileIo, FsFileIo, nativeStatus } from '../src/index.js';
import { fileIoCompliance } from './compliance.js';
import { describeNative } from './helpers.js';

describe('FileIo compliance: fs', () => {
  fileIoCompliance('fs', async (opts) => new FsFileIo(opts), nativeStatus().available);
});

describeNative('FileIo compliance: io_uring', () => {
  fileIoCompliance('io_uring', async (opts) => (await createFileIo('io_uring', () => {}, opts)).io, true);
});
