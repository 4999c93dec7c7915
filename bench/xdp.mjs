#!/usr/bin/env node
// AF_XDP vs node:dgram: packets per second through wraith's Transport
// interface, TX and RX, in one run. A benchmark, not a test: the numbers move
// with the machine and its load.
//
// Usage (root; it imports the built packages, so build first):
//   npx tsc -b && node bench/xdp.mjs [--runs 3] [--seconds 2] [--size 1400] [--batch 64]
//       [--rx-rate PPS] [--json FILE]
//   (also: npm run bench -- xdp ...)
//
// Setup: two network namespaces joined by one veth pair (wa0 / wb0, 10.x
// addresses, static neighbour entries), created here and deleted at the end,
// also on failure or Ctrl-C. Nothing outside them is touched. Each side runs
// in its own Node process (a process doing XDP must live in its namespace).
//
// TX case: in namespace A the transport under test (createXdpTransport on
//   wa0, or the node:dgram transport from @wraith/transport-udp bound to A's
//   address) sends pre-built 1400-byte datagrams to B, one 64-datagram
//   DatagramBatch per send() (the batch API; no crypto, no per-datagram
//   work), as fast as send()/onWritable allow. wb0 in B carries an XDP
//   program that drops everything (the same cheap sink for both). TX pps =
//   packets that left wa0 (its kernel counter) per second.
// RX case: in namespace A the transport under test receives (onRecv, counted
//   per batch); in namespace B a generator floods A with 1400-byte datagrams
//   through the AF_XDP transport on wb0 (the fastest sender available here).
//   RX pps = datagrams delivered to onRecv per second; the offered load
//   (packets that reached wa0) is reported beside it, because a receiver
//   that keeps up is measured at the generator's rate. The generator floods
//   (as fast as it can) unless --rx-rate paces it; a receiver that cannot
//   keep up with a flood delivers less than its best (the kernel drops).
// Each case runs --seconds after a 0.5 s warm-up, --runs times alternating
// the transports; the table shows the median. Results go to
// bench/results/xdp.json unless --json names a file.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './lib/args.mjs';
import { createVethPair, deleteAllNetns } from './lib/netns.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const PORT = 4433;
const WARMUP_MS = 500;

const USAGE = 'usage: npx tsc -b && node bench/xdp.mjs [--runs N] [--seconds S] [--size BYTES] [--batch N] [--rx-rate PPS] [--json FILE]   (root)';

function parseOptions() {
  const o = benchArgs(import.meta.url, { runs: 3, seconds: 2, size: 1400, batch: 64, 'rx-rate': 0, json: join(here, 'results', 'xdp.json') }, { usage: USAGE });
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a positive integer');
  if (!(o.seconds > 0) || o.seconds > 60) throw new Error('--seconds must be in (0, 60]');
  if (!Number.isInteger(o.size) || o.size < 64 || o.size > 1472) throw new Error('--size must be in 64..1472 (one 1500-byte MTU frame)');
  if (!Number.isInteger(o.batch) || o.batch < 1 || o.batch > 1024) throw new Error('--batch must be in 1..1024');
  if (!(o.rxRate >= 0)) throw new Error('--rx-rate must be a number of packets per second (0: flood)');
  return o;
}

// --- worker side (runs inside a namespace) -----------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const emit = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);

function ifCounter(ifname, name) {
  return Number(readFileSync(`/sys/class/net/${ifname}/statistics/${name}`, 'utf8'));
}

async function openTransport(kind, c) {
  if (kind === 'xdp') {
    const { createXdpTransport } = await import('@wraith/transport-xdp');
    return createXdpTransport({ interface: c.ifname, port: PORT, bindHost: c.src, batchSize: c.batch });
  }
  const { createUdpTransport } = await import('@wraith/transport-udp');
  // backend 'dgram': node:dgram even where a native UDP backend exists.
  return createUdpTransport({ bind: `${c.src}:${PORT}`, backend: 'dgram', maxDatagram: 1452 });
}

/** A batch of `batch` identical pre-built datagrams to `dst`. */
async function prebuilt(c) {
  const { DatagramBatch } = await import('@wraith/core');
  const dst = { host: c.dst, port: PORT };
  const b = new DatagramBatch(c.batch, c.size);
  const payload = randomBytes(c.size);
  for (let i = 0; i < c.batch; i++) b.push(payload, dst);
  return b;
}

/**
 * Sends the batch over and over: send() until it refuses, then wait for
 * onWritable (as the node's driver does); yields to the event loop every 64 batches in any case (the
 * AF_XDP transport kicks the kernel once per loop turn).
 */
