/**
 * `status`, `transfers`, `peers`, `cancel ID`: clients of the running daemon's admin API. They
 * find the daemon through <home>/run/daemon.json and read the token from the home.
 */
import type { Command } from 'commander';
import { runCancel, runPeers, runStatus, runTransfers } from '../../admin/commands.js';
import { resolveHomeDir } from '../../home/home.js';
import type { CliIo, CliState } from '../context.js';
import { withHelp } from '../help.js';

async function runClient(what: string, globals: { home?: string }, io: CliIo, json: boolean, id?: string): Promise<void> {
  const home = resolveHomeDir(globals.home, io.env, io.cwd);
  const opts = { out: io.stdout };
  switch (what) {
    case 'status':
      await runStatus(home, json, opts);
      return;
    case 'transfers':
      await runTransfers(home, json, opts);
      return;
    case 'peers':
      await runPeers(home, json, opts);
      return;
    default:
      await runCancel(home, id ?? '', json, opts);
  }
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
          await runClient(name, cmd.optsWithGlobals(), io, state.json);
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
        await runClient('cancel', cmd.optsWithGlobals(), io, state.json, id);
      }),
    ['wraith cancel t-2f1c'],
  );
}
