/**
 * Handshake denial of service at the sim level (PROTOCOL.md §6): a flood of
 * real INITIATIONs from spoofed sources next to legitimate initiators.
 *
 * DH accounting (what `counters.dhOperations` counts on the responder): Noise
 * XX costs the responder 2 DH when it answers an INITIATION (ee, es) and 1
 * when it reads the FINISH (se): 3 per completed handshake, 2 per half-open
 * one. Only INITIATIONs take tokens from the `maxHandshakesPerSec` bucket,
 * which holds at most one second's worth of tokens and refills at that rate,
 * so any 1 s window sees at most 2 × budget tokens (a full bucket plus one
 * second of refill): at most 3 × 2 × budget DH operations.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/rng.js';
import { nodeBackend } from '../../src/crypto/index.js';
import { Reader, decodeLongHeader } from '../../src/wire/index.js';
import { addrKey } from '../../src/transport.js';
import { fastBlake3 } from './helpers.js';
import { InitiationFactory, SimNet, spoofed, type SimClient } from './net.js';
import { hexKey, packetKind } from './observe.js';

/** DH operations per completed responder handshake (2 at INITIATION, 1 at FINISH). */
const DH_PER_HANDSHAKE = 3;

function decode(bytes: Uint8Array) {
  return decodeLongHeader(new Reader(bytes));
}

describe('handshake flood', () => {
  it('2,000 spoofed INITIATIONs/s from 10,000 sources: cookies within 1 s, DH within budget, 20 of 20 legitimate handshakes in 6 s', () => {
    const seed = 6001;
    console.log(`sim seed ${seed}`);
    const BUDGET = 200;
    const RATE = 2000;
    const SOURCES = 10_000;
    const FLOOD_END = 6e6;
    const net = new SimNet({ seed, backend: nodeBackend, hasher: fastBlake3, server: { maxHandshakesPerSec: BUDGET } });
    const factory = new InitiationFactory(nodeBackend, new SeededRng(seed + 1));
    let sent = 0;
    // 2 per millisecond, each from the next of 10,000 sources.
    net.every(1000, 0, FLOOD_END, () => {
      for (let j = 0; j < RATE / 1000; j++) net.inject(spoofed(sent++ % SOURCES), factory.make());
    });

    const legit: SimClient[] = [];
    const startAt: number[] = [];
    const doneAt: Array<number | undefined> = [];
    for (let i = 0; i < 20; i++) legit.push(net.addClient({ host: `198.18.0.${i + 1}`, port: 5000 + i }));
    let started = 0;
    // In the thick of it: from 0.5 s, one every 25 ms.
    net.every(25_000, 500_000, 500_000 + 20 * 25_000, (now) => {
      const c = legit[started] as SimClient;
      startAt[started++] = now;
      c.ep.connect(now, net.serverAddr, net.server.staticPublicKey);
    });

    // What the legitimate initiators got and sent: cookies must come back as tokens.
    const cookiesTo = new Map<string, string[]>();
    const tokensFrom = new Map<string, string[]>();
    const legitKeys = new Set(legit.map((c) => addrKey(c.addr)));
    net.onServerSend = (to, bytes) => {
      const k = addrKey(to);
      if (legitKeys.has(k) && packetKind(bytes) === 'cookie_reply') {
        const p = decode(bytes);
        if (p.type === 'cookie_reply') cookiesTo.set(k, [...(cookiesTo.get(k) ?? []), hexKey(p.cookie)]);
      }
    };
    net.onClientSend = (from, bytes) => {
      if (packetKind(bytes) !== 'initiation') return;
      const p = decode(bytes);
      if (p.type === 'initiation') tokensFrom.set(addrKey(from), [...(tokensFrom.get(addrKey(from)) ?? []), hexKey(p.token)]);
    };

    // DH operations in every 1 s window, from samples after each step.
    const samples: Array<[number, number]> = [[0, 0]];
    let lo = 0;
    let maxWindow = 0;
    let firstCookieAt: number | undefined;
    const peers = legit.map((c) => c.ep.peerId);
    net.onStep = (now) => {
      const dh = net.server.counters.dhOperations;
      samples.push([now, dh]);
      while (lo + 1 < samples.length && (samples[lo + 1] as [number, number])[0] <= now - 1e6) lo++;
      maxWindow = Math.max(maxWindow, dh - (samples[lo] as [number, number])[1]);
      if (firstCookieAt === undefined && net.server.counters.cookiesSent > 0) firstCookieAt = now;
      for (let i = 0; i < started; i++) {
        if (doneAt[i] !== undefined) continue;
        const c = legit[i] as SimClient;
        const serverSide = net.serverEvents.some((e) => e.type === 'connected' && e.peerId === peers[i]);
        if (serverSide && c.events.some((e) => e.type === 'connected')) doneAt[i] = now;
      }
    };
    net.runUntil(() => false, FLOOD_END + 1e6);

    const c = net.server.counters;
    const secs = net.now / 1e6;
    const latencies = doneAt.map((t, i) => (t === undefined ? Infinity : t - (startAt[i] as number)));
    console.log(
      `${sent} spoofed INITIATIONs in ${FLOOD_END / 1e6} s; first cookie at ${firstCookieAt} µs; cookies ${c.cookiesSent}, ` +
        `validated ${c.cookiesValidated}; DH ${c.dhOperations} (max ${maxWindow} in 1 s, bound ${DH_PER_HANDSHAKE * 2 * BUDGET}); ` +
        `sessions ${net.server.sessionCount}; legitimate handshake times (ms) ${latencies.map((l) => (l / 1000).toFixed(0)).join(' ')}`,
    );
    console.log('server drops', net.server.drops.snapshot());

    expect(sent).toBe(RATE * (FLOOD_END / 1e6));
    expect(firstCookieAt).toBeDefined();
    expect(firstCookieAt as number).toBeLessThanOrEqual(1e6);
    expect(maxWindow).toBeLessThanOrEqual(DH_PER_HANDSHAKE * 2 * BUDGET);
    expect(c.dhOperations).toBeLessThanOrEqual(DH_PER_HANDSHAKE * BUDGET * (secs + 1));
    // The flood really pressed on the budget: far more INITIATIONs than it allows.
    expect(sent).toBeGreaterThan(5 * BUDGET * secs);
    // 20 of 20, each within 6 s of its first INITIATION.
    expect(latencies.filter((l) => l <= 6e6)).toHaveLength(20);
    // The legitimate initiators followed the cookies: each cookie came back as a token.
    let askedForCookie = 0;
    for (const c2 of legit) {
      const k = addrKey(c2.addr);
      const tokens = tokensFrom.get(k) ?? [];
      expect(tokens[0]).toBe(hexKey(new Uint8Array(0)));
      const cookies = cookiesTo.get(k) ?? [];
      for (const cookie of cookies) expect(tokens).toContain(cookie);
      if (cookies.length > 0) askedForCookie++;
    }
    console.log(`${askedForCookie} of 20 legitimate initiators were asked for a cookie`);
    // Most arrive while the budget is below half: cookies engaged for them too, and each came back valid.
    expect(askedForCookie).toBeGreaterThanOrEqual(10);
    expect(c.cookiesValidated).toBeGreaterThanOrEqual(askedForCookie);
  });
});

