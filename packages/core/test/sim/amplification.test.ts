/**
 * Anti-amplification (PROTOCOL.md §2.1): to an address that has not proven it
 * receives what we send, we send at most 3 × what it sent us. Checked two
 * ways: the endpoint's own `unvalidated` accounting, and the bytes the
 * simulated network actually carried in each direction per address.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng, randomBytes } from '../../src/rng.js';
import { nodeBackend } from '../../src/crypto/index.js';
import { Reader, Writer, decodeLongHeader, encodeLongHeader, WIRE_VERSION } from '../../src/wire/index.js';
import { addrKey, type SocketAddr } from '../../src/transport.js';
import { fastBlake3 } from './helpers.js';
import { InitiationFactory, SimNet, spoofed } from './net.js';
import { packetKind } from './observe.js';

function longHeader(version: number, type: number, size: number, rng: SeededRng): Uint8Array {
  const b = new Uint8Array(size);
  rng.fill(b);
  b[0] = 0xc0 | type;
  new DataView(b.buffer).setUint32(1, version);
  return b;
}

function cookieReply(dcid: Uint8Array, cookie: Uint8Array): Uint8Array {
  const buf = new Uint8Array(2048);
  const w = new Writer(buf);
  encodeLongHeader(w, { type: 'cookie_reply', version: WIRE_VERSION, dcid, scid: new Uint8Array(8).fill(7), cookie });
  return buf.slice(0, w.offset);
}

describe('anti-amplification', () => {
  it('the responder sends every unvalidated address at most 3x what it received (spoofed initiations, retransmissions, cookies, version negotiation, junk)', () => {
    const seed = 7001;
    console.log(`sim seed ${seed}`);
    const net = new SimNet({ seed, backend: nodeBackend, hasher: fastBlake3, server: { maxHandshakesPerSec: 100 } });
    const rng = new SeededRng(seed + 1);
    const factory = new InitiationFactory(nodeBackend, rng);
    const END = 2e6;
    let n = 0;
    // Valid INITIATIONs from 2,000 spoofed sources: RESPONSEs, then cookies once the budget runs low.
    net.every(1000, 0, END, () => net.inject(spoofed(n++), factory.make()));
    // One source retransmitting the same INITIATION (answered from the cache or with cookies).
    const retx: SocketAddr = { host: '203.0.113.10', port: 1111 };
    const same = factory.make();
    net.every(10_000, 0, END, () => net.inject(retx, same));
    // One source sending fresh INITIATIONs fast (the per-source limit: cookies).
    const fast: SocketAddr = { host: '203.0.113.11', port: 2222 };
    net.every(2_000, 0, END, () => net.inject(fast, factory.make()));
    // INITIATIONs with a forged token.
    const forged: SocketAddr = { host: '203.0.113.12', port: 3333 };
    net.every(20_000, 0, END, () => net.inject(forged, factory.make(randomBytes(rng, 16))));
    // Unknown versions, from the smallest header up: VERSION_NEGOTIATION.
    let v = 0;
    net.every(3_000, 0, END, () => {
      const size = 21 + (v % 180);
      net.inject({ host: '203.0.113.20', port: 4000 + (v % 300) }, longHeader(0x0a0a0a0a + v, v & 0x0f, size, rng));
      net.inject({ host: '203.0.113.21', port: 5555 }, longHeader(2, 0, 21, rng));
      v++;
    });
    // Junk that must get nothing: short INITIATIONs, version-1 garbage, short headers.
    let j = 0;
    net.every(5_000, 0, END, () => {
      const at = { host: '203.0.113.30', port: 6000 + (j++ % 50) };
      const short = factory.make().subarray(0, 1199);
      net.inject(at, short);
      net.inject(at, longHeader(WIRE_VERSION, j % 5, 30 + (j % 100), rng));
      net.inject(at, Uint8Array.of(0x40, ...randomBytes(rng, 40)));
    });
    // A legitimate client, validated by its handshake: the bound does not apply to it.
    const client = net.addClient({ host: '198.18.2.1', port: 7777 });
    net.every(1e6, 100_000, 100_001, (now) => client.ep.connect(now, net.serverAddr, net.server.staticPublicKey));
    const kinds = new Map<string, number>();
    net.onServerSend = (_to, bytes) => kinds.set(packetKind(bytes), (kinds.get(packetKind(bytes)) ?? 0) + 1);
    net.runUntil(() => false, END + 100_000);

    const c = net.server.counters;
    console.log('server sent', Object.fromEntries(kinds), 'counters', c, 'drops', net.server.drops.snapshot());
    expect(client.events.some((e) => e.type === 'connected')).toBe(true);
    // Every kind of handshake-layer reply was exercised.
    expect(kinds.get('response') ?? 0).toBeGreaterThan(10);
    expect(c.cookiesSent).toBeGreaterThan(100);
    expect(c.versionNegotiations).toBeGreaterThan(100);

    const validated = new Set(net.server.listSessions().filter((s) => s.established).map((s) => addrKey(s.path.addr)));
    expect(validated).toEqual(new Set([addrKey(client.addr)]));
    // 1. The endpoint's own books.
    let worst = 0;
    let checked = 0;
    for (const [k, e] of net.server.unvalidated) {
      expect(validated.has(k)).toBe(false);
      expect(e.tx, k).toBeLessThanOrEqual(3 * e.rx);
      // ...which match what the network carried.
      expect(e.tx, k).toBe(net.txTo.get(k) ?? 0);
      worst = Math.max(worst, e.tx / e.rx);
      checked++;
    }
    // 2. The network: every address that never validated.
    for (const [k, tx] of net.txTo) {
      if (validated.has(k)) continue;
      expect(tx, k).toBeLessThanOrEqual(3 * (net.rxFrom.get(k) ?? 0));
      expect(net.server.unvalidated.has(k), k).toBe(true);
    }
    console.log(`${checked} unvalidated addresses, ${net.txTo.size} addresses answered; worst tx/rx ${worst.toFixed(3)}`);
    expect(checked).toBeGreaterThan(2000);
  });

  it('an initiator cannot be turned into a reflector by forged COOKIE_REPLYs', () => {
    const seed = 7002;
    console.log(`sim seed ${seed}`);
    const net = new SimNet({ seed, backend: nodeBackend, hasher: fastBlake3 });
    const rng = new SeededRng(seed + 1);
    const client = net.addClient({ host: '198.18.3.1', port: 8888 });
    const victim: SocketAddr = { host: '203.0.113.99', port: 53 };
    let scid: Uint8Array | null = null;
    net.onClientSend = (_from, bytes) => {
      if (scid === null && packetKind(bytes) === 'initiation') {
        const p = decodeLongHeader(new Reader(bytes));
        scid = p.scid.slice();
      }
    };
    client.ep.connect(0, net.serverAddr, net.server.staticPublicKey);
    net.step();
    expect(scid).not.toBeNull();
    // While the real RESPONSE is on its way (one-way delay 10 ms), an on-path attacker who saw
    // the INITIATION answers for the victim's address, and for the server's with a huge cookie.
    for (let i = 0; i < 50; i++) net.injectToClient(victim, client.addr, cookieReply(scid as unknown as Uint8Array, randomBytes(rng, 16)));
    net.injectToClient(net.serverAddr, client.addr, cookieReply(scid as unknown as Uint8Array, randomBytes(rng, 1400)));
    net.runUntil(() => net.serverEvents.some((e) => e.type === 'connected'), 5e6);
    net.runUntil(() => false, net.now + 1e6);
    const k = addrKey(victim);
    console.log(`victim received ${net.clientTxTo.get(k) ?? 0} B for ${net.clientRxFrom.get(k) ?? 0} B; client drops`, client.ep.drops.snapshot());
    expect(net.clientRxFrom.get(k)).toBeGreaterThan(0);
    expect(net.clientTxTo.get(k) ?? 0).toBeLessThanOrEqual(3 * (net.clientRxFrom.get(k) ?? 0));
    // And the real handshake still completes.
    expect(client.events.some((e) => e.type === 'connected')).toBe(true);
  });

  // Known weakness (PROTOCOL.md §6): an observer of the INITIATION can forge COOKIE_REPLYs from
  // the dialled address, and each 38-byte one makes the initiator re-send its 1200-byte
  // INITIATION there, with no cap. Remove `.fails` once re-sends are capped.
  it.fails('forged COOKIE_REPLYs from the dialled address draw at most one re-sent INITIATION per retransmit interval', () => {
    const net = new SimNet({ seed: 7003, backend: nodeBackend, hasher: fastBlake3, link: { delay: 50_000 } });
    const client = net.addClient({ host: '198.18.3.2', port: 8888 });
    let initiations = 0;
    net.onClientSend = (_from, bytes) => {
      if (packetKind(bytes) === 'initiation') initiations++;
    };
    const sid = client.ep.connect(0, net.serverAddr, net.server.staticPublicKey);
    const forged = cookieReply(client.ep.session(sid).localCid, new Uint8Array(16).fill(7));
    // They arrive at 50 ms, the genuine RESPONSE at 100 ms: all while the handshake is open.
    for (let i = 0; i < 100; i++) net.injectToClient(net.serverAddr, client.addr, forged);
    net.runUntil(() => false, 90_000);
    console.log(`${initiations} INITIATIONs for 100 forged COOKIE_REPLYs of ${forged.length} B`);
    expect(initiations).toBeLessThanOrEqual(2);
  });
});
