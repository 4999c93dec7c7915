/**
 * The download_dir check of `wraith doctor`: free space against min_free, the file system,
 * whether a file there can be created and written with O_DIRECT ([io] direct_writes), probed
 * the way the store opens it: a scratch file, removed at once, reopened through /proc/self/fd,
 * and which process holds the directory's receiver lock (read from /proc/locks, never taken:
 * a receiver starting meanwhile must not meet the doctor's).
 */
import { closeSync, constants, existsSync, openSync, statSync, unlinkSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDirect } from '../store/direct-writes.js';
import { fsName } from '../fs-kind.js';
import { noSpaceCause } from '../fsutil.js';
import { humanBytes } from '../units.js';
import { flockHolder } from '../home/lock.js';
import { commandOf } from '../proc-command.js';

export type DownloadDirStatus = 'ok' | 'warn' | 'fail';

export interface DownloadDirOptions {
  readonly dir: string;
  readonly minFree: number;
  readonly directWrites: boolean;
  /** The O_DIRECT reopen (tests inject a refusal); default the store's. */
  readonly openDirect?: (fd: number) => Promise<{ fd: number } | { reason: string }>;
  /** The pid of this home's running daemon, whose lock on the directory is expected. */
  readonly daemonPid?: number | null;
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
  let status: DownloadDirStatus = free > o.minFree ? 'ok' : 'warn';
  const st = statSync(o.dir);
  const holder = flockHolder(st.dev, st.ino);
  if (holder !== null && holder === o.daemonPid) {
    parts.push(`locked by this home's daemon (pid ${holder})`);
  } else if (holder !== null) {
    status = 'warn';
    parts.push(`in use by another process (pid ${holder}${commandOf(holder)}): a daemon or receive with this config fails with E_DOWNLOAD_DIR_LOCKED`);
  }
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
      detail: `${parts.join('; ')}; cannot create a file there (${why}): received files cannot be written`,
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
