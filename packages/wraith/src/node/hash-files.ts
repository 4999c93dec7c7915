/**
 * `wraith hash`: the content root of files as a send would offer them, read from disk now. The
 * root is what `wraith send` prints and the receiver logs, so an operator can check a copy on
 * either side later. No hash cache: the point is to read what is there.
 */
import { constants, fstatSync, openSync, closeSync } from 'node:fs';
import { merkleRoot, WraithError } from '@wraith/core';
import { loadBlake3Async } from '@wraith/blake3';
import { createFileIo } from '@wraith/io-uring';
import type { NodeModule } from '../node-api.js';
import { fsError } from '../fsutil.js';
import { walk } from '../walk.js';
import { SourceHasher } from './source-hash.js';

const cancelled = (): WraithError => new WraithError('E_CANCELLED', 'cancelled by the user', {}, 'nothing was written: run it again to hash it all');

export const runHash: NodeModule['runHash'] = async (opts, ui) => {
  const blake3 = await loadBlake3Async('auto');
  const { io } = await createFileIo(opts.ioBackend);
  const hashing = new SourceHasher(io, blake3, () => undefined);
  const failed = (err: WraithError): void => ui.error(err);
  try {
    const entries = walk(opts.paths, {
      followSymlinks: opts.followSymlinks,
      ...(opts.exclude !== undefined ? { exclude: opts.exclude } : {}),
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
        const before = fstatSync(fd);
        // Not what the walk saw: replaced meanwhile.
        if (before.dev !== e.dev || before.ino !== e.ino) throw new WraithError('E_SOURCE_CHANGED', `${e.path} was replaced while it was being read`, { path: e.path });
        const leaves = await hashing.leaves(e.path, fd, before.size, opts.chunkSize, () => opts.signal.aborted);
        const after = fstatSync(fd);
        if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
          throw new WraithError('E_SOURCE_CHANGED', `${e.path} changed while it was being read`, { path: e.path }, 'hash it again once nothing writes to it');
        }
        ui.file({ name: e.name, path: e.path, root: Buffer.from(merkleRoot(blake3, leaves)).toString('hex'), bytes: before.size });
      } catch (err) {
        if (opts.signal.aborted) throw cancelled();
        failed(err instanceof WraithError ? err : fsError('read', e.path, err));
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    await hashing.close();
    await io.destroy();
  }
};
