/**
 * The download_dir check of `wraith doctor`: free space against min_free, the file system, and
 * whether a file there can be created and written with O_DIRECT ([io] direct_writes), probed
 * the way the store opens it: a scratch file, removed at once, reopened through /proc/self/fd.
 */
import { closeSync, constants, existsSync, openSync, unlinkSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDirect } from '../store/direct-writes.js';
import { fsName } from '../fs-kind.js';
import { noSpaceCause } from '../fsutil.js';
import { humanBytes } from '../units.js';

export type DownloadDirStatus = 'ok' | 'warn' | 'fail';

export interface DownloadDirOptions {
  readonly dir: string;
  readonly minFree: number;
  readonly directWrites: boolean;
  /** The O_DIRECT reopen (tests inject a refusal); default the store's. */
  readonly openDirect?: (fd: number) => Promise<{ fd: number } | { reason: string }>;
}

export interface DownloadDirResult {
  status: DownloadDirStatus;
  detail: string;
  /** The error code of a failure: what the store would meet writing there. */
  code?: 'E_NO_SPACE' | 'E_PERMISSION' | 'E_IO';
}

export async function downloadDirCheck(o: DownloadDirOptions): Promise<DownloadDirResult> {
  if (!existsSync(o.dir)) return { status: 'ok', detail: `${o.dir} (created at start)` };
  const s = await statfs(o.dir);
  const free = s.bavail * s.bsize;
  const parts = [`${o.dir}: ${fsName(s.type)}, ${humanBytes(free)} free, min_free ${humanBytes(o.minFree)}`];
  const status: DownloadDirStatus = free > o.minFree ? 'ok' : 'warn';
  const scratch = join(o.dir, `.wraith-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(scratch, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    const full = code === 'ENOSPC' || code === 'EDQUOT';
    const why = full ? `${noSpaceCause(scratch, code).text}, ${code}` : code;
    return {
      status: 'fail',
      detail: `${parts[0]}; cannot create a file there (${why}): received files cannot be written`,
      code: full ? 'E_NO_SPACE' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'E_PERMISSION' : 'E_IO',
    };
  }
  try {
    unlinkSync(scratch);
    if (!o.directWrites) {
      parts.push('O_DIRECT off ([io] direct_writes = false)');
    } else {
      const d = await (o.openDirect ?? openDirect)(fd);
      if ('fd' in d) {
        closeSync(d.fd);
        parts.push('O_DIRECT: yes (received chunks skip the page cache)');
      } else {
        // The store falls back to the page cache by itself: worth knowing, not a problem.
        parts.push(`O_DIRECT: no (${d.reason}); received files go through the page cache`);
      }
    }
  } finally {
    closeSync(fd);
  }
  return { status, detail: parts.join('; ') };
}
