#!/usr/bin/env node
// End-to-end transfer benchmark: wraith against the tools a user would pick instead. A
// benchmark, not a test: the numbers move with the machine and its load (the load average is
// recorded beside every run).
//
// Usage (root for apt-get and, where /dev/shm is not a tmpfs, for mounting one; build first):
//   npx tsc -b && npm run bench -- [--size 1GiB] [--runs 3] [--json FILE]
//       [--only wraith,udx,socat,iperf3] [--disk-dir DIR] [--timeout 600]
//   npm run bench -- --netns [--size 1GiB] [--runs 3] [--json FILE]
//       [--only wraith,udx,socat,iperf3] [--timeout 600]
//   (`npm run bench` with no argument runs this; also `npm run bench -- transfer ...`)
//   WRAITH_BENCH_PROFILE=DIR adds one profiled wraith run (node --cpu-prof on both processes,
//   profiles written under DIR/sender and DIR/receiver) and prints the top self-time functions
//   of each side; it is not counted in the medians.
//
// Cases (--only takes these names; "wraith" means both wraith rows):
//   wraith-tmpfs  `wraith daemon` and `wraith send` as two processes over 127.0.0.1, default
//                 configuration (no tuning flags; the daemon gets --auto-accept --admin-listen
//                 off --min-free 0 --json), the file received into a tmpfs directory.
//   wraith-disk   the same, received into a directory on the regular file system (--disk-dir,
//                 default: the temp directory when it is not a tmpfs, else /var/tmp).
//   udx           udx-native + @hyperswarm/secret-stream (bench/peers/udx-send.mjs and
//                 udx-recv.mjs): one UDX stream, Noise handshake and libsodium secretstream,
//                 file streamed in, written to tmpfs, SHA-256 checked by both ends.
//   socat         socat with TLS 1.3 (OpenSSL; a throwaway self-signed certificate), the file
//                 streamed over TCP into tmpfs (`socat -u OPEN:file OPENSSL:...` into
//                 `socat -u OPENSSL-LISTEN:... CREATE:file`), default block size.
//   iperf3        iperf3 over TCP, no crypto, memory to memory, the same number of bytes: the
//                 upper bound of this machine's loopback.
//
// Every run: a fresh receiver, then the sender; wall time from the sender's spawn to the later
// of the sender's and the receiver's exit (wraith's and the udx peer's senders exit only once
// the receiver confirmed the verified file, so for them it is the sender's exit). Goodput = file
// bytes / wall time, in MB/s (10^6 bytes). CPU seconds per GiB: user + system time of each
// side's process, from getrusage through GNU time (`/usr/bin/time`, the same number
// /proc/PID/stat gives at exit) for processes that exit, minus what the receiver had used
// before the sender started (its start-up); for the wraith daemon, the delta of utime + stime
// in /proc/PID/stat across the transfer. Peak RSS: the high-water mark (GNU time's maxrss, or
// VmHWM from /proc/PID/status for the daemon), in MB (10^6 bytes). The received file's SHA-256
// is checked against the source's after every run (outside the timing). Runs are interleaved
// across the cases (run 1 of each, then run 2, ...) so load changes hit all of them; the table
// shows the median of each metric over the runs.
//
// Missing Debian packages (socat, iperf3, time) are installed with apt-get. The source file is
// generated (random bytes) into the tmpfs once; everything is removed at the end, also on
// failure or Ctrl-C. Traffic stays on 127.0.0.1. Results go to bench/results/transfer.json
// unless --json names a file (bench/results/transfer-netns.json with --netns).
//
// --netns: the same measurement between two network namespaces created for the run (names
// wrt-PID-RANDOM-a/b) and joined by one veth pair (wta0 in A, wtb0 in B; 10.213.R.1 and .2/24,
// static neighbour entries), deleted at the end, also on failure or Ctrl-C; no interface
// outside them is touched. Every receiver runs in B and every sender in A, each started with
// `ip netns exec NS` (which execs: the spawned pid is the measured process itself; each run
// checks that the measured pids are node/socat/iperf3 inside the right namespace). Cases:
//   wraith-xdp    daemon and sender with --transport xdp --no-udp-fallback --xdp-interface
//                 (their veth end); the daemon binds B's address. If AF_XDP cannot start, the
//                 row fails with the node's error (no fallback to UDP).
//   wraith-udp    --transport udp: the native sendmmsg/GSO/GRO UDP path.
//   wraith-dgram  --transport udp with WRAITH_UDP_BACKEND=dgram on both sides (node:dgram).
//   udx, socat, iperf3  as above, addressed by the namespace addresses.
// ("wraith" in --only means the three wraith rows.) The wraith processes log at info level so
// the transport each side actually ran (ready line, run/daemon.json, "node started", the
// node:dgram notice) is checked against the case and recorded per run, with the AF_XDP
// packet counters each side logs as its transport closes. wraith-disk and profiling are
// loopback-only.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { SourceMap } from 'node:module';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './lib/args.mjs';
import { freeTcpPort } from './lib/net.mjs';
import { createVethPair, deleteAllNetns, netnsInode, netnsOf } from './lib/netns.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const WRAITH = join(repo, 'packages', 'wraith', 'bin', 'wraith.js');
const PEERS = join(here, 'peers');
/** What /proc/PID/comm says for a node process (the kernel keeps 15 characters). */
const NODE_COMM = basename(process.execPath).slice(0, 15);
const GiB = 1024 ** 3;
const MB = 1e6;
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
const CASES = ['wraith-tmpfs', 'wraith-disk', 'udx', 'socat', 'iperf3'];
const NETNS_CASES = ['wraith-xdp', 'wraith-udp', 'wraith-dgram', 'udx', 'socat', 'iperf3'];
const LABEL = {
  'wraith-tmpfs': 'wraith (to tmpfs)',
  'wraith-disk': 'wraith (to disk)',
  'wraith-xdp': 'wraith AF_XDP',
  'wraith-udp': 'wraith UDP (sendmmsg/GSO)',
  'wraith-dgram': 'wraith UDP (node:dgram)',
  udx: 'udx-native + secret-stream',
  socat: 'socat TLS 1.3',
  iperf3: 'iperf3 TCP (no crypto)',
};
const HOST = '127.0.0.1';
/** Paths given by the user are relative to where they ran npm, not to the package root. */
const userCwd = process.env.INIT_CWD ?? process.cwd();

// --- options -----------------------------------------------------------------------------------

