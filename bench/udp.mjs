#!/usr/bin/env node
// UDP transport throughput on loopback: the native path (sendmmsg + UDP GSO, recvmmsg +
// UDP GRO), the native path with both offloads off (plain sendmmsg/recvmmsg), and
// node:dgram. Two processes: this one sends pre-built datagrams (default 1400 B, batches
// of 64, the same DatagramBatch every time) as fast as the transport accepts them; a
// forked child receives. Rates are what ARRIVED, over the receiver's first-to-last
// datagram window; the sender's rate and the loss (kernel receive-buffer drops) are shown too.
//
// Build first (plain Node imports the compiled packages):
//   npx tsc -b packages/transport-udp      (or `npx tsc -b` for everything)
//   cd native && node scripts/install.mjs  (the addon; without it only the dgram row runs)
// Run:
//   node bench/udp.mjs [--trials 3] [--seconds 2] [--batch 64] [--size 1400]
//                      [--only native,native-plain,dgram] [--host 127.0.0.1] [--json FILE]
// Prints a table (median of the trials, by received datagrams/s) and writes JSON to
// bench/results/udp.json unless --json names another file.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatagramBatch } from '@wraith/core';
import { createUdpTransport, udpBackend } from '@wraith/transport-udp';
import { benchArgs } from './lib/args.mjs';

// --role rx and --backend NAME are internal: what main() passes to the forked receiver.
const opts = benchArgs(import.meta.url, { trials: 3, seconds: 2, batch: 64, size: 1400, only: null, host: '127.0.0.1', json: null, role: null, backend: null }, { hidden: ['role', 'backend'] });

/** The variants, as UdpTransportInit fragments. */
const VARIANTS = {
  native: { backend: 'native' },
  'native-plain': { backend: 'native', gso: false, gro: false },
  dgram: { backend: 'dgram' },
};

/** Receiver loss beyond this share marks a row (the sender outran the receiver). */
const LOSS_NOTE = 0.01;

if (opts.role === 'rx') await receiver();
else await main();

async function receiver() {
  const init = VARIANTS[opts.backend];
  const t = await createUdpTransport({ bind: { host: opts.host, port: 0 }, maxDatagram: Math.max(1452, opts.size), ...init });
  let packets = 0;
  let bytes = 0;
  let first = 0n;
  let last = 0n;
  let cpuAtFirst;
  t.onRecv((b) => {
    const now = process.hrtime.bigint();
    if (packets === 0) {
      first = now;
      cpuAtFirst = process.cpuUsage();
    }
    last = now;
    packets += b.count;
    for (let i = 0; i < b.count; i++) bytes += b.lengths[i];
  });
  process.on('message', async (m) => {
    if (m.cmd !== 'stop') return;
    const cpu = cpuAtFirst ? process.cpuUsage(cpuAtFirst) : { user: 0, system: 0 };
    const s = t.stats();
    await t.close();
    process.send({
      packets,
      bytes,
      seconds: Number(last - first) / 1e9,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rxDropped: s.rxDropped,
      caps: t.caps,
      extra: s.extra ?? {},
    });
    process.disconnect();
  });
  process.send({ ready: true, addr: t.localAddr(), caps: t.caps });
}

function once(child, pred) {
  return new Promise((resolve, reject) => {
    const onMsg = (m) => {
      if (!pred(m)) return;
      child.off('message', onMsg);
      resolve(m);
    };
    child.on('message', onMsg);
    child.once('exit', (code) => reject(new Error(`receiver exited (${code})`)));
  });
}

