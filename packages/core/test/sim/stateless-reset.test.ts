/**
 * Stateless reset (PROTOCOL.md §3a): a receiver that restarts with the same
 * identity (B's endpoint replaced by a fresh one built from the same static
 * key) answers the sender's packets for the CID it no longer knows with a
 * reset; the sender's session ends with E_PEER_RESET within a round trip or
 * two instead of idle_timeout (30 s), and a new handshake succeeds. Forged,
 * misdirected and random datagrams never end a session; the reset rate is
 * capped; two endpoints without sessions cannot keep resetting each other.
 */
import { describe, expect, it } from 'vitest';
import { Endpoint } from '../../src/endpoint.js';
import { SeededRng } from '../../src/rng.js';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair, type SimLinkConfig } from '../../src/sim/index.js';
import type { Session, SessionEvent } from '../../src/session/index.js';
import { DEFAULT_SESSION_CONFIG } from '../../src/session/config.js';
import {
  DEFAULT_STATELESS_RESETS_PER_SEC,
  STATELESS_RESET_MIN_LEN,
  statelessResetTokens,
} from '../../src/session/stateless-reset.js';
import { DatagramBatch, addrEquals, type SocketAddr } from '../../src/transport.js';
import { ERRORS } from '../../src/errors.js';
import {
  CID_LEN,
  Reader,
  WIRE_VERSION,
  WireError,
  Writer,
  decodeLongHeader,
  decodeTransportParams,
  encodeLongHeader,
  isShortHeader,
  peekDcid,
  wireCodeFor,
} from '../../src/wire/index.js';
import { fastBlake3, sha256hex } from './helpers.js';
import { drain } from './observe.js';

const MiB = 1024 * 1024;
const CHUNK = 256 * 1024;
/** 10 ms one way: RTT 20 ms. */
const RTT = 20_000;
const IDLE_TIMEOUT = 30_000_000;
const link: SimLinkConfig = { bandwidthBps: 100e6, delay: RTT / 2, queueBytes: 512 * 1024 };

type Closed = Extract<SessionEvent, { type: 'closed' }>;
type Failed = Extract<SessionEvent, { type: 'transfer_failed' }>;