function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)\s*(|B|k|kB|K|KiB|M|MB|MiB|G|GB|GiB|T|TB|TiB)$/i.exec(String(s).trim());
  if (!m) throw new Error(`bad size '${s}' (e.g. 1GiB, 512MiB, 100MB, 1048576)`);
  const unit = m[2];
  const bin = /i/i.test(unit) || /^[KMGT]$/.test(unit); // 1G, 512M: binary, as most tools read them
  const p = { '': 0, b: 0, k: 1, kb: 1, kib: 1, m: 2, mb: 2, mib: 2, g: 3, gb: 3, gib: 3, t: 4, tb: 4, tib: 4 }[unit.toLowerCase()];
  const n = Math.round(Number(m[1]) * (bin ? 1024 : 1000) ** p);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`bad size '${s}'`);
  return n;
}

function usage() {
  return `usage: npm run bench -- [--size 1GiB] [--runs 3] [--json FILE] [--only ${['wraith', ...CASES.slice(2)].join(',')}]
                       [--disk-dir DIR] [--timeout SECONDS]
       npm run bench -- --netns [--size 1GiB] [--runs 3] [--json FILE] [--only ...] [--timeout SECONDS]
  --only also takes wraith-tmpfs and wraith-disk (wraith = both)
  --netns: between two network namespaces joined by veth (root), cases ${NETNS_CASES.join(', ')}
           (wraith = the three wraith rows); default JSON bench/results/transfer-netns.json
  WRAITH_BENCH_PROFILE=DIR: one extra wraith run under node --cpu-prof, top self-time functions printed
  build first: npx tsc -b`;
}

function parseArgs(argv) {
  const a = benchArgs(import.meta.url, { netns: false, size: null, runs: 3, json: null, only: null, 'disk-dir': null, timeout: 600 }, { usage: usage(), argv });
  const { netns } = a;
  const cases = netns ? NETNS_CASES : CASES;
  const o = {
    netns,
    size: a.size === null ? GiB : parseSize(a.size),
    runs: a.runs,
    json: a.json === null ? join(here, 'results', netns ? 'transfer-netns.json' : 'transfer.json') : resolve(userCwd, a.json),
    only: [...cases],
    diskDir: a.diskDir === null ? null : resolve(userCwd, a.diskDir),
    timeout: a.timeout,
    profile: process.env.WRAITH_BENCH_PROFILE ? resolve(userCwd, process.env.WRAITH_BENCH_PROFILE) : null,
  };
  if (a.only !== null) {
    const want = new Set();
    for (const n of a.only.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (n === 'wraith') {
        for (const c of cases) if (c.startsWith('wraith-')) want.add(c);
      } else if (cases.includes(n)) want.add(n);
      else throw new Error(`--only: unknown case '${n}'${netns ? ' with --netns' : ''} (cases: wraith, ${cases.join(', ')})`);
    }
    o.only = cases.filter((c) => want.has(c));
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a positive integer');
  if (!(o.timeout > 0)) throw new Error('--timeout must be a positive number of seconds');
  if (o.only.length === 0) throw new Error('--only selected no case');
  if (netns && o.diskDir) throw new Error('--disk-dir: the disk case is loopback-only (no --netns)');
  return o;
}

// --- processes ---------------------------------------------------------------------------------

const children = new Set();
const cleanups = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {}

/** utime + stime of a live process, in seconds (/proc/PID/stat fields 14 and 15). */
function procCpu(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** VmHWM of a live process, in bytes. */
function procHwm(pid) {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

/** wraith log lines kept from stderr (the rest only as a tail): which transport ran, and its counters. */
const KEEP_LOG = /^(node started|XDP |AF_XDP |UDP on node:dgram|Zero-copy mode)/;

/**
 * A child process with its stdout read as NDJSON. With `timed`, it runs under GNU time, which
 * writes the child's wall, user and system time and maxrss (getrusage) to a file at its exit.
 * With `ns`, it runs in that network namespace through `ip netns exec`, which execs (no extra
 * process): the pid is GNU time's, or the command's itself.
 */
class Proc {
  constructor(label, cmd, args, { timed = false, env = process.env, ns = null } = {}) {
    this.label = label;
    this.ns = ns;
    this.timeFile = timed ? join(work.dir, `time-${process.pid}-${Math.random().toString(16).slice(2)}.txt`) : null;
    let [c, a] = timed ? [TIME, ['-o', this.timeFile, '-f', '%e %U %S %M', cmd, ...args]] : [cmd, args];
    if (ns) [c, a] = ['ip', ['netns', 'exec', ns, c, ...a]];
    this.proc = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], env });
    children.add(this);
    this.pid = this.proc.pid;
    this.lines = [];
    this.stdoutRaw = [];
    this.stderr = '';
    this.waiters = new Set();
    this.logs = [];
    this.proc.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-8192);
    });
    createInterface({ input: this.proc.stderr }).on('line', (l) => {
      if (!l.startsWith('{') || this.logs.length >= 200) return;
      try {
        const j = JSON.parse(l);
        if (KEEP_LOG.test(String(j.msg ?? '')) || j.level >= 50) this.logs.push(j);
      } catch {}
    });
    createInterface({ input: this.proc.stdout }).on('line', (l) => {
      this.stdoutRaw.push(l);
      try {
        this.lines.push(JSON.parse(l));
      } catch {
        this.lines.push({ type: 'stdout', line: l });
      }
      this.wake();
    });
    this.exit = null;
    this.exited = new Promise((r) =>
      this.proc.on('close', (code, signal) => {
        this.exit = { code, signal, at: performance.now() };
        children.delete(this);
        r(this.exit);
        this.wake();
      }),
    );
    this.proc.on('error', (e) => {
      this.stderr += `\nspawn: ${e.message}`;
    });
  }
  wake() {
    for (const w of this.waiters) w();
  }
  /** The first stdout JSON line for which pred() holds. */
  async line(pred, ms, what) {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.lines.find(pred);
      if (m) return m;
      if (this.exit) throw new Error(`${this.label} exited (${this.exit.code ?? this.exit.signal}) before ${what}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.label}: no ${what} within ${ms / 1000} s\n${this.tail()}`);
      await new Promise((r) => {
        const t = setTimeout(r, 100);
        const w = () => {
          clearTimeout(t);
          this.waiters.delete(w);
          r();
        };
        this.waiters.add(w);
      });
    }
  }
  /** The measured process: GNU time's child when timed. */
  realPid() {
    if (!this.timeFile) return this.pid;
    for (let i = 0; i < 200; i++) {
      try {
        const c = readFileSync(`/proc/${this.pid}/task/${this.pid}/children`, 'utf8').trim();
        if (c) return Number(c.split(' ')[0]);
      } catch {
        return null;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
    return null;
  }
  /** Resolves with the exit, or kills the process and throws after `ms`. */
  async wait(ms) {
    let timer;
    const r = await Promise.race([this.exited, new Promise((res) => (timer = setTimeout(() => res(null), ms)))]);
    clearTimeout(timer);
    if (r) return r;
    this.kill('SIGKILL');
    await this.exited;
    throw new Error(`${this.label}: still running after ${ms / 1000} s (killed)\n${this.tail()}`);
  }
  /** GNU time's numbers after exit: { wall, cpu, maxrss } in seconds and bytes. */
  usage() {
    if (!this.timeFile) return null;
    try {
      const lines = readFileSync(this.timeFile, 'utf8').trim().split('\n');
      const [wall, user, sys, rssKiB] = lines.at(-1).split(' ').map(Number);
      rmSync(this.timeFile, { force: true });
      return { wall, user, sys, cpu: user + sys, maxrss: rssKiB * 1024 };
    } catch {
      return null;
    }
  }
  kill(sig = 'SIGTERM') {
    if (this.exit) return;
    const real = this.timeFile ? this.realPid() : null;
    for (const p of [real, this.pid]) {
      if (!p) continue;
      try {
        process.kill(p, sig);
      } catch {}
    }
  }
  tail() {
    const out = this.stdoutRaw.slice(-5).join('\n');
    return [out && `stdout: ${out}`, this.stderr.trim() && `stderr: ${this.stderr.trim().split('\n').slice(-10).join('\n')}`].filter(Boolean).join('\n');
  }
}

function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  while (cleanups.length) {
    try {
      cleanups.pop()();
    } catch (e) {
      console.error(`cleanup: ${e.message}`);
    }
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    cleanup();
    process.exit(130);
  });
}

