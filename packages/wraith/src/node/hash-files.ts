/**
 * `wraith hash`: the content root of files as a send would offer them, read from disk now. The
 * root is what `wraith send` prints and the receiver logs, so an operator can check a copy on
 * either side later. No hash cache: the point is to read what is there.
 */
import { constants, fstatSync, openSync, closeSync } from 'node:fs';
import { merkleRoot, WraithError, type Blake3 } from '@wraith/core';
import { loadBlake3Async } from '@wraith/blake3';
import { createFileIo } from '@wraith/io-uring';
import type { HashOptions, NodeModule } from '../node-api.js';
import { fsError } from '../fsutil.js';
import { walk } from '../walk.js';
import { SourceHasher } from './source-hash.js';

const cancelled = (): WraithError => new WraithError('E_CANCELLED', 'cancelled by the user', {}, 'nothing was written: run it again to hash it all');

/** Reads `path` (open as `fd`, `size` bytes) whole and returns its root, or throws E_SOURCE_CHANGED. */
async function rootOf(hashing: SourceHasher, blake3: Blake3, path: string, fd: number, chunkSize: number, signal: AbortSignal): Promise<{ root: string; bytes: number }> {
  const before = fstatSync(fd);
  const leaves = await hashing.leaves(path, fd, before.size, chunkSize, () => signal.aborted);
  const after = fstatSync(fd);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
    throw new WraithError('E_SOURCE_CHANGED', `${path} changed while it was being read`, { path }, 'hash it again once nothing writes to it');
  }
  return { root: Buffer.from(merkleRoot(blake3, leaves)).toString('hex'), bytes: before.size };
}

/** Runs `each` with a hasher over the configured file I/O, then releases both. */
async function withHasher(ioBackend: HashOptions['ioBackend'], each: (hashing: SourceHasher, blake3: Blake3) => Promise<void>): Promise<void> {
  const blake3 = await loadBlake3Async('auto');
  const { io } = await createFileIo(ioBackend);
  const hashing = new SourceHasher(io, blake3, () => undefined);
  try {
    await each(hashing, blake3);
  } finally {
    await hashing.close();
    await io.destroy();
  }
}

export const runHash: NodeModule['runHash'] = (opts, ui) =>
  withHasher(opts.ioBackend, async (hashing, blake3) => {
    const failed = (err: WraithError): void => ui.error(err);
    const entries = walk(opts.paths, {
      followSymlinks: opts.followSymlinks,
      ...(opts.exclude !== undefined ? { exclude: opts.exclude } : {}),
      relative: opts.relative === true,
      ...(opts.listed !== undefined ? { listed: opts.listed } : {}),
      onWarning: (w) => ui.warning(w.message),
      onUnsendable: (_path, _name, err) => failed(err),
    });
    for await (const e of entries) {
      if (opts.signal.aborted) throw cancelled();
      if (e.kind !== 'file') continue;
      let fd: number;
      try {
        // A symlink here is one the walk followed; the dev:ino check below catches a swap.
        fd = openSync(e.path, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch (err) {
        failed(fsError('open', e.path, err));
        continue;
      }
      try {
        const st = fstatSync(fd);
        // Not what the walk saw: replaced meanwhile.
        if (st.dev !== e.dev || st.ino !== e.ino) throw new WraithError('E_SOURCE_CHANGED', `${e.path} was replaced while it was being read`, { path: e.path });
        ui.file({ name: e.name, path: e.path, ...(await rootOf(hashing, blake3, e.path, fd, opts.chunkSize, opts.signal)) });
      } catch (err) {
        if (opts.signal.aborted) throw cancelled();
        failed(err instanceof WraithError ? err : fsError('read', e.path, err));
      } finally {
        closeSync(fd);
      }
    }
  });

export const runHashListed: NodeModule['runHashListed'] = (opts, ui) =>
  withHasher(opts.ioBackend, async (hashing, blake3) => {
    for (const [i, f] of opts.files.entries()) {
      if (opts.signal.aborted) throw cancelled();
      let fd: number;
      try {
        // Followed if a symlink, as sha256sum -c does; O_NONBLOCK: a FIFO must not hang the check.
        fd = openSync(f.path, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch (err) {
        ui.error(i, fsError('open', f.path, err));
        continue;
      }
      try {
        if (!fstatSync(fd).isFile()) throw new WraithError('E_IO', `${f.path} is not a regular file`, { path: f.path });
        ui.file(i, await rootOf(hashing, blake3, f.path, fd, f.chunkSize, opts.signal));
      } catch (err) {
        if (opts.signal.aborted) throw cancelled();
        ui.error(i, err instanceof WraithError ? err : fsError('read', f.path, err));
      } finally {
        closeSync(fd);
      }
    }
  });
