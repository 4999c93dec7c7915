/** `wraith hash` and `wraith hash --check` (registered in ../commands/hash.ts). */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { WraithError } from '@wraith/core';
import { fsError } from '../../fsutil.js';
import { unsendablePath } from '../../walk.js';
import { loadNode } from '../../node-api.js';
import { setFlag } from '../config-flags.js';
import type { Tree } from '../../config/validate.js';
import { hashLine } from '../../hash-list.js';
import { NdjsonUi } from '../../ui/ndjson.js';
import { report } from '../../ui/report.js';
import { loadAll, type CliIo, type CliState } from '../context.js';
import { watchShutdown } from '../signals.js';
import { excludesOf, type ExcludeOpts } from '../excludes.js';
import { checkLists } from '../hash-check.js';
import { namingOf } from '../read-list.js';

export interface HashOpts extends ExcludeOpts {
  chunkSize?: string;
  followSymlinks?: boolean;
  relative?: boolean;
  filesFrom?: string;
  json?: boolean;
  check?: boolean;
  quiet?: boolean;
  ignoreMissing?: boolean;
}

function usage(message: string): WraithError {
  return new WraithError('E_USAGE', message, {});
}

/** Flags that belong to one mode only: a check reads names from its lists, a hash walks PATHs. */
function checkModeFlags(paths: string[], opts: HashOpts): void {
  if (opts.check === true) {
    const walkFlags = [opts.followSymlinks === true ? '--follow-symlinks' : null, opts.relative === true ? '--relative' : null, opts.filesFrom !== undefined ? '--files-from' : null, (opts.exclude ?? []).length > 0 ? '--exclude' : null, (opts.excludeFrom ?? []).length > 0 ? '--exclude-from' : null].filter((f) => f !== null);
    if (walkFlags.length > 0) throw usage(`${walkFlags.join(' and ')} choose what a hash of PATHs walks; --check hashes the files its lists name`);
    return;
  }
  if (opts.quiet === true || opts.ignoreMissing === true) throw usage(`${opts.quiet === true ? '--quiet' : '--ignore-missing'} goes with --check`);
}

export async function hash(paths: string[], opts: HashOpts, cmd: Command, io: CliIo, state: CliState): Promise<void> {
  state.json = opts.json === true;
  checkModeFlags(paths, opts);
  const naming = opts.check === true ? { relative: false } : await namingOf(paths, opts, io, 'hash');
  if (opts.check !== true) {
    for (const p of paths) {
      const why = await unsendablePath(p, await stat(p).catch((e: unknown) => Promise.reject(fsError('stat', p, e))), naming.relative);
      if (why !== null) throw why;
    }
  }
  const exclude = await excludesOf(opts, io.cwd);
  const flags: Tree = {};
  if (opts.chunkSize !== undefined) setFlag(flags, 'transfer.chunk_size', opts.chunkSize);
  const { loaded } = await loadAll(cmd.optsWithGlobals(), flags, io, 'none');
  const { config } = loaded;
  const ndjson = state.json ? new NdjsonUi(io.stdout) : null;
  const shutdown = watchShutdown(io);
  let firstExit = 0;
  const out = report(io.stderr, ndjson);
  const fail = (err: WraithError): void => {
    if (firstExit === 0) firstExit = err.exitCode;
    out.error(err);
  };
  try {
    if (opts.check === true) {
      await checkLists(paths, { chunkSize: config.transfer.chunk_size, quiet: opts.quiet === true, ignoreMissing: opts.ignoreMissing === true, ioBackend: config.io.backend, signal: shutdown.signal },
        io, { ...out, fail }, ndjson);
    } else {
      const runHash = await loadNode('runHash');
      await runHash(
        { paths, ...(exclude !== undefined ? { exclude } : {}), chunkSize: config.transfer.chunk_size, followSymlinks: opts.followSymlinks === true, ...naming, ioBackend: config.io.backend, signal: shutdown.signal },
        {
          file: (e) => {
            if (ndjson !== null) ndjson.emit('hash', null, { name: e.name, root: e.root, bytes: e.bytes, chunk_size: config.transfer.chunk_size });
            else io.stdout.write(hashLine(e.root, e.name));
          },
          warning: out.warning,
          error: fail,
        },
      );
    }
  } finally {
    shutdown.dispose();
  }
  if (firstExit !== 0) state.exitCode = firstExit;
}
