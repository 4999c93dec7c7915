/** `wraith config check [FILE]` and `wraith config show`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { configToJson, configToToml } from '../../config/show.js';
import { NdjsonUi } from '../../ui/ndjson.js';
import { addConfigFlags } from '../config-flags.js';
import { flagLayer, loadAll, type CliIo, type CliState } from '../context.js';
import { withHelp } from '../help.js';

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
      .action(async (file: string | undefined, opts: { json?: boolean }, cmd: Command) => {
        state.json = opts.json === true;
        const globals = cmd.optsWithGlobals<{ home?: string }>();
        const { loaded } = await loadAll(
          { ...(globals.home !== undefined ? { home: globals.home } : {}), ...(file !== undefined ? { config: resolve(io.cwd, file) } : {}) },
          undefined,
          io,
          'none',
        );
        const checked = loaded.files.user ?? loaded.files.defaults;
        if (state.json) {
          new NdjsonUi(io.stdout).emit('config_ok', null, { file: checked, warnings: loaded.warnings });
        } else {
          for (const w of loaded.warnings) io.stderr.write(`warning: ${w}\n`);
          io.stdout.write(`ok: ${checked}\n`);
        }
      }),
    ['wraith config check', 'wraith config check ./config.toml && sudo systemctl reload-or-restart wraith'],
  );

  withHelp(
    addConfigFlags(
      config
        .command('show')
        .description('print the effective config (defaults < config file < flags) as TOML, secrets redacted')
        .option('--config <FILE>', 'config file (default: <home>/config.toml when present)')
        .option('--json', 'print JSON (sizes in bytes, durations in milliseconds)'),
    ).action(async (opts: Record<string, unknown>, cmd: Command) => {
      state.json = opts.json === true;
      const flags = flagLayer(cmd, opts, {});
      const { loaded } = await loadAll(cmd.optsWithGlobals(), flags, io, 'none');
      for (const w of loaded.warnings) io.stderr.write(`warning: ${w}\n`);
      if (state.json) io.stdout.write(`${JSON.stringify(configToJson(loaded.config), null, 2)}\n`);
      else io.stdout.write(configToToml(loaded.config));
    }),
    ['wraith config show', 'wraith config show --chunk-size 1MiB --json'],
  );
}
