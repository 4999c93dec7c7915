// Measures what the README's "RX wakeups" section rests on (needs root and a
// built tree): echo round-trip through the AF_XDP transport vs a kernel UDP
// echo, RX rate and frames per uv_poll wakeup under a flood, and the cost of
// one main <-> worker_threads hop (what a worker-thread RX design would add).
// Everything runs in two throwaway namespaces joined by veth.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../../../test/xdp/fixtures');
const tag = randomBytes(3).toString('hex');
const A = `wr-${process.pid}-${tag}a`;
const B = `wr-${process.pid}-${tag}b`;
const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8' });

function child(ns, script, args = []) {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, join(FIX, script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  let readyResolve;
  const ready = new Promise((r) => (readyResolve = r));
  createInterface({ input: p.stdout }).on('line', (l) => {
    const m = JSON.parse(l);
    if (m.event === 'ready') readyResolve(m);
    if (m.event === 'error') throw new Error(JSON.stringify(m));
    if (m.id && waiting.has(m.id)) waiting.get(m.id)(m);
  });
  let n = 0;
  const request = (cmd) =>
    new Promise((r) => {
      const id = `r${++n}`;
      waiting.set(id, r);
      p.stdin.write(JSON.stringify({ ...cmd, id }) + '\n');
    });
  return { p, ready, request };
}

async function workerHop(rounds) {
  const w = new Worker('const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage(m));', { eval: true });
  const times = [];
  const buf = new Uint8Array(64);
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((r) => {
      w.once('message', r);
      w.postMessage(buf);
    });
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  await w.terminate();
  times.sort((a, b) => a - b);
  return { p50: times[times.length >> 1], p99: times[Math.floor(times.length * 0.99)] };
}

try {
  ip('netns', 'add', A);
  ip('netns', 'add', B);
  ip('-n', A, 'link', 'add', 'wa0', 'type', 'veth', 'peer', 'name', 'wb0', 'netns', B);
  ip('-n', A, 'addr', 'add', '10.77.0.1/24', 'dev', 'wa0');
  ip('-n', B, 'addr', 'add', '10.77.0.2/24', 'dev', 'wb0');
  for (const [ns, dev] of [[A, 'wa0'], [B, 'wb0'], [A, 'lo'], [B, 'lo']]) ip('-n', ns, 'link', 'set', dev, 'up');

  const peer = child(B, 'udp-peer.mjs');
  await peer.ready;
  const echo = child(A, 'xdp-node.mjs', [JSON.stringify({ init: { interface: 'wa0', port: 4433 }, plainEchoPort: 5555 })]);
  await echo.ready;
  await peer.request({ cmd: 'rtt', target: { host: '10.77.0.1', port: 4433 }, count: 200 }); // warm-up, resolves the MAC
  const rttXdp = await peer.request({ cmd: 'rtt', target: { host: '10.77.0.1', port: 4433 }, count: 3000 });
  const rttKernel = await peer.request({ cmd: 'rtt', target: { host: '10.77.0.1', port: 5555 }, count: 3000 });
  await echo.request({ cmd: 'close' });

  // RING=2048 node rx-wakeup.mjs compares ring sizes; default: the transport's.
  const ring = process.env.RING ? { ringSize: Number(process.env.RING) } : {};
  const sink = child(A, 'xdp-node.mjs', [JSON.stringify({ init: { interface: 'wa0', port: 4433, ...ring }, echo: false })]);
  await sink.ready;
  const f = await peer.request({ cmd: 'flood', target: { host: '10.77.0.1', port: 4433 }, count: 300000, size: 1200 });
  await new Promise((r) => setTimeout(r, 300));
  const st = (await sink.request({ cmd: 'stats' })).stats.extra;
  await sink.request({ cmd: 'close' });
  const hop = await workerHop(3000);

  const out = {
    rttMicros: { xdpEcho: rttXdp, kernelEcho: rttKernel },
    flood: {
      sent: f.sent,
      sendSecs: +f.secs.toFixed(3),
      senderPps: Math.round(f.sent / f.secs),
      received: st.xdp_rx_packets,
      rxRingFull: st.rx_ring_full,
      rxDropped: st.rx_dropped,
      pollWakeups: st.poll_wakeups,
      framesPerWakeup: +(st.xdp_rx_packets / Math.max(1, st.poll_wakeups)).toFixed(1),
    },
    workerHopMicros: hop,
  };
  console.log(JSON.stringify(out, null, 2));
  peer.p.kill('SIGKILL');
} finally {
  for (const ns of [A, B]) {
    try {
      ip('netns', 'del', ns);
    } catch {}
  }
}
