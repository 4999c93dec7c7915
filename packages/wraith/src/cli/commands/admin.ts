/**
 * `status`, `transfers`, `peers`, `cancel ID`: clients of the running daemon's admin API. They
 * find the daemon through <home>/run/daemon.json and read the token from the home. The client
 * is in ../actions/admin.ts, loaded when one runs.
 */
import type { Command } from 'commander';
import type { CliIo, CliState } from '../context.js';
import { withHelp } from '../help.js';

async function runClient(what: string, globals: { home?: string; all?: boolean }, io: CliIo, json: boolean, id?: string): Promise<void> {
  await (await import('../actions/admin.js')).runClient(what, globals, io, json, id);
}

export function registerAdminCommands(program: Command, io: CliIo, state: CliState): void {
  const simple: [string, string, string[]][] = [
    ['status', 'show the running daemon: peer id, addresses, transport, sessions', ['wraith status', 'wraith status --json']],
    ['transfers', 'list transfers in progress and recently finished', ['wraith transfers', 'wraith transfers --all', 'wraith transfers --json']],
    ['peers', 'list connected peers and their paths', ['wraith peers', 'wraith peers --json']],
  ];
  for (const [name, description, examples] of simple) {
    const command = program.command(name).description(description).option('--json', 'print NDJSON');
    if (name === 'transfers') {
      command.option('--all', 'every finished transfer the daemon keeps, not only the newest 20 (--json lists all)');
    }
    withHelp(
      command.action(async (opts: { json?: boolean }, cmd: Command) => {
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
