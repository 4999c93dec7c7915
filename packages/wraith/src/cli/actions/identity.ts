/** `wraith keygen` and `wraith id` (registered in ../commands/identity.ts). */
import type { Command } from 'commander';
import { generateIdentity, loadIdentity } from '../../home/identity.js';
import { NdjsonUi } from '../../ui/ndjson.js';
import { loadAll, type CliIo, type CliState } from '../context.js';

export async function keygen(opts: { force?: boolean; json?: boolean }, cmd: Command, io: CliIo, state: CliState): Promise<void> {
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
}

export async function id(opts: { json?: boolean }, cmd: Command, io: CliIo, state: CliState): Promise<void> {
  state.json = opts.json === true;
  const { loaded } = await loadAll(cmd.optsWithGlobals(), undefined, io, 'open');
  const identity = await loadIdentity(loaded.config.node.identity_file);
  if (state.json) {
    new NdjsonUi(io.stdout).emit('identity', null, { peer_id: identity.peerId, file: identity.file, created: false });
  } else {
    io.stdout.write(`${identity.peerId}\n`);
  }
}
