/** `status`, `transfers`, `peers`, `cancel ID` (registered in ../commands/admin.ts). */
import { runCancel, runPeers, runStatus, runTransfers } from '../../admin/commands.js';
import { resolveHomeDir } from '../../home/home.js';
import type { CliIo } from '../context.js';

export async function runClient(what: string, globals: { home?: string; all?: boolean }, io: CliIo, json: boolean, id?: string): Promise<void> {
  const home = resolveHomeDir(globals.home, io.env, io.cwd);
  const opts = { out: io.stdout, all: globals.all === true };
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
