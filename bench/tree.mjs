#!/usr/bin/env node
// Many small files over 127.0.0.1: `npm run bench -- tree [--files N] [--size BYTES]
// [--dirs N] [--runs N] [--json FILE]`.
//
// A generated tree (default 2000 files of 4096 random bytes in 20 directories, in a tmpfs) is
// sent into a tmpfs directory by:
//   wraith        `wraith daemon` + `wraith send DIR`, default configuration (the daemon gets
//                 --auto-accept --admin-listen off --min-free 0 --json): a transfer, a Merkle
//                 check, an fsync (none on a tmpfs) and a no-replace install per file.
//   wraith-256    the same with --max-concurrent 256 on both ends (more files in flight).
//   tar+socat     `tar c DIR | socat OPENSSL` into `socat OPENSSL-LISTEN | tar x` (TLS 1.3,
//                 OpenSSL, a throwaway certificate): one stream, nothing fsynced.
// Every run: a fresh receiver, then the sender; wall time from the sender's start to the later
// exit (wraith's sender exits once the receiver confirmed every file). CPU seconds per side:
// user + system from GNU time for processes that exit (the tar+socat pipeline's shell counts its
// children), the /proc delta for the wraith daemon. The received tree is compared file by file
// (SHA-256) after every run. Runs are interleaved across the cases; the table shows medians.
// socat and GNU time are installed with apt-get when missing. Results go to
// bench/results/tree.json unless --json names a file. Everything is removed at the end.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './lib/args.mjs';
import { freeTcpPort } from './lib/net.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const WRAITH = join(resolve(here, '..'), 'packages', 'wraith', 'bin', 'wraith.js');
const HOST = '127.0.0.1';
const CASES = ['wraith', 'wraith-256', 'tar+socat'];
const o = benchArgs(import.meta.url, { files: 2000, size: 4096, dirs: 20, runs: 3, json: null });
if (o.files < 1 || o.size < 0 || o.dirs < 1 || o.runs < 1) {
  console.error('bench/tree.mjs: --files, --dirs and --runs must be at least 1, --size at least 0');
  process.exit(2);
}
const jsonOut = o.json ? resolve(process.env.INIT_CWD ?? process.cwd(), o.json) : join(here, 'results', 'tree.json');

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {}
const procCpu = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const have = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

