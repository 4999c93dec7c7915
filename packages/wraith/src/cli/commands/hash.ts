/**
 * `wraith hash`; the handler is in ../actions/hash.ts, loaded when run through ../actions/node.js:
 * another entry of its own would split the code it shares with `send` into more bundle chunks,
 * which the loader opens at once (a send under a low RLIMIT_NOFILE failed at start).
 */
import type { Command } from 'commander';
import type { CliIo, CliState } from '../context.js';
import { withHelp } from '../help.js';
import { withExcludeOptions } from '../exclude-options.js';
import type { HashOpts } from '../actions/hash.js';

const actions = () => import('../actions/node.js');

export function registerHashCommand(program: Command, io: CliIo, state: CliState): void {
  withHelp(
    withExcludeOptions(program
      .command('hash')
      .description('print the content root of files, as `wraith send` prints it and the receiver logs it, read from disk now')
      .argument('<PATH...>', 'files and directories (directories recursively)')
      .option('--chunk-size <SIZE>', 'the chunk size the root is taken over (config transfer.chunk_size; the sender\'s must match)')
      .option('--follow-symlinks', 'hash the targets of symlinks inside directories, as `wraith send --follow-symlinks`')
      .option('--config <FILE>', 'config file (default: <home>/config.toml when present)')
      .option('--json', 'print NDJSON: a "hash" line per file'))
      .action(async (paths: string[], opts: HashOpts, cmd: Command) => (await actions()).hash(paths, opts, cmd, io, state)),
    [
      'wraith hash db.dump                      # the root `wraith send db.dump` printed',
      'cd /srv/incoming && wraith hash data     # names as the sender\'s `wraith hash ./data` prints them',
    ],
  );
}