function blast(t, batch, counts, rate = 0) {
  let running = true;
  let waiting = false;
  const start = process.hrtime.bigint();
  const pump = () => {
    waiting = false;
    for (let k = 0; running && k < 64; k++) {
      if (rate > 0 && counts.accepted >= (rate * Number(process.hrtime.bigint() - start)) / 1e9) {
        setTimeout(pump, 1); // paced: ahead of schedule
        return;
      }
      const n = t.send(batch);
      counts.accepted += n;
      if (n < batch.count) {
        waiting = true;
        counts.refused++;
        return;
      }
    }
    if (running) setImmediate(pump);
  };
  // Resumed on the next turn, not inside the callback: node:dgram completes
  // sends on process.nextTick, and sending again from there would keep the
  // nextTick queue from ever draining.
  t.onWritable(() => {
    if (waiting && running) {
      waiting = false;
      setImmediate(pump);
    }
  });
  pump();
  return () => {
    running = false;
  };
}

async function workerTx(c) {
  const t = await openTransport(c.kind, c);
  const batch = await prebuilt(c);
  const counts = { accepted: 0, refused: 0 };
  const stop = blast(t, batch, counts);
  await sleep(WARMUP_MS);
  const a0 = counts.accepted;
  const w0 = ifCounter(c.ifname, 'tx_packets');
  const t0 = process.hrtime.bigint();
  await sleep(c.seconds * 1000);
  const w1 = ifCounter(c.ifname, 'tx_packets');
  const a1 = counts.accepted;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  stop();
  const stats = t.stats();
  await t.close();
  emit({ event: 'result', accepted: a1 - a0, wire: w1 - w0, seconds: secs, refused: counts.refused, stats });
}

async function workerRx(c) {
  const t = await openTransport(c.kind, c);
  let received = 0;
  let first = null;
  t.onRecv((b) => {
    received += b.count;
    if (first === null) first = Date.now();
  });
  emit({ event: 'ready' });
  const deadline = Date.now() + 10_000;
  while (first === null && Date.now() < deadline) await sleep(5);
  if (first === null) throw new Error('rx: nothing arrived within 10 s');
  await sleep(WARMUP_MS);
  const r0 = received;
  const w0 = ifCounter(c.ifname, 'rx_packets');
  const t0 = process.hrtime.bigint();
  await sleep(c.seconds * 1000);
  const r1 = received;
  const w1 = ifCounter(c.ifname, 'rx_packets');
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const stats = t.stats();
  await t.close();
  emit({ event: 'result', received: r1 - r0, wire: w1 - w0, seconds: secs, stats });
}

/** RX load: the AF_XDP transport in B, sending until stdin closes. */
async function workerGen(c) {
  const t = await openTransport('xdp', c);
  const batch = await prebuilt(c);
  const counts = { accepted: 0, refused: 0 };
  const stop = blast(t, batch, counts, c.rate);
  emit({ event: 'ready' });
  await new Promise((r) => {
    process.stdin.on('end', r);
    process.stdin.on('close', r);
    process.stdin.resume();
  });
  stop();
  await t.close();
  process.exit(0);
}

/** TX sink: an XDP program returning XDP_DROP on `ifname`, held until stdin closes (a BPF link: gone with us). */
async function workerSink(c) {
  const { BpfAsm, R0, XDP_DROP, nativeXdp } = await import('@wraith/transport-xdp');
  const x = nativeXdp();
  const prog = x.progLoadXdp(new BpfAsm().movImm(R0, XDP_DROP).exit().assemble(), 'wraith_bench_drop');
  const link = x.linkCreateXdp(prog, x.ifIndex(c.ifname), 'native');
  emit({ event: 'ready' });
  await new Promise((r) => {
    process.stdin.on('end', r);
    process.stdin.on('close', r);
    process.stdin.resume();
  });
  x.closeFd(link);
  x.closeFd(prog);
  process.exit(0);
}

async function worker(c) {
  // Exit with the parent: a killed benchmark leaves no sender behind.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  const role = { tx: workerTx, rx: workerRx, gen: workerGen, sink: workerSink }[c.role];
  if (!role) throw new Error(`unknown worker role ${c.role}`);
  try {
    await role(c);
  } catch (e) {
    emit({ event: 'error', message: e?.message ?? String(e), code: e?.code ?? null });
    process.exit(1);
  }
  process.exit(0);
}

// --- orchestration (root namespace: creates and deletes the namespaces only) --------------------

const children = new Set();

function cleanup() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
  deleteAllNetns();
}

