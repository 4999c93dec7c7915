import { Endpoint, type ConnectOptions, type EndpointConfig } from '../endpoint.js';
import { SeededRng } from '../rng.js';
import type { Instant } from '../time.js';
import { DatagramBatch, addrKey, type SocketAddr } from '../transport.js';
import type { CryptoBackend, PacketProtection } from '../crypto/index.js';
import type { SessionConfig } from '../session/config.js';
import type { SessionEvent } from '../session/events.js';
import { buildFileTree, type Blake3, type FileManifest, type ResumeState } from '../transfer/index.js';
import { bytesEqual } from '../transfer/bytes.js';
import { leafHash } from '../transfer/merkle.js';
import { SimLink, type SimLinkConfig } from './link.js';

/** One simulated node: an endpoint plus in-memory "files". */
export class SimPeer {
  readonly endpoint: Endpoint;
  readonly addr: SocketAddr;
  readonly events: SessionEvent[] = [];
  /** Files being sent, by transfer id. */
  readonly sources = new Map<string, Uint8Array>();
  /** Received files, by name, complete or partial. */
  readonly received = new Map<string, Uint8Array>();
  readonly completed = new Set<string>();
  /** Resume states saved when a session died (by manifest root hex). */
  readonly resume = new Map<string, ResumeState>();
  /** What to do with an offer; default: accept (resuming when possible). */
  onOffer: ((session: number, transferId: number, m: FileManifest) => 'accept' | 'reject') | null = null;
  /**
   * Older copies held by name: an offer of such a name asks for the leaf row, and the chunks of
   * the copy that match it are accepted as held (reused), as a node does with the file it replaces.
   */
  readonly basis = new Map<string, Uint8Array>();
  /** Set by SimPair: hashes basis chunks. */
  hasher: Blake3 | null = null;
  /** The name a received file is installed under, when not its own (on_conflict = "rename"). */
  storedName: ((name: string) => string | undefined) | null = null;
  private readonly sendNames = new Map<string, string>();
  private readonly recvNames = new Map<string, FileManifest>();
  chunkBytesWritten = 0;
  /** Hold verified chunks back instead of writing them (to test backpressure). */
  stallWrites = false;
  /**
   * Where this peer's datagrams appear to come from, when a NAT in front of it
   * rebinds (null: its own address). Datagrams reach it only at this address:
   * the old mapping is gone.
   */
  apparentAddr: SocketAddr | null = null;

  constructor(endpoint: Endpoint, addr: SocketAddr) {
    this.endpoint = endpoint;
    this.addr = addr;
  }

  /** Offer `data` as `name` on `session`; returns the transfer id. */
  send(session: number, name: string, data: Uint8Array, chunkSize: number, hasher: Blake3): number {
    const { manifest, tree } = buildFileTree(hasher, name, data, chunkSize);
    const id = this.endpoint.offer(session, manifest, tree);
    this.sources.set(`${session}/${id}`, data);
    this.sendNames.set(`${session}/${id}`, name);
    this.chunkSizes.set(`${session}/${id}`, chunkSize);
    return id;
  }

