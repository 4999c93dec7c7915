/**
 * Anti-amplification at a real daemon, measured at the sockets: every
 * source that has not validated its address gets back at most 3x the bytes
 * it sent (docs/PROTOCOL.md §2.1, RFC 9000 §8).
 *
 * Sources, each its own UDP socket on 127.0.0.1:
 *   - INITIATIONs (real, >= 1200 bytes) sent five times each, never finished: RESPONSE copies;
 *   - an INITIATION cut to 1199 bytes: nothing;
 *   - long headers of an unknown version, 21 and 64 bytes: VERSION_NEGOTIATION;
 *   - random datagrams;
 *   - genuine packets of a live session that the daemon never received (the relay held them
 *     back), replayed from new addresses in packet-number order: each is authentic and the
 *     newest, so the daemon challenges the new address (PATH_CHALLENGE), within 3x what that
 *     address sent. The transfer itself carries on to the real sender and completes identical,
 *     with no path validated towards the replaying sources.
 * The flood and junk tests also check the 3x bound for their 10,000 and 8 sources.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scope, sha256File, writeRandomFile, type Daemon, type TestHome } from '../support/procs.js';
import { MiB, Probe, adminDaemon, makeInitiations, relayFor, shortPn, sleep, viaRelay, type Admin } from '../support/hostile.js';

const scope = new Scope('reliability-amplification');
let tx: TestHome;
let daemon: Daemon;
let admin: Admin;
const probes: Probe[] = [];

beforeAll(async () => {
  const [rx, t] = await Promise.all([scope.home('rx'), scope.home('tx')]);
  tx = t;
  ({ daemon, admin } = await adminDaemon(scope, { home: rx }));
  scope.defer(() => Promise.all(probes.map((p) => p.close())));
});
afterAll(() => scope.dispose());

async function probe(label: string): Promise<Probe> {
  const p = await Probe.open(label);
  probes.push(p);
  return p;
}

describe('anti-amplification', () => {
  it('no unvalidated source gets more than 3x the bytes it sent (handshakes, version negotiation, junk, replayed packets of a live session)', async () => {
    const target = { host: '127.0.0.1', port: daemon.port };
    const src = join(await scope.tempDir('src'), 'a.bin');
    const sha = await writeRandomFile(src, 24 * MiB);

    // A live transfer through a relay that can hold the sender's packets back and copy them.
    const held: Buffer[] = [];
    let holding = false;
    const relay = await relayFor(scope, daemon.addr, {
      seed: 51,
      capture: (d) => {
        if (holding && d.stage === 'in' && d.dir === 'toUpstream' && (d.bytes[0]! & 0x80) === 0) held.push(Buffer.from(d.bytes));
      },
    });
    const m0 = await admin.metrics();
    const send = scope.send([src], viaRelay(daemon, relay), { home: tx, args: ['--rate', '4M', '--reconnect-for', '0s'] });
    await send.waitFor((e) => e.type === 'progress' && Number(e['bytes_done']) > 2 * MiB, 30_000, 'the transfer under way');

    // Hold the sender's packets for 400 ms: the daemon never sees these.
    relay.setBlackhole(true, 'toUpstream');
    holding = true;
    await sleep(400);
    holding = false;
    // Replay some (the smallest and the largest), in packet-number order, each from a new address.
    const bySize = [...held].sort((a, b) => a.length - b.length);
    const pick = [...new Set([...bySize.slice(0, 4), ...bySize.slice(-4)])].sort((a, b) => shortPn(a) - shortPn(b));
    const replayers: Probe[] = [];
    for (const pkt of pick) {
      const p = await probe(`replayed ${pkt.length} B pn ${shortPn(pkt)}`);
      replayers.push(p);
      await p.send(target, pkt);
      await sleep(20);
    }
    relay.setBlackhole(undefined, 'toUpstream');

    // Handshake-level sources.
    const inits = await makeInitiations(4, daemon.peerId, target);
    const initiators: Probe[] = [];
    for (const dg of inits) {
      const p = await probe('initiation x5');
      initiators.push(p);
      for (let k = 0; k < 5; k++) {
        await p.send(target, dg);
        await sleep(30);
      }
    }
    const short = await probe('initiation of 1199 bytes');
    await short.send(target, inits[0]!.subarray(0, 1199));
    const versions: Probe[] = [];
    for (const size of [21, 64]) {
      const p = await probe(`unknown version, ${size} B`);
      versions.push(p);
      const dg = randomBytes(size);
      dg[0] = 0xc0;
      dg.writeUInt32BE(0x0a0a0a0a, 1);
      for (let k = 0; k < 10; k++) await p.send(target, dg);
    }
    const noise = await probe('random datagrams');
    for (let k = 0; k < 200; k++) await noise.send(target, randomBytes(1 + (k * 37) % 1400));

    const r = await send.result(120_000);
    await sleep(500); // late replies
    const m1 = await admin.settledMetrics();

    const table = probes.map((p) => `  ${p.label.padEnd(34)} sent ${String(p.txBytes).padStart(6)} B in ${p.txPackets}, got ${String(p.rxBytes).padStart(5)} B in ${p.got.length} (x${(p.rxBytes / p.txBytes).toFixed(3)})`);
    console.log(`anti-amplification, per source:\n${table.join('\n')}\n  held back ${held.length} packets of the live session; daemon drops ${JSON.stringify(m1.deltaByLabel(m0, 'wraith_drops_total', 'reason'))}`);

    expect(r.code, send.describe()).toBe(0);
    expect(await sha256File(join(daemon.output, 'a.bin'))).toBe(sha);
    for (const p of probes) expect(p.rxBytes, `${p.label}: ${p.rxBytes} B back for ${p.txBytes} B`).toBeLessThanOrEqual(3 * p.txBytes);
    // Every kind of reply was exercised, not just silence.
    for (const p of initiators) expect(p.got.some((b) => b[0] === 0xc1), `${p.label}: a RESPONSE`).toBe(true);
    for (const p of versions) expect(p.got.some((b) => (b[0]! & 0x80) !== 0 && b.readUInt32BE(1) === 0), `${p.label}: VERSION_NEGOTIATION`).toBe(true);
    expect(short.got.length).toBe(0);
    expect(pick.length).toBeGreaterThan(0);
    expect(replayers.some((p) => p.got.some((b) => (b[0]! & 0x80) === 0)), 'a PATH_CHALLENGE to a replaying address').toBe(true);
    // The session was never moved to a replaying address, and nothing else got established.
    expect(m1.get('wraith_path_validations_total') - m0.get('wraith_path_validations_total')).toBe(0);
    expect(m1.get('wraith_sessions_opened_total') - m0.get('wraith_sessions_opened_total')).toBe(1);
  });
});
