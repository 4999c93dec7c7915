/**
 * Who holds a port, for the "in use" error: the sockets bound to it (/proc/net/udp and udp6, or
 * the listening ones of tcp and tcp6, of this network namespace), then the processes with those
 * sockets open (/proc/PID/fd; as root, or the same user, only). Read on the error path only: it
 * walks every process.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { WraithError } from '@wraith/core';
import { commandOf } from '../proc-command.js';

/** TCP_LISTEN in the st column. */
const LISTEN = '0A';

/** Socket inodes bound to `port` in /proc/net/udp-style `text` (`listening`: state LISTEN only). */
export function socketInodes(text: string, port: number, listening = false): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const c = line.trim().split(/\s+/);
    const local = c[1];
    const inode = c[9];
    if (local === undefined || inode === undefined || inode === '0') continue;
    if (listening && c[3] !== LISTEN) continue;
    if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) out.push(inode);
  }
  return out;
}

/** Pids of the processes holding a UDP socket on `port`, at most `max`; [] when none can be seen. */
export function udpPortHolders(port: number, procRoot = '/proc', max = 4): number[] {
  return portHolders('udp', port, procRoot, max);
}

/** Pids of the processes listening on TCP `port`, at most `max`; [] when none can be seen. */
export function tcpPortHolders(port: number, procRoot = '/proc', max = 4): number[] {
  return portHolders('tcp', port, procRoot, max);
}

function portHolders(proto: 'udp' | 'tcp', port: number, procRoot: string, max: number): number[] {
  const inodes = new Set<string>();
  for (const f of [`net/${proto}`, `net/${proto}6`]) {
    try {
      for (const i of socketInodes(readFileSync(join(procRoot, f), 'utf8'), port, proto === 'tcp')) inodes.add(`socket:[${i}]`);
    } catch {
      // no IPv6, or no /proc
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  let procs: string[];
  try {
    procs = readdirSync(procRoot).filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  for (const pid of procs) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(join(procRoot, pid, 'fd'));
    } catch {
      continue; // gone, or another user's
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(join(procRoot, pid, 'fd', fd));
      } catch {
        continue;
      }
      if (inodes.has(target)) {
        pids.push(Number(pid));
        break;
      }
    }
    if (pids.length >= max) break;
  }
  return pids;
}

/** E_ADDR_IN_USE for `port`, with the processes that hold it named; any other error as it is. */
export function namingPortHolders(e: unknown, port: number, holders: (port: number) => number[] = udpPortHolders): unknown {
  if (!(e instanceof WraithError) || e.code !== 'E_ADDR_IN_USE' || port === 0) return e;
  const pids = holders(port);
  if (pids.length === 0) return e;
  return new WraithError('E_ADDR_IN_USE', `${e.message}${byHolders(pids)}`, { ...e.details, holders: pids },
    pids.length === 1 ? `stop process ${pids[0]}, or choose another port with --bind (network.listen_addr)` : 'stop those processes, or choose another port with --bind (network.listen_addr)');
}

/** ", by pid 1: cmd; pid 2: cmd" for an error message; "" for none. */
export function byHolders(pids: readonly number[]): string {
  return pids.length === 0 ? '' : `, by ${pids.map((p) => `pid ${p}${commandOf(p)}`).join('; ')}`;
}