  handleEvents(now: Instant): void {
    const ep = this.endpoint;
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
      this.events.push(e);
      switch (e.type) {
        case 'offer': {
          const verdict = this.onOffer ? this.onOffer(e.session, e.transferId, e.manifest) : 'accept';
          if (verdict === 'reject') {
            ep.reject(e.session, e.transferId, 'E_TRANSFER_REJECTED', 'refused by test');
            break;
          }
          const rootHex = hexOf(e.manifest.root);
          this.recvNames.set(`${e.session}/${e.transferId}`, e.manifest);
          if (!this.received.has(e.manifest.name)) this.received.set(e.manifest.name, new Uint8Array(e.manifest.size));
          const saved = this.resume.get(rootHex);
          if (this.basis.has(e.manifest.name) && !saved && ep.peerSendsLeaves(e.session)) {
            ep.requestLeaves(e.session, e.transferId);
            break;
          }
          ep.accept(e.session, e.transferId, saved?.held);
          break;
        }
        case 'leaves': {
          const m = this.recvNames.get(`${e.session}/${e.transferId}`) as FileManifest;
          const old = this.basis.get(m.name) as Uint8Array;
          const dst = this.received.get(m.name) as Uint8Array;
          const held: Array<[number, number]> = [];
          let reused = 0;
          for (let i = 0; i * m.chunkSize < Math.min(m.size, old.length); i++) {
            const end = Math.min(m.size, (i + 1) * m.chunkSize);
            if (end > old.length) break;
            const chunk = old.subarray(i * m.chunkSize, end);
            if (!bytesEqual(leafHash(this.hasher as Blake3, chunk), e.leaves.subarray(i * 32, i * 32 + 32))) continue;
            dst.set(chunk, i * m.chunkSize);
            reused += chunk.length;
            const last = held[held.length - 1];
            if (last && last[0] + last[1] === i) last[1]++;
            else held.push([i, 1]);
          }
          ep.accept(e.session, e.transferId, held, reused);
          break;
        }
        case 'read_chunks': {
          const src = this.sources.get(`${e.session}/${e.transferId}`);
          if (!src) break;
          const m = this.chunkSizes.get(`${e.session}/${e.transferId}`) ?? 0;
          for (const i of e.chunks) {
            const off = i * m;
            ep.supplyChunk(e.session, e.transferId, i, src.subarray(off, Math.min(src.length, off + m)));
          }
          break;
        }
        case 'chunk_verified': {
          if (this.stallWrites) break;
          const m = this.recvNames.get(`${e.session}/${e.transferId}`);
          if (!m) break;
          const dst = this.received.get(m.name) as Uint8Array;
          dst.set(e.bytes, e.offset);
          this.chunkBytesWritten += e.bytes.length;
          ep.chunkWritten(e.session, e.transferId, e.index);
          break;
        }
        case 'transfer_received': {
          const m = this.recvNames.get(`${e.session}/${e.transferId}`);
          if (m) this.completed.add(m.name);
          ep.finishTransfer(e.session, e.transferId, 'verified', m && this.storedName ? this.storedName(m.name) : undefined);
          break;
        }
        case 'closed':
        case 'transfer_failed':
          if (e.type === 'transfer_failed') {
            const st = ep.hasSession(e.session) ? ep.resumeState(e.session, e.transferId) : null;
            if (st) this.resume.set((st as ResumeState).root, st as ResumeState);
          }
          break;
        default:
          break;
      }
    }
    void now;
  }

  /** Save the resume state of every open receive (before a simulated crash). */
  snapshotResume(): void {
    for (const [key, m] of this.recvNames) {
      const [s, t] = key.split('/').map(Number) as [number, number];
      if (!this.endpoint.hasSession(s)) continue;
      const st = this.endpoint.resumeState(s, t) as ResumeState | null;
      if (st) this.resume.set(hexOf(m.root), JSON.parse(JSON.stringify(st)) as ResumeState);
    }
  }

  readonly chunkSizes = new Map<string, number>();
}

export interface SimPairOptions {
  seed: number;
  ab: SimLinkConfig;
  ba: SimLinkConfig;
  backend: CryptoBackend;
  hasher: Blake3;
  protection?: PacketProtection;
  session?: Partial<SessionConfig>;
  endpointA?: Partial<EndpointConfig>;
  endpointB?: Partial<EndpointConfig>;
}

/**
 * Two endpoints joined by two simulated links under a virtual clock
 * (quinn's `Pair`). Fully deterministic for a given seed.
 */
export class SimPair {
  now: Instant = 0;
  readonly a: SimPeer;
  readonly b: SimPeer;
  readonly ab: SimLink;
  readonly ba: SimLink;
  readonly rng: SeededRng;
  readonly hasher: Blake3;
  private readonly out = new DatagramBatch(64, 2048);
  /** Datagrams in flight, captured for replay tests when set. */
  capture: Array<{ from: SocketAddr; to: SocketAddr; bytes: Uint8Array }> | null = null;
  private readonly opts: SimPairOptions;

  constructor(opts: SimPairOptions) {
    this.opts = opts;
    this.rng = new SeededRng(opts.seed);
    this.hasher = opts.hasher;
    this.ab = new SimLink(opts.ab, this.rng.fork());
    this.ba = new SimLink(opts.ba, this.rng.fork());
    this.a = new SimPeer(this.makeEndpoint(opts.endpointA, false), { host: '10.0.0.1', port: 4000 });
    this.b = new SimPeer(this.makeEndpoint(opts.endpointB, true), { host: '10.0.0.2', port: 4000 });
    this.a.hasher = this.b.hasher = opts.hasher;
  }