/** One trial: returns the row. */
async function trial(name, seconds, count, size) {
  const child = fork(fileURLToPath(import.meta.url), ['--role', 'rx', '--backend', name, '--host', opts.host, '--size', String(size)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await once(child, (m) => m.ready === true);
  const t = await createUdpTransport({ bind: { host: opts.host, port: 0 }, maxDatagram: Math.max(1452, size), ...VARIANTS[name] });
  const batch = new DatagramBatch(count, size);
  const body = new Uint8Array(size);
  for (let i = 0; i < size; i++) body[i] = (i * 131 + 17) & 0xff;
  for (let i = 0; i < count; i++) batch.push(body, ready.addr);
  batch.buf.fill(7); // prime: first touches of fresh memory are slow on this VM kind

  let sent = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const end = Date.now() + seconds * 1000;
  await new Promise((resolve) => {
    let finished = false;
    const pump = () => {
      if (finished) return;
      for (let bursts = 0; ; bursts++) {
        if (Date.now() >= end) {
          finished = true;
          resolve();
          return;
        }
        const n = t.send(batch); // the same pre-built batch; a refused tail is simply not counted
        sent += n;
        if (n < batch.count) return; // onWritable calls pump again
        if (bursts === 256) {
          setImmediate(pump); // let the loop turn (completions, timers)
          return;
        }
      }
    };
    t.onWritable(pump);
    pump();
  });
  const txSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const txExtra = t.stats().extra ?? {};
  const caps = t.caps;
  await new Promise((r) => setTimeout(r, 300)); // let the receiver drain its buffer
  child.send({ cmd: 'stop' });
  const rx = await once(child, (m) => typeof m.packets === 'number');
  await t.close();
  const rxPps = rx.packets / rx.seconds;
  return {
    backend: name,
    caps: { tx: caps, rx: rx.caps },
    sent,
    received: rx.packets,
    lossPct: sent > 0 ? (100 * (sent - rx.packets)) / sent : 0,
    rxPps,
    rxGbps: (rx.bytes * 8) / rx.seconds / 1e9,
    txPps: sent / txSeconds,
    txCpuPct: (100 * (cpu.user + cpu.system)) / 1e6 / txSeconds,
    rxCpuPct: (100 * rx.cpuSeconds) / rx.seconds,
    rxDropped: rx.rxDropped,
    tx: pick(txExtra, ['sendCalls', 'gsoSends', 'gsoSegments', 'sendAgain', 'gsoDisabled']),
    rx: pick(rx.extra, ['recvCalls', 'rxMessages', 'groBuffers', 'groSegments', 'pollWakeups', 'rxCallbacks', 'kernelRxDrops']),
  };
}

function pick(o, keys) {
  const out = {};
  for (const k of keys) if (typeof o[k] === 'number') out[k] = o[k];
  return out;
}

async function main() {
  const { trials, seconds, batch: count, size } = opts;
  for (const [k, v] of Object.entries({ trials, seconds, batch: count, size })) {
    if (!(v > 0) || (k !== 'seconds' && !Number.isInteger(v))) throw new Error(`--${k} must be a positive number, got ${v}`);
  }
  if (size > 65507) throw new Error(`--size ${size} is above the UDP payload limit (65507)`);
  let names = opts.only ? opts.only.split(',') : Object.keys(VARIANTS);
  for (const n of names) if (!(n in VARIANTS)) throw new Error(`--only: unknown variant "${n}" (have ${Object.keys(VARIANTS).join(', ')})`);
  const nat = udpBackend();
  if (nat.backend !== 'native') {
    console.warn(`native rows skipped: ${nat.reason}`);
    names = names.filter((n) => !n.startsWith('native'));
  }

  const rows = [];
  for (const name of names) {
    const runs = [];
    for (let i = 0; i < trials; i++) runs.push(await trial(name, seconds, count, size));
    const sorted = [...runs].sort((a, b) => a.rxPps - b.rxPps);
    rows.push({ backend: name, median: sorted[Math.floor((sorted.length - 1) / 2)], trials: runs });
  }

  const f = (x, d = 1) => x.toFixed(d);
  console.log(`\nUDP on loopback (${opts.host}), ${size} B datagrams, batches of ${count}, ${seconds} s x ${trials} trials, median by rx rate`);
  console.log('variant        rx Mpps  rx Gbit/s  tx Mpps  loss %  tx CPU %  rx CPU %  GSO segs/send  GRO segs/buffer');
  for (const { backend, median: m } of rows) {
    const segsPerSend = m.tx.gsoSends ? f(m.tx.gsoSegments / m.tx.gsoSends) : '-';
    const segsPerBuf = m.rx.groBuffers ? f(m.rx.groSegments / m.rx.groBuffers) : '-';
    console.log(
      `${backend.padEnd(14)} ${f(m.rxPps / 1e6, 3).padStart(7)}  ${f(m.rxGbps, 2).padStart(9)}  ${f(m.txPps / 1e6, 3).padStart(7)}  ${f(m.lossPct).padStart(6)}  ${f(m.txCpuPct, 0).padStart(8)}  ${f(m.rxCpuPct, 0).padStart(8)}  ${segsPerSend.padStart(13)}  ${segsPerBuf.padStart(15)}${m.lossPct / 100 > LOSS_NOTE ? '   (sender outran the receiver)' : ''}`,
    );
  }
  const base = rows.find((r) => r.backend === 'dgram');
  const fast = rows.find((r) => r.backend === 'native');
  if (base && fast) console.log(`native / dgram (received datagrams/s): ${f(fast.median.rxPps / base.median.rxPps, 2)}x`);

  const out = {
    bench: 'udp',
    date: new Date().toISOString(),
    node: process.version,
    kernel: release(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadavg: loadavg(),
    params: { host: opts.host, size, batch: count, seconds, trials, processes: 2 },
    results: rows,
  };
  const file = opts.json ?? join(dirname(fileURLToPath(import.meta.url)), 'results', 'udp.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
}