const children = new Set();
let work = null;
function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  if (work !== null) {
    spawnSync('umount', [work], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
    work = null;
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

/** Spawns `cmd`; resolves with its exit, stdout and stderr. GNU time's line, with `timed`, is parsed off stderr. */
function run(cmd, args, { timed = false, onStdout = null } = {}) {
  const argv = timed ? ['/usr/bin/time', ['-f', 'TIME %U %S', cmd, ...args]] : [cmd, args];
  const p = spawn(argv[0], argv[1], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => {
    out += d;
    onStdout?.(out);
  });
  p.stderr.on('data', (d) => (err += d));
  const done = new Promise((res) =>
    p.on('close', (code, signal) => {
      children.delete(p);
      const m = /TIME ([\d.]+) ([\d.]+)\s*$/.exec(err);
      res({ code, signal, out, err, at: performance.now(), cpu: m ? Number(m[1]) + Number(m[2]) : null });
    }),
  );
  return { p, done };
}

function makeTree(root) {
  const buf = Buffer.alloc(o.size);
  const sums = new Map();
  for (let d = 0; d < o.dirs; d++) mkdirSync(join(root, `d${d}`), { recursive: true });
  for (let i = 0; i < o.files; i++) {
    const rel = join(`d${i % o.dirs}`, `f${i}.bin`);
    randomFillSync(buf);
    writeFileSync(join(root, rel), buf);
    sums.set(rel, createHash('sha256').update(buf).digest('hex'));
  }
  return sums;
}

function checkTree(root, sums) {
  let n = 0;
  for (const d of readdirSync(root)) {
    for (const f of readdirSync(join(root, d))) {
      const rel = join(d, f);
      if (sums.get(rel) !== createHash('sha256').update(readFileSync(join(root, rel))).digest('hex')) return false;
      n++;
    }
  }
  return n === sums.size;
}

const homes = {};
function wraithHomes() {
  if (homes.rx) return homes;
  const id = (home) => {
    const r = spawnSync(process.execPath, [WRAITH, '--home', home, 'keygen'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`wraith keygen failed: ${r.stderr}`);
    return r.stdout.trim().split('\n').at(-1);
  };
  homes.rx = join(work, 'rx-home');
  homes.tx = join(work, 'tx-home');
  homes.rxId = id(homes.rx);
  id(homes.tx);
  return homes;
}

async function runWraith(src, out, extra) {
  const h = wraithHomes();
  let ready = null;
  const rx = run(process.execPath, [WRAITH, '--home', h.rx, 'daemon', '--bind', `${HOST}:0`, '--output', out, '--auto-accept', '--admin-listen', 'off', '--min-free', '0', '--json', ...extra], {
    onStdout: (s) => {
      const line = s.split('\n').find((l) => l.includes('"ready"') || l.includes('"error"'));
      if (line && ready === null) ready = JSON.parse(line);
    },
  });
  try {
    for (let i = 0; i < 2000 && ready === null; i++) await sleep(10);
    if (ready?.type !== 'ready') throw new Error(`wraith daemon did not start: ${JSON.stringify(ready)}`);
    const cpu0 = procCpu(rx.p.pid);
    const t0 = performance.now();
    const tx = run(process.execPath, [WRAITH, '--home', h.tx, 'send', src, '--to', `${h.rxId}@${HOST}:${ready.udp_addrs?.[0]?.split(':').at(-1) ?? ready.port}`, '--no-progress', '--reconnect-for', '0s', ...extra], { timed: true });
    const e = await tx.done;
    if (e.code !== 0) throw new Error(`wraith send exited ${e.code ?? e.signal}: ${e.err.slice(-2000)}`);
    const rxCpu = procCpu(rx.p.pid) - cpu0;
    return { wall_s: (e.at - t0) / 1000, sender_cpu_s: e.cpu, receiver_cpu_s: rxCpu };
  } finally {
    rx.p.kill('SIGTERM');
    await rx.done;
  }
}

let cert = null;
async function runTarSocat(src, out) {
  if (cert === null) {
    cert = { key: join(work, 'key.pem'), cert: join(work, 'cert.pem') };
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', cert.key, '-out', cert.cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  }
  const port = await freeTcpPort(HOST);
  const v13 = 'openssl-min-proto-version=TLS1.3';
  const rx = run('bash', ['-c', `socat -u OPENSSL-LISTEN:${port},bind=${HOST},reuseaddr,cert=${cert.cert},key=${cert.key},verify=0,${v13} STDOUT | tar x -C ${out}`], { timed: true });
  for (let i = 0; i < 500; i++) {
    if (spawnSync('sh', ['-c', `ss -Hltn 'sport = :${port}' | grep -q LISTEN`]).status === 0) break;
    await sleep(10);
  }
  const t0 = performance.now();
  const tx = run('bash', ['-c', `tar c -C ${dirname(src)} ${relative(dirname(src), src)} | socat -u STDIN OPENSSL:${HOST}:${port},verify=0,${v13}`], { timed: true });
  const e = await tx.done;
  const er = await rx.done;
  if (e.code !== 0 || er.code !== 0) throw new Error(`tar+socat failed: ${e.err.slice(-500)} / ${er.err.slice(-500)}`);
  return { wall_s: (Math.max(e.at, er.at) - t0) / 1000, sender_cpu_s: e.cpu, receiver_cpu_s: er.cpu };
}

const median = (xs) => {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const missing = [['socat', 'socat'], ['/usr/bin/time', 'time']].filter(([b]) => !(b.startsWith('/') ? existsSync(b) : have(b)));
  if (missing.length > 0) {
    spawnSync('apt-get', ['-y', '-q', 'install', '--no-install-recommends', ...missing.map(([, p]) => p)], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  work = mkdtempSync(join(tmpdir(), 'wraith-bench-tree-'));
  const bytes = o.files * o.size;
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil((bytes * 3 + o.files * 8192 * 3) / 1048576) + 64}m`, 'tmpfs', work]).status !== 0) {
    console.error('(not root: the tree stays in the temp directory, not a tmpfs)');
  }
  const src = join(work, 'src', 'tree');
  mkdirSync(src, { recursive: true });
  const sums = makeTree(src);
  const runs = Object.fromEntries(CASES.map((c) => [c, []]));
  for (let r = 0; r < o.runs; r++) {
    for (const c of CASES) {
      const out = join(work, `out-${c}`);
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out);
      const m = c === 'tar+socat' ? await runTarSocat(src, out) : await runWraith(src, out, c === 'wraith-256' ? ['--max-concurrent', '256'] : []);
      m.verified = checkTree(join(out, 'tree'), sums);
      if (!m.verified) throw new Error(`${c}: the received tree differs from the sent one`);
      runs[c].push(m);
      console.error(`run ${r + 1} ${c}: ${m.wall_s.toFixed(3)} s`);
      rmSync(out, { recursive: true, force: true });
    }
  }
  const results = CASES.map((c) => {
    const wall = median(runs[c].map((m) => m.wall_s));
    return {
      case: c,
      wall_s: wall,
      files_per_s: o.files / wall,
      mb_per_s: bytes / wall / 1e6,
      sender_cpu_s: median(runs[c].map((m) => m.sender_cpu_s)),
      receiver_cpu_s: median(runs[c].map((m) => m.receiver_cpu_s)),
      runs: runs[c],
    };
  });
  const base = results.find((r) => r.case === 'tar+socat');
  const fmt = (x, d) => (x == null ? 'n/a' : x.toFixed(d));
  console.log(`\n${o.files} files of ${o.size} B in ${o.dirs} directories over ${HOST}, median of ${o.runs}\n`);
  console.log('| case | wall s | files/s | MB/s | CPU s snd / rcv | × tar+socat (files/s) |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.case} | ${fmt(r.wall_s, 3)} | ${fmt(r.files_per_s, 0)} | ${fmt(r.mb_per_s, 1)} | ${fmt(r.sender_cpu_s, 2)} / ${fmt(r.receiver_cpu_s, 2)} | ${fmt(r.files_per_s / base.files_per_s, 2)} |`);
  }
  mkdirSync(dirname(jsonOut), { recursive: true });
  writeFileSync(jsonOut, `${JSON.stringify({ bench: 'tree', files: o.files, size: o.size, dirs: o.dirs, runs: o.runs, node: process.version, results }, null, 2)}\n`);
  console.log(`\nJSON: ${jsonOut}`);
}

main()
  .catch((e) => {
    console.error(`bench/tree.mjs: ${e.stack ?? e}`);
    process.exitCode = 1;
  })
  .finally(cleanup);
