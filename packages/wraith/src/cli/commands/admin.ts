/**
 * `status`, `transfers`, `peers`, `cancel ID`: clients of the running daemon's admin API. They
 * find the daemon through <home>/run/daemon.json; the HTTP client is not wired in yet.
 */
import type { Command } from 'commander';
import { WraithError } from '@wraith/core';
import { openHome, resolveHomeDir } from '../../home/home.js';
import { requireRunInfo } from '../../home/runinfo.js';
import type { CliIo, CliState } from '../context.js';
import { withHelp } from '../help.js';

async function notWired(what: string, globals: { home?: string }, io: CliIo): Promise<never> {
  const home = await openHome(resolveHomeDir(globals.home, io.env, io.cwd));
  const info = await requireRunInfo(home);
  throw new WraithError('E_INTERNAL', `${what}: not wired yet (the admin API client is not built into this version; daemon pid ${info.pid} at ${info.admin_url ?? 'no admin API'})`,
    { command: what }, 'use the admin HTTP API directly until this command is wired in');
}

export function registerAdminCommands(program: Command, io: CliIo, state: CliState): void {
  const simple: [string, string, string[]][] = [
    ['status', 'show the running daemon: peer id, addresses, transport, sessions', ['wraith status', 'wraith status --json']],
    ['transfers', 'list transfers in progress and recently finished', ['wraith transfers', 'wraith transfers --json']],
    ['peers', 'list connected peers and their paths', ['wraith peers', 'wraith peers --json']],
  ];
  for (const [name, description, examples] of simple) {
    withHelp(
      program
        .command(name)
        .description(description)
        .option('--json', 'print NDJSON')
        .action(async (opts: { json?: boolean }, cmd: Command) => {
          state.json = opts.json === true;
          await notWired(name, cmd.optsWithGlobals(), io);
        }),
      examples,
    );
  }
  withHelp(
    program
      .command('cancel')
      .description('cancel a transfer by id (see `wraith transfers`)')
      .argument('<ID>', 'transfer id')
      .option('--json', 'print NDJSON')
      .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
        state.json = opts.json === true;
        state.transferId = id;
        await notWired('cancel', cmd.optsWithGlobals(), io);
      }),
    ['wraith cancel t-2f1c'],
  );
}
