/**
 * <home>/admin.token: the admin API bearer token (32 random bytes, hex, 0600). Created once by
 * the daemon; admin clients read it from the same home.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { WraithError } from '@wraith/core';
import { homeWriteError, writeFileExclusive } from '../fsutil.js';
import { checkPrivate, type Home } from './home.js';

export async function ensureAdminToken(home: Home): Promise<string> {
  try {
    await writeFileExclusive(home.adminTokenFile, `${randomBytes(32).toString('hex')}\n`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw homeWriteError('cannot write', home.adminTokenFile, e);
  }
  return readAdminToken(home);
}

export async function readAdminToken(home: Home): Promise<string> {
  await checkPrivate(home.adminTokenFile, 'file');
  const token = (await readFile(home.adminTokenFile, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(token)) {
    throw new WraithError('E_CONFIG', `${home.adminTokenFile} is not a token: expected 64 hex characters`,
      { path: home.adminTokenFile }, `delete it; the daemon writes a new one at start`);
  }
  return token;
}
