/**
 * errno -> WraithError, shared by both backends so a failure carries the same
 * code whichever one ran: ENOSPC/EDQUOT -> E_NO_SPACE, EACCES/EPERM/EROFS ->
 * E_PERMISSION, ENOENT -> E_NOT_FOUND, EEXIST -> E_EXISTS, anything else E_IO.
 * details: { syscall, errno (positive number), errnoName, backend, ...context }.
 */
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { ERRORS, WraithError, type ErrorCode } from '@wraith/core';

// libuv's table: -errno -> [name, message].
const MESSAGES = getSystemErrorMap();

export const ERRNO = constants.errno;

export function errnoName(errno: number): string {
  return MESSAGES.get(-errno)?.[0] ?? `errno ${errno}`;
}

export function codeForErrno(errno: number): ErrorCode {
  switch (errnoName(errno)) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'E_NO_SPACE';
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'E_PERMISSION';
    case 'ENOENT':
      return 'E_NOT_FOUND';
    case 'EEXIST':
      return 'E_EXISTS';
    default:
      return 'E_IO';
  }
}

const HINTS: Partial<Record<string, string>> = {
  EBADF: 'the file descriptor is closed or not open for this operation',
  EROFS: 'the filesystem is mounted read-only',
  EPERM: 'the file is immutable or append-only, or the operation is not permitted',
  EISDIR: 'the path is a directory',
  EINVAL: 'an argument was rejected (O_DIRECT needs aligned buffers, offsets and lengths)',
  ECANCELED: 'the FileIo was destroyed while the operation was pending',
};

/** `syscall(args): ENAME (message)` as a WraithError. `errno` is positive. */
export function errnoError(
  errno: number,
  syscall: string,
  args: string,
  backend: 'io_uring' | 'fs' | 'native',
  context: Record<string, unknown> = {},
): WraithError {
  const name = errnoName(errno);
  const text = MESSAGES.get(-errno)?.[1] ?? 'unknown error';
  const code = codeForErrno(errno);
  const hint = HINTS[name] ?? ERRORS[code].hint;
  return new WraithError(code, `${syscall}(${args}): ${name} (${text})`, {
    syscall,
    errno,
    errnoName: name,
    backend,
    ...context,
  }, hint);
}

/** A Node fs error (code 'ENOENT', errno -2, syscall 'open') as a WraithError. */
export function fromNodeError(e: unknown, syscall: string, args: string, context: Record<string, unknown> = {}): WraithError {
  if (e instanceof WraithError) return e;
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.errno === 'number') {
    return errnoError(Math.abs(err.errno), err.syscall ?? syscall, args, 'fs', context);
  }
  if (typeof err?.code === 'string' && typeof constants.errno[err.code as keyof typeof constants.errno] === 'number') {
    return errnoError(constants.errno[err.code as keyof typeof constants.errno], syscall, args, 'fs', context);
  }
  return new WraithError('E_IO', `${syscall}(${args}): ${String(err?.message ?? e)}`, { syscall, backend: 'fs', ...context });
}

/** An Error thrown by the addon (code, syscall, errno, hint) as a WraithError. */
export function fromNativeError(e: unknown, context: Record<string, unknown> = {}): WraithError {
  if (e instanceof WraithError) return e;
  const err = e as { code?: unknown; syscall?: unknown; errno?: unknown; hint?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' && err.code in ERRORS ? (err.code as ErrorCode) : 'E_IO';
  const errno = typeof err?.errno === 'number' ? err.errno : undefined;
  const hint = typeof err?.hint === 'string' && err.hint !== '' ? err.hint : undefined;
  return new WraithError(code, String(err?.message ?? e), {
    syscall: err?.syscall,
    errno,
    errnoName: errno === undefined ? undefined : errnoName(errno),
    backend: 'native',
    ...context,
  }, hint);
}
