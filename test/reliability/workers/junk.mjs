// @ts-check
/**
 * Junk generator for test/reliability/junk.test.ts: sends datagrams of four
 * classes at a UDP target as fast as it can, from several sockets, in
 * phases (one class per phase), and reports per phase on stdout (NDJSON).
 *
 *   node junk.mjs '{"target":{"host":"127.0.0.1","port":4000},"captured":"/tmp/cap.bin",
 *                   "sockets":8,"seed":1,"phases":[{"cls":"random","count":250000}, ...]}'
 *
 * Classes: random (random bytes, random length 1..1452), truncated (a
 * captured packet cut short), bitflip (a captured packet with one bit
 * flipped), replay (a captured packet verbatim). A phase may set `rate`
 * (datagrams/s) to pace itself; without it the phase goes as fast as it can. Captured packets come from
 * `captured`: a file of [u16 BE length][bytes] records.
 *
 * Every variant is built before sending, in one preallocated buffer per
 * class; the send loop only hands slices of it to the sockets (connected, so
 * no address per send). After each phase it prints {"event":"phase",...}
 * and waits for a {"cmd":"continue"} line on stdin. Exits when stdin closes.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

const cfg = JSON.parse(process.argv[2] ?? '{}');
const VARIANTS = cfg.variants ?? 4096;
const BURST = cfg.burst ?? 256;
const MAX_DGRAM = 1452;

/** xorshift32, seeded: the junk of a run replays from its seed. */
let state = (cfg.seed ?? 1) >>> 0 || 1;
function next() {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state;
}
function int(n) {
  return next() % n;
}

/** @returns {Buffer[]} */
function readCaptured(path) {
  const raw = readFileSync(path);
  const out = [];
  for (let off = 0; off + 2 <= raw.length; ) {
    const len = raw.readUInt16BE(off);
    out.push(raw.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return out;
}

/** One class's variants, packed into a single buffer. */
function pool(make) {
  const buf = Buffer.alloc(VARIANTS * MAX_DGRAM);
  const offsets = new Uint32Array(VARIANTS);
  const lengths = new Uint16Array(VARIANTS);
  for (let i = 0; i < VARIANTS; i++) {
    const slot = buf.subarray(i * MAX_DGRAM, (i + 1) * MAX_DGRAM);
    offsets[i] = i * MAX_DGRAM;
    lengths[i] = make(slot);
  }
  return { buf, offsets, lengths };
}

const captured = cfg.captured ? readCaptured(cfg.captured) : [];
if (captured.length === 0) throw new Error('junk: no captured packets');
const pick = () => /** @type {Buffer} */ (captured[int(captured.length)]);

const pools = {
  random: pool((slot) => {
    const n = 1 + int(MAX_DGRAM);
    for (let i = 0; i < n; i++) slot[i] = next() & 0xff;
    return n;
  }),
  truncated: pool((slot) => {
    let p = pick();
    while (p.length < 2) p = pick();
    const n = 1 + int(p.length - 1);
    p.copy(slot, 0, 0, n);
    return n;
  }),
  bitflip: pool((slot) => {
    const p = pick();
    p.copy(slot);
    // Half anywhere; half in the top byte of a short header's packet number (byte 9), which
    // moves it far ahead of the replay window so the packet reaches the AEAD check.
    const short = p.length > 13 && (/** @type {number} */ (p[0]) & 0x80) === 0;
    const bit = short && (next() & 1) === 0 ? 9 * 8 + int(8) : int(p.length * 8);
    slot[bit >> 3] = /** @type {number} */ (slot[bit >> 3]) ^ (1 << (bit & 7));
    return p.length;
  }),
  replay: pool((slot) => {
    const p = pick();
    p.copy(slot);
    return p.length;
  }),
};

/** @type {{ sock: dgram.Socket, tx: number, txBytes: number, rx: number, rxBytes: number, port: number }[]} */
const socks = [];
for (let i = 0; i < (cfg.sockets ?? 8); i++) {
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, cfg.bindHost ?? '127.0.0.1', () => resolve(undefined));
  });
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.connect(cfg.target.port, cfg.target.host, () => resolve(undefined));
  });
  try {
    sock.setSendBufferSize(4 << 20);
  } catch {}
  const s = { sock, tx: 0, txBytes: 0, rx: 0, rxBytes: 0, port: sock.address().port };
  sock.on('message', (m) => {
    s.rx++;
    s.rxBytes += m.length;
  });
  sock.on('error', () => {});
  socks.push(s);
}

const commands = [];
let wake = null;
createInterface({ input: process.stdin })
  .on('line', (l) => {
    try {
      commands.push(JSON.parse(l));
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

const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
print({ event: 'ready', sockets: socks.map((s) => s.port), captured: captured.length, variants: VARIANTS });

let errors = 0;
for (const phase of cfg.phases) {
  const p = pools[phase.cls];
  if (!p) throw new Error(`junk: unknown class ${phase.cls}`);
  const t0 = performance.now();
  let sent = 0;
  let v = 0;
  let k = 0;
  while (sent < phase.count) {
    const n = Math.min(BURST, phase.count - sent);
    for (let i = 0; i < n; i++) {
      const s = /** @type {(typeof socks)[number]} */ (socks[k]);
      k = (k + 1) % socks.length;
      const off = /** @type {number} */ (p.offsets[v]);
      const len = /** @type {number} */ (p.lengths[v]);
      v = (v + 1) % VARIANTS;
      try {
        s.sock.send(p.buf, off, len);
        s.tx++;
        s.txBytes += len;
      } catch {
        errors++;
      }
    }
    sent += n;
    // Let libuv flush and the replies come in; with a target rate, wait for its schedule.
    const ahead = phase.rate ? t0 + (sent / phase.rate) * 1000 - performance.now() : 0;
    await new Promise((r) => (ahead >= 1 ? setTimeout(r, ahead) : setImmediate(r)));
  }
  const ms = performance.now() - t0;
  print({ event: 'phase', cls: phase.cls, sent, ms, rate: sent / (ms / 1000), errors });
  const cmd = await waitCommand();
  if (cmd?.cmd === 'stop') break;
}
// Replies still on their way.
await new Promise((r) => setTimeout(r, cfg.lingerMs ?? 500));
print({ event: 'done', perSocket: socks.map((s) => ({ port: s.port, tx: s.tx, txBytes: s.txBytes, rx: s.rx, rxBytes: s.rxBytes })), errors });
await waitCommand();
process.exit(0);
