/**
 * Whether a directory's file system now refuses every write. ext4 mounted errors=remount-ro
 * aborts its journal before it turns read-only, and in between (the superblock write) a write or
 * sync in flight fails with EIO: an EIO is checked with this before it is taken for one bad file.
 */
import { mkdtemp, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** How long the file system may take to turn read-only after the error it reported. */
export const READ_ONLY_SETTLE_MS = 250;

/** A directory made and removed at once: EROFS means read-only, anything else is not news. */
async function probe(dir: string): Promise<boolean> {
  try {
    await rmdir(await mkdtemp(join(dir, '.wraith-rw-check-')));
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EROFS';
  }
}

/** Probes now and once more after `settleMs`. */
export async function refusesWrites(dir: string, settleMs = READ_ONLY_SETTLE_MS): Promise<boolean> {
  if (await probe(dir)) return true;
  await new Promise((r) => setTimeout(r, settleMs));
  return probe(dir);
}
