/**
 * Which local paths POST /v1/transfers may send: none unless `[admin] send_roots` is set; then
 * a path whose realpath (every symlink and ".." resolved) is a send root or lies below one
 * (after resolving the root's own symlinks too). The realpath is what the daemon is given.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { WraithError } from '@wraith/core';

/** True when `child` is `root` or inside it; both already resolved. */
export function isWithin(root: string, child: string): boolean {
  if (child === root) return true;
  const rel = relative(root, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function resolveError(path: string, e: unknown): WraithError {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return new WraithError('E_NOT_FOUND', `${path} does not exist`, { path });
    case 'EACCES':
    case 'EPERM':
      return new WraithError('E_PERMISSION', `the daemon may not read ${path}`, { path });
    case 'ENOTDIR':
    case 'ELOOP':
    case 'ENAMETOOLONG':
      return new WraithError('E_API_VALIDATION', `${path} cannot be resolved (${code})`, { path });
    default:
      return new WraithError('E_IO', `realpath(${path}): ${(e as Error).message}`, { path });
  }
}

/**
 * The realpath of `path` when sending it is allowed; otherwise E_ADMIN_SEND_DISABLED (no roots),
 * E_API_VALIDATION (not absolute), E_NOT_FOUND / E_PERMISSION, or E_ADMIN_PATH_OUTSIDE.
 */
export async function resolveSendPath(path: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0) {
    throw new WraithError('E_ADMIN_SEND_DISABLED', 'sending through the admin API is off: [admin] send_roots is empty');
  }
  if (!isAbsolute(path) || path.includes('\0')) {
    throw new WraithError('E_API_VALIDATION', `path must be absolute, found ${JSON.stringify(path.slice(0, 200))}`);
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    throw resolveError(path, e);
  }
  for (const root of roots) {
    let realRoot: string;
    try {
      realRoot = await realpath(root);
    } catch {
      continue; // a root that does not exist (yet) contains nothing
    }
    if (isWithin(realRoot, real)) return real;
  }
  throw new WraithError('E_ADMIN_PATH_OUTSIDE', `${path} resolves to ${real}, which is outside [admin] send_roots`, { path, resolved: real });
}
