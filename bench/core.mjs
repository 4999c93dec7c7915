#!/usr/bin/env node
// Core engine throughput: a whole simulated transfer (SimPair: two endpoints, a fast lossless
// link, a virtual clock) with each crypto backend, measuring what the engine costs per packet
// in CPU time. Everything runs in this one process, so CPU time covers both endpoints (sealing,
// opening, framing, ACKs, BBR, Merkle verification on the receiver) plus the simulator itself;
// the sender's Merkle tree is built before timing starts.
//
// Build first (plain Node imports the compiled packages):
//   npx tsc -b              (or: npx tsc -b packages/core packages/blake3 packages/native-crypto)
// Run:
//   npm run bench:core -- [--mib 256] [--noble-mib 64] [--only node,noble,native-openssl]
//                         [--gbps 10] [--delay-ms 1] [--seed 1] [--json FILE]
// Each backend first moves 8 MiB untimed (JIT warm-up). The noble backend (pure JS) runs a
// smaller file by default (--noble-mib); rates are per packet and per second, so rows compare.
// "packets" are the datagrams delivered over both links (each was sealed once and opened once);
// native-openssl (the OpenSSL addon's batched packet protection) runs when the addon is built. Simulated goodput is file bytes over simulated time from the
// offer to the sender's transfer_complete: what the engine would reach on that link if the CPU
// kept up. Writes JSON to bench/results/core.json unless --json names another file.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRng, nodeBackend } from '@wraith/core';
import { nobleBackend } from '@wraith/core/noble';
import { SimPair } from '@wraith/core/sim';
import { loadBlake3Async } from '@wraith/blake3';
import { benchArgs } from './lib/args.mjs';