function randomFile(seed: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  new SeededRng(seed).fill(b);
  return b;
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A session established between A (initiator) and B; A's session id and both sessions. */
function established(seed: number): { pair: SimPair; sid: number; sa: Session; sb: Session } {
  console.log(`sim seed ${seed}`);
  const pair = new SimPair({ seed, ab: link, ba: link, backend: nodeBackend, hasher: fastBlake3 });
  const sid = pair.connect();
  const ok = pair.runUntil(
    () => pair.a.events.some((e) => e.type === 'connected' && e.session === sid) && pair.b.events.some((e) => e.type === 'connected'),
    5e6,
  );
  expect(ok).toBe(true);
  const sa = pair.a.endpoint.session(sid);
  const sb = pair.b.endpoint.listSessions()[0] as Session;
  expect(sb.established).toBe(true);
  return { pair, sid, sa, sb };
}

/** A short-header-looking datagram of `len` bytes: DCID `dcid`, random rest, optionally ending with `tail`. */
function shortDatagram(rng: SeededRng, len: number, dcid: Uint8Array, tail?: Uint8Array): Uint8Array {
  const d = new Uint8Array(Math.max(len, 1 + CID_LEN));
  rng.fill(d);
  d[0] = 0x40 | ((d[0] as number) & 0x04);
  d.set(dcid, 1);
  if (tail) d.set(tail, d.length - tail.length);
  return d.subarray(0, len);
}

function randomCid(rng: SeededRng): Uint8Array {
  const c = new Uint8Array(CID_LEN);
  rng.fill(c);
  return c;
}

/** A bare endpoint (no links) built from `staticKey`. */
function bareEndpoint(seed: number, staticKey?: { priv: Uint8Array; pub: Uint8Array }, perSec?: number): Endpoint {
  const rng = new SeededRng(seed);
  return new Endpoint({
    staticKey: staticKey ?? nodeBackend.x25519GenerateKeyPair(rng),
    backend: nodeBackend,
    hasher: fastBlake3,
    rng,
    acceptIncoming: true,
    ...(perSec !== undefined ? { statelessResetsPerSec: perSec } : {}),
  });
}

function staticKeyOf(ep: Endpoint): { priv: Uint8Array; pub: Uint8Array } {
  return (ep as unknown as { c: { staticKey: { priv: Uint8Array; pub: Uint8Array } } }).c.staticKey;
}

describe('stateless reset', () => {
  it('a receiver restarted mid-transfer resets the sender within a few RTTs (not idle_timeout); every reset is smaller than its trigger; a new handshake then succeeds', () => {
    const { pair, sid, sa, sb } = established(5101);
    expect(pair.a.endpoint.config.idleTimeout).toBe(IDLE_TIMEOUT);
    // Each side holds the other's token for the CID it sends to, and it is the token its peer derives.
    const tokenB = statelessResetTokens(nodeBackend, staticKeyOf(pair.b.endpoint).priv);
    const tokenA = statelessResetTokens(nodeBackend, staticKeyOf(pair.a.endpoint).priv);
    expect(toHex(sa.peerResetToken as Uint8Array)).toBe(toHex(tokenB(sb.localCid)));
    expect(toHex(sb.peerResetToken as Uint8Array)).toBe(toHex(tokenA(sa.localCid)));

    const data = randomFile(5101, 16 * MiB);
    const t1 = pair.send(sid, 'big.bin', data, CHUNK);
    expect(pair.runUntil(() => pair.b.chunkBytesWritten >= 2 * MiB, 60e6)).toBe(true);

    // The restart: same identity, no sessions.
    const oldCid = sb.localCid.slice();
    pair.restartB();
    const fresh = pair.b.endpoint;
    expect(fresh.sessionCount).toBe(0);
    const tRestart = pair.now;
    // Every datagram the fresh endpoint receives, in order, with whether it drew a reset.
    const triggers: number[] = [];
    const batch = fresh.handleBatch.bind(fresh);
    fresh.handleBatch = (now: number, b: DatagramBatch) => {
      const before = fresh.counters.statelessResetsSent;
      const eligible: number[] = [];
      for (let i = 0; i < b.count; i++) {
        const d = b.datagram(i);
        if (d.length >= 41 && isShortHeader(d[0] ?? 0)) eligible.push(d.length);
      }
      batch(now, b);
      // The bucket never refills within one call (one `now`): the first eligible datagrams drew the resets.
      const n = fresh.counters.statelessResetsSent - before;
      expect(n).toBeLessThanOrEqual(eligible.length);
      triggers.push(...eligible.slice(0, n));
    };
    pair.capture = [];

    const closedAt = (): Closed | undefined => pair.a.events.find((e): e is Closed => e.type === 'closed' && e.session === sid);
    expect(pair.runUntil(() => closedAt() !== undefined, tRestart + IDLE_TIMEOUT)).toBe(true);
    const elapsed = pair.now - tRestart;
    console.log(`A's session closed ${elapsed} µs after the restart (RTT ${RTT} µs); resets sent ${fresh.counters.statelessResetsSent}`);
    const closed = closedAt() as Closed;
    expect(closed.code).toBe('E_PEER_RESET');
    expect(closed.byPeer).toBe(true);
    expect(elapsed).toBeLessThanOrEqual(3 * RTT);
    const failed = pair.a.events.find((e): e is Failed => e.type === 'transfer_failed' && e.session === sid && e.transferId === t1);
    expect(failed?.code).toBe('E_PEER_RESET');
    expect(failed?.byPeer).toBe(true);
    expect(pair.a.endpoint.hasSession(sid)).toBe(false);
    expect(pair.a.endpoint.counters.statelessResetsReceived).toBe(1);
    expect(sa.closed).toBe(true);

    // Let everything in flight land: A sends nothing more to the old CID (no CLOSE, nothing).
    const beforeClose = pair.capture;
    pair.capture = [];
    pair.runUntil(() => false, pair.now + 10 * RTT);
    const afterClose = pair.capture;
    pair.capture = null;
    const toOld = (c: { from: SocketAddr; bytes: Uint8Array }): boolean =>
      addrEquals(c.from, pair.a.addr) && toHex(peekDcid(c.bytes) ?? new Uint8Array(0)) === toHex(oldCid);
    expect(beforeClose.filter(toOld).length).toBeGreaterThan(0); // what A sent before the reset reached it
    expect(afterClose.filter((c) => addrEquals(c.from, pair.a.addr))).toEqual([]);
    // The resets B sent: every datagram from the fresh endpoint so far (it has no session).
    const resets = [...beforeClose, ...afterClose].filter((c) => addrEquals(c.from, pair.b.addr));
    expect(resets.length).toBe(fresh.counters.statelessResetsSent);
    expect(resets.length).toBeGreaterThanOrEqual(1);
    expect(resets.length).toBeLessThanOrEqual(DEFAULT_STATELESS_RESETS_PER_SEC + 1);
    expect(triggers).toHaveLength(resets.length);
    const token = toHex(tokenB(oldCid));
    resets.forEach((r, i) => {
      expect(addrEquals(r.to, pair.a.addr)).toBe(true);
      expect(isShortHeader(r.bytes[0] ?? 0)).toBe(true);
      expect(r.bytes.length).toBeLessThan(triggers[i] as number);
      expect(r.bytes.length).toBeGreaterThanOrEqual(STATELESS_RESET_MIN_LEN);
      expect(toHex(r.bytes.subarray(r.bytes.length - 16))).toBe(token);
    });
    // Later copies of the reset were absorbed by A, not answered with resets of its own.
    expect(pair.a.endpoint.counters.statelessResetsSent).toBe(0);
    expect(pair.a.endpoint.drops.get('late_stateless_reset')).toBe(resets.length - 1);

    // A new handshake to the restarted endpoint, and the rest of the file.
    const s2 = pair.connect();
    expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected' && e.session === s2), pair.now + 5e6)).toBe(true);
    expect(fresh.sessionCount).toBe(1);
    const t2 = pair.send(s2, 'big.bin', data, CHUNK);
    const done = pair.runUntil(() => pair.a.events.some((e) => e.type === 'transfer_complete' && e.session === s2 && e.transferId === t2), pair.now + 120e6);
    expect(done).toBe(true);
    expect(sha256hex(pair.b.received.get('big.bin') as Uint8Array)).toBe(sha256hex(data));
  });

  it('a sender held back by the window (only probes and keep-alives to send) is reset too: its probes are padded to draw one', () => {
    const { pair, sid } = established(5102);
    const data = randomFile(5102, 64 * MiB);
    pair.b.stallWrites = true; // B stops writing: A fills the window, then has nothing it may send
    pair.send(sid, 'stuck.bin', data, CHUNK);
    const stalledAt = pair.now;
    pair.runUntil(() => false, stalledAt + 2e6);
    const sentBefore = pair.a.endpoint.counters.datagramsSent;
    pair.runUntil(() => false, pair.now + 1e6);
    expect(pair.a.endpoint.counters.datagramsSent - sentBefore, 'A is stalled: only a few probes a second').toBeLessThan(50);

    pair.restartB();
    const tRestart = pair.now;
    pair.capture = [];
    const closed = (): Closed | undefined => pair.a.events.find((e): e is Closed => e.type === 'closed' && e.session === sid);
    expect(pair.runUntil(() => closed() !== undefined, tRestart + IDLE_TIMEOUT)).toBe(true);
    const fromA = pair.capture.filter((c) => addrEquals(c.from, pair.a.addr));
    pair.capture = null;
    console.log(`stalled sender: closed ${pair.now - tRestart} µs after the restart; A sent ${fromA.length} datagrams (sizes ${[...new Set(fromA.map((c) => c.bytes.length))].join(', ')})`);
    expect((closed() as Closed).code).toBe('E_PEER_RESET');
    // A's next datagram draws the reset: a keep-alive comes within one keep-alive interval.
    expect(pair.now - tRestart).toBeLessThan(DEFAULT_SESSION_CONFIG.keepAlive + 4 * RTT);
    expect(DEFAULT_SESSION_CONFIG.keepAlive).toBeLessThan(IDLE_TIMEOUT / 5);
    for (const c of fromA) expect(c.bytes.length).toBeGreaterThanOrEqual(41);
  });

  it('E_PEER_RESET is a local network error, never a CLOSE code of its own', () => {
    expect(ERRORS.E_PEER_RESET.category).toBe('network');
    expect(wireCodeFor('E_PEER_RESET')).toBe(WireError.IDLE_TIMEOUT);
  });

  it('the token travels only in encrypted handshake messages, never in the INITIATION', () => {
    console.log('sim seed 5102');
    const pair = new SimPair({ seed: 5102, ab: link, ba: link, backend: nodeBackend, hasher: fastBlake3 });
    pair.capture = [];
    const sid = pair.connect();
    expect(pair.runUntil(() => pair.b.events.some((e) => e.type === 'connected'), 5e6)).toBe(true);
    const init = pair.capture.find((c) => c.bytes[0] === 0xc0);
    expect(init).toBeDefined();
    const p = decodeLongHeader(new Reader((init as { bytes: Uint8Array }).bytes));
    if (p.type !== 'initiation') throw new Error('not an INITIATION');
    // Noise XX message 1: the ephemeral key, then the payload in the clear.
    const params = decodeTransportParams(p.noise.subarray(32));
    expect(params.sourceCid).toEqual(p.scid);
    expect(params.statelessResetToken).toBeUndefined();
    // Neither side's token appears anywhere in the clear.
    const sa = pair.a.endpoint.session(sid);
    const sb = pair.b.endpoint.listSessions()[0] as Session;
    for (const t of [sa.peerResetToken, sb.peerResetToken]) {
      expect(t).not.toBeNull();
      const h = toHex(t as Uint8Array);
      for (const c of pair.capture) expect(toHex(c.bytes).includes(h)).toBe(false);
    }
    // The token works both ways: B's session, reset by A with B's own CID (one datagram, not a batch).
    const rng = new SeededRng(5105);
    const b = pair.b.endpoint;
    b.handleDatagram(pair.now, pair.a.addr, shortDatagram(rng, 100, sb.localCid, sb.peerResetToken as Uint8Array));
    expect(sb.closed).toBe(true);
    expect(b.sessionCount).toBe(0);
    expect(b.counters.statelessResetsReceived).toBe(1);
    expect(drain(b, pair.now)).toEqual([]);
  });

  it('a restarted process with the same identity derives the same tokens; another identity does not', () => {
    const a = bareEndpoint(1);
    const again = bareEndpoint(2, staticKeyOf(a));
    const other = bareEndpoint(3);
    const cid = randomCid(new SeededRng(4));
    const trigger = shortDatagram(new SeededRng(5), 200, cid);
    const from: SocketAddr = { host: '10.9.9.9', port: 9 };
    const tails = [a, again, other].map((ep) => {
      ep.handleDatagram(0, from, trigger);
      const out = drain(ep, 0);
      expect(out).toHaveLength(1);
      return toHex((out[0] as { bytes: Uint8Array }).bytes.subarray(-16));
    });
    expect(tails[0]).toBe(tails[1]);
    expect(tails[2]).not.toBe(tails[0]);
    expect(tails[0]).toBe(toHex(statelessResetTokens(nodeBackend, staticKeyOf(a).priv)(cid)));
    // Per CID.
    a.handleDatagram(0, from, shortDatagram(new SeededRng(6), 200, randomCid(new SeededRng(7))));
    expect(toHex((drain(a, 0)[0] as { bytes: Uint8Array }).bytes.subarray(-16))).not.toBe(tails[0]);
  });

  it('answers only short-header datagrams of at least 41 bytes, strictly smaller, at least 40, and unpredictable', () => {
    const ep = bareEndpoint(11, undefined, 1e9);
    const rng = new SeededRng(12);
    const from: SocketAddr = { host: '10.1.1.1', port: 1000 };
    let t = 0;
    // 0: empty; 1 and 8: too short for a CID (malformed_header); 9 up to 40: unknown_cid, too small to answer.
    for (const n of [0, 1, 8, 9, 13, 29, 30, 39, 40]) {
      ep.handleDatagram((t += 1000), from, shortDatagram(rng, n, randomCid(rng)));
      expect(drain(ep, t), `${n} bytes`).toHaveLength(0);
    }
    const seen = new Set<string>();
    for (const n of [41, 42, 50, 64, 65, 66, 100, 1200, 1452]) {
      const cid = randomCid(rng);
      for (let k = 0; k < 2; k++) {
        ep.handleDatagram((t += 1000), from, shortDatagram(rng, n, cid));
        const out = drain(ep, t);
        expect(out, `${n} bytes`).toHaveLength(1);
        const r = (out[0] as { to: SocketAddr; bytes: Uint8Array });
        expect(addrEquals(r.to, from)).toBe(true);
        expect(r.bytes.length).toBe(Math.min(n - 1, 64));
        expect(r.bytes.length).toBeLessThan(n);
        expect(r.bytes.length).toBeGreaterThanOrEqual(40);
        expect(isShortHeader(r.bytes[0] ?? 0)).toBe(true);
        // Everything but the token differs between two resets for the same CID.
        const body = toHex(r.bytes.subarray(1, r.bytes.length - 16));
        expect(seen.has(body)).toBe(false);
        seen.add(body);
      }
    }
    // Long headers for unknown CIDs (a FINISH, garbage of the current version) and non-short first bytes: nothing.
    const buf = new Uint8Array(2048);
    const w = new Writer(buf);
    encodeLongHeader(w, { type: 'finish', version: WIRE_VERSION, dcid: randomCid(rng), scid: randomCid(rng), noise: new Uint8Array(200) });
    ep.handleDatagram((t += 1000), from, buf.slice(0, w.offset));
    const junk = shortDatagram(rng, 300, randomCid(rng));
    junk[0] = 0x41;
    ep.handleDatagram((t += 1000), from, junk);
    expect(drain(ep, t)).toHaveLength(0);
    expect(ep.counters.statelessResetsSent).toBe(9 * 2);
    expect(ep.drops.get('unknown_cid')).toBe(6 + 9 * 2);
    expect(ep.drops.get('malformed_header')).toBe(3);
    expect(ep.drops.get('unexpected_handshake')).toBe(1);
  });

  it('a flood of unknown-CID packets draws at most 20 resets a second (burst 20)', () => {
    const ep = bareEndpoint(21);
    const rng = new SeededRng(22);
    const N = 20_000;
    const SPAN = 2_000_000; // 2 s
    const batch = new DatagramBatch(32, 1500);
    let t = 0;
    for (let i = 0; i < N; ) {
      batch.clear();
      for (let k = 0; k < 32 && i < N; k++, i++) {
        const from = { host: `100.64.${(i >> 8) & 0xff}.${i & 0xff}`, port: 1024 + (i % 1000) };
        batch.push(shortDatagram(rng, 100 + (i % 1300), randomCid(rng)), from);
      }
      t = Math.floor((i / N) * SPAN);
      ep.handleBatch(t, batch);
    }
    const out = drain(ep, t);
    const sent = ep.counters.statelessResetsSent;
    console.log(`${N} unknown-CID datagrams over ${SPAN} µs: ${sent} resets`);
    expect(out).toHaveLength(sent);
    expect(ep.drops.get('unknown_cid')).toBe(N);
    expect(sent).toBeGreaterThanOrEqual(20 + 2 * 20 - 2);
    expect(sent).toBeLessThanOrEqual(20 + (SPAN / 1e6) * 20 + 1);
    // With resets turned off, none at all.
    const off = bareEndpoint(23, undefined, 0);
    off.handleDatagram(0, { host: '10.0.0.9', port: 1 }, shortDatagram(rng, 500, randomCid(rng)));
    expect(drain(off, 0)).toHaveLength(0);
    expect(off.drops.get('unknown_cid')).toBe(1);
  });

  it('two endpoints with no session for each other cannot keep resetting each other', () => {
    const x = bareEndpoint(31);
    const y = bareEndpoint(32);
    const xa: SocketAddr = { host: '10.3.0.1', port: 3001 };
    const ya: SocketAddr = { host: '10.3.0.2', port: 3002 };
    const rng = new SeededRng(33);
    let t = 0;
    let resets = 0;
    for (const size of [1452, 64, 41]) {
      t += 10_000_000; // a full bucket on both sides each time
      // X's stray packet reaches Y; whatever either sends goes to the other, until silence.
      let inflight: Array<{ to: Endpoint; from: SocketAddr; bytes: Uint8Array }> = [{ to: y, from: xa, bytes: shortDatagram(rng, size, randomCid(rng)) }];
      const sizes: number[] = [size];
      for (let hops = 0; inflight.length > 0; hops++) {
        expect(hops).toBeLessThan(100);
        const next: typeof inflight = [];
        for (const d of inflight) {
          d.to.handleDatagram((t += 10_000), d.from, d.bytes);
          const self = d.to === x ? xa : ya;
          for (const o of drain(d.to, t)) {
            sizes.push(o.bytes.length);
            next.push({ to: d.to === x ? y : x, from: self, bytes: o.bytes });
          }
        }
        inflight = next;
      }
      resets += sizes.length - 1;
      console.log(`stray ${size}-byte packet: datagram sizes ${sizes.join(' > ')}`);
      // Each reset is one byte shorter than what drew it (64 at most), down to 40, which draws none.
      const chain: number[] = [];
      for (let n = Math.min(size - 1, 64); n >= 40; n--) chain.push(n);
      expect(sizes).toEqual([size, ...chain]);
      expect(sizes.length).toBeLessThanOrEqual(2 + 64 - 40);
    }
    expect(x.counters.statelessResetsSent + y.counters.statelessResetsSent).toBe(resets);
    expect(resets).toBe(25 + 24 + 1);
  });

  it('a reset from another address, a reset with a wrong token, and random datagrams ending in random bytes close nothing; the genuine token from the peer does', () => {
    const { pair, sid, sa, sb } = established(5103);
    const data = randomFile(5103, 4 * MiB);
    const t1 = pair.send(sid, 'f.bin', data, CHUNK);
    expect(pair.runUntil(() => pair.b.chunkBytesWritten >= 1 * MiB, 30e6)).toBe(true);
    const a = pair.a.endpoint;
    const token = sa.peerResetToken as Uint8Array;
    const rng = new SeededRng(5104);
    // Fed straight to A's endpoint, half one by one and half in receive batches.
    const list: Array<{ from: SocketAddr; bytes: Uint8Array }> = [];
    const feed = (): void => {
      const batch = new DatagramBatch(32, 2048);
      list.forEach((d, i) => {
        if (i % 2 === 0) return a.handleDatagram(pair.now, d.from, d.bytes);
        batch.push(d.bytes, d.from);
        if (batch.count === batch.capacity) {
          a.handleBatch(pair.now, batch);
          batch.clear();
        }
      });
      if (batch.count > 0) a.handleBatch(pair.now, batch);
      list.length = 0;
    };
    const stranger: SocketAddr = { host: '10.0.0.66', port: 4000 };
    const bAddr = pair.b.addr;
    const wrong = token.slice();
    wrong[15] = (wrong[15] as number) ^ 1;
    const drops0 = a.drops.snapshot();
    let unknown = 0;
    let routed = 0;
    // The genuine token, but not from B's address (random CIDs, and A's own CID).
    for (let i = 0; i < 50; i++) {
      list.push({ from: stranger, bytes: shortDatagram(rng, 40 + (i % 30), randomCid(rng), token) });
      list.push({ from: { host: bAddr.host, port: bAddr.port + 1 }, bytes: shortDatagram(rng, 60, randomCid(rng), token) });
      list.push({ from: stranger, bytes: shortDatagram(rng, 80, sa.localCid, token) });
      unknown += 2;
      routed++;
    }
    // From B's address: a wrong token; the genuine token in a datagram under 40 bytes.
    for (let i = 0; i < 50; i++) {
      list.push({ from: bAddr, bytes: shortDatagram(rng, 40 + i, randomCid(rng), wrong) });
      list.push({ from: bAddr, bytes: shortDatagram(rng, 50 + i, sa.localCid, wrong) });
      list.push({ from: bAddr, bytes: shortDatagram(rng, 17 + (i % 23), randomCid(rng), token) });
      unknown += 2;
      routed++;
    }
    // Random datagrams ending in random bytes, some with a short-header first byte, some with A's CID.
    for (let i = 0; i < 2000; i++) {
      const n = 1 + ((i * 7919) % 1500);
      const d = new Uint8Array(n);
      rng.fill(d);
      if (i % 3 === 0 && n > 13) d[0] = 0x40;
      if (i % 5 === 0 && n > 13) d.set(sa.localCid, 1);
      list.push({ from: i % 2 === 0 ? bAddr : stranger, bytes: d });
    }
    feed();
    pair.runUntil(() => false, pair.now + 3 * RTT);
    expect(sa.established).toBe(true);
    expect(sb.established).toBe(true);
    expect(a.hasSession(sid)).toBe(true);
    expect(a.counters.statelessResetsReceived).toBe(0);
    expect(pair.a.events.some((e) => e.type === 'closed')).toBe(false);
    const drops = a.drops.snapshot();
    const grew = (...reasons: string[]): number => reasons.reduce((n, r) => n + (drops[r] ?? 0) - (drops0[r] ?? 0), 0);
    expect(grew('unknown_cid')).toBeGreaterThanOrEqual(unknown);
    expect(grew('auth', 'replay', 'key_phase')).toBeGreaterThanOrEqual(routed);
    expect(grew('late_stateless_reset')).toBe(0);

    // The genuine reset, from B, with A's own CID (so it fails authentication in A's session): it ends it.
    // (The first goes one by one, the second, the genuine reset, in a receive batch.)
    list.push({ from: stranger, bytes: shortDatagram(rng, 45, sa.localCid, token) });
    list.push({ from: bAddr, bytes: shortDatagram(rng, 45, sa.localCid, token) });
    feed();
    expect(sa.closed).toBe(true);
    // Another copy, now for no session: absorbed, not answered.
    const late0 = a.drops.get('late_stateless_reset');
    list.push({ from: bAddr, bytes: shortDatagram(rng, 45, sa.localCid, token) });
    feed();
    expect(a.drops.get('late_stateless_reset')).toBe(late0 + 1);
    expect(drain(a, pair.now).filter((o) => addrEquals(o.to, bAddr))).toEqual([]);
    pair.runUntil(() => false, pair.now + RTT);
    const closed = pair.a.events.find((e): e is Closed => e.type === 'closed' && e.session === sid) as Closed;
    expect(closed.code).toBe('E_PEER_RESET');
    expect(closed.byPeer).toBe(true);
    expect(pair.a.events.some((e) => e.type === 'transfer_failed' && e.transferId === t1 && e.code === 'E_PEER_RESET')).toBe(true);
    expect(a.counters.statelessResetsReceived).toBe(1);
    expect(a.hasSession(sid)).toBe(false);
  });
});