// --- environment -------------------------------------------------------------------------------

let TIME = '/usr/bin/time';

function have(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

/** Installs the Debian packages whose binary is missing; returns what is still missing. */
function ensureDebian(pkgs) {
  const missing = pkgs.filter(([bin]) => !(bin.startsWith('/') ? existsSync(bin) : have(bin)));
  if (missing.length === 0) return [];
  const names = missing.map(([, pkg]) => pkg);
  console.error(`installing Debian packages: ${names.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['-y', '-q', '-o', 'DPkg::Lock::Timeout=300', 'install', '--no-install-recommends', ...names], { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['-q', '-o', 'DPkg::Lock::Timeout=300', 'update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    install();
  }
  return missing.filter(([bin]) => !(bin.startsWith('/') ? existsSync(bin) : have(bin))).map(([, pkg]) => pkg);
}

function fsType(dir) {
  try {
    return statfsSync(dir).type;
  } catch {
    return null;
  }
}
function freeBytes(dir) {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** The bench's scratch space: a private directory on a tmpfs (/dev/shm, or one it mounts). */
const work = { dir: null, mounted: null };
function setupTmpfs(size) {
  const need = 2 * size + 256 * 1024 ** 2;
  if ([TMPFS_MAGIC, RAMFS_MAGIC].includes(fsType('/dev/shm')) && freeBytes('/dev/shm') > need) {
    work.dir = mkdtempSync('/dev/shm/wraith-bench-');
    cleanups.push(() => rmSync(work.dir, { recursive: true, force: true }));
    return { dir: work.dir, how: '/dev/shm' };
  }
  const mnt = mkdtempSync(join(tmpdir(), 'wraith-bench-tmpfs-'));
  cleanups.push(() => rmSync(mnt, { recursive: true, force: true }));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${need},mode=0700`, 'wraith-bench', mnt]);
  cleanups.push(() => execFileSync('umount', [mnt]));
  work.dir = mnt;
  work.mounted = mnt;
  return { dir: mnt, how: 'mounted tmpfs' };
}

function setupDisk(o) {
  let parent = o.diskDir;
  if (!parent) parent = [TMPFS_MAGIC, RAMFS_MAGIC].includes(fsType(tmpdir())) ? '/var/tmp' : tmpdir();
  if ([TMPFS_MAGIC, RAMFS_MAGIC].includes(fsType(parent))) throw new Error(`${parent} is a tmpfs: give --disk-dir a directory on a disk`);
  if (freeBytes(parent) < o.size + 512 * 1024 ** 2) throw new Error(`${parent}: not enough free space for ${o.size} bytes`);
  const dir = mkdtempSync(join(parent, 'wraith-bench-disk-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Random bytes into `file` (no two chunks alike), with their SHA-256. */
function generate(file, size) {
  const buf = Buffer.allocUnsafe(Math.min(size, 16 * 1024 ** 2));
  const h = createHash('sha256');
  const fd = openSync(file, 'w', 0o600);
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(buf.length, size - done);
      randomFillSync(buf, 0, n);
      const part = buf.subarray(0, n);
      h.update(part);
      writeSync(fd, part);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

async function sha256File(file) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 ** 2 })) h.update(chunk);
  return h.digest('hex');
}

/** Namespaces are fresh for the run: ports are handed out in turn (no TIME_WAIT of an earlier run in the way). */
let nsPort = 20000;

async function freePort(net) {
  if (net?.mode === 'netns') return nsPort++;
  return freeTcpPort(HOST);
}

/**
 * Waits until something listens on TCP host:port (without connecting: the servers take one
 * connection). In a namespace, through the server's own /proc/PID/net/tcp (its namespace's table).
 */
