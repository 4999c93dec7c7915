/**
 * A million junk datagrams at a daemon while it receives a 64 MiB file.
 *
 * The transfer goes through a relay that captures the sender's datagrams of
 * that very session (handshake and protected packets). A separate process
 * (workers/junk.mjs, preallocated variants, 8 sockets) then sends 250,000
 * datagrams of each class straight at the daemon, one class per phase:
 * random bytes, captured packets cut short, captured packets with one bit
 * flipped, and captured packets replayed verbatim. Between phases the test
 * reads GET /v1/metrics, so each class's drops are its own.
 *
 * Checks: the achieved junk rate (>= 20,000/s), the file identical, the
 * daemon alive, no session established by junk, a drop counter > 0 for every
 * class, replies to every junk source within 3x what it sent, and the
 * transfer done within 3x the time the same transfer takes unflooded
 * (measured first, same relay set-up).
 */
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scope, sha256File, writeRandomFile, type Daemon, type TestHome } from '../support/procs.js';
import { MiB, adminDaemon, relayFor, sleep, startHelper, viaRelay, waitUntil, type Admin, type Metrics } from '../support/hostile.js';

const scope = new Scope('reliability-junk');
const SIZE = 64 * MiB;
/** The transfer is capped so that it outlasts the junk. */
const SEND_RATE = process.env.WRAITH_JUNK_SEND_RATE ?? '3M';
/** Junk datagrams per second per phase (paced by the worker). */
const JUNK_RATE = Number(process.env.WRAITH_JUNK_RATE ?? 100_000);
const PER_CLASS = 250_000;
const CLASSES = ['random', 'truncated', 'bitflip', 'replay'] as const;
/** The drop reason each class must show (docs/METRICS.md). */
const REASON: Record<(typeof CLASSES)[number], string> = {
  random: 'unknown_cid',
  truncated: 'truncated',
  bitflip: 'auth',
  replay: 'replay',
};

let tx: TestHome;
let daemon: Daemon;
let admin: Admin;
let src: string;
let sha: string;

beforeAll(async () => {
  const [rx, t] = await Promise.all([scope.home('rx'), scope.home('tx')]);
  tx = t;
  ({ daemon, admin } = await adminDaemon(scope, { home: rx }));
  src = join(await scope.tempDir('src'), 'big.bin');
  sha = await writeRandomFile(src, SIZE);
});
afterAll(() => scope.dispose());

