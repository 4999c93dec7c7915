/** Argument checks and batch settling shared by both backends. */
import { WraithError } from '@wraith/core';
import type { ReadRequest, WriteRequest } from './types.js';

export function checkFd(fd: number): void {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new WraithError('E_USAGE', `a file descriptor is a non-negative integer, not ${fd}`);
  }
}

function checkOffset(what: string, i: number, offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new WraithError('E_USAGE', `${what}[${i}].offset must be a non-negative safe integer, not ${offset}`);
  }
}

export function checkReadRequests(reqs: ReadonlyArray<ReadRequest>): void {
  if (!Array.isArray(reqs)) throw new WraithError('E_USAGE', 'readChunks: requests must be an array');
  reqs.forEach((r, i) => {
    checkOffset('readChunks', i, r.offset);
    if (!Number.isSafeInteger(r.length) || r.length < 0) {
      throw new WraithError('E_USAGE', `readChunks[${i}].length must be a non-negative safe integer, not ${r.length}`);
    }
    if (r.buf !== undefined && (!(r.buf instanceof Uint8Array) || r.buf.byteLength < r.length)) {
      throw new WraithError('E_USAGE', `readChunks[${i}].buf must be a Uint8Array of at least ${r.length} bytes`);
    }
  });
}

export function checkWriteRequests(reqs: ReadonlyArray<WriteRequest>): void {
  if (!Array.isArray(reqs)) throw new WraithError('E_USAGE', 'writeChunks: requests must be an array');
  reqs.forEach((w, i) => {
    checkOffset('writeChunks', i, w.offset);
    if (!(w.data instanceof Uint8Array)) throw new WraithError('E_USAGE', `writeChunks[${i}].data must be a Uint8Array`);
  });
}

/**
 * Like Promise.all, but rejects only after every promise settled: a rejected
 * batch must not leave a kernel or thread-pool operation still writing into a
 * caller's buffer.
 */
export async function settleAll<T>(ps: Promise<T>[]): Promise<T[]> {
  const rs = await Promise.allSettled(ps);
  const out: T[] = [];
  for (const r of rs) {
    if (r.status === 'rejected') throw r.reason;
    out.push(r.value);
  }
  return out;
}
