// Two network namespaces joined by one veth pair, for the benchmarks that need a real link
// between two processes. The pair is created inside A with its peer placed straight into B, so
// nothing is ever added to the root namespace; deleting the namespaces deletes the pair.
//
//   const pair = createVethPair({ prefix: 'wrt' });   // { a, b, ifA, ifB, ipA, ipB, macA, macB, net }
//   ...
//   pair.destroy();                                    // idempotent; also deleteAllNetns()
//
// Namespace names are PREFIX-PID-RANDOM-a/b: deleteStaleNetns(prefix) removes those of earlier
// runs whose process is gone (a benchmark killed with SIGKILL cannot clean up after itself).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';

const created = new Set();

export function ip(args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function del(ns) {
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {}
  created.delete(ns);
}

/** Deletes every namespace this process created (safe to call from exit and signal handlers). */
export function deleteAllNetns() {
  for (const ns of [...created]) del(ns);
}

export function deleteStaleNetns(prefix) {
  let list = '';
  try {
    list = ip(['netns', 'list']);
  } catch {
    return;
  }
  const re = new RegExp(`^${prefix}-(\\d+)-[0-9a-f]+-[ab]$`);
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = re.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // still running
    } catch (e) {
      if (e.code === 'EPERM') continue;
    }
    del(name);
  }
}

/**
 * Namespaces A and B, veth ifA (in A) <-> ifB (in B), NET.1/24 and NET.2/24, links up, and
 * static neighbour entries both ways (AF_XDP sends from the first datagram on: no ARP phase).
 * `net` is the first three octets; default 10.<firstOctet>.<random>.
 */
export function createVethPair({ prefix, ifA = 'wa0', ifB = 'wb0', net = null, firstOctet = 100 + (randomBytes(1)[0] % 100) } = {}) {
  if (!/^[a-z][a-z0-9]{0,5}$/.test(prefix ?? '')) throw new Error('createVethPair: prefix must be 1-6 lowercase letters/digits');
  deleteStaleNetns(prefix);
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const a = `${prefix}-${tag}-a`;
  const b = `${prefix}-${tag}-b`;
  const n = net ?? `10.${firstOctet}.${randomBytes(1)[0]}`;
  const pair = { a, b, ifA, ifB, ipA: `${n}.1`, ipB: `${n}.2`, net: `${n}.0/24`, macA: '', macB: '', destroy: () => [a, b].forEach(del) };
  try {
    for (const ns of [a, b]) {
      ip(['netns', 'add', ns]);
      created.add(ns);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    ip(['-n', a, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', b]);
    ip(['-n', a, 'addr', 'add', `${pair.ipA}/24`, 'dev', ifA]);
    ip(['-n', b, 'addr', 'add', `${pair.ipB}/24`, 'dev', ifB]);
    ip(['-n', a, 'link', 'set', ifA, 'up']);
    ip(['-n', b, 'link', 'set', ifB, 'up']);
    const mac = (ns, dev) => JSON.parse(ip(['-n', ns, '-j', 'link', 'show', 'dev', dev]))[0].address;
    pair.macA = mac(a, ifA);
    pair.macB = mac(b, ifB);
    ip(['-n', a, 'neigh', 'replace', pair.ipB, 'lladdr', pair.macB, 'dev', ifA, 'nud', 'permanent']);
    ip(['-n', b, 'neigh', 'replace', pair.ipA, 'lladdr', pair.macA, 'dev', ifB, 'nud', 'permanent']);
  } catch (e) {
    pair.destroy();
    throw e;
  }
  return pair;
}

/** The network namespace a process lives in, as the inode of /proc/PID/ns/net (null when gone). */
export function netnsOf(pid) {
  try {
    return statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    return null;
  }
}

/** The inode of a named namespace (`ip netns add` bind-mounts it under /run/netns). */
export function netnsInode(name) {
  return statSync(`/run/netns/${name}`).ino;
}
