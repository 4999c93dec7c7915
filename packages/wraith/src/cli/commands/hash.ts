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
      .description('print the content root of files, as `wraith send` prints it and the receiver logs it, read from disk now; or check files against such a list')
      .argument('[PATH...]', 'files and directories (directories recursively); with --check, the lists ("-" or none: stdin)')
      .option('--chunk-size <SIZE>', 'the chunk size the root is taken over (config transfer.chunk_size; the sender\'s must match)')
      .option('--follow-symlinks', 'hash the targets of symlinks inside directories, as `wraith send --follow-symlinks`')
      .option('-R, --relative', 'name each PATH by the path given, as `wraith send --relative`')
      .option('--files-from <FILE>', 'also hash the files FILE lists, as `wraith send --files-from`')
      .option('--config <FILE>', 'config file (default: <home>/config.toml when present)')
      .option('-c, --check', 'read the lists (`wraith hash` output, or the NDJSON of `hash --json`, `send --json`) and check the files they name, below the current directory')
      .option('-q, --quiet', 'with --check: print only the files that fail')
      .option('--ignore-missing', 'with --check: pass over listed files that are not here')
      .option('--json', 'print NDJSON: a "hash" line per file (with --check, a "hash_check" line)'))
      .action(async (paths: string[], opts: HashOpts, cmd: Command) => (await actions()).hash(paths, opts, cmd, io, state)),
    [
      'wraith hash db.dump                      # the root `wraith send db.dump` printed',
      'cd /srv/incoming && wraith hash data     # names as the sender\'s `wraith hash ./data` prints them',
      'wraith hash ./data > data.roots          # then, on the receiver:',
      'cd /srv/incoming && wraith hash --check data.roots',
      'wraith send ./data --to backup --json > sent.ndjson   # and on the receiver: wraith hash --check sent.ndjson',
    ],
  );
}
