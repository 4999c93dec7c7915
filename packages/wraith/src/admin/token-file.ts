/**
 * The admin token at <home>/admin.token, through the home helpers (../home/token.ts creates it
 * with O_CREAT|O_EXCL and mode 0600 from 32 CSPRNG bytes). This adapter turns "the file is
 * readable by group or others" into E_ADMIN_TOKEN_PERMISSIONS naming the file and the chmod.
 */
import { WraithError } from '@wraith/core';
import { homePaths } from '../home/home.js';
import { ensureAdminToken, readAdminToken } from '../home/token.js';

function tokenError(e: unknown, path: string): unknown {
  if (e instanceof WraithError && e.code === 'E_HOME_PERMISSIONS') {
    return new WraithError('E_ADMIN_TOKEN_PERMISSIONS', `refusing the admin token: ${e.message}`, { path, ...(e.details ?? {}) },
      `run: chmod 600 ${path}, and consider deleting it so the daemon writes a new token (the old one may have been read)`);
  }
  return e;
}

/** Creates the token on first start, then reads and checks it. */
export async function ensureToken(homeDir: string): Promise<string> {
  const home = homePaths(homeDir);
  try {
    return await ensureAdminToken(home);
  } catch (e) {
    throw tokenError(e, home.adminTokenFile);
  }
}

/** Reads an existing token (clients). */
export async function readToken(homeDir: string): Promise<string> {
  const home = homePaths(homeDir);
  try {
    return await readAdminToken(home);
  } catch (e) {
    if (e instanceof WraithError && e.code === 'E_NOT_FOUND') {
      throw new WraithError('E_DAEMON_NOT_RUNNING', `no admin token at ${home.adminTokenFile}`, { path: home.adminTokenFile },
        'the daemon writes it at its first start: start one with `wraith daemon`, or pass the --home it uses');
    }
    throw tokenError(e, home.adminTokenFile);
  }
}
