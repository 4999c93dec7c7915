/**
 * A star network for the DoS and amplification tests: one server endpoint,
 * any number of client endpoints, and anyone (spoofed sources included)
 * injecting raw datagrams towards the server. Two SimLinks carry everything
 * to and from the server under one virtual clock, so a run replays from its
 * seed. The network itself counts the bytes that reach the server from each
 * source and that the server sends to each destination, independently of the
 * endpoint's own bookkeeping.
 */
import { Endpoint, type EndpointConfig } from '../../src/endpoint.js';
import { SeededRng } from '../../src/rng.js';
import type { Instant } from '../../src/time.js';
import { DatagramBatch, addrKey, type SocketAddr } from '../../src/transport.js';
import type { CryptoBackend } from '../../src/crypto/index.js';
import type { SessionConfig, SessionEvent } from '../../src/session/index.js';
import { Handshake } from '../../src/session/handshake.js';
import type { Blake3 } from '../../src/transfer/index.js';
import { Writer, encodeLongHeader, WIRE_VERSION, MIN_INITIATION_SIZE } from '../../src/wire/index.js';
import { SimLink, type SimLinkConfig } from '../../src/sim/index.js';

export interface SimNetOptions {
  seed: number;
  backend: CryptoBackend;
  hasher: Blake3;
  /** Each direction; default 10 ms one way, no bottleneck. */
  link?: SimLinkConfig;
  server?: Partial<EndpointConfig>;
  session?: Partial<SessionConfig>;
}

export interface SimClient {
  ep: Endpoint;
  addr: SocketAddr;
  events: SessionEvent[];
}

interface Meta {
  from: SocketAddr;
  to: SocketAddr;
}

export class SimNet {
  now: Instant = 0;
  readonly rng: SeededRng;
  readonly server: Endpoint;
  readonly serverAddr: SocketAddr = { host: '192.0.2.1', port: 7000 };
  readonly serverEvents: SessionEvent[] = [];
  readonly clients = new Map<string, SimClient>();
  readonly up: SimLink;
  readonly down: SimLink;
  /** Bytes delivered to the server, by source. */
  readonly rxFrom = new Map<string, number>();
  /** Bytes the server sent, by destination. */
  readonly txTo = new Map<string, number>();
  /** Bytes the clients sent, by destination (nothing but the server lives here, the rest is lost). */
  readonly clientTxTo = new Map<string, number>();
  /** Bytes delivered to the clients, by source. */
  readonly clientRxFrom = new Map<string, number>();
  /** Called for every datagram the server sends (before the link). */
  onServerSend: ((to: SocketAddr, bytes: Uint8Array) => void) | null = null;
  /** Called for every datagram a client sends. */
  onClientSend: ((from: SocketAddr, bytes: Uint8Array) => void) | null = null;
  /** Called after every step. */
  onStep: ((now: Instant) => void) | null = null;
  private readonly tickers: Array<{ period: number; next: Instant; fn: (now: Instant) => void; until: Instant }> = [];
  private readonly out = new DatagramBatch(64, 2048);
  private readonly opts: SimNetOptions;

  constructor(opts: SimNetOptions) {
    this.opts = opts;
    this.rng = new SeededRng(opts.seed);
    const link = opts.link ?? { delay: 10_000 };
    this.up = new SimLink(link, this.rng.fork());
    this.down = new SimLink(link, this.rng.fork());
    this.server = this.endpoint(true, opts.server);
  }

  endpoint(acceptIncoming: boolean, extra?: Partial<EndpointConfig>): Endpoint {
    const rng = this.rng.fork();
    return new Endpoint({
      staticKey: this.opts.backend.x25519GenerateKeyPair(rng),
      backend: this.opts.backend,
      hasher: this.opts.hasher,
      rng,
      acceptIncoming,
      ...(this.opts.session ? { session: this.opts.session } : {}),
      ...extra,
    });
  }

  addClient(addr: SocketAddr, extra?: Partial<EndpointConfig>): SimClient {
    const c: SimClient = { ep: this.endpoint(false, extra), addr, events: [] };
    this.clients.set(addrKey(addr), c);
    return c;
  }

  /** Put a raw datagram from `from` (possibly spoofed) on the way to the server now. */
  inject(from: SocketAddr, bytes: Uint8Array): void {
    this.up.send(this.now, bytes, { from, to: this.serverAddr } satisfies Meta);
  }

  /** Put a raw datagram from `from` (possibly spoofed) on the way to the client at `to` now. */
  injectToClient(from: SocketAddr, to: SocketAddr, bytes: Uint8Array): void {
    this.down.send(this.now, bytes, { from, to } satisfies Meta);
  }

  /** Call `fn` at start, start + period, ... while before `until`. */
  every(period: number, start: Instant, until: Instant, fn: (now: Instant) => void): void {
    this.tickers.push({ period, next: start, fn, until });
  }

