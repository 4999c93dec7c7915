#!/usr/bin/env node
// Packet protection throughput: native-openssl (batched OpenSSL in the addon) against the JS
// implementations over node:crypto and @noble/ciphers, sealing and opening batches of
// 64 packets of 1400 B (13-byte header as AAD, docs/PROTOCOL.md §2.2) in place.
//
// Build first (plain Node imports the compiled packages):
//   npx tsc -b packages/native-crypto      (or `npx tsc -b` for everything)
//   cd native && node scripts/install.mjs  (the addon; without it only the JS rows run)
// Run:
//   node bench/crypto.mjs [--trials 5] [--seconds 0.5] [--batch 64] [--size 1400]
//                         [--only native-openssl,js-node,js-noble] [--json FILE]
// Prints a table (median of the trials; wall-clock rates, plus CPU time per packet, which
// holds up better when other processes share the cores) and writes JSON to bench/results/crypto.json
// unless --json names another file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProtectBatch, jsPacketProtection, nodeBackend } from '@wraith/core';
import { nobleBackend } from '@wraith/core/noble';
import { nativePacketProtection, nativeProtectionStatus } from '@wraith/native-crypto';
import { benchArgs } from './lib/args.mjs';

const HEADER = 13;
const TAG = 16;

const opts = benchArgs(import.meta.url, { trials: 5, seconds: 0.5, batch: 64, size: 1400, only: null, json: null });
const { trials, seconds, batch: count, size } = opts;
for (const [k, v] of Object.entries({ trials, seconds, batch: count, size })) {
  if (!(v > 0) || (k !== 'seconds' && !Number.isInteger(v))) throw new Error(`--${k} must be a positive number, got ${v}`);
}

const impls = [];
const native = nativePacketProtection();
if (native) impls.push(native);
else console.warn(`native-openssl skipped: ${nativeProtectionStatus().reason}`);
impls.push(jsPacketProtection(nodeBackend), jsPacketProtection(nobleBackend));
const only = opts.only?.split(',');
const selected = only ? impls.filter((p) => only.includes(p.name)) : impls;

const key32 = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 7) & 0xff);
const stride = HEADER + size + TAG;

/** A batch over a primed buffer (first touches of fresh memory are slow on this VM). */
function makeBatch() {
  const b = new ProtectBatch(count);
  b.buf = new Uint8Array(stride * count);
  for (let i = 0; i < b.buf.length; i++) b.buf[i] = (i * 131 + 17) & 0xff;
  b.count = count;
  for (let i = 0; i < count; i++) {
    b.offsets[i] = i * stride;
    b.headerLens[i] = HEADER;
  }
  return b;
}

function setLens(b, len, firstPn) {
  for (let i = 0; i < count; i++) {
    b.payloadLens[i] = len;
    b.pns[i] = firstPn + i;
  }
}

const hrNow = () => process.hrtime.bigint();

/**
 * Wall and CPU seconds spent inside seal() (or open()) over one trial; setup between calls is
 * not timed. CPU time stays meaningful when other processes share the cores.
 */
function trial(p, op) {
  const key = p.newKey(key32);
  const b = makeBatch();
  let pn = 0;
  let template = null;
  if (op === 'open') {
    setLens(b, size, 0);
    key.seal(b);
    template = b.buf.slice();
  }
  let inside = 0n;
  let cpuMicros = 0;
  let batches = 0;
  const deadline = hrNow() + BigInt(Math.round(seconds * 1e9));
  while (hrNow() < deadline) {
    if (op === 'seal') {
      setLens(b, size, pn);
      pn += count;
      const c0 = process.cpuUsage();
      const t0 = hrNow();
      key.seal(b);
      inside += hrNow() - t0;
      const c = process.cpuUsage(c0);
      cpuMicros += c.user + c.system;
    } else {
      b.buf.set(template);
      setLens(b, size + TAG, 0);
      const c0 = process.cpuUsage();
      const t0 = hrNow();
      key.open(b);
      inside += hrNow() - t0;
      const c = process.cpuUsage(c0);
      cpuMicros += c.user + c.system;
      if (batches === 0 && b.status.some((s) => s !== 1)) throw new Error(`${p.name}: open failed on its own packets`);
    }
    batches++;
  }
  key.destroy();
  return { secs: Number(inside) / 1e9, cpuSecs: cpuMicros / 1e6, packets: batches * count };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Every implementation must produce the same bytes before any is timed.
{
  const out = selected.map((p) => {
    const b = makeBatch();
    setLens(b, size, 2 ** 32 - 3);
    const k = p.newKey(key32);
    k.seal(b);
    k.destroy();
    return Buffer.from(b.buf).toString('base64');
  });
  if (out.some((o) => o !== out[0])) throw new Error('implementations disagree on the sealed bytes');
}

const rows = [];
for (const p of selected) {
  for (const op of ['seal', 'open']) {
    trial(p, op); // warm-up
    const pps = [];
    const cpuUs = [];
    for (let t = 0; t < trials; t++) {
      const r = trial(p, op);
      pps.push(r.packets / r.secs);
      cpuUs.push((r.cpuSecs * 1e6) / r.packets);
    }
    const m = median(pps);
    rows.push({
      impl: p.name,
      op,
      packetsPerSec: Math.round(m),
      gbPerSec: Number(((m * size) / 1e9).toFixed(3)),
      usPerPacket: Number((1e6 / m).toFixed(3)),
      cpuUsPerPacket: Number(median(cpuUs).toFixed(3)),
      trials: pps.map((x) => Math.round(x)),
    });
  }
}

for (const r of rows) {
  const base = rows.find((x) => x.impl === 'js-node' && x.op === r.op);
  r.vsJsNode = base ? Number((r.packetsPerSec / base.packetsPerSec).toFixed(2)) : null;
}

const cpu = cpus()[0]?.model ?? 'unknown';
console.log(`packet protection: batches of ${count} x ${size} B payload (+${HEADER} B header AAD, +${TAG} B tag), median of ${trials} x ${seconds}s`);
const load = loadavg().map((x) => Number(x.toFixed(2)));
console.log(`node ${process.version}, ${nativeProtectionStatus().openssl ?? 'no native OpenSSL'}, ${cpu} x ${cpus().length}, load ${load.join(' ')}`);
const head = ['impl', 'op', 'packets/s', 'GB/s', 'us/packet', 'cpu us/packet', 'vs js-node'];
const table = [
  head,
  ...rows.map((r) => [
    r.impl,
    r.op,
    r.packetsPerSec.toLocaleString('en-US'),
    r.gbPerSec.toFixed(3),
    r.usPerPacket.toFixed(3),
    r.cpuUsPerPacket.toFixed(3),
    r.vsJsNode === null ? '-' : `${r.vsJsNode}x`,
  ]),
];
const widths = head.map((_, c) => Math.max(...table.map((row) => String(row[c]).length)));
for (const [i, row] of table.entries()) {
  console.log(row.map((cell, c) => (c < 2 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}

const result = {
  bench: 'crypto',
  date: new Date().toISOString(),
  node: process.version,
  openssl: nativeProtectionStatus().openssl,
  nativeUnavailable: nativeProtectionStatus().reason,
  cpu,
  cpus: cpus().length,
  loadavg: load,
  config: { batch: count, payloadBytes: size, headerBytes: HEADER, trials, secondsPerTrial: seconds, statistic: 'median' },
  results: rows,
};
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const outFile = opts.json ?? join(repoRoot, 'bench', 'results', 'crypto.json');
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${outFile}`);
