/** `wraith keygen` and `wraith id`. */
import type { Command } from 'commander';
import { generateIdentity, loadIdentity } from '../../home/identity.js';
import { NdjsonUi } from '../../ui/ndjson.js';
import { loadAll, type CliIo, type CliState } from '../context.js';
import { withHelp } from '../help.js';

export function registerIdentityCommands(program: Command, io: CliIo, state: CliState): void {
  withHelp(
    program
      .command('keygen')
      .description('create this node\'s X25519 identity key and print its peer id')
      .option('--force', 'replace an existing key (the peer id changes)')
      .option('--config <FILE>', 'config file (for [node] identity_file)')
      .option('--json', 'print NDJSON')
      .action(async (opts: { force?: boolean; json?: boolean }, cmd: Command) => {
        state.json = opts.json === true;
        const { loaded } = await loadAll(cmd.optsWithGlobals(), undefined, io, 'ensure');
        const file = loaded.config.node.identity_file;
        const identity = await generateIdentity(file, { force: opts.force === true });
        if (state.json) {
          new NdjsonUi(io.stdout).emit('identity', null, { peer_id: identity.peerId, file, created: true });
        } else {
          io.stdout.write(`${identity.peerId}\n`);
          io.stderr.write(`wrote ${file}\n`);
        }
      }),
    ['wraith keygen', 'wraith --home /var/lib/wraith keygen', 'wraith keygen --force   # replace the key: peers must learn the new id'],
  );

  withHelp(
    program
      .command('id')
      .description('print this node\'s peer id (give it to senders as <id>@<host>:<port>)')
      .option('--config <FILE>', 'config file (for [node] identity_file)')
      .option('--json', 'print NDJSON')
      .action(async (opts: { json?: boolean }, cmd: Command) => {
        state.json = opts.json === true;
        const { loaded } = await loadAll(cmd.optsWithGlobals(), undefined, io, 'open');
        const identity = await loadIdentity(loaded.config.node.identity_file);
        if (state.json) {
          new NdjsonUi(io.stdout).emit('identity', null, { peer_id: identity.peerId, file: identity.file, created: false });
        } else {
          io.stdout.write(`${identity.peerId}\n`);
        }
      }),
    ['wraith id', 'echo "$(wraith id)@$(hostname -f):40000"   # the PEER senders use'],
  );
}