const opts = benchArgs(import.meta.url, { mib: 256, 'noble-mib': 64, only: null, gbps: 10, 'delay-ms': 1, seed: 1, json: null });
const { mib, nobleMib, gbps, delayMs, seed } = opts;
for (const [k, v] of Object.entries({ mib, 'noble-mib': nobleMib, gbps, 'delay-ms': delayMs })) {
  if (!(v > 0)) throw new Error(`--${k} must be a positive number, got ${v}`);
}
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${opts.seed}`);

const MiB = 1024 * 1024;
const CHUNK = 1024 * 1024;
/** Each backend first moves this much untimed, so the JIT has compiled the hot paths. */
const WARMUP_MIB = 8;
const hasher = await loadBlake3Async('auto');
const hasherName = hasher.name;

const rows = [
  { name: 'node', backend: nodeBackend, protection: undefined, mib },
  { name: 'noble', backend: nobleBackend, protection: undefined, mib: Math.min(mib, nobleMib) },
];
let nativeNote = null;
try {
  const native = await import('@wraith/native-crypto');
  const p = native.nativePacketProtection();
  if (p) rows.push({ name: 'native-openssl', backend: nodeBackend, protection: p, mib });
  else nativeNote = native.nativeProtectionStatus().reason;
} catch (e) {
  nativeNote = `@wraith/native-crypto not loadable: ${e.message}`;
}
if (nativeNote) console.warn(`native-openssl skipped: ${nativeNote}`);
const only = opts.only?.split(',');
const selected = only ? rows.filter((r) => only.includes(r.name)) : rows;
if (selected.length === 0) throw new Error(`--only ${opts.only} selects nothing (have ${rows.map((r) => r.name).join(', ')})`);

const link = { bandwidthBps: gbps * 1e9, delay: (delayMs * 1000) / 2, queueBytes: 16 * MiB };

function sha256(b) {
  return createHash('sha256').update(b).digest('hex');
}

function run(row, fileMiB = row.mib) {
  const size = fileMiB * MiB;
  const data = new Uint8Array(size);
  new SeededRng(seed).fill(data);
  const pair = new SimPair({
    seed,
    ab: link,
    ba: link,
    backend: row.backend,
    hasher,
    ...(row.protection ? { protection: row.protection } : {}),
  });
  const s = pair.connect();
  if (!pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 10e6)) throw new Error(`${row.name}: no handshake`);
  pair.send(s, 'bench.bin', data, CHUNK); // builds the Merkle tree: not timed
  const d0 = { ab: pair.ab.stats.delivered, ba: pair.ba.stats.delivered };
  const sim0 = pair.now;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const done = pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete'), sim0 + 3600e6);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  if (!done) throw new Error(`${row.name}: the transfer did not complete`);
  const got = pair.b.received.get('bench.bin');
  if (!got || sha256(got) !== sha256(data)) throw new Error(`${row.name}: the received file differs`);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const simSecs = (pair.now - sim0) / 1e6;
  const ab = pair.ab.stats.delivered - d0.ab;
  const ba = pair.ba.stats.delivered - d0.ba;
  const packets = ab + ba;
  const stats = pair.a.events.find((e) => e.type === 'transfer_complete').stats;
  return {
    backend: row.name,
    fileMiB,
    packets,
    dataPackets: ab,
    ackPackets: ba,
    cpuSecs: Number(cpuSecs.toFixed(3)),
    wallSecs: Number(wall.toFixed(3)),
    packetsPerCpuSec: Math.round(packets / cpuSecs),
    cpuUsPerPacket: Number(((cpuSecs * 1e6) / packets).toFixed(2)),
    cpuMBPerSec: Number((size / 1e6 / cpuSecs).toFixed(1)),
    simSecs: Number(simSecs.toFixed(4)),
    simGoodputMbps: Number(((size * 8) / simSecs / 1e6).toFixed(1)),
    bytesRetransmitted: stats.bytesRetransmitted,
  };
}

const results = [];
for (const row of selected) {
  process.stdout.write(`${row.name}: warm-up ${WARMUP_MIB} MiB, then ${row.mib} MiB ... `);
  run(row, WARMUP_MIB); // JIT warm-up, not recorded
  const r = run(row);
  results.push(r);
  console.log(`${r.wallSecs} s`);
}

const cpu = cpus()[0]?.model ?? 'unknown';
const load = loadavg().map((x) => Number(x.toFixed(2)));
console.log(
  `\nsimulated transfer over ${gbps} Gbit/s, ${delayMs} ms RTT, no loss; ${CHUNK / MiB} MiB chunks; BLAKE3 ${hasherName}; ` +
    `node ${process.version}, ${cpu} x ${cpus().length}, load ${load.join(' ')}`,
);
const head = ['backend', 'MiB', 'packets', 'packets/CPU s', 'CPU us/packet', 'file MB/CPU s', 'sim goodput Mbit/s', 'CPU s', 'wall s'];
const table = [
  head,
  ...results.map((r) => [
    r.backend,
    r.fileMiB,
    r.packets.toLocaleString('en-US'),
    r.packetsPerCpuSec.toLocaleString('en-US'),
    r.cpuUsPerPacket.toFixed(2),
    r.cpuMBPerSec.toFixed(1),
    r.simGoodputMbps.toFixed(1),
    r.cpuSecs.toFixed(2),
    r.wallSecs.toFixed(2),
  ]),
];
const widths = head.map((_, c) => Math.max(...table.map((row) => String(row[c]).length)));
for (const [i, row] of table.entries()) {
  console.log(row.map((cell, c) => (c < 1 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}

const result = {
  bench: 'core',
  date: new Date().toISOString(),
  node: process.version,
  cpu,
  cpus: cpus().length,
  loadavg: load,
  nativeUnavailable: nativeNote,
  config: { link: { gbps, rttMs: delayMs, queueBytes: link.queueBytes, loss: 0 }, chunkBytes: CHUNK, warmupMiB: WARMUP_MIB, blake3: hasherName, seed },
  results,
};
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const outFile = opts.json ?? join(repoRoot, 'bench', 'results', 'core.json');
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${outFile}`);
