#!/usr/bin/env node
// Fairness of wraith against one kernel TCP CUBIC flow (iperf3) through a
// 20 Mbit/s tbf bottleneck. A benchmark, not a test: it prints Jain's index
// of the two flows' throughputs per run and the median over the runs.
//
// Usage (root; it imports nothing from the packages but runs the built CLI,
// so build first):
//   npx tsc -b && node bench/fairness.mjs [--runs 3] [--seconds 30] [--rate-mbit 20]
//       [--burst 32kbit] [--latency 50ms] [--size-mib 256] [--congestion bbr|cubic] [--json FILE]
//
// Topology, all created here (bench/lib/netns.mjs) and removed at the end (also on failure or
// Ctrl-C); nothing outside the two namespaces is touched:
//   namespace A (senders)  --veth-->  namespace B (receivers)
//   A's egress: tc tbf rate 20mbit burst 32kbit latency 50ms (the bottleneck)
// B runs `iperf3 -s` and `wraith daemon`; A runs `iperf3 -c -C cubic -t 30`
// and `wraith send` of a large random file. The wraith flow starts first; once
// it is sending, iperf3 starts, and wraith's throughput is what the receiver
// wrote to disk (the partial file's allocated bytes) during iperf3's 30 s.
// iperf3 is installed with apt-get when missing. Results go to
// bench/results/fairness.json unless --json names a file.
import { execFileSync, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { benchArgs } from './lib/args.mjs';
import { createVethPair, deleteAllNetns } from './lib/netns.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const WRAITH = join(repo, 'packages', 'wraith', 'bin', 'wraith.js');

const opts = benchArgs(import.meta.url, { runs: 3, seconds: 30, 'rate-mbit': 20, burst: '32kbit', latency: '50ms', 'size-mib': 256, congestion: 'bbr', json: join(here, 'results', 'fairness.json') });
if (process.getuid?.() !== 0) {
  console.error('bench/fairness.mjs needs root (network namespaces, tc)');
  process.exit(2);
}
if (!existsSync(join(repo, 'packages', 'wraith', 'dist', 'cli.js'))) {
  console.error('packages/wraith/dist is missing: run `npx tsc -b` first');
  process.exit(2);
}

function sh(cmd, args, o = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...o });
}