describe('session table', () => {
  it('junk never takes the table past maxSessions: spoofed junk gets at most half of it, cookie-following initiators still get in', () => {
    const seed = 6002;
    console.log(`sim seed ${seed}`);
    const MAX = 64;
    const JUNK_END = 5e6;
    const BOTS_END = 7e6;
    // A generous DH budget, so only the table limits the junk.
    const net = new SimNet({
      seed,
      backend: nodeBackend,
      hasher: fastBlake3,
      session: { handshakeTimeout: 2e6 },
      server: { maxSessions: MAX, maxHandshakesPerSec: 100_000 },
    });
    const factory = new InitiationFactory(nodeBackend, new SeededRng(seed + 1));
    let sent = 0;
    // Phase 1: spoofed INITIATIONs, 250/s, each from a new source (they never see a reply).
    net.every(4000, 0, JUNK_END, () => net.inject(spoofed(sent++), factory.make()));
    const legit: SimClient[] = [];
    for (let i = 0; i < 8; i++) legit.push(net.addClient({ host: `198.18.1.${i + 1}`, port: 6000 }));
    let started = 0;
    net.every(400_000, 1e6, 1e6 + 8 * 400_000, (now) => {
      (legit[started++] as SimClient).ep.connect(now, net.serverAddr, net.server.staticPublicKey);
    });
    // Phase 2: bots at real addresses that return every cookie (answering at once) but never finish.
    let bots = 0;
    net.every(4000, JUNK_END, BOTS_END, () => net.inject({ host: '198.51.100.1', port: 1000 + bots++ }, factory.make()));
    net.onServerSend = (to, bytes) => {
      if (to.host !== '198.51.100.1' || packetKind(bytes) !== 'cookie_reply') return;
      const p = decode(bytes);
      if (p.type === 'cookie_reply') net.inject(to, factory.make(p.cookie.slice()));
    };
    let maxCount = 0;
    let maxHalfOpen = 0;
    net.onStep = (now) => {
      maxCount = Math.max(maxCount, net.server.sessionCount);
      // Half-open sessions of spoofed sources (100.64.0.0/10).
      const junk = net.server.listSessions().filter((x) => !x.established && x.path.addr.host.startsWith('100.64.'));
      if (now < JUNK_END) maxHalfOpen = Math.max(maxHalfOpen, junk.length);
    };
    const established = () => net.server.listSessions().filter((x) => x.established).length;
    net.runUntil(() => false, JUNK_END);
    console.log(
      `phase 1: ${sent} spoofed INITIATIONs; largest table ${maxCount} of ${MAX} (spoofed half-open ${maxHalfOpen}); established ${established()}; ` +
        `cookies ${net.server.counters.cookiesSent}`,
    );
    expect(sent).toBeGreaterThan(4 * MAX);
    expect(maxHalfOpen).toBeLessThanOrEqual(MAX / 2);
    // Every legitimate initiator got in while the junk pressed on the table.
    for (const c of legit) expect(c.events.some((e) => e.type === 'connected')).toBe(true);
    expect(established()).toBe(legit.length);

    net.runUntil(() => false, BOTS_END);
    console.log(`phase 2: ${bots} bots; largest table ${maxCount} of ${MAX}; drops`, net.server.drops.snapshot());
    // Junk that does return cookies fills the table up to, never past, its limit.
    expect(maxCount).toBe(MAX);
    expect(net.server.drops.get('session_table_full')).toBeGreaterThan(0);
    // The established sessions were never pushed out.
    expect(established()).toBe(legit.length);
    // Once the junk stops, its half-open sessions expire: only the real ones stay.
    net.runUntil(() => net.server.sessionCount === legit.length, net.now + 5e6);
    expect(net.server.sessionCount).toBe(legit.length);
  });
});
