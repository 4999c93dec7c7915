/**
 * `wraith status | transfers | peers | cancel ID`: clients of the running daemon's admin API.
 * Each prints a human table, or with `json` NDJSON lines in the CLI's format (docs/CLI.md):
 * one `status` line, one `transfer` / `peer` line per item, one `cancelled` line. Each returns
 * what it printed; failures throw the WraithError (E_DAEMON_NOT_RUNNING, E_TRANSFER_UNKNOWN,
 * ...) for the CLI to map to an exit code.
 */
import { NdjsonUi } from '../ui/ndjson.js';
import type { OutStream } from '../ui/types.js';
import { AdminClient } from './client.js';
import type { PeerDto, StatusDto, TransferDto } from './dto.js';
import { formatCancelled, formatPeers, formatStatus, formatTransfers } from './format.js';

export interface CommandOptions {
  /** Default process.stdout. */
  readonly out?: OutStream;
  readonly timeoutMs?: number;
  /** `transfers`: every finished transfer the daemon keeps, not only the newest (the table). */
  readonly all?: boolean;
}

const client = (home: string, opts: CommandOptions): Promise<AdminClient> =>
  AdminClient.forHome(home, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {});

export async function runStatus(home: string, json: boolean, opts: CommandOptions = {}): Promise<StatusDto> {
  const out = opts.out ?? process.stdout;
  const status = await (await client(home, opts)).status();
  if (json) new NdjsonUi(out).emit('status', null, { ...status });
  else out.write(formatStatus(status));
  return status;
}

export async function runTransfers(home: string, json: boolean, opts: CommandOptions = {}): Promise<TransferDto[]> {
  const out = opts.out ?? process.stdout;
  const list = await (await client(home, opts)).transfers();
  if (json) {
    const nd = new NdjsonUi(out);
    for (const t of list) nd.emit('transfer', t.id, { ...t });
  } else {
    out.write(formatTransfers(list, opts.all === true));
  }
  return list;
}

export async function runPeers(home: string, json: boolean, opts: CommandOptions = {}): Promise<PeerDto[]> {
  const out = opts.out ?? process.stdout;
  const list = await (await client(home, opts)).peers();
  if (json) {
    const nd = new NdjsonUi(out);
    for (const p of list) nd.emit('peer', null, { ...p });
  } else {
    out.write(formatPeers(list));
  }
  return list;
}

export async function runCancel(home: string, id: string, json: boolean, opts: CommandOptions = {}): Promise<TransferDto> {
  const out = opts.out ?? process.stdout;
  const t = await (await client(home, opts)).cancel(id);
  if (json) new NdjsonUi(out).emit('cancelled', t.id, { ...t });
  else out.write(formatCancelled(t));
  return t;
}