describe('junk flood during a transfer', () => {
  it('1,000,000 random, truncated, bit-flipped and replayed datagrams: file identical, daemon alive, every class dropped, <= 3x slower', async () => {
    const args = ['--rate', SEND_RATE, '--reconnect-for', '0s'];
    const out = join(daemon.output, 'big.bin');

    // Unflooded: the same relay set-up (capturing), the same cap.
    let sink = 0;
    const quiet = await relayFor(scope, daemon.addr, { seed: 41, capture: (d) => void (d.stage === 'out' && d.dir === 'toUpstream' && sink++) });
    const t0 = performance.now();
    const plain = scope.send([src], viaRelay(daemon, quiet), { home: tx, args });
    const r0 = await plain.result(180_000);
    const unflooded = performance.now() - t0;
    expect(r0.code, plain.describe()).toBe(0);
    expect(await sha256File(out)).toBe(sha);
    await quiet.stop();
    await rm(out);

    // Flooded.
    const captured: Buffer[] = [];
    const relay = await relayFor(scope, daemon.addr, {
      seed: 42,
      capture: (d) => {
        if (d.stage === 'out' && d.dir === 'toUpstream' && captured.length < 3000) captured.push(Buffer.from(d.bytes));
      },
    });
    const m0 = await admin.metrics();
    const t1 = performance.now();
    const send = scope.send([src], viaRelay(daemon, relay), { home: tx, args });
    await waitUntil(() => captured.length >= 3000 || !send.alive, 30_000, 'enough packets captured');
    const handshakePackets = captured.filter((b) => (b[0]! & 0x80) !== 0).length;
    expect(handshakePackets).toBeGreaterThan(0); // the INITIATION and FINISH are among them
    const capFile = join(await scope.tempDir('cap'), 'captured.bin');
    await writeFile(
      capFile,
      Buffer.concat(captured.flatMap((b) => [Buffer.from([b.length >> 8, b.length & 0xff]), b])),
    );
    const junk = startHelper(scope, 'junk.mjs', {
      target: { host: '127.0.0.1', port: daemon.port },
      captured: capFile,
      sockets: 8,
      seed: 43,
      phases: CLASSES.map((cls) => ({ cls, count: PER_CLASS, rate: JUNK_RATE })),
    });
    const ready = await junk.waitFor('ready', 30_000);
    const junkPorts = ready['sockets'] as number[];
    let before: Metrics = await admin.metrics();
    const perClass: Array<{ cls: string; sent: number; ms: number; drops: Record<string, number>; answered: number }> = [];
    let from = 0;
    for (let k = 0; k < CLASSES.length; k++) {
      const phase = await junk.waitFor('phase', 120_000, from);
      from = junk.messages.indexOf(phase) + 1;
      // Let the daemon drain its socket and the stats bridge (1 s) copy the counters.
      await sleep(1300);
      const after = await admin.metrics();
      perClass.push({
        cls: CLASSES[k]!,
        sent: phase['sent'] as number,
        ms: phase['ms'] as number,
        drops: after.deltaByLabel(before, 'wraith_drops_total', 'reason'),
        answered: after.get('wraith_handshakes_total') - before.get('wraith_handshakes_total'),
      });
      before = after;
      junk.send({ cmd: 'continue' });
    }
    const done = await junk.waitFor('done', 30_000);
    const duringTransfer = send.alive;
    const r1 = await send.result(600_000);
    const flooded = performance.now() - t1;
    junk.send({ cmd: 'stop' });
    await relay.stop();
    const m1 = await admin.settledMetrics();

    const sentTotal = perClass.reduce((a, p) => a + p.sent, 0);
    const sendMs = perClass.reduce((a, p) => a + p.ms, 0);
    const rate = sentTotal / (sendMs / 1000);
    const sockets = done['perSocket'] as Array<{ port: number; tx: number; txBytes: number; rx: number; rxBytes: number }>;
    const opened = m1.get('wraith_sessions_opened_total') - m0.get('wraith_sessions_opened_total');
    console.log(
      `junk: ${sentTotal} datagrams at ${Math.round(rate)}/s (${perClass.map((p) => `${p.cls} ${Math.round(p.sent / (p.ms / 1000))}/s`).join(', ')}); ` +
        `captured ${captured.length} packets (${handshakePackets} handshake)\n` +
        perClass.map((p) => `  ${p.cls}: drops ${JSON.stringify(p.drops)}, answered (version negotiation, cookie, handshake) ${p.answered}`).join('\n') +
        `\n  transfer: unflooded ${(unflooded / 1000).toFixed(1)} s, flooded ${(flooded / 1000).toFixed(1)} s (x${(flooded / unflooded).toFixed(2)}); ` +
        `sessions opened ${opened}; DH operations ${m1.get('wraith_dh_operations_total') - m0.get('wraith_dh_operations_total')}; ` +
        `replies to junk sockets ${sockets.reduce((a, s) => a + s.rxBytes, 0)} B for ${sockets.reduce((a, s) => a + s.txBytes, 0)} B sent`,
    );

    expect(sentTotal).toBe(1_000_000);
    expect(rate).toBeGreaterThanOrEqual(20_000);
    expect(duringTransfer, 'the junk ended before the transfer did').toBe(true);
    expect(r1.code, send.describe()).toBe(0);
    expect(await sha256File(out)).toBe(sha);
    expect(daemon.alive, daemon.describe()).toBe(true);
    // The sender cannot re-dial (--reconnect-for 0s): its one session is the only one.
    expect(opened).toBe(1);
    for (const p of perClass) {
      const reason = REASON[p.cls as (typeof CLASSES)[number]];
      expect(p.drops[reason] ?? 0, `${p.cls}: wraith_drops_total{reason="${reason}"} during its phase`).toBeGreaterThan(0);
    }
    for (const s of sockets) expect(s.rxBytes, `junk socket ${s.port}: replies within 3x`).toBeLessThanOrEqual(3 * s.txBytes);
    expect(junkPorts.length).toBe(8);
    expect(flooded).toBeLessThanOrEqual(3 * unflooded);
  });
});