  private flushServer(): void {
    for (;;) {
      this.out.clear();
      if (this.server.pollTransmit(this.now, this.out) === 0) break;
      for (let i = 0; i < this.out.count; i++) {
        const to = this.out.addrs[i] as SocketAddr;
        const dg = this.out.datagram(i);
        const k = addrKey(to);
        this.txTo.set(k, (this.txTo.get(k) ?? 0) + dg.length);
        this.onServerSend?.(to, dg);
        this.down.send(this.now, dg, { from: this.serverAddr, to } satisfies Meta);
      }
    }
  }

  private flushClient(c: SimClient): void {
    for (;;) {
      this.out.clear();
      if (c.ep.pollTransmit(this.now, this.out) === 0) break;
      for (let i = 0; i < this.out.count; i++) {
        const to = this.out.addrs[i] as SocketAddr;
        const dg = this.out.datagram(i);
        const k = addrKey(to);
        this.clientTxTo.set(k, (this.clientTxTo.get(k) ?? 0) + dg.length);
        this.onClientSend?.(c.addr, dg);
        if (addrKey(to) !== addrKey(this.serverAddr)) continue; // nothing else lives here
        this.up.send(this.now, dg, { from: c.addr, to } satisfies Meta);
      }
    }
  }

  private drainEvents(): void {
    for (let e = this.server.pollEvent(); e; e = this.server.pollEvent()) this.serverEvents.push(e);
    for (const c of this.clients.values()) for (let e = c.ep.pollEvent(); e; e = c.ep.pollEvent()) c.events.push(e);
  }

  step(): boolean {
    for (const t of this.tickers) {
      while (t.next <= this.now && t.next < t.until) {
        t.fn(this.now);
        t.next += t.period;
      }
    }
    this.flushServer();
    for (const c of this.clients.values()) this.flushClient(c);
    this.drainEvents();
    let next = Math.min(this.up.nextDeliveryTime(), this.down.nextDeliveryTime(), this.server.pollTimeout());
    for (const c of this.clients.values()) next = Math.min(next, c.ep.pollTimeout());
    for (const t of this.tickers) if (t.next < t.until) next = Math.min(next, t.next);
    if (next === Infinity) return false;
    this.now = Math.max(this.now + 1, Math.ceil(next));
    for (let d = this.up.pollDelivery(this.now); d; d = this.up.pollDelivery(this.now)) {
      const m = d.meta as Meta;
      const k = addrKey(m.from);
      this.rxFrom.set(k, (this.rxFrom.get(k) ?? 0) + d.bytes.length);
      this.server.handleDatagram(this.now, m.from, d.bytes);
    }
    for (let d = this.down.pollDelivery(this.now); d; d = this.down.pollDelivery(this.now)) {
      const m = d.meta as Meta;
      const c = this.clients.get(addrKey(m.to));
      if (!c) continue;
      const k = addrKey(m.from);
      this.clientRxFrom.set(k, (this.clientRxFrom.get(k) ?? 0) + d.bytes.length);
      c.ep.handleDatagram(this.now, m.from, d.bytes);
    }
    if (this.server.pollTimeout() <= this.now) this.server.handleTimeout(this.now);
    for (const c of this.clients.values()) if (c.ep.pollTimeout() <= this.now) c.ep.handleTimeout(this.now);
    this.drainEvents();
    this.onStep?.(this.now);
    return true;
  }

  runUntil(done: () => boolean, maxTime: Instant): boolean {
    while (this.now < maxTime) {
      if (done()) return true;
      if (!this.step()) return done();
    }
    return done();
  }
}

/**
 * Makes real INITIATION datagrams (a fresh Noise message 1 each, padded to
 * 1200 bytes) as throwaway initiators would: valid-looking, from nobody who
 * will ever answer.
 */
export class InitiationFactory {
  private readonly staticKey: { priv: Uint8Array; pub: Uint8Array };
  private readonly buf = new Uint8Array(1500);

  constructor(
    private readonly backend: CryptoBackend,
    private readonly rng: SeededRng,
  ) {
    this.staticKey = backend.x25519GenerateKeyPair(rng);
  }

  make(token: Uint8Array = new Uint8Array(0)): Uint8Array {
    const hs = new Handshake(this.backend, true, this.staticKey, this.rng, null);
    const noise = hs.write({ maxDatagramSize: 1452, idleTimeoutMs: 30_000 });
    const dcid = new Uint8Array(8);
    const scid = new Uint8Array(8);
    this.rng.fill(dcid);
    this.rng.fill(scid);
    const w = new Writer(this.buf);
    encodeLongHeader(w, { type: 'initiation', version: WIRE_VERSION, dcid, scid, token, noise });
    const dg = this.buf.slice(0, w.offset);
    if (dg.length < MIN_INITIATION_SIZE) throw new Error('INITIATION under 1200 bytes');
    return dg;
  }
}

/** The i-th of many distinct spoofed sources (100.64.0.0/10, ports 1024..). */
export function spoofed(i: number): SocketAddr {
  return { host: `100.64.${(i >>> 8) & 0xff}.${i & 0xff}`, port: 1024 + (i % 50_000) };
}
