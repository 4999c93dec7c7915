import { constants } from 'node:fs';
import { WraithError } from '@wraith/core';
import type { OpenFlags } from './types.js';

/** open(2) flags for an OpenFlags string (see types.ts for the table). */
export function openFlags(flags: OpenFlags, direct = false): number {
  let f: number;
  switch (flags) {
    case 'r':
      f = constants.O_RDONLY;
      break;
    case 'w':
      f = constants.O_WRONLY | constants.O_CREAT;
      break;
    case 'rw':
      f = constants.O_RDWR | constants.O_CREAT;
      break;
    case 'wx':
      f = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
      break;
    default:
      throw new WraithError('E_USAGE', `open flags must be 'r', 'w', 'rw' or 'wx', not ${JSON.stringify(flags)}`);
  }
  if (direct) f |= constants.O_DIRECT;
  return f;
}

/** O_CLOEXEC: libuv adds it for fs.open; io_uring and openat2 callers add it themselves. */
export const O_CLOEXEC = 0o2000000;

export function checkMode(mode: number): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new WraithError('E_USAGE', `file mode must be an integer in 0..0o7777, not ${mode}`);
  }
  return mode;
}
