/** `wraith hash` (registered in ../commands/hash.ts). */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { fsError } from '../../fsutil.js';
import { unsendablePath } from '../../walk.js';
import { loadNode } from '../../node-api.js';
import { setFlag } from '../config-flags.js';
import type { Tree } from '../../config/validate.js';
import { NdjsonUi } from '../../ui/ndjson.js';
import { printable } from '../../ui/printable.js';
import { report } from '../../ui/report.js';
import { loadAll, type CliIo, type CliState } from '../context.js';
import { watchShutdown } from '../signals.js';
import { excludesOf, type ExcludeOpts } from '../excludes.js';

export interface HashOpts extends ExcludeOpts {
  chunkSize?: string;
  followSymlinks?: boolean;
  json?: boolean;
}

export async function hash(paths: string[], opts: HashOpts, cmd: Command, io: CliIo, state: CliState): Promise<void> {
  state.json = opts.json === true;
  for (const p of paths) {
    const why = await unsendablePath(p, await stat(p).catch((e: unknown) => Promise.reject(fsError('stat', p, e))));
    if (why !== null) throw why;
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
  try {
    const runHash = await loadNode('runHash');
    await runHash(
      { paths, ...(exclude !== undefined ? { exclude } : {}), chunkSize: config.transfer.chunk_size, followSymlinks: opts.followSymlinks === true, ioBackend: config.io.backend, signal: shutdown.signal },
      {
        file: (e) => {
          if (ndjson !== null) ndjson.emit('hash', null, { name: e.name, root: e.root, bytes: e.bytes, chunk_size: config.transfer.chunk_size });
          // As sha256sum prints: a name from disk must not drive the terminal.
          else io.stdout.write(`${e.root}  ${printable(e.name)}\n`);
        },
        warning: out.warning,
        error: (err) => {
          if (firstExit === 0) firstExit = err.exitCode;
          out.error(err);
        },
      },
    );
  } finally {
    shutdown.dispose();
  }
  if (firstExit !== 0) state.exitCode = firstExit;
}
