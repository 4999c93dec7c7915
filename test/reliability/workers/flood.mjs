// @ts-check
/**
 * Handshake flood for test/reliability/handshake-flood.test.ts: real
 * INITIATION datagrams (Noise message 1, padded to >= 1200 bytes, made by
 * the engine's Endpoint.connect + pollTransmit, each with a fresh ephemeral
 * key and connection ids), sent at `rate` per second round robin from
 * `sources` UDP sockets on 127.0.0.1 (or `bindHost`), for `durationMs` or until a
 * {"cmd":"stop"} line arrives. `pool` distinct INITIATIONs are built ahead
 * (default: enough for `durationMs`); a longer flood sends them again, each
 * from another source than the first time. It never answers a
 * COOKIE_REPLY (a spoofing flooder cannot), and counts per source what comes
 * back, so the test can check the 3x amplification bound and when cookies
 * started.
 *
 *   node flood.mjs '{"target":{"host":"127.0.0.1","port":4000},"peerId":"<hex>",
 *                    "sources":10000,"rate":2000,"durationMs":10000}'
 *
 * Prints {"event":"ready"} once the initiations are built and the sockets
 * bound, waits for {"cmd":"start"} on stdin, then prints {"event":"done",...}.
 * Exits when stdin closes. Needs the built packages (npx tsc -b).
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { DatagramBatch, Endpoint, loadBackend } from '@wraith/core';
import { loadBlake3Async } from '@wraith/blake3';

const cfg = JSON.parse(process.argv[2] ?? '{}');
const SOURCES = cfg.sources ?? 10_000;
const RATE = cfg.rate ?? 2000;
const DURATION = cfg.durationMs ?? 10_000;
const TOTAL = Math.ceil((RATE * DURATION) / 1000);
const POOL = Math.min(TOTAL, cfg.pool ?? TOTAL);
const TICK_MS = 5;

const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

// --- initiations, built ahead -----------------------------------------------------------------
const backend = await loadBackend('auto');
const hasher = await loadBlake3Async('auto');
const peer = Uint8Array.from(Buffer.from(cfg.peerId, 'hex'));
const target = cfg.target;
const rng = { fill: (/** @type {Uint8Array} */ b) => void crypto.getRandomValues(b) };
/** @type {Buffer[]} */
const initiations = [];
const tBuild = performance.now();
const batch = new DatagramBatch(64, 2048);
while (initiations.length < POOL) {
  // A fresh endpoint (and static key) per few hundred, so its session table stays small.
  const ep = new Endpoint({ staticKey: backend.x25519GenerateKeyPair(rng), backend, hasher, rng, acceptIncoming: false });
  const n = Math.min(256, POOL - initiations.length);
  for (let i = 0; i < n; i++) ep.connect(0, target, peer);
  for (;;) {
    batch.clear();
    if (ep.pollTransmit(0, batch) === 0) break;
    for (let i = 0; i < batch.count; i++) initiations.push(Buffer.from(batch.datagram(i)));
  }
}
const minSize = Math.min(...initiations.slice(0, 100).map((b) => b.length));
if (minSize < 1200 || (initiations[0]?.[0] ?? 0) !== 0xc0) throw new Error(`flood: not an INITIATION (${minSize} bytes, byte 0 ${initiations[0]?.[0]})`);
const buildMs = performance.now() - tBuild;

// --- sources ------------------------------------------------------------------------------------
let t0 = 0;
let firstCookieMs = -1;
let firstResponseMs = -1;
let cookies = 0;
let responses = 0;
let other = 0;
/** Replies per 250 ms bucket since the start: [cookies, responses]. */
const timeline = [];
const tx = new Float64Array(SOURCES);
const rx = new Float64Array(SOURCES);
/** @type {dgram.Socket[]} */
const socks = [];
for (let i = 0; i < SOURCES; i++) {
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, cfg.bindHost ?? '127.0.0.1', () => resolve(undefined));
  });
  sock.on('error', () => {});
  sock.on('message', (m) => {
    rx[i] = /** @type {number} */ (rx[i]) + m.length;
    const at = t0 > 0 ? performance.now() - t0 : -1;
    const bucket = Math.max(0, Math.floor(at / 250));
    while (timeline.length <= bucket) timeline.push([0, 0]);
    const b0 = m[0];
    if (b0 === 0xc3) {
      cookies++;
      /** @type {number[]} */ (timeline[bucket])[0]++;
      if (firstCookieMs < 0) firstCookieMs = at;
    } else if (b0 === 0xc1) {
      responses++;
      /** @type {number[]} */ (timeline[bucket])[1]++;
      if (firstResponseMs < 0) firstResponseMs = at;
    } else other++;
  });
  socks.push(sock);
}

const commands = [];
let wake = null;
let stopRequested = false;
createInterface({ input: process.stdin })
  .on('line', (l) => {
    try {
      const c = JSON.parse(l);
      if (c.cmd === 'stop') stopRequested = true;
      else commands.push(c);
    } catch {}
    wake?.();
  })
  .on('close', () => process.exit(0));
function waitCommand() {
  if (commands.length > 0) return Promise.resolve(commands.shift());
  return new Promise((r) => {
    wake = () => {
      wake = null;
      r(commands.shift());
    };
  });
}

print({ event: 'ready', built: initiations.length, buildMs, bytes: minSize, sources: SOURCES });
if (SOURCES > 0 && POOL % SOURCES === 0 && POOL < TOTAL) throw new Error('flood: pool must not be a multiple of sources (a resent INITIATION would come from the same source)');
await waitCommand();

// --- flood --------------------------------------------------------------------------------------
t0 = performance.now();
print({ event: 'started' });
let sent = 0;
let txBytes = 0;
let errors = 0;
while (sent < TOTAL && !stopRequested) {
  const due = Math.min(TOTAL, Math.floor(((performance.now() - t0) / 1000) * RATE) + 1);
  for (; sent < due; sent++) {
    const src = sent % SOURCES;
    const dg = /** @type {Buffer} */ (initiations[sent % POOL]);
    try {
      /** @type {dgram.Socket} */ (socks[src]).send(dg, target.port, target.host);
      tx[src] = /** @type {number} */ (tx[src]) + dg.length;
      txBytes += dg.length;
    } catch {
      errors++;
    }
  }
  await new Promise((r) => setTimeout(r, TICK_MS));
}
const floodMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, cfg.lingerMs ?? 1000));

let worst = 0;
let worstSource = -1;
let violations = 0;
let rxBytes = 0;
for (let i = 0; i < SOURCES; i++) {
  rxBytes += /** @type {number} */ (rx[i]);
  const t = /** @type {number} */ (tx[i]);
  const r = /** @type {number} */ (rx[i]);
  if (r > 3 * t) violations++;
  const ratio = t > 0 ? r / t : r > 0 ? Infinity : 0;
  if (ratio > worst) {
    worst = ratio;
    worstSource = i;
  }
}
print({
  event: 'done',
  sent,
  txBytes,
  rxBytes,
  floodMs,
  rate: sent / (floodMs / 1000),
  errors,
  cookies,
  responses,
  other,
  firstCookieMs,
  firstResponseMs,
  timeline,
  worstRatio: worst,
  worstSource: worstSource >= 0 ? { tx: tx[worstSource], rx: rx[worstSource] } : null,
  violations,
  sourcesUsed: Math.min(SOURCES, sent),
  distinct: Math.min(POOL, sent),
});
await waitCommand();
process.exit(0);