async function waitListen(port, proc, ms = 20_000, host = HOST) {
  const hexIp = host
    .split('.')
    .reverse()
    .map((x) => Number(x).toString(16).toUpperCase().padStart(2, '0'))
    .join('');
  const want = `${hexIp}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const table = proc.ns ? `/proc/${proc.realPid()}/net/tcp` : '/proc/net/tcp';
  const deadline = Date.now() + ms;
  for (;;) {
    let rows = [];
    try {
      rows = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {}
    if (rows.some((r) => r.trim().split(/\s+/)[1] === want && r.trim().split(/\s+/)[3] === '0A')) return;
    if (proc.exit) throw new Error(`${proc.label} exited before listening\n${proc.tail()}`);
    if (Date.now() > deadline) throw new Error(`${proc.label}: not listening on ${port} within ${ms / 1000} s\n${proc.tail()}`);
    await sleep(20);
  }
}

// --- cases -------------------------------------------------------------------------------------

/**
 * One measured run, with the receiver already up (`rx`, its CPU baseline `rxCpu0` taken right
 * before this is called): spawns the sender, waits for it and for the receiver's end.
 */
function sideFromTime(u, cpu0 = 0) {
  return u ? { cpu_s: Math.max(0, u.cpu - cpu0), peak_rss_bytes: u.maxrss } : { cpu_s: null, peak_rss_bytes: null };
}

const wraithState = new Map();

/** Two homes with identities (per destination root: the disk case keeps its homes on the disk). */
function wraithHomes(root) {
  if (wraithState.has(root)) return wraithState.get(root);
  const rx = join(root, 'rx-home');
  const tx = join(root, 'tx-home');
  const id = (home) => {
    const r = spawnSync(process.execPath, [WRAITH, '--home', home, 'keygen'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`wraith keygen failed (${r.status}): ${r.stderr}`);
    return r.stdout.trim().split('\n').at(-1);
  };
  const s = { rx, tx, rxId: id(rx), txId: id(tx) };
  wraithState.set(root, s);
  return s;
}

/** What a wraith side actually ran: "xdp", "udp/native" or "udp/dgram" (from its ready line or "node started" log). */
function wraithTransport(p, ready = null) {
  const started = p.logs.find((l) => l.msg === 'node started');
  const t = ready?.transport ?? started?.transport ?? null;
  if (t !== 'udp') return t;
  // The node says so at info level when it is on node:dgram; "node started" shows info was on.
  if (p.logs.some((l) => String(l.msg).startsWith('UDP on node:dgram'))) return 'udp/dgram';
  return started ? 'udp/native' : 'udp/?';
}

/** The AF_XDP totals a wraith side logs as its transport closes ("XDP disabled on interface IF"). */
function xdpTotals(p) {
  const l = p.logs.find((x) => String(x.msg).startsWith('XDP disabled on interface'));
  if (!l) return null;
  const out = {};
  for (const k of ['xdp_rx_packets', 'xdp_tx_packets', 'tx_in_place', 'kernel_rx_packets', 'kernel_tx_packets', 'rx_dropped', 'rx_ring_full', 'tx_oversize']) out[k] = l[k] ?? null;
  return out;
}

const WRAITH_NETNS = {
  'wraith-xdp': { expect: 'xdp', flags: (ifname) => ['--transport', 'xdp', '--no-udp-fallback', '--xdp-interface', ifname], env: {} },
  'wraith-udp': { expect: 'udp/native', flags: () => ['--transport', 'udp'], env: {} },
  'wraith-dgram': { expect: 'udp/dgram', flags: () => ['--transport', 'udp'], env: { WRAITH_UDP_BACKEND: 'dgram' } },
};

/**
 * The process a Proc measures (GNU time's child, or the process itself), once it has exec'd:
 * its pid and comm, checked to be `comm` inside the Proc's namespace.
 */
async function measured(p, comm) {
  const pid = p.realPid();
  let got = null;
  for (let i = 0; i < 1000; i++) {
    try {
      got = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      got = null;
      break;
    }
    if (got !== 'time' && got !== 'ip') break;
    await sleep(2);
  }
  const inNs = p.ns ? netnsOf(pid) === netnsInode(p.ns) : null;
  if (got !== null && got !== comm) throw new Error(`${p.label}: the measured process ${pid} is '${got}', not '${comm}'`);
  if (got !== null && p.ns && !inNs) throw new Error(`${p.label}: process ${pid} is not in namespace ${p.ns}`);
  return { pid, comm: got, in_namespace: inNs };
}

async function runWraith(ctx, destRoot, { profile = null, kind = null } = {}) {
  const net = ctx.net;
  const h = wraithHomes(destRoot);
  const out = mkdtempSync(join(destRoot, 'out-'));
  const prof = (side) => (profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profile, side)}`] : []);
  const nk = kind ? WRAITH_NETNS[kind] : null;
  // In namespaces: info-level logs, to learn (and record) which transport each side ran.
  const extra = (ifname) => (nk ? [...nk.flags(ifname), '--log-level', 'info'] : []);
  const env = nk ? { ...process.env, ...nk.env } : process.env;
  const bind = nk ? `${net.rxHost}:${await freePort(net)}` : `${HOST}:0`;
  const rx = new Proc(
    'wraith daemon',
    process.execPath,
    [
      ...prof('receiver'),
      WRAITH,
      '--home', h.rx,
      'daemon',
      '--bind', bind,
      '--output', out,
      '--auto-accept',
      '--admin-listen', 'off',
      '--json',
      '--min-free', '0',
      ...extra(net.rxIf),
    ],
    { env, ns: net.rxNs },
  );
  let res;
  let tx = null;
  try {
    const ready = await rx.line((l) => l.type === 'ready' || l.type === 'error', 60_000, 'its ready line');
    if (ready.type === 'error') throw new Error(`wraith daemon: ${ready.code}: ${ready.message}${ready.hint ? ` (hint: ${ready.hint})` : ''}`);
    const addr = ready.udp_addrs[0];
    let check = null;
    if (nk) {
      // ip netns exec execs: the pid we read /proc of must be the daemon's own, in B.
      if (ready.pid !== rx.pid) throw new Error(`wraith daemon: ready pid ${ready.pid} is not the spawned pid ${rx.pid}`);
      check = { receiver: await measured(rx, NODE_COMM) };
      let fileTransport = null;
      try {
        fileTransport = JSON.parse(readFileSync(join(h.rx, 'run', 'daemon.json'), 'utf8')).transport ?? null;
      } catch {}
      if (fileTransport !== ready.transport) throw new Error(`wraith daemon: ready says transport ${ready.transport}, run/daemon.json ${fileTransport}`);
    }
    const rxCpu0 = procCpu(rx.pid);
    const t0 = performance.now();
    // --no-hash-cache: every run reads and hashes the source, as a first send of a file does.
    const args = ['send', ctx.src, '--to', `${h.rxId}@${addr}`, '--json', '--no-progress', '--reconnect-for', '0s', '--no-hash-cache'];
    tx = new Proc(
      'wraith send',
      process.execPath,
      [...prof('sender'), WRAITH, '--home', h.tx, ...args, ...extra(net.txIf)],
      { timed: true, env, ns: net.txNs },
    );
    if (nk) check.sender = await measured(tx, NODE_COMM);
    const e = await tx.wait(ctx.timeout * 1000);
    const t1 = e.at;
    const rxCpu1 = procCpu(rx.pid);
    const rxHwm = procHwm(rx.pid);
    if (e.code !== 0) {
      const err = tx.lines.findLast((l) => l.type === 'error');
      throw new Error(`wraith send exited ${e.code ?? e.signal}${err ? `: ${err.code}: ${err.message}` : ''}\n${tx.tail()}\n--- daemon\n${rx.tail()}`);
    }
    const done = tx.lines.find((l) => l.type === 'completed') ?? {};
    const file = join(out, basename(ctx.src));
    const verified = existsSync(file) && (await sha256File(file)) === ctx.sha256;
    res = {
      wall_s: (t1 - t0) / 1000,
      sender: sideFromTime(tx.usage()),
      receiver: { cpu_s: rxCpu1 - rxCpu0, peak_rss_bytes: rxHwm },
      verified,
      extra: { payload_bytes_sent: done.payload_bytes_sent ?? null, bytes_retransmitted: done.bytes_retransmitted ?? null, transport: ready.transport },
    };
    if (nk) {
      const started = tx.logs.find((l) => l.msg === 'node started');
      if (started && started.pid !== check.sender.pid) throw new Error(`wraith send: logged pid ${started.pid} is not the measured pid ${check.sender.pid}`);
      res.extra.transport = { receiver: wraithTransport(rx, ready), sender: wraithTransport(tx) };
      res.extra.measured_processes = check;
      if (nk.expect === 'xdp') res.extra.xdp_totals = { sender: xdpTotals(tx), receiver: null };
    }
  } finally {
    tx?.kill('SIGKILL');
    // Graceful (SIGTERM) so a profiled daemon writes its profile (and an AF_XDP one its totals).
    rx.kill('SIGTERM');
    try {
      await rx.wait(20_000);
    } catch {}
    rmSync(out, { recursive: true, force: true });
  }
  if (nk) {
    if (nk.expect === 'xdp') {
      res.extra.xdp_totals.receiver = xdpTotals(rx);
      // Of the datagrams each side moved, the part AF_XDP carried (the rest went through the kernel socket).
      const share = (c, dir) => (c && c[`xdp_${dir}_packets`] + c[`kernel_${dir}_packets`] > 0 ? c[`xdp_${dir}_packets`] / (c[`xdp_${dir}_packets`] + c[`kernel_${dir}_packets`]) : null);
      res.extra.af_xdp_share = { sender_tx: share(res.extra.xdp_totals.sender, 'tx'), receiver_rx: share(res.extra.xdp_totals.receiver, 'rx') };
      // Of the sender's AF_XDP datagrams, the part built and sealed in place in UMEM (no copy on TX).
      const snd = res.extra.xdp_totals.sender;
      res.extra.af_xdp_share.sender_in_place = snd && snd.xdp_tx_packets > 0 ? (snd.tx_in_place ?? 0) / snd.xdp_tx_packets : null;
    }
    const t = res.extra.transport;
    // A row must be what it says: a side on another transport fails the run, saying which.
    const wrong = [];
    for (const [side, p] of [['receiver', rx], ['sender', tx]]) {
      if (t[side] === nk.expect) continue;
      const why = p.logs.find((l) => /unavailable|node:dgram/.test(String(l.msg)))?.msg;
      wrong.push(`wraith ${side} ran on ${t[side]}, not ${nk.expect}${why ? ` (${why})` : ''}`);
    }
    if (wrong.length) res.error = wrong.join('; ');
  }
  return res;
}

