/** `wraith config check [FILE]` and `wraith config show` (registered in ../commands/config.ts). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { configToJson, configToToml } from '../../config/show.js';
import { NdjsonUi } from '../../ui/ndjson.js';
import { flagLayer, loadAll, type CliIo, type CliState } from '../context.js';

export async function check(file: string | undefined, opts: { json?: boolean }, cmd: Command, io: CliIo, state: CliState): Promise<void> {
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
}

export async function show(opts: Record<string, unknown>, cmd: Command, io: CliIo, state: CliState): Promise<void> {
  state.json = opts.json === true;
  const flags = flagLayer(cmd, opts, {});
  const { loaded } = await loadAll(cmd.optsWithGlobals(), flags, io, 'none');
  for (const w of loaded.warnings) io.stderr.write(`warning: ${w}\n`);
  if (state.json) io.stdout.write(`${JSON.stringify(configToJson(loaded.config), null, 2)}\n`);
  else io.stdout.write(configToToml(loaded.config));
}

/** `wraith completion peers` (for the completion script): the [peers.NAME] names, one per line. */
export async function peerNames(cmd: Command, io: CliIo): Promise<void> {
  const { loaded } = await loadAll(cmd.optsWithGlobals(), undefined, io, 'none');
  for (const name of Object.keys(loaded.config.peers).sort()) io.stdout.write(`${name}\n`);
}
