/**
 * An in-memory transport for fast, deterministic tests (the js-libp2p habit).
 * A MemoryNetwork is the hub: transports attached to it exchange datagrams by
 * address. The core has no timers, so nothing moves until the test pumps the
 * network with `deliver()`; that makes every interleaving reproducible.
 *
 * Each transport owns a preallocated send ring of `queueLimit` slots; `send`
 * copies into it and returns fewer than `count` when it is full. `deliver`
 * moves queued datagrams into each receiver's preallocated receive batch and
 * then fires onWritable for senders that were refused and now have room.
 */
import { WraithError } from './errors.js';
import {
  DatagramBatch,
  emptyStats,
  type SocketAddr,
  type Transport,
  type TransportCaps,
  type TransportFactory,
  type TransportStats,
} from './transport.js';

/** Default payload limit: a 1500-byte MTU minus IPv6 (40) and UDP (8) headers. */
export const MEMORY_DEFAULT_MAX_DATAGRAM = 1452;
export const MEMORY_DEFAULT_QUEUE_LIMIT = 256;
export const MEMORY_DEFAULT_RECV_BATCH = 64;
/** First port handed out for `port: 0` (the IANA dynamic range). */
const EPHEMERAL_PORT_FIRST = 49152;

/**
 * Called for every datagram as it is delivered. Return false to drop it; the
 * bytes may be changed in place (they are the network's own copy).
 */
export type MemoryFilter = (bytes: Uint8Array, from: SocketAddr, to: SocketAddr) => boolean;

export interface MemoryNetworkCounters {
  /** Datagrams handed to a receiver's onRecv. */
  delivered: number;
  /** Datagrams the filter dropped. */
  filtered: number;
  /** Datagrams addressed to no attached (open) transport. */
  unroutable: number;
}

export interface MemoryTransportInit {
  network: MemoryNetwork;
  /** Defaults to 127.0.0.1 and a free port; port 0 picks a free port. */
  addr?: SocketAddr;
  maxDatagram?: number;
  /** Datagrams the send ring holds before `send` refuses more. */
  queueLimit?: number;
  /** Capacity of the receive batch (datagrams per onRecv call). */
  recvBatch?: number;
}

const MEMORY_CAPS: TransportCaps = { gso: false, gro: false, xdp: false };

export class MemoryNetwork {
  /** Optional drop/mutate hook; may be replaced at any time. */
  filter: MemoryFilter | undefined;
  readonly counters: MemoryNetworkCounters = { delivered: 0, filtered: 0, unroutable: 0 };

  // host -> port -> transport: a two-level map so routing a datagram builds no key string.
  private readonly byHost = new Map<string, Map<number, MemoryTransport>>();
  // Every transport that is open or still has queued datagrams, in attach order.
  private readonly members: MemoryTransport[] = [];
  private nextPort = EPHEMERAL_PORT_FIRST;
  private delivering = false;

  constructor(opts: { filter?: MemoryFilter } = {}) {
    this.filter = opts.filter;
  }

  /** Datagrams accepted by some transport and not yet delivered or dropped. */
  get pending(): number {
    let n = 0;
    for (const m of this.members) n += m.queued;
    return n;
  }

  /**
   * Deliver datagrams queued before this call, in rounds. A round gathers
   * datagrams (one per sender in turn, so senders share fairly) until some
   * receive batch is full or nothing is left, then hands every non-empty
   * receive batch to its onRecv: each receiver gets at most one batch per
   * round. `maxRounds` bounds the rounds (default: until the queue that
   * existed at the call is empty). Sends made from callbacks wait for the
   * next call, so two echoing peers cannot loop forever.
   * Returns the number of datagrams handed to receivers.
   */
  deliver(maxRounds = Number.POSITIVE_INFINITY): number {
    // A callback pumping the network again would reorder batches under the
    // outer call; the outer call delivers everything anyway.
    if (this.delivering) return 0;
    this.delivering = true;
    const before = this.counters.delivered;
    try {
      const members = this.members;
      let budget = 0;
      for (const m of members) {
        m.snapshot = m.queued;
        budget += m.snapshot;
      }
      const touched: MemoryTransport[] = [];
      for (let round = 0; round < maxRounds && budget > 0; round++) {
        let full = false;
        while (!full && budget > 0) {
          for (let i = 0; i < members.length && !full; i++) {
            const src = members[i]!;
            if (src.snapshot === 0) continue;
            src.snapshot--;
            budget--;
            const dst = this.route(src, touched);
            if (dst !== undefined && dst.rxBatch.count === dst.rxBatch.capacity) full = true;
          }
        }
        for (const dst of touched) this.counters.delivered += dst.flushRecv();
        touched.length = 0;
      }
      for (const m of members.slice()) m.afterDeliver();
      this.prune();
    } finally {
      this.delivering = false;
    }
    return this.counters.delivered - before;
  }