function have(cmd) {
  try {
    sh('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

function ensureIperf3() {
  if (have('iperf3')) return;
  console.log('installing iperf3 (apt-get)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    sh('apt-get', ['install', '-y', '-qq', 'iperf3'], { env });
  } catch {
    sh('apt-get', ['update', '-qq'], { env });
    sh('apt-get', ['install', '-y', '-qq', 'iperf3'], { env });
  }
  if (!have('iperf3')) throw new Error('iperf3 is still missing after apt-get install');
}

// --- cleanup -------------------------------------------------------------------------------------
const children = new Set();
let workDir = null;

function cleanup() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
  children.clear();
  deleteAllNetns();
  if (workDir) {
    try {
      rmSync(workDir, { recursive: true, force: true });
    } catch {}
    workDir = null;
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

function spawnIn(ns, cmd, args, name) {
  const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(c);
  c.on('exit', () => children.delete(c));
  c.name = name;
  c.errText = '';
  c.stderr.on('data', (d) => (c.errText = (c.errText + d).slice(-4000)));
  return c;
}

function exited(c) {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve(c.exitCode);
    c.once('exit', (code) => resolve(code));
  });
}

function lines(c, onLine) {
  createInterface({ input: c.stdout }).on('line', (l) => {
    try {
      onLine(JSON.parse(l));
    } catch {}
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function allocated(dir) {
  let best = 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.wraith-part') && name !== 'big.bin') continue;
    try {
      best = Math.max(best, statSync(join(dir, name)).blocks * 512);
    } catch {}
  }
  return best;
}

function jain(xs) {
  const s = xs.reduce((a, b) => a + b, 0);
  const q = xs.reduce((a, b) => a + b * b, 0);
  return q === 0 ? 0 : (s * s) / (xs.length * q);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// --- setup ---------------------------------------------------------------------------------------
ensureIperf3();
// Namespaces wfair-PID-RANDOM-a/b, veth vfa (A, 10.77.R.1/24) <-> vfb (B, .2), static
// neighbours (bench/lib/netns.mjs); cleanup() deletes both namespaces and with them the pair.
const pair = createVethPair({ prefix: 'wfair', ifA: 'vfa', ifB: 'vfb', firstOctet: 77 });
const { a: nsA, b: nsB, ipB } = pair;
// Segmentation offloads off, so tbf meters wire-sized packets.
for (const [ns, dev] of [
  [nsA, pair.ifA],
  [nsB, pair.ifB],
]) {
  try {
    sh('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  } catch {}
}
sh('ip', ['netns', 'exec', nsA, 'tc', 'qdisc', 'add', 'dev', pair.ifA, 'root', 'tbf', 'rate', `${opts.rateMbit}mbit`, 'burst', opts.burst, 'latency', opts.latency]);

workDir = mkdtempSync(join(tmpdir(), 'wraith-fairness-'));
const homeA = join(workDir, 'a');
const homeB = join(workDir, 'b');
sh(process.execPath, [WRAITH, '--home', homeA, 'keygen']);
sh(process.execPath, [WRAITH, '--home', homeB, 'keygen']);
const src = join(workDir, 'big.bin');
{
  const fd = openSync(src, 'w');
  const block = Buffer.alloc(4 << 20);
  for (let i = 0; i < opts.sizeMib / 4; i++) {
    randomFillSync(block);
    writeSync(fd, block);
  }
  closeSync(fd);
}

console.log(
  `fairness: wraith (${opts.congestion}) vs iperf3 TCP cubic through tbf ${opts.rateMbit} Mbit/s (burst ${opts.burst}, latency ${opts.latency}), ` +
    `${opts.runs} x ${opts.seconds} s; kernel ${sh('uname', ['-r']).trim()}`,
);

const runs = [];
try {
  for (let run = 1; run <= opts.runs; run++) {
    const out = join(workDir, `out${run}`);
    mkdirSync(out);
    const daemon = spawnIn(nsB, process.execPath, [WRAITH, '--home', homeB, 'daemon', '--json', '--bind', `${ipB}:0`, '--output', out, '--auto-accept', '--admin-listen', 'off', '--min-free', '0'], 'daemon');
    let ready = null;
    lines(daemon, (e) => {
      if (e.type === 'ready') ready = e;
    });
    for (let i = 0; i < 200 && !ready; i++) await sleep(50);
    if (!ready) throw new Error(`the daemon did not start: ${daemon.errText}`);
    const port = Number(/:(\d+)$/.exec(ready.udp_addrs[0])[1]);
    const iperfServer = spawnIn(nsB, 'iperf3', ['-s', '-1', '-B', ipB, '-p', '5201'], 'iperf3 -s');
    await sleep(300);

    const send = spawnIn(nsA, process.execPath, [WRAITH, '--home', homeA, 'send', src, '--to', `${ready.peer_id}@${ipB}:${port}`, '--json', '--no-progress', '--congestion', opts.congestion], 'send');
    let started = false;
    lines(send, (e) => {
      if (e.type === 'started') started = true;
    });
    for (let i = 0; i < 400 && !started; i++) await sleep(50);
    if (!started) throw new Error(`wraith send did not start: ${send.errText}`);
    // Let it reach the bottleneck rate first, then the TCP flow joins.
    await sleep(2000);

    const w0 = allocated(out);
    const t0 = performance.now();
    const client = spawnIn(nsA, 'iperf3', ['-c', ipB, '-p', '5201', '-t', String(opts.seconds), '-C', 'cubic', '-J'], 'iperf3 -c');
    let json = '';
    client.stdout.on('data', (d) => (json += d));
    const samples = [];
    const sampler = setInterval(() => samples.push({ t: (performance.now() - t0) / 1000, bytes: allocated(out) - w0 }), 1000);
    const code = await exited(client);
    const t1 = performance.now();
    const w1 = allocated(out);
    clearInterval(sampler);
    if (code !== 0) throw new Error(`iperf3 -c failed (${code}): ${client.errText}`);
    const ij = JSON.parse(json);
    const tcpBps = ij.end.sum_received.bits_per_second;
    const secs = (t1 - t0) / 1000;
    const wraithBps = ((w1 - w0) * 8) / secs;
    const j = jain([wraithBps, tcpBps]);
    runs.push({ run, wraithMbit: wraithBps / 1e6, tcpMbit: tcpBps / 1e6, jain: j, seconds: secs, tcpRetransmits: ij.end.sum_sent.retransmits ?? null, wraithPerSecondMbit: samples.map((s, i) => ((s.bytes - (i ? samples[i - 1].bytes : 0)) * 8) / 1e6) });
    console.log(
      `run ${run}: wraith ${(wraithBps / 1e6).toFixed(2)} Mbit/s, tcp cubic ${(tcpBps / 1e6).toFixed(2)} Mbit/s ` +
        `(retransmits ${ij.end.sum_sent.retransmits ?? '?'}), sum ${((wraithBps + tcpBps) / 1e6).toFixed(2)} of ${opts.rateMbit}, Jain ${j.toFixed(3)}`,
    );
    for (const c of [send, daemon, iperfServer]) {
      c.kill('SIGKILL');
      await exited(c);
    }
    rmSync(out, { recursive: true, force: true });
  }
} finally {
  cleanup();
}

const med = median(runs.map((r) => r.jain));
console.log(`median Jain index over ${runs.length} runs: ${med.toFixed(3)} (1 = equal shares, 0.5 = one flow takes everything)`);
mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(opts.json, `${JSON.stringify({ date: new Date().toISOString(), options: opts, runs, medianJain: med }, null, 2)}\n`);
console.log(`results: ${opts.json}`);