/** In namespace mode, both measured processes checked (see measured()), else null. */
async function checkSides(net, rx, tx, comm) {
  if (net.mode !== 'netns') return null;
  try {
    return { receiver: await measured(rx, comm), sender: await measured(tx, comm) };
  } catch (e) {
    tx.kill('SIGKILL');
    throw e;
  }
}

async function runUdx(ctx) {
  const net = ctx.net;
  const outFile = join(work.dir, 'udx-out.bin');
  rmSync(outFile, { force: true });
  const rx = new Proc('udx receiver', process.execPath, [join(PEERS, 'udx-recv.mjs'), '--out', outFile, '--host', net.rxHost], { timed: true, ns: net.rxNs });
  try {
    const ready = await rx.line((l) => l.type === 'ready', 60_000, 'its ready line');
    const rxPid = rx.realPid();
    const rxCpu0 = procCpu(rxPid);
    const t0 = performance.now();
    const bindArgs = net.mode === 'netns' ? ['--bind', net.txHost] : [];
    const tx = new Proc('udx sender', process.execPath, [join(PEERS, 'udx-send.mjs'), '--file', ctx.src, '--port', String(ready.port), '--host', net.rxHost, ...bindArgs], { timed: true, ns: net.txNs });
    const check = await checkSides(net, rx, tx, NODE_COMM);
    const e = await tx.wait(ctx.timeout * 1000);
    if (e.code !== 0) throw new Error(`udx sender exited ${e.code ?? e.signal}\n${tx.tail()}\n--- receiver\n${rx.tail()}`);
    const t1 = e.at;
    await rx.wait(60_000);
    const verified = (await sha256File(outFile)) === ctx.sha256;
    return { wall_s: (t1 - t0) / 1000, sender: sideFromTime(tx.usage()), receiver: sideFromTime(rx.usage(), rxCpu0), verified, extra: check ? { measured_processes: check } : {} };
  } finally {
    rx.kill('SIGKILL');
    rmSync(outFile, { force: true });
  }
}

function makeCert(dir) {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return { key, cert };
}

