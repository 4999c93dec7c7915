/** Human output of the admin clients: aligned tables and a status block. */
import { humanBytes, humanDuration, humanRate } from '../units.js';
import { printable } from '../ui/printable.js';
import type { PeerDto, StatusDto, TransferDto } from './dto.js';

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const shortId = (id: string): string => (id.length > 16 ? `${id.slice(0, 12)}…` : id);

/** Why the transport is not what the daemon started with. */
function changed(c: StatusDto['transport']['changes'][number] | undefined): string {
  return c === undefined ? '' : ` (from ${c.from} since ${c.at}: ${printable(c.detail)})`;
}

export function formatStatus(s: StatusDto): string {
  const t = s.transport;
  const xdp = t.active === 'xdp'
    ? ` (${s.xdp_mode ?? '?'} mode, ${s.zero_copy ? 'zero-copy' : 'copy'}, ${s.queues} queue${s.queues === 1 ? '' : 's'})`
    : '';
  const rows: [string, string][] = [
    ['peer id', s.peer_id],
    ['version', s.version],
    ['uptime', humanDuration(s.uptime_s)],
    ['listen', s.listen.join(' ') || '-'],
    ['transport', `${t.active}${xdp}${changed(t.changes.at(-1))}`],
    ['io backend', s.io_backend],
    ['crypto', s.crypto_backend],
  ];
  let out = rows.map(([k, v]) => `${k.padEnd(11)} ${v}`).join('\n') + '\n';
  if (t.per_peer.length > 0) {
    out += '\nper peer\n' + table(['PEER', 'TRANSPORT'], t.per_peer.map((p) => [shortId(p.peer_id), p.transport]));
  }
  if (t.probes.length > 0) {
    out += '\nprobes\n' + table(
      ['CHECK', 'RESULT', 'REASON'],
      t.probes.map((p) => [p.name, p.ok ? 'ok' : `fail${p.code !== null ? ` ${p.code}` : ''}`, p.ok || p.remedy === '' ? p.reason : `${p.reason}; ${p.remedy}`]),
    );
  }
  return out;
}

function progress(t: TransferDto): string {
  if (t.bytes_total === null || t.bytes_total === 0) return humanBytes(t.bytes_done);
  const pct = Math.min(100, (t.bytes_done / t.bytes_total) * 100);
  return `${pct.toFixed(1)}% of ${humanBytes(t.bytes_total)}`;
}

/** The state, with the first error, else the phase, else how many warnings there were. */
function stateOf(t: TransferDto): string {
  if (t.errors.length > 0) return `${t.state} (${t.errors[0]!.code})`;
  if (t.phase !== null) {
    const onDisk = t.bytes_written !== null && t.bytes_total !== null && t.bytes_total > 0 ? `, ${Math.floor((t.bytes_written / t.bytes_total) * 100)}% on disk` : '';
    return `${t.state} (${t.phase.replace(/_/g, ' ')}${onDisk})`;
  }
  if (t.warnings_total > 0) return `${t.state} (${t.warnings_total} warning${t.warnings_total === 1 ? '' : 's'})`;
  return t.state;
}

/** Finished transfers the table shows unless asked for all: the newest of them. */
export const FINISHED_SHOWN = 20;

/**
 * The table of `wraith transfers`, in the API's order (running first, then finished, newest
 * first): every running transfer, and the newest FINISHED_SHOWN finished ones unless `all`.
 */
export function formatTransfers(list: readonly TransferDto[], all = false): string {
  if (list.length === 0) return 'no transfers\n';
  let shown = list;
  let hidden = 0;
  if (!all) {
    let finished = 0;
    shown = list.filter((t) => t.state === 'running' || ++finished <= FINISHED_SHOWN);
    hidden = list.length - shown.length;
  }
  const more = hidden === 0 ? '' : `(${hidden} older finished transfer${hidden === 1 ? '' : 's'} not shown: wraith transfers --all)\n`;
  return table(
    ['ID', 'DIR', 'PEER', 'STATE', 'PROGRESS', 'RATE', 'ETA', 'PATH'],
    shown.map((t) => [
      t.id,
      t.direction,
      t.peer_name ?? shortId(t.peer_id),
      stateOf(t),
      progress(t),
      t.state === 'running' ? humanRate(t.rate_bps) : '-',
      t.eta_s === null || t.state !== 'running' ? '-' : humanDuration(t.eta_s),
      // A received file's name comes from the peer: it must not drive the terminal.
      (t.path === null ? '-' : printable(t.path)) + (t.dest === null ? '' : ` (to ${printable(t.dest)}/)`),
    ]),
  ) + more;
}

export function formatPeers(list: readonly PeerDto[]): string {
  if (list.length === 0) return 'no peers\n';
  return table(
    ['NAME', 'PEER ID', 'ADDR', 'STATE', 'SESSIONS', 'RTT', 'DATAGRAM', 'TRANSPORT'],
    list.map((p) => [
      p.name ?? '-',
      shortId(p.peer_id),
      p.addr ?? '-',
      p.connected ? 'connected' : 'idle',
      String(p.sessions),
      p.rtt_ms === null ? '-' : `${p.rtt_ms.toFixed(p.rtt_ms < 10 ? 2 : 1)} ms`,
      p.datagram_size === null ? '-' : `${p.datagram_size} B`,
      p.transport ?? '-',
    ]),
  );
}

export function formatCancelled(t: TransferDto): string {
  return `cancelled ${t.id} (${t.direction} ${printable(t.path ?? '')} ${progress(t)})\n`.replace(/\s+\)/, ')');
}