/** Namespaces wrb-PID-RANDOM-a/b, veth wa0 (A) <-> wb0 (B), static neighbours: bench/lib/netns.mjs. */
function setup() {
  const p = createVethPair({ prefix: 'wrb', ifA: 'wa0', ifB: 'wb0' });
  return { a: p.a, b: p.b, ifA: p.ifA, ifB: p.ifB, ipA: p.ipA, ipB: p.ipB };
}

class Worker {
  constructor(ns, cfg) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, self, '--worker', JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(this.proc);
    this.messages = [];
    this.stderr = '';
    this.waiters = [];
    this.proc.stderr.on('data', (d) => (this.stderr += d));
    createInterface({ input: this.proc.stdout }).on('line', (l) => {
      try {
        this.messages.push(JSON.parse(l));
      } catch {
        this.messages.push({ event: 'stdout', line: l });
      }
      this.wake();
    });
    this.exited = new Promise((r) =>
      this.proc.on('exit', (code) => {
        children.delete(this.proc);
        r(code);
        this.wake();
      }),
    );
    this.proc.on('exit', () => (this.done = true));
  }
  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  async wait(event, ms = 30_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.messages.find((x) => x.event === event || x.event === 'error');
      if (m?.event === 'error') throw new Error(`worker: ${m.message}\n${this.stderr}`);
      if (m) return m;
      if (this.done) throw new Error(`worker exited before '${event}':\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`worker: no '${event}' within ${ms} ms\n${this.stderr}`);
      await new Promise((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  async stop() {
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

async function txCase(env, kind, o) {
  const sink = new Worker(env.b, { role: 'sink', ifname: env.ifB });
  try {
    await sink.wait('ready');
    const w = new Worker(env.a, { role: 'tx', kind, ifname: env.ifA, src: env.ipA, dst: env.ipB, seconds: o.seconds, size: o.size, batch: o.batch });
    const r = await w.wait('result', (o.seconds + 30) * 1000);
    await w.stop();
    return { pps: r.wire / r.seconds, accepted_pps: r.accepted / r.seconds, refused: r.refused, seconds: r.seconds, extra: pick(r.stats) };
  } finally {
    await sink.stop();
  }
}

async function rxCase(env, kind, o) {
  const w = new Worker(env.a, { role: 'rx', kind, ifname: env.ifA, src: env.ipA, seconds: o.seconds });
  await w.wait('ready');
  const gen = new Worker(env.b, { role: 'gen', ifname: env.ifB, src: env.ipB, dst: env.ipA, size: o.size, batch: o.batch, rate: o.rxRate });
  try {
    await gen.wait('ready');
    const r = await w.wait('result', (o.seconds + 30) * 1000);
    return { pps: r.received / r.seconds, offered_pps: r.wire / r.seconds, seconds: r.seconds, extra: pick(r.stats) };
  } finally {
    await gen.stop();
    await w.stop();
  }
}

/** The counters worth keeping from stats(). */
function pick(s) {
  const e = s.extra ?? {};
  const out = { txPackets: s.txPackets, rxPackets: s.rxPackets, txDropped: s.txDropped, rxDropped: s.rxDropped };
  for (const k of ['xdp_rx_packets', 'kernel_rx_packets', 'xdp_tx_packets', 'kernel_tx_packets', 'rx_dropped', 'rx_ring_full', 'fill_ring_empty_descs', 'tx_kicks', 'tx_kick_dropped', 'poll_wakeups', 'native_mode', 'zero_copy', 'kernel_drops']) {
    if (e[k] !== undefined) out[k] = e[k];
  }
  return out;
}

function median(xs) {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const kpps = (v) => `${(v / 1000).toFixed(0)} k`;

async function main() {
  const o = parseOptions();
  if (process.getuid?.() !== 0) {
    console.error('bench/xdp.mjs needs root (network namespaces, BPF, AF_XDP)');
    process.exit(2);
  }
  for (const p of ['packages/transport-xdp/dist/index.js', 'packages/transport-udp/dist/index.js', 'packages/core/dist/index.js']) {
    if (!existsSync(join(here, '..', p))) {
      console.error('bench/xdp.mjs imports the built packages: run `npx tsc -b` first');
      process.exit(2);
    }
  }
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
  process.on('exit', cleanup);
  const loadBefore = loadavg();
  const env = setup();
  const kinds = ['dgram', 'xdp'];
  const runs = { dgram: { tx: [], rx: [] }, xdp: { tx: [], rx: [] } };
  try {
    for (let run = 1; run <= o.runs; run++) {
      for (const kind of run % 2 ? kinds : [...kinds].reverse()) {
        const tx = await txCase(env, kind, o);
        runs[kind].tx.push(tx);
        const rx = await rxCase(env, kind, o);
        runs[kind].rx.push(rx);
        console.error(
          `run ${run} ${kind.padEnd(5)}: TX ${kpps(tx.pps)}pps (accepted ${kpps(tx.accepted_pps)}pps)  RX ${kpps(rx.pps)}pps of ${kpps(rx.offered_pps)}pps offered`,
        );
      }
    }
  } finally {
    cleanup();
  }

  const summary = {};
  for (const kind of kinds) {
    summary[kind] = {
      tx_pps: median(runs[kind].tx.map((r) => r.pps)),
      rx_pps: median(runs[kind].rx.map((r) => r.pps)),
      rx_offered_pps: median(runs[kind].rx.map((r) => r.offered_pps)),
    };
  }
  const ratio = { tx: summary.xdp.tx_pps / summary.dgram.tx_pps, rx: summary.xdp.rx_pps / summary.dgram.rx_pps };
  // Each run measures both transports back to back: the per-run ratio is
  // less exposed to load that changes between runs (a shared VM).
  const perRun = runs.xdp.tx.map((_, i) => ({
    tx: runs.xdp.tx[i].pps / runs.dgram.tx[i].pps,
    rx: runs.xdp.rx[i].pps / runs.dgram.rx[i].pps,
  }));
  const ratioPerRunMedian = { tx: median(perRun.map((r) => r.tx)), rx: median(perRun.map((r) => r.rx)) };
  const gbit = (pps) => ((pps * o.size * 8) / 1e9).toFixed(2);
  const rows = [
    ['transport', 'TX pps', 'TX Gbit/s', 'RX pps', 'RX Gbit/s', 'RX offered pps'],
    ...kinds.map((k) => [
      k === 'xdp' ? 'AF_XDP' : 'node:dgram',
      Math.round(summary[k].tx_pps).toLocaleString('en-US'),
      gbit(summary[k].tx_pps),
      Math.round(summary[k].rx_pps).toLocaleString('en-US'),
      gbit(summary[k].rx_pps),
      Math.round(summary[k].rx_offered_pps).toLocaleString('en-US'),
    ]),
    ['AF_XDP / dgram', `${ratio.tx.toFixed(2)}x`, '', `${ratio.rx.toFixed(2)}x`, '', ''],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  console.log(`\n${o.size}-byte datagrams, batches of ${o.batch}, median of ${o.runs} x ${o.seconds} s (veth between two namespaces)`);
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  '));
  console.log(
    `per-run AF_XDP / dgram: TX ${perRun.map((r) => r.tx.toFixed(2)).join(', ')} (median ${ratioPerRunMedian.tx.toFixed(2)}x); RX ${perRun.map((r) => r.rx.toFixed(2)).join(', ')} (median ${ratioPerRunMedian.rx.toFixed(2)}x)`,
  );
  console.log(`load average before/after: ${loadBefore.map((v) => v.toFixed(2)).join(' ')} / ${loadavg().map((v) => v.toFixed(2)).join(' ')} (${cpus().length} CPUs)`);
  const target = 2;
  console.log(`target AF_XDP >= ${target}x dgram: TX ${ratio.tx >= target ? 'met' : 'NOT met'}, RX ${ratio.rx >= target ? 'met' : 'NOT met'}`);

  const out = {
    bench: 'xdp',
    date: new Date().toISOString(),
    machine: { kernel: release(), cpus: cpus().length, cpu_model: cpus()[0]?.model ?? null, loadavg_before: loadBefore, loadavg_after: loadavg(), node: process.version },
    options: { runs: o.runs, seconds: o.seconds, size: o.size, batch: o.batch, rx_rate: o.rxRate, warmup_ms: WARMUP_MS },
    method: {
      tx: 'sender in namespace A through Transport.send (pre-built datagrams, one batch per call); pps = wa0 tx_packets per second; XDP_DROP sink on wb0',
      rx: 'receiver in namespace A through Transport.onRecv; load from the AF_XDP transport in namespace B; pps = datagrams delivered per second; offered = wa0 rx_packets per second',
    },
    summary,
    ratio,
    ratio_per_run: perRun,
    ratio_per_run_median: ratioPerRunMedian,
    target: { ratio: target, tx_met: ratio.tx >= target, rx_met: ratio.rx >= target },
    runs,
  };
  mkdirSync(dirname(o.json), { recursive: true });
  writeFileSync(o.json, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`results: ${o.json}`);
}

if (process.argv[2] === '--worker') {
  await worker(JSON.parse(process.argv[3]));
} else {
  await main().catch((e) => {
    cleanup();
    console.error(e?.stack ?? String(e));
    process.exit(1);
  });
}