async function runSocat(ctx) {
  const outFile = join(work.dir, 'socat-out.bin');
  rmSync(outFile, { force: true });
  const tls = ctx.cert ?? (ctx.cert = makeCert(work.dir));
  const net = ctx.net;
  const port = await freePort(net);
  const v13 = 'openssl-min-proto-version=TLS1.3';
  const rx = new Proc('socat server', 'socat', ['-u', `OPENSSL-LISTEN:${port},bind=${net.rxHost},reuseaddr,cert=${tls.cert},key=${tls.key},verify=0,${v13}`, `CREATE:${outFile}`], { timed: true, ns: net.rxNs });
  try {
    await waitListen(port, rx, 20_000, net.rxHost);
    const rxCpu0 = procCpu(rx.realPid());
    const t0 = performance.now();
    const tx = new Proc('socat client', 'socat', ['-d', '-d', '-u', `OPEN:${ctx.src},rdonly`, `OPENSSL:${net.rxHost}:${port},verify=0,${v13}`], { timed: true, ns: net.txNs });
    const check = await checkSides(net, rx, tx, 'socat');
    const e = await tx.wait(ctx.timeout * 1000);
    if (e.code !== 0) throw new Error(`socat client exited ${e.code ?? e.signal}\n${tx.tail()}\n--- server\n${rx.tail()}`);
    const er = await rx.wait(60_000);
    if (er.code !== 0) throw new Error(`socat server exited ${er.code ?? er.signal}\n${rx.tail()}`);
    const t1 = Math.max(e.at, er.at);
    const verified = (await sha256File(outFile)) === ctx.sha256;
    const cipher = /SSL connection using (\S+)/.exec(tx.stderr)?.[1] ?? null;
    const proto = /SSL proto version used: (\S+)/i.exec(tx.stderr)?.[1] ?? /(TLSv1\.\d)/.exec(tx.stderr)?.[1] ?? null;
    return { wall_s: (t1 - t0) / 1000, sender: sideFromTime(tx.usage()), receiver: sideFromTime(rx.usage(), rxCpu0), verified, extra: { cipher, protocol: proto, ...(check ? { measured_processes: check } : {}) } };
  } finally {
    rx.kill('SIGKILL');
    rmSync(outFile, { force: true });
  }
}

async function runIperf3(ctx) {
  const net = ctx.net;
  const port = await freePort(net);
  const rx = new Proc('iperf3 server', 'iperf3', ['-s', '-1', '-B', net.rxHost, '-p', String(port)], { timed: true, ns: net.rxNs });
  try {
    await waitListen(port, rx, 20_000, net.rxHost);
    const rxCpu0 = procCpu(rx.realPid());
    const t0 = performance.now();
    const tx = new Proc('iperf3 client', 'iperf3', ['-c', net.rxHost, '-p', String(port), '-n', String(ctx.size), '-J'], { timed: true, ns: net.txNs });
    const check = await checkSides(net, rx, tx, 'iperf3');
    const e = await tx.wait(ctx.timeout * 1000);
    if (e.code !== 0) throw new Error(`iperf3 client exited ${e.code ?? e.signal}\n${tx.tail()}\n--- server\n${rx.tail()}`);
    const er = await rx.wait(60_000);
    const t1 = Math.max(e.at, er.at);
    let reported = null;
    let bytes = null;
    let sent = null;
    try {
      const j = JSON.parse(tx.stdoutRaw.join('\n'));
      bytes = j.end.sum_received.bytes;
      sent = j.end.sum_sent.bytes;
      reported = j.end.sum_received.bits_per_second / 8 / MB;
    } catch {}
    return {
      wall_s: (t1 - t0) / 1000,
      sender: sideFromTime(tx.usage()),
      receiver: sideFromTime(rx.usage(), rxCpu0),
      verified: null, // memory to memory: no file
      extra: { iperf3_reported_MBps: reported, bytes_sent: sent, bytes_received: bytes, ...(check ? { measured_processes: check } : {}) },
    };
  } finally {
    rx.kill('SIGKILL');
  }
}

// --- profiles ----------------------------------------------------------------------------------

const maps = new Map();
function sourceMapFor(url) {
  if (maps.has(url)) return maps.get(url);
  let sm = null;
  try {
    if (url.startsWith('file://')) {
      const file = fileURLToPath(url);
      if (existsSync(`${file}.map`)) sm = { map: new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))), dir: dirname(file) };
    }
  } catch {}
  maps.set(url, sm);
  return sm;
}

/** A repo-relative place for a profile call frame, through the source map when there is one. */
function place(cf) {
  const url = cf.url ?? '';
  if (!url) return '';
  const line = cf.lineNumber;
  const sm = line >= 0 ? sourceMapFor(url) : null;
  if (sm) {
    const e = sm.map.findEntry(line, Math.max(0, cf.columnNumber));
    if (e && e.originalSource) {
      const src = e.originalSource.startsWith('file://') ? fileURLToPath(e.originalSource) : resolve(sm.dir, e.originalSource);
      return `${relative(repo, src)}:${e.originalLine + 1}`;
    }
  }
  const path = url.startsWith('file://') ? relative(repo, fileURLToPath(url)) : url;
  return line >= 0 ? `${path}:${line + 1}` : path;
}

/** Self time per function (name + place) from a .cpuprofile, largest first. */
function topSelf(profile, n = 20) {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const selfUs = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  const agg = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id).callFrame;
    const name = cf.functionName || '(anonymous)';
    total += us;
    if (name === '(idle)') idle += us;
    const key = `${name}\t${place(cf)}`;
    agg.set(key, (agg.get(key) ?? 0) + us);
  }
  const busy = total - idle;
  const top = [...agg]
    .filter(([k]) => !k.startsWith('(idle)\t'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => {
      const [fn, where] = k.split('\t');
      return { function: fn, where, self_ms: Math.round(us / 1000), pct_of_busy: Math.round((1000 * us) / busy) / 10 };
    });
  return { total_ms: Math.round(total / 1000), busy_ms: Math.round(busy / 1000), idle_ms: Math.round(idle / 1000), top };
}

function newestProfile(dir) {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  files.sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs);
  return files[0] ? join(dir, files[0]) : null;
}

// --- report ------------------------------------------------------------------------------------

function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function summarize(runs, size) {
  const ok = runs.filter((r) => !r.error);
  const gib = size / GiB;
  const side = (k) => ({
    cpu_s_per_gib: median(ok.map((r) => (r[k].cpu_s == null ? null : r[k].cpu_s / gib))),
    peak_rss_mb: median(ok.map((r) => (r[k].peak_rss_bytes == null ? null : r[k].peak_rss_bytes / MB))),
  });
  return {
    runs_ok: ok.length,
    runs_failed: runs.length - ok.length,
    goodput_MBps: median(ok.map((r) => r.goodput_MBps)),
    wall_s: median(ok.map((r) => r.wall_s)),
    sender: side('sender'),
    receiver: side('receiver'),
    verified: ok.some((r) => r.verified === null) ? null : `${ok.filter((r) => r.verified).length}/${ok.length}`,
  };
}

const fmt = (x, d = 0) => (x == null ? 'n/a' : x.toFixed(d));
const pct = (x) => (x == null ? 'n/a' : `${(100 * x).toFixed(1)} %`);