  makeEndpoint(extra: Partial<EndpointConfig> | undefined, acceptIncoming: boolean): Endpoint {
    const rng = this.rng.fork();
    const kp = this.opts.backend.x25519GenerateKeyPair(rng);
    return new Endpoint({
      staticKey: kp,
      backend: this.opts.backend,
      hasher: this.opts.hasher,
      rng,
      acceptIncoming,
      ...(this.opts.protection ? { protection: this.opts.protection } : {}),
      ...(this.opts.session ? { session: this.opts.session } : {}),
      ...extra,
    });
  }

  /** Replace B's endpoint with a fresh one with the same identity (a crash + restart). */
  restartB(): void {
    const old = this.b.endpoint;
    const fresh = new Endpoint({ ...(old as unknown as { c: EndpointConfig }).c, rng: this.rng.fork() });
    (this.b as { endpoint: Endpoint }).endpoint = fresh;
  }

  /** A connects to B; returns A's session id. */
  connect(opts: ConnectOptions = {}): number {
    return this.a.endpoint.connect(this.now, this.b.addr, this.b.endpoint.staticPublicKey, opts);
  }

  /** Offer `data` from A on `session`. */
  send(session: number, name: string, data: Uint8Array, chunkSize: number): number {
    return this.a.send(session, name, data, chunkSize, this.hasher);
  }

  private flush(peer: SimPeer, link: SimLink, to: SimPeer): boolean {
    let any = false;
    for (;;) {
      this.out.clear();
      const n = peer.endpoint.pollTransmit(this.now, this.out);
      if (n === 0) break;
      any = true;
      const from = peer.apparentAddr ?? peer.addr;
      for (let i = 0; i < this.out.count; i++) {
        const dg = this.out.datagram(i);
        const dest = this.out.addrs[i] as SocketAddr;
        if (this.capture) this.capture.push({ from, to: dest, bytes: dg.slice() });
        if (addrKey(dest) !== addrKey(to.apparentAddr ?? to.addr)) continue; // nothing lives elsewhere
        link.send(this.now, dg, from);
      }
    }
    return any;
  }

  /** Deliver due datagrams in receive batches, as a transport does. */
  private deliver(link: SimLink, to: SimPeer): boolean {
    let any = false;
    const rx = this.rxBatch;
    rx.clear();
    for (let d = link.pollDelivery(this.now); d; d = link.pollDelivery(this.now)) {
      any = true;
      if (d.bytes.length > rx.slotSize) continue; // nothing real is that large
      if (!rx.push(d.bytes, d.meta as SocketAddr)) {
        to.endpoint.handleBatch(this.now, rx);
        rx.clear();
        rx.push(d.bytes, d.meta as SocketAddr);
      }
    }
    if (rx.count > 0) to.endpoint.handleBatch(this.now, rx);
    rx.clear();
    return any;
  }

  private readonly rxBatch = new DatagramBatch(32, 2048);

  /** One step of the event loop; returns false when nothing can ever happen again. */
  step(limit: Instant = Infinity): boolean {
    const a = this.a;
    const b = this.b;
    a.handleEvents(this.now);
    b.handleEvents(this.now);
    this.flush(a, this.ab, b);
    this.flush(b, this.ba, a);
    const next = Math.min(
      this.ab.nextDeliveryTime(),
      this.ba.nextDeliveryTime(),
      a.endpoint.pollTimeout(),
      b.endpoint.pollTimeout(),
    );
    if (next === Infinity) return false;
    if (next > limit) {
      this.now = limit; // the caller's time is up before anything happens
      return true;
    }
    // Always move forward, so a timer that re-arms at `now` cannot spin.
    this.now = Math.max(this.now + 1, Math.ceil(next));
    this.deliver(this.ab, b);
    this.deliver(this.ba, a);
    if (a.endpoint.pollTimeout() <= this.now) a.endpoint.handleTimeout(this.now);
    if (b.endpoint.pollTimeout() <= this.now) b.endpoint.handleTimeout(this.now);
    return true;
  }

  /** Run until `done()` or `maxTime`; returns whether done() became true. */
  runUntil(done: () => boolean, maxTime: Instant): boolean {
    while (this.now < maxTime) {
      if (done()) return true;
      if (!this.step(maxTime)) return done();
    }
    return done();
  }
}

function hexOf(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
