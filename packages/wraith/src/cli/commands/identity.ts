/** `wraith keygen` and `wraith id`; the handlers are in ../actions/identity.ts, loaded when run. */
import type { Command } from 'commander';
import type { CliIo, CliState } from '../context.js';
import { withHelp } from '../help.js';

const actions = () => import('../actions/identity.js');

export function registerIdentityCommands(program: Command, io: CliIo, state: CliState): void {
  withHelp(
    program
      .command('keygen')
      .description('create this node\'s X25519 identity key and print its peer id')
      .option('--force', 'replace an existing key (the peer id changes)')
      .option('--config <FILE>', 'config file (for [node] identity_file)')
      .option('--json', 'print NDJSON')
      .action(async (opts: { force?: boolean; json?: boolean }, cmd: Command) => (await actions()).keygen(opts, cmd, io, state)),
    ['wraith keygen', 'wraith --home /var/lib/wraith keygen', 'wraith keygen --force   # replace the key: peers must learn the new id'],
  );

  withHelp(
    program
      .command('id')
      .description('print this node\'s peer id (give it to senders as <id>@<host>:<port>)')
      .option('--config <FILE>', 'config file (for [node] identity_file)')
      .option('--json', 'print NDJSON')
      .action(async (opts: { json?: boolean }, cmd: Command) => (await actions()).id(opts, cmd, io, state)),
    ['wraith id', 'echo "$(wraith id)@$(hostname -f):40000"   # the PEER senders use'],
  );
}
