/**
 * `wraith daemon`, `receive`, `send` and `demo`: the commands that run the node. The handlers
 * are in ../actions/node.ts, loaded when one runs.
 */
import type { Command } from 'commander';
import type { RunOpts, SendOpts } from '../actions/node.js';
import { addConfigFlags } from '../config-flags.js';
import type { CliIo, CliState } from '../context.js';
import { withHelp } from '../help.js';
import { withExcludeOptions } from '../exclude-options.js';

/** Config sections whose flags `send` takes (the receive-side ones make no sense there). */
const SEND_SECTIONS = ['node', 'network', 'xdp', 'transfer', 'crypto', 'io', 'logging', 'dos'] as const;

const actions = () => import('../actions/node.js');

export function registerNodeCommands(program: Command, io: CliIo, state: CliState): void {
  // --- daemon -----------------------------------------------------------------------------------
  withHelp(
    addConfigFlags(
      program
        .command('daemon')
        .description('run the node: receive files, serve the admin API')
        .option('--bind <HOST:PORT>', 'UDP address (alias of --listen-addr; port 0 picks one; "[::]:40000" for IPv6)')
        .option('--output <DIR>', 'download directory (alias of --download-dir)')
        .option('--config <FILE>', 'config file (default: <home>/config.toml when present)')
        .option('--verbose', 'log at debug level')
        .option('--json', 'print NDJSON (the ready line) on stdout'),
    ).action(async (opts: RunOpts, cmd: Command) => (await actions()).daemon(opts, cmd, io, state)),
    [
      'wraith daemon',
      'wraith daemon --bind [::]:40000 --output /srv/incoming',
      'wraith daemon --transport xdp --xdp-interface eth0 --cpus 2,3 --lock-memory',
    ],
  );

  // --- receive ------------------------------------------------------------------------------------
  withHelp(
    addConfigFlags(
      program
        .command('receive')
        .description('receive files in the foreground (no admin API); Ctrl-C to stop')
        .requiredOption('--output <DIR>', 'where to put received files')
        .option('--once', 'exit after the first sender\'s transfers finish')
        .option('--bind <HOST:PORT>', 'UDP address (alias of --listen-addr)')
        .option('--config <FILE>', 'config file (default: <home>/config.toml when present)')
        .option('--verbose', 'log at debug level')
        .option('--json', 'print NDJSON events on stdout')
        .option('--no-progress', 'no progress bar or progress lines')
        .option('-q, --quiet', 'print only warnings and errors (and the summary when not all went well)'),
    ).action(async (opts: RunOpts & { once?: boolean; quiet?: boolean }, cmd: Command) => (await actions()).receive(opts, cmd, io, state)),
    ['wraith receive --output ./incoming --once', 'wraith receive --output /srv/in --bind 0.0.0.0:40000 --trusted-peers <id>'],
  );

  // --- send -----------------------------------------------------------------------------------------
  withHelp(
    addConfigFlags(
      withExcludeOptions(program
        .command('send')
        .description('send files and directories to a peer')
        .argument('[PATH...]', 'files and directories to send (directories recursively)')
        .requiredOption('--to <PEER>', '<id>@<host>:<port>, <id>@[v6]:<port>, or a [peers.NAME] name')
        .option('--rate <RATE>', 'cap the send rate: bytes/s like 500M, 1.5GiB, or bits like 800Mbit')
        .option('--reconnect-for <DURATION>', 'keep re-dialling a lost peer this long, then fail (resumes where it was)', '60s')
        .option('--follow-symlinks', 'send the targets of symlinks (loops are skipped)')
        .option('--allow-growth', 'send files that grow meanwhile (logs) as they were when opened, with a warning')
        .option('--dest <DIR>', "put everything under DIR, a directory below the receiver's download directory (created as needed)")
        .option('-R, --relative', 'name each PATH by the path given (./logs/a.gz as logs/a.gz, /var/log/a.gz as var/log/a.gz), not by its base name')
        .option('--remove-source-files', 'remove each file here once the receiver has it installed and synced, unless it changed (directories stay)')
        .option('--files-from <FILE>', 'also send the paths FILE lists ("-": stdin; a line each, or NUL-separated), each alone (a directory without its contents), named as with --relative'))
        .option('--config <FILE>', 'config file (default: <home>/config.toml when present)')
        .option('--verbose', 'log at debug level')
        .option('--json', 'print NDJSON events on stdout (schema: docs/CLI.md)')
        .option('--no-progress', 'no progress bar or progress lines')
        .option('-q, --quiet', 'print only warnings and errors (and the last line when not all went well)')
        .option('-n, --dry-run', 'list what would be sent (names on stdout, the total on stderr), without dialling the peer or reading a file'),
      SEND_SECTIONS,
    ).action(async (paths: string[], opts: SendOpts, cmd: Command) => (await actions()).send(paths, opts, cmd, io, state)),
    [
      'wraith send ./backup.tar --to 3f9a...c41e@10.0.0.2:40000',
      'wraith send /data/set1 /data/set2 --to backup --rate 800Mbit --json',
      'wraith send db.dump --to backup --dest nightly/2026-11-24',
      "wraith send ./project --to backup --exclude node_modules/ --exclude '*.tmp'",
      'cd /var/log && wraith send -R nginx/access.log.1 app/2026/11 --to backup    # arrive as nginx/... and app/2026/11/...',
      'cd /srv/data && find . -newer /var/run/last-backup | wraith send --files-from - --to backup',
      'wraith send /var/spool/outbox --to archive --remove-source-files    # move: each file goes once the receiver has it',
      "wraith send ./project --to backup --exclude-from .wraithignore --dry-run   # what would go",
      'wraith send big.img --to 3f9a...c41e@[2001:db8::2]:40000 --reconnect-for 10m',
    ],
  );

  // --- demo -------------------------------------------------------------------------------------------
  withHelp(
    addConfigFlags(
      program
        .command('demo')
        .description('start a receiving daemon and send it a generated file over loopback, with temporary homes; verify it and clean up')
        .option('--size <SIZE>', 'bytes to send', '256MiB')
        .option('--config <FILE>', 'config file (default: <home>/config.toml when present)')
        .option('--verbose', 'log at debug level')
        .option('--json', 'print NDJSON events on stdout')
        .option('--no-progress', 'no progress bar or progress lines'),
    ).action(async (opts: RunOpts & { size: string }, cmd: Command) => (await actions()).demo(opts, cmd, io, state)),
    ['wraith demo', 'wraith demo --size 1GiB --transport udp --json'],
  );
}