  /** Pop the head of `src`'s ring into its receiver's batch; returns the receiver. */
  private route(src: MemoryTransport, touched: MemoryTransport[]): MemoryTransport | undefined {
    const slot = src.head;
    const to = src.qDst[slot]!;
    const bytes = src.qBuf.subarray(slot * src.slotSize, slot * src.slotSize + src.qLen[slot]!);
    src.popHead();
    const dst = this.lookup(to);
    if (dst === undefined || dst.closed) {
      this.counters.unroutable++;
      return undefined;
    }
    if (this.filter !== undefined && !this.filter(bytes, src.addr, to)) {
      this.counters.filtered++;
      return undefined;
    }
    if (!dst.acceptRecv(bytes, src.addr)) return undefined;
    if (dst.rxBatch.count === 1) touched.push(dst);
    return dst;
  }

  private lookup(a: SocketAddr): MemoryTransport | undefined {
    return this.byHost.get(a.host)?.get(a.port);
  }

  /** @internal Reserve an address for a new transport. */
  attach(t: MemoryTransport, want: SocketAddr): SocketAddr {
    validatePort(want.port);
    let ports = this.byHost.get(want.host);
    if (ports === undefined) {
      ports = new Map();
      this.byHost.set(want.host, ports);
    }
    let port = want.port;
    if (port === 0) {
      port = this.freePort(ports);
    } else if (ports.has(port)) {
      throw new WraithError('E_ADDR_IN_USE', `memory address ${want.host} port ${port} is in use`, {
        host: want.host,
        port,
      });
    }
    ports.set(port, t);
    this.members.push(t);
    return { host: want.host, port };
  }

  /** @internal Release the address; queued datagrams are still delivered. */
  detach(t: MemoryTransport): void {
    this.byHost.get(t.addr.host)?.delete(t.addr.port);
    this.prune();
  }

  private freePort(ports: Map<number, MemoryTransport>): number {
    for (let tries = 0; tries <= 65535 - EPHEMERAL_PORT_FIRST; tries++) {
      const p = this.nextPort;
      this.nextPort = p >= 65535 ? EPHEMERAL_PORT_FIRST : p + 1;
      if (!ports.has(p)) return p;
    }
    throw new WraithError('E_ADDR_IN_USE', 'no free memory port left', {});
  }

  private prune(): void {
    if (this.delivering) return;
    for (let i = this.members.length - 1; i >= 0; i--) {
      const m = this.members[i]!;
      if (m.closed && m.queued === 0) this.members.splice(i, 1);
    }
  }
}

function validatePort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new WraithError('E_ADDR_INVALID', `port ${String(port)} is not an integer in 0..65535`, { port });
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new WraithError('E_CONFIG', `${name} must be a positive integer, got ${String(v)}`, { key: name });
  }
  return v;
}

