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

  // PROTOCOL.md §6: an observer of the INITIATION can forge COOKIE_REPLYs from the dialled
  // address. Each would make the initiator re-send its 1200-byte INITIATION there (31x a 38-byte
  // reply); it re-sends for at most one per retransmit interval and drops the rest.
  it('forged COOKIE_REPLYs from the dialled address draw at most one re-sent INITIATION per retransmit interval', () => {
    const net = new SimNet({ seed: 7003, backend: nodeBackend, hasher: fastBlake3, link: { delay: 50_000 } });
    const client = net.addClient({ host: '198.18.3.2', port: 8888 });
    const sentAt: number[] = [];
    net.onClientSend = (_from, bytes) => {
      if (packetKind(bytes) === 'initiation') sentAt.push(net.now);
    };
    const sid = client.ep.connect(0, net.serverAddr, net.server.staticPublicKey);
    const forged = cookieReply(client.ep.session(sid).localCid, new Uint8Array(16).fill(7));
    // They arrive at 50 ms, the genuine RESPONSE at 100 ms: all while the handshake is open.
    for (let i = 0; i < 100; i++) net.injectToClient(net.serverAddr, client.addr, forged);
    net.runUntil(() => false, 90_000);
    console.log(`${sentAt.length} INITIATIONs (at ${sentAt.join(', ')} µs) for 100 forged COOKIE_REPLYs of ${forged.length} B`);
    // The original, and one re-send, at once, for the first reply; the other 99 are dropped.
    expect(sentAt).toEqual([0, 50_000]);
    expect(client.ep.drops.get('cookie_reply_rate_limited')).toBe(99);
    // The junk token is ignored by a responder not under load: the handshake completes.
    net.runUntil(() => client.events.some((e) => e.type === 'connected'), 2e6);
    expect(client.events.some((e) => e.type === 'connected')).toBe(true);
    expect(sentAt.length).toBeLessThanOrEqual(2);
  });

  // Over a whole handshake that never completes (nothing answers at the dialled address but the
  // attacker): forged replies at most double the INITIATIONs the retransmit timer sends anyway.
  // period 0: the observer answers every INITIATION it sees with a forged reply (the worst timing).
  for (const period of [0, 10_000, 250_000, 1_000_000]) {
    const what = period === 0 ? 'for every INITIATION seen' : `every ${period / 1000} ms`;
    it(`a forged COOKIE_REPLY ${what} for a whole handshake: at most twice the INITIATIONs of an unanswered one`, () => {
      const dead: SocketAddr = { host: '192.0.2.77', port: 7000 };
      const run = (forge: boolean): { initiations: number; initiationBytes: number; attackerBytes: number; limited: number; closed: boolean } => {
        const net = new SimNet({ seed: 7004, backend: nodeBackend, hasher: fastBlake3 });
        const client = net.addClient({ host: '198.18.3.3', port: 8888 });
        let initiations = 0;
        let initiationBytes = 0;
        let attackerBytes = 0;
        let forged: Uint8Array | null = null;
        net.onClientSend = (_from, bytes) => {
          if (packetKind(bytes) !== 'initiation') return;
          initiations++;
          initiationBytes += bytes.length;
          if (period === 0 && forged) {
            net.injectToClient(dead, client.addr, forged);
            attackerBytes += forged.length;
          }
        };
        const sid = client.ep.connect(0, dead, net.server.staticPublicKey);
        if (forge) forged = cookieReply(client.ep.session(sid).localCid, new Uint8Array(16).fill(9));
        if (forged && period > 0) {
          net.every(period, 10_000, 11e6, () => {
            net.injectToClient(dead, client.addr, forged);
            attackerBytes += forged.length;
          });
        }
        net.runUntil(() => false, 11.5e6);
        const closed = client.events.some((e) => e.type === 'closed' && e.code === 'E_HANDSHAKE_TIMEOUT');
        return { initiations, initiationBytes, attackerBytes, limited: client.ep.drops.get('cookie_reply_rate_limited'), closed };
      };
      const base = run(false);
      const attacked = run(true);
      console.log(
        `forged ${what}: unanswered ${base.initiations} INITIATIONs; forged ${attacked.attackerBytes} B drew ` +
          `${attacked.initiations} INITIATIONs (${attacked.initiationBytes} B, ${(attacked.initiationBytes / attacked.attackerBytes).toFixed(2)}x), ` +
          `${attacked.limited} replies dropped`,
      );
      expect(base.closed).toBe(true);
      expect(attacked.closed).toBe(true);
      expect(attacked.initiations).toBeLessThanOrEqual(2 * base.initiations);
      if (period > 0 && period < 250_000) {
        // A flood faster than the retransmit interval: mostly dropped, the initiator sends less than the attacker.
        expect(attacked.limited).toBeGreaterThan(0);
        expect(attacked.initiationBytes).toBeLessThanOrEqual(attacked.attackerBytes);
      }
    });
  }

  it('a genuine COOKIE_REPLY is followed at once, also after forged ones: handshakes with a responder demanding cookies complete', () => {
    for (const forge of [false, true]) {
      const net = new SimNet({ seed: 7005, backend: nodeBackend, hasher: fastBlake3, link: { delay: 50_000 }, server: { perSourceInitiationsPerSec: 0 } });
      const client = net.addClient({ host: '198.18.3.4', port: 8888 });
      const sent: Array<{ at: number; token: string }> = [];
      net.onClientSend = (_from, bytes) => {
        if (packetKind(bytes) !== 'initiation') return;
        const p = decodeLongHeader(new Reader(bytes));
        if (p.type === 'initiation') sent.push({ at: net.now, token: Buffer.from(p.token).toString('hex') });
      };
      const cookies: string[] = [];
      net.onServerSend = (_to, bytes) => {
        if (packetKind(bytes) !== 'cookie_reply') return;
        const p = decodeLongHeader(new Reader(bytes));
        if (p.type === 'cookie_reply') cookies.push(Buffer.from(p.cookie).toString('hex'));
      };
      const sid = client.ep.connect(0, net.serverAddr, net.server.staticPublicKey);
      if (forge) {
        const forged = cookieReply(client.ep.session(sid).localCid, new Uint8Array(16).fill(7));
        for (let i = 0; i < 100; i++) net.injectToClient(net.serverAddr, client.addr, forged);
      }
      net.runUntil(() => client.events.some((e) => e.type === 'connected'), 5e6);
      const connectedAt = net.now;
      console.log(`forged: ${forge}; INITIATIONs ${JSON.stringify(sent)}; cookies ${cookies.length}; connected at ${connectedAt} µs; drops`, client.ep.drops.snapshot());
      expect(client.events.some((e) => e.type === 'connected')).toBe(true);
      expect(net.server.counters.cookiesValidated).toBeGreaterThanOrEqual(1);
      if (!forge) {
        // INITIATION at 0, COOKIE_REPLY back at 100 ms and followed at once, RESPONSE at 200 ms.
        expect(sent.map((x) => x.at)).toEqual([0, 100_000]);
        expect(sent[1]?.token).toBe(cookies[0]);
        expect(connectedAt).toBeLessThanOrEqual(200_000);
        expect(client.ep.drops.get('cookie_reply_rate_limited')).toBe(0);
      } else {
        // The forged ones arrive first (50 ms) and take this interval's re-send; the genuine
        // cookie drawn by the next timer retransmission is followed: one interval's delay.
        expect(sent.some((x) => cookies.includes(x.token))).toBe(true);
        expect(connectedAt).toBeLessThanOrEqual(1.5e6);
      }
    }
  });
});
