/**
 * `wraith doctor`: what this kernel, these privileges and this interface allow (AF_XDP, BPF,
 * io_uring, memlock, ports). runDoctor() prints a table or JSON and returns the checks and the
 * exit code; gatherChecks() returns the checks alone.
 */
export { runDoctor, gatherChecks, blockingChecks, DEFAULT_PORT, DEFAULT_UMEM_BYTES, type DoctorOptions, type DoctorResult } from './run.js';
export { CHECK_NAMES, XDP_REQUIRED, type Check, type CheckName, type CheckStatus, type DoctorTransport } from './types.js';
export { realSys, type Sys, type RunResult, type NativeModule, type UringProbe } from './sys.js';
export { classifyErrno, errnoName, type ErrnoMeaning } from './errno.js';
export { formatJson, formatTable } from './format.js';
