/** `wraith config check [FILE]` and `wraith config show`; the handlers are in ../actions/config.ts. */
import type { Command } from 'commander';
import { addConfigFlags } from '../config-flags.js';
import type { CliIo, CliState } from '../context.js';
import { withHelp } from '../help.js';

const actions = () => import('../actions/config.js');

export function registerConfigCommands(program: Command, io: CliIo, state: CliState): void {
  const config = withHelp(
    program.command('config').description('check or show the configuration'),
    ['wraith config check /etc/wraith/config.toml', 'wraith config show --json'],
  );

  withHelp(
    config
      .command('check [FILE]')
      .description('validate a config file (default: the effective one) over the defaults; exit 0 when valid')
      .option('--json', 'print NDJSON')
      .action(async (file: string | undefined, opts: { json?: boolean }, cmd: Command) => (await actions()).check(file, opts, cmd, io, state)),
    ['wraith config check', 'wraith config check ./config.toml && sudo systemctl reload-or-restart wraith'],
  );

  withHelp(
    addConfigFlags(
      config
        .command('show')
        .description('print the effective config (defaults < config file < flags) as TOML, secrets redacted')
        .option('--config <FILE>', 'config file (default: <home>/config.toml when present)')
        .option('--json', 'print JSON (sizes in bytes, durations in milliseconds)'),
    ).action(async (opts: Record<string, unknown>, cmd: Command) => (await actions()).show(opts, cmd, io, state)),
    ['wraith config show', 'wraith config show --chunk-size 1MiB --json'],
  );
}
