#!/usr/bin/env node
// What idle sessions cost an endpoint: the driver asks the endpoint for a timeout and for
// datagrams on every turn of its loop, and the endpoint asks each session. One endpoint holds N
// established, idle sessions (SimPair, virtual clock: no sockets); the table gives the CPU time
// of one pollTransmit and one pollTimeout call, per call and per session.
//
// Build first (plain Node imports the compiled packages): npx tsc -b
// Run: npm run bench -- sessions [--sessions 1,10,100,1000] [--calls 2000] [--json FILE]
// Writes JSON to bench/results/sessions.json unless --json names another file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatagramBatch, nodeBackend } from '@wraith/core';
import { SimPair } from '@wraith/core/sim';
import { loadBlake3Async } from '@wraith/blake3';
import { benchArgs } from './lib/args.mjs';

const opts = benchArgs(import.meta.url, { sessions: '1,10,100,1000', calls: 2000, json: null });
const counts = opts.sessions.split(',').map(Number);
const { calls } = opts;
if (counts.some((n) => !Number.isInteger(n) || n < 1) || !(calls > 0)) throw new Error('--sessions takes positive integers, --calls a positive number');

const hasher = await loadBlake3Async('auto');
const link = { bandwidthBps: 1e9, delay: 500, queueBytes: 16 << 20 };
const max = Math.max(...counts);
const pair = new SimPair({
  seed: 1,
  ab: link,
  ba: link,
  backend: nodeBackend,
  hasher,
  endpointA: { maxSessionsPerPeer: max },
  endpointB: { maxSessionsPerPeer: max },
});

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const rows = [];
for (const n of [...counts].sort((a, b) => a - b)) {
  while (pair.a.endpoint.sessionCount < n) pair.connect();
  const connected = () => pair.a.events.filter((e) => e.type === 'connected').length;
  if (!pair.runUntil(() => connected() >= n, pair.now + 120e6)) throw new Error(`only ${connected()} of ${n} sessions connected`);
  const ep = pair.a.endpoint;
  const out = new DatagramBatch(64, 2048);
  const now = pair.now;
  if (ep.sessionCount !== n) throw new Error(`${ep.sessionCount} sessions open, wanted ${n}`);
  // Warm-up, which also sends what the handshakes left owed (ACKs): then all are idle.
  for (let i = 0; i < 3000; i++) {
    out.clear();
    ep.pollTransmit(now + 100_000, out);
    ep.pollTimeout();
  }
  // The least of 5 rounds: a round can catch a GC or a recompilation.
  let txUs = Infinity;
  let toUs = Infinity;
  let sent = 0;
  for (let round = 0; round < 5; round++) {
    let t = cpuUs();
    for (let i = 0; i < calls; i++) {
      out.clear();
      sent += ep.pollTransmit(now + 100_000, out);
    }
    txUs = Math.min(txUs, (cpuUs() - t) / calls);
    t = cpuUs();
    for (let i = 0; i < calls; i++) ep.pollTimeout();
    toUs = Math.min(toUs, (cpuUs() - t) / calls);
  }
  rows.push({ sessions: ep.sessionCount, poll_transmit_us: txUs, poll_timeout_us: toUs, per_session_ns: ((txUs + toUs) * 1000) / ep.sessionCount, datagrams: sent });
}

console.log(`endpoint with N idle sessions: CPU per call (least of 5 rounds of ${calls} calls); ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}`);
console.log('sessions  pollTransmit µs  pollTimeout µs  both, ns per session  datagrams');
for (const r of rows) {
  console.log(`${String(r.sessions).padStart(8)}  ${r.poll_transmit_us.toFixed(2).padStart(15)}  ${r.poll_timeout_us.toFixed(2).padStart(14)}  ${r.per_session_ns.toFixed(0).padStart(20)}  ${String(r.datagrams).padStart(9)}`);
}
const json = opts.json ?? join(dirname(fileURLToPath(import.meta.url)), 'results', 'sessions.json');
mkdirSync(dirname(json), { recursive: true });
writeFileSync(json, `${JSON.stringify({ bench: 'sessions', date: new Date().toISOString(), calls, rows }, null, 2)}\n`);
console.log(`JSON: ${json}`);