/** A transport attached to a MemoryNetwork. Use `createMemoryTransport`. */
export class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly caps = MEMORY_CAPS;
  readonly addr: SocketAddr;
  readonly slotSize: number;
  readonly rxBatch: DatagramBatch;

  // The send ring: slot i holds qLen[i] bytes at qBuf[i * slotSize] for qDst[i].
  readonly qBuf: Uint8Array;
  readonly qLen: Uint32Array;
  readonly qDst: (SocketAddr | undefined)[];
  head = 0;
  queued = 0;
  /** @internal Datagrams of this ring that the running deliver() may take. */
  snapshot = 0;
  closed = false;

  private readonly network: MemoryNetwork;
  private readonly queueLimit: number;
  private readonly counters: TransportStats = emptyStats();
  private recvCb: ((batch: DatagramBatch) => void) | undefined;
  private writableCb: (() => void) | undefined;
  private wantWritable = false;

  constructor(init: MemoryTransportInit) {
    this.network = init.network;
    this.slotSize = positiveInt('maxDatagram', init.maxDatagram ?? MEMORY_DEFAULT_MAX_DATAGRAM);
    this.queueLimit = positiveInt('queueLimit', init.queueLimit ?? MEMORY_DEFAULT_QUEUE_LIMIT);
    const recvBatch = positiveInt('recvBatch', init.recvBatch ?? MEMORY_DEFAULT_RECV_BATCH);
    this.qBuf = new Uint8Array(this.queueLimit * this.slotSize);
    this.qLen = new Uint32Array(this.queueLimit);
    this.qDst = new Array<SocketAddr | undefined>(this.queueLimit).fill(undefined);
    this.rxBatch = new DatagramBatch(recvBatch, this.slotSize);
    this.addr = this.network.attach(this, init.addr ?? { host: '127.0.0.1', port: 0 });
  }

  /**
   * Copies batch[0..count) into the send ring. A datagram longer than
   * maxDatagram is consumed and counted in txDropped (as a kernel would
   * refuse it), so it never blocks the ones after it.
   */
  send(batch: DatagramBatch): number {
    if (this.closed) throw new WraithError('E_TRANSPORT_CLOSED', `memory transport ${this.addr.host}:${this.addr.port} is closed`);
    const n = batch.count;
    let i = 0;
    for (; i < n; i++) {
      const len = batch.lengths[i]!;
      if (len > this.slotSize) {
        this.counters.txDropped++;
        continue;
      }
      if (this.queued === this.queueLimit) {
        this.wantWritable = true;
        break;
      }
      let tail = this.head + this.queued;
      if (tail >= this.queueLimit) tail -= this.queueLimit;
      const off = batch.offsets[i]!;
      this.qBuf.set(batch.buf.subarray(off, off + len), tail * this.slotSize);
      this.qLen[tail] = len;
      this.qDst[tail] = batch.addrs[i];
      this.queued++;
      this.counters.txPackets++;
      this.counters.txBytes += len;
    }
    return i;
  }

  onRecv(cb: (batch: DatagramBatch) => void): void {
    this.recvCb = cb;
  }

  onWritable(cb: () => void): void {
    this.writableCb = cb;
  }

  localAddr(): SocketAddr {
    return this.addr;
  }

  maxDatagram(_peer: SocketAddr): number {
    return this.slotSize;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  /** Idempotent. Datagrams already accepted are still delivered; none arrive here after. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.network.detach(this);
    }
    return Promise.resolve();
  }

  /** @internal */
  popHead(): void {
    this.qDst[this.head] = undefined;
    this.head = this.head + 1 === this.queueLimit ? 0 : this.head + 1;
    this.queued--;
  }

  /** @internal Copy a datagram into the receive batch; false when it is dropped here. */
  acceptRecv(bytes: Uint8Array, from: SocketAddr): boolean {
    if (this.recvCb === undefined || bytes.length > this.slotSize) {
      this.counters.rxDropped++;
      return false;
    }
    this.rxBatch.push(bytes, from);
    return true;
  }

  /** @internal Hand the receive batch to onRecv; returns how many datagrams it held. */
  flushRecv(): number {
    const b = this.rxBatch;
    const n = b.count;
    // Closed by another receiver's callback earlier in this round: nothing is delivered.
    if (n === 0 || this.closed || this.recvCb === undefined) {
      this.counters.rxDropped += n;
      b.clear();
      return 0;
    }
    for (let i = 0; i < n; i++) {
      this.counters.rxPackets++;
      this.counters.rxBytes += b.lengths[i]!;
    }
    try {
      this.recvCb(b);
    } finally {
      b.clear();
    }
    return n;
  }

  /** @internal */
  afterDeliver(): void {
    if (this.wantWritable && !this.closed && this.queued < this.queueLimit) {
      this.wantWritable = false;
      this.writableCb?.();
    }
  }
}

/** Attach a transport to `init.network` (synchronous: no I/O is involved). */
export function createMemoryTransport(init: MemoryTransportInit): MemoryTransport {
  return new MemoryTransport(init);
}

/** Factory form, `memoryTransport(init)(components)`, as every transport offers. */
export const memoryTransport: TransportFactory<MemoryTransportInit> = (init) => () =>
  Promise.resolve(createMemoryTransport(init));