function table(results, order) {
  const udx = results.udx?.median?.goodput_MBps;
  const socat = results.socat?.median?.goodput_MBps;
  const rows = [['case', 'goodput MB/s', 'CPU s/GiB snd / rcv', 'peak RSS MB snd / rcv', 'x udx+ss', 'x socat', 'verified', 'runs']];
  for (const c of order) {
    const r = results[c];
    const m = r.median;
    if (!m || m.runs_ok === 0) {
      rows.push([LABEL[c], r.unavailable ? 'not run' : 'failed', '', '', '', '', '', `0/${r.runs.length}`]);
      continue;
    }
    rows.push([
      LABEL[c],
      fmt(m.goodput_MBps, 1),
      `${fmt(m.sender.cpu_s_per_gib, 2)} / ${fmt(m.receiver.cpu_s_per_gib, 2)}`,
      `${fmt(m.sender.peak_rss_mb)} / ${fmt(m.receiver.peak_rss_mb)}`,
      udx ? (m.goodput_MBps / udx).toFixed(2) : 'n/a',
      socat ? (m.goodput_MBps / socat).toFixed(2) : 'n/a',
      m.verified ?? 'n/a (no file)',
      `${m.runs_ok}/${r.runs.length}`,
    ]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((x, i) => (i === 0 ? String(x).padEnd(w[i]) : String(x).padStart(w[i]))).join('  ')).join('\n');
}

function targets(results) {
  const w = results['wraith-tmpfs']?.median;
  const udx = results.udx?.median?.goodput_MBps;
  const g = w?.goodput_MBps ?? null;
  const rss = w?.receiver?.peak_rss_mb ?? null;
  const ratio = g != null && udx ? g / udx : null;
  const t = (issue, what, value, unit, ok) => ({ issue, target: what, value, unit, met: value == null ? null : ok(value) });
  return [
    t('node and CLI', 'goodput >= 150 MB/s (1 GiB, to tmpfs)', g, 'MB/s', (v) => v >= 150),
    t('node and CLI', 'receiver peak RSS <= 300 MB (1 GiB)', rss, 'MB', (v) => v <= 300),
    t('data plane', 'goodput >= 600 MB/s', g, 'MB/s', (v) => v >= 600),
    t('data plane', '>= 3.3x udx+secret-stream goodput', ratio, 'x', (v) => v >= 3.3),
  ];
}

// --- main --------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const need = new Set(o.only);
  if (!existsSync(join(repo, 'packages', 'wraith', 'dist', 'cli.js')) && o.only.some((c) => c.startsWith('wraith-'))) {
    throw new Error('packages/wraith is not built: run `npx tsc -b` first');
  }
  if (o.netns && process.getuid?.() !== 0) throw new Error('--netns needs root (network namespaces, AF_XDP)');
  const deb = [['/usr/bin/time', 'time']];
  if (need.has('socat')) deb.push(['socat', 'socat'], ['openssl', 'openssl']);
  if (need.has('iperf3')) deb.push(['iperf3', 'iperf3']);
  const stillMissing = ensureDebian(deb);
  if (stillMissing.includes('time')) throw new Error('GNU time (/usr/bin/time) is missing and could not be installed');
  const unavailable = {};
  if (stillMissing.includes('socat') || stillMissing.includes('openssl')) unavailable.socat = `Debian packages could not be installed: ${stillMissing.join(' ')}`;
  if (stillMissing.includes('iperf3')) unavailable.iperf3 = 'Debian package iperf3 could not be installed';
  if (need.has('udx')) {
    try {
      await import('udx-native');
      await import('@hyperswarm/secret-stream');
    } catch (e) {
      unavailable.udx = `udx-native / @hyperswarm/secret-stream not installed (npm ci): ${e.message}`;
    }
  }

  const tmp = setupTmpfs(o.size);
  let diskDir = null;
  if (need.has('wraith-disk')) {
    try {
      diskDir = setupDisk(o);
    } catch (e) {
      unavailable['wraith-disk'] = e.message;
    }
  }
  const src = join(work.dir, 'payload.bin');
  const loadStart = loadavg();
  console.error(`generating ${o.size} random bytes in ${tmp.how} ...`);
  const sha256 = generate(src, o.size);
  let net = { mode: 'loopback', rxHost: HOST, txHost: HOST, rxNs: null, txNs: null, rxIf: null, txIf: null };
  if (o.netns) {
    cleanups.push(deleteAllNetns);
    process.on('exit', deleteAllNetns); // also after a crash outside main's finally
    // 10.213.R.0/24 lives only inside the two namespaces.
    const pair = createVethPair({ prefix: 'wrt', ifA: 'wta0', ifB: 'wtb0', firstOctet: 213 });
    net = { mode: 'netns', rxHost: pair.ipB, txHost: pair.ipA, rxNs: pair.b, txNs: pair.a, rxIf: pair.ifB, txIf: pair.ifA, subnet: pair.net };
    console.error(`namespaces ${pair.a} (${pair.ifA} ${pair.ipA}, senders) and ${pair.b} (${pair.ifB} ${pair.ipB}, receivers), veth`);
  }
  const ctx = { src, sha256, size: o.size, timeout: o.timeout, cert: null, net };
  const wraithTmpRoot = mkdtempSync(join(work.dir, 'wraith-'));

  const run = {
    'wraith-tmpfs': () => runWraith(ctx, wraithTmpRoot),
    'wraith-disk': () => runWraith(ctx, diskDir),
    'wraith-xdp': () => runWraith(ctx, wraithTmpRoot, { kind: 'wraith-xdp' }),
    'wraith-udp': () => runWraith(ctx, wraithTmpRoot, { kind: 'wraith-udp' }),
    'wraith-dgram': () => runWraith(ctx, wraithTmpRoot, { kind: 'wraith-dgram' }),
    udx: () => runUdx(ctx),
    socat: () => runSocat(ctx),
    iperf3: () => runIperf3(ctx),
  };
  const results = {};
  for (const c of o.only) results[c] = { label: LABEL[c], runs: [], unavailable: unavailable[c] ?? null };

  console.error(
    `transfer bench${o.netns ? ' (--netns)' : ''}: ${o.size} bytes (${(o.size / GiB).toFixed(3)} GiB), ${o.runs} run(s) each of ${o.only.join(', ')}; ` +
      `${cpus().length} CPUs, load average ${loadStart.map((x) => x.toFixed(2)).join(' ')}`,
  );
  for (let i = 0; i < o.runs; i++) {
    for (const c of o.only) {
      if (unavailable[c]) continue;
      const load1 = loadavg()[0];
      let r;
      try {
        r = await run[c]();
        r.goodput_MBps = o.size / r.wall_s / MB;
        if (r.verified === false) r.error = 'received file does not match the source (SHA-256)';
      } catch (e) {
        r = { error: e.message };
      }
      r.run = i + 1;
      r.loadavg_1m = load1;
      results[c].runs.push(r);
      if (r.error) console.error(`  ${LABEL[c]} run ${i + 1}: FAILED: ${r.error}`);
      else
        console.error(
          `  ${LABEL[c]} run ${i + 1}: ${r.goodput_MBps.toFixed(1)} MB/s (${r.wall_s.toFixed(2)} s), CPU ${fmt(r.sender.cpu_s, 2)} / ${fmt(r.receiver.cpu_s, 2)} s, ` +
            `peak RSS ${fmt(r.sender.peak_rss_bytes / MB)} / ${fmt(r.receiver.peak_rss_bytes / MB)} MB, load ${load1.toFixed(2)}` +
            (r.extra?.bytes_retransmitted != null ? `, retransmitted ${r.extra.bytes_retransmitted} B` : '') +
            (typeof r.extra?.transport === 'object' ? `, transport ${r.extra.transport.sender} -> ${r.extra.transport.receiver}` : '') +
            (r.extra?.af_xdp_share ? `, AF_XDP share tx ${pct(r.extra.af_xdp_share.sender_tx)} / rx ${pct(r.extra.af_xdp_share.receiver_rx)}, sealed in UMEM ${pct(r.extra.af_xdp_share.sender_in_place)}` : ''),
        );
    }
  }
  for (const c of o.only) results[c].median = results[c].unavailable ? null : summarize(results[c].runs, o.size);
  const udxG = results.udx?.median?.goodput_MBps;
  const socatG = results.socat?.median?.goodput_MBps;
  for (const c of o.only) {
    const m = results[c].median;
    if (!m?.goodput_MBps) continue;
    m.ratio_to_udx = udxG ? m.goodput_MBps / udxG : null;
    m.ratio_to_socat = socatG ? m.goodput_MBps / socatG : null;
  }

  let profile = null;
  if (o.profile && o.netns) console.error('WRAITH_BENCH_PROFILE: profiling is loopback-only (wraith-tmpfs); ignored with --netns');
  if (o.profile && need.has('wraith-tmpfs')) {
    console.error(`profiling one wraith run (node --cpu-prof) into ${o.profile} ...`);
    for (const side of ['sender', 'receiver']) mkdirSync(join(o.profile, side), { recursive: true });
    try {
      const r = await runWraith(ctx, wraithTmpRoot, { profile: o.profile });
      r.goodput_MBps = o.size / r.wall_s / MB;
      profile = { dir: o.profile, run: r, sides: {} };
      for (const side of ['sender', 'receiver']) {
        const f = newestProfile(join(o.profile, side));
        profile.sides[side] = f ? { file: f, ...topSelf(JSON.parse(readFileSync(f, 'utf8'))) } : { error: 'no .cpuprofile written' };
      }
    } catch (e) {
      profile = { dir: o.profile, error: e.message };
    }
  }

  const loadEnd = loadavg();
  const tgt = need.has('wraith-tmpfs') ? targets(results) : [];
  const doc = {
    bench: 'transfer',
    date: new Date().toISOString(),
    host: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? null, kernel: release(), node: process.version },
    loadavg: { start: loadStart, end: loadEnd },
    size_bytes: o.size,
    runs: o.runs,
    mode: net.mode,
    network:
      net.mode === 'netns'
        ? {
            link: 'veth between two network namespaces',
            subnet: net.subnet,
            sender: { namespace: net.txNs, interface: net.txIf, address: net.txHost },
            receiver: { namespace: net.rxNs, interface: net.rxIf, address: net.rxHost },
          }
        : { link: 'loopback', address: HOST },
    scratch: tmp.how,
    units: { goodput: 'MB/s (10^6 bytes/s), file bytes / wall time', cpu: 'seconds of user+system CPU per GiB moved', rss: 'MB (10^6 bytes), peak resident set' },
    cases: results,
    targets: tgt,
    profile,
  };
  mkdirSync(dirname(o.json), { recursive: true });
  writeFileSync(o.json, `${JSON.stringify(doc, null, 2)}\n`);

  console.log(
    `\ntransfer bench: ${(o.size / GiB).toFixed(3)} GiB over ${net.mode === 'netns' ? `veth between namespaces, ${net.txHost} -> ${net.rxHost}` : HOST}, median of ${o.runs} run(s); ${cpus().length} CPUs; ` +
      `load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} at start, ${loadEnd.map((x) => x.toFixed(2)).join(' ')} at end`,
  );
  console.log(table(results, o.only));
  for (const c of o.only) if (results[c].unavailable) console.log(`${LABEL[c]}: not run: ${results[c].unavailable}`);
  for (const c of o.only) {
    for (const r of results[c].runs) if (r.error) console.log(`${LABEL[c]}: run ${r.run} failed: ${r.error.split('\n')[0]}`);
  }
  if (tgt.length) {
    console.log('\ntargets (wraith to tmpfs, medians):');
    for (const t of tgt) console.log(`  ${t.issue.padEnd(13)} ${t.target.padEnd(40)} ${fmt(t.value, t.unit === 'x' ? 2 : 1).padStart(8)} ${t.unit.padEnd(4)} ${t.met == null ? 'n/a' : t.met ? 'met' : 'NOT met'}`);
  }
  if (profile) {
    if (profile.error) console.log(`\nprofile: failed: ${profile.error}`);
    else {
      console.log(`\nprofiled wraith run: ${profile.run.goodput_MBps.toFixed(1)} MB/s (profiler on); profiles in ${profile.dir}`);
      for (const side of ['sender', 'receiver']) {
        const s = profile.sides[side];
        if (s.error) {
          console.log(`${side}: ${s.error}`);
          continue;
        }
        console.log(`${side}: ${s.busy_ms} ms busy, ${s.idle_ms} ms idle; top self time:`);
        for (const f of s.top.slice(0, 15)) console.log(`  ${String(f.self_ms).padStart(6)} ms ${f.pct_of_busy.toFixed(1).padStart(5)} %  ${f.function}  ${f.where}`);
      }
    }
  }
  console.log(`\nJSON: ${relative(userCwd, o.json) || o.json}`);
  const failed = o.only.filter((c) => results[c].unavailable || results[c].runs.some((r) => r.error));
  return failed.length ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`transfer bench: ${e.message}`);
} finally {
  cleanup();
}
process.exit(code);
