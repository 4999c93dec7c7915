/**
 * The portable UDP path: node:dgram, one syscall per datagram.
 *
 * Send: each datagram is copied into a SendPool slot and handed to
 * socket.send in a burst without awaiting callbacks (the fastest plain dgram
 * path measured on this VM kind). The pool bounds sends in flight; when it is
 * empty send() accepts a prefix, and onWritable fires once completions bring
 * the in-flight count down to the low-water mark.
 *
 * Receive: datagrams arriving in one event-loop turn are gathered into one
 * preallocated DatagramBatch and delivered once per turn (flushed on
 * setImmediate, or at once when the batch is full).
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import {
  DatagramBatch,
  emptyStats,
  WraithError,
  type SocketAddr,
  type Transport,
  type TransportCaps,
  type TransportStats,
} from '@wraith/core';
import { readKernelDrops } from './kernel-drops.js';
import { SendPool } from './send-pool.js';
import { mapV4, unmapV4 } from './socket-addr.js';

export interface DgramOptions {
  bind: SocketAddr;
  recvBufferBytes: number;
  sendBufferBytes: number;
  maxDatagram: number;
  sendPoolSize: number;
  recvBatch: number;
}

const DGRAM_CAPS: TransportCaps = { gso: false, gro: false, xdp: false };
/** Source-address objects kept for reuse; cleared when exceeded (a scan, not a leak). */
const ADDR_CACHE_LIMIT = 4096;
/** How often stats() may re-read /proc/net/udp for kernel drops. */
const KERNEL_DROPS_REFRESH_MS = 1000;

/**
 * A dns-free lookup for IP literals, answering synchronously so the datagram
 * goes to the kernel inside socket.send() instead of a tick later. An IPv6
 * socket reaches IPv4 peers through their IPv4-mapped form. Results are cached
 * per host string, so the hot path is one Map hit.
 */
function literalLookup(ipv6Socket: boolean): dgram.SocketOptions['lookup'] {
  const cache = new Map<string, string>();
  const family = ipv6Socket ? 6 : 4;
  return ((host: string, opts: unknown, cb: (err: Error | null, address: string, family: number) => void) => {
    let ip = cache.get(host);
    if (ip === undefined) {
      const f = isIP(host);
      if (f === 0) {
        dns.lookup(host, opts as dns.LookupOneOptions, cb);
        return;
      }
      ip = ipv6Socket && f === 4 ? mapV4(host) : host;
      if (cache.size >= ADDR_CACHE_LIMIT) cache.clear();
      cache.set(host, ip);
    }
    cb(null, ip, family);
  }) as dgram.SocketOptions['lookup'];
}

/** Map a bind failure to the registry: the port and host are in the message. */
function bindError(err: NodeJS.ErrnoException, type: string, a: SocketAddr): WraithError {
  const where = a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
  const details = { host: a.host, port: a.port, errno: err.code };
  switch (err.code) {
    case 'EADDRINUSE':
      return new WraithError('E_ADDR_IN_USE', `UDP port ${a.port} on ${a.host} is in use`, details);
    case 'EADDRNOTAVAIL':
      return new WraithError('E_ADDR_INVALID', `cannot bind UDP ${where}: no interface has ${a.host}`, details,
        'bind to an address this host owns, or to 0.0.0.0 / [::]');
    case 'EACCES':
      return new WraithError('E_PERMISSION', `bind(${type} ${where}): EACCES`, details,
        'ports below 1024 need root or CAP_NET_BIND_SERVICE');
    default:
      return new WraithError('E_SOCKET', `bind(${type} ${where}): ${err.code ?? err.message}`, details);
  }
}

export class DgramTransport implements Transport {
  readonly name = 'udp';
  readonly caps = DGRAM_CAPS;

  private readonly socket: dgram.Socket;
  private readonly local: SocketAddr;
  private readonly opts: DgramOptions;
  private readonly isV6: boolean;
  private readonly pool: SendPool;
  private readonly lowWater: number;
  // One completion callback per pool slot, made once: no closure per send.
  private readonly done: ((err: Error | null) => void)[];
  private readonly rx: DatagramBatch;
  private readonly counters: TransportStats = emptyStats();
  private readonly extra = { sendErrors: 0, unroutable: 0, oversizeRx: 0, socketErrors: 0 };
  // host -> port -> the SocketAddr handed to onRecv, so steady traffic allocates none.
  private readonly srcCache = new Map<string, Map<number, SocketAddr>>();
  private srcCacheSize = 0;
  private recvCb: ((batch: DatagramBatch) => void) | undefined;
  private writableCb: (() => void) | undefined;
  private wantWritable = false;
  private flushScheduled: NodeJS.Immediate | undefined;
  private closing: Promise<void> | undefined;
  private kernelDrops = 0;
  private kernelDropsAt = -Infinity;
  private readonly recvBufferBytes: number;
  private readonly sendBufferBytes: number;

  private constructor(socket: dgram.Socket, opts: DgramOptions, isV6: boolean) {
    this.socket = socket;
    this.opts = opts;
    this.isV6 = isV6;
    const a = socket.address();
    this.local = { host: a.address, port: a.port };
    this.pool = new SendPool(opts.sendPoolSize, opts.maxDatagram);
    this.lowWater = Math.floor(opts.sendPoolSize / 2);
    this.done = new Array<(err: Error | null) => void>(opts.sendPoolSize);
    for (let i = 0; i < opts.sendPoolSize; i++) this.done[i] = (err) => this.sent(i, err);
    this.rx = new DatagramBatch(opts.recvBatch, opts.maxDatagram);
    // The kernel caps these at net.core.{r,w}mem_max and reports double (its bookkeeping share).
    socket.setRecvBufferSize(opts.recvBufferBytes);
    socket.setSendBufferSize(opts.sendBufferBytes);
    this.recvBufferBytes = socket.getRecvBufferSize();
    this.sendBufferBytes = socket.getSendBufferSize();
    socket.on('message', (msg, rinfo) => this.received(msg, rinfo.address, rinfo.port));
    // After bind, errors are per-send and reach the callbacks; count anything else.
    socket.on('error', () => this.extra.socketErrors++);
  }

  /** Bind a socket; rejects with E_ADDR_IN_USE, E_ADDR_INVALID, E_PERMISSION or E_SOCKET. */
  static async open(opts: DgramOptions): Promise<DgramTransport> {
    const isV6 = isIP(opts.bind.host) === 6;
    const type = isV6 ? 'udp6' : 'udp4';
    // ipv6Only false: "[::]:P" also receives IPv4 (dual stack).
    const socket = dgram.createSocket({ type, ipv6Only: false, lookup: literalLookup(isV6) });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        socket.close();
        reject(bindError(err, type, opts.bind));
      };
      socket.once('error', onError);
      socket.bind({ port: opts.bind.port, address: opts.bind.host, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    try {
      return new DgramTransport(socket, opts, isV6);
    } catch (e) {
      socket.close();
      throw e;
    }
  }

  send(batch: DatagramBatch): number {
    if (this.closing !== undefined) {
      throw new WraithError('E_TRANSPORT_CLOSED', `UDP transport on port ${this.local.port} is closed`);
    }
    const n = batch.count;
    const pool = this.pool;
    const max = this.opts.maxDatagram;
    let i = 0;
    for (; i < n; i++) {
      const len = batch.lengths[i]!;
      const to = batch.addrs[i]!;
      if (len > max || (!this.isV6 && to.host.includes(':'))) {
        // Consumed, not sent: too large for our slots, or IPv6 from an IPv4 socket.
        if (len <= max) this.extra.unroutable++;
        this.counters.txDropped++;
        continue;
      }
      const slot = pool.take();
      if (slot < 0) {
        this.wantWritable = true;
        break;
      }
      const buf = pool.fill(slot, batch.buf, batch.offsets[i]!, len);
      try {
        this.socket.send(buf, to.port, to.host, this.done[slot]);
      } catch {
        // dgram throws synchronously on a bad port or address: consume it, as the kernel would refuse it.
        pool.release(slot);
        this.counters.txDropped++;
        this.extra.sendErrors++;
      }
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
    return this.local;
  }

  maxDatagram(_peer: SocketAddr): number {
    return this.opts.maxDatagram;
  }

  /**
   * Counters, plus in `extra`: sendErrors, unroutable, oversizeRx,
   * socketErrors, kernelRxDrops (from /proc, refreshed at most once a second
   * and included in rxDropped), inFlight, recvBufferBytes, sendBufferBytes
   * (as the kernel reports them: double what was set).
   */
  stats(): TransportStats {
    const now = performance.now(); // monotonic: a stepped wall clock must not freeze the refresh;
    if (this.closing === undefined && now - this.kernelDropsAt >= KERNEL_DROPS_REFRESH_MS) {
      this.kernelDropsAt = now;
      this.kernelDrops = readKernelDrops(this.local) ?? this.kernelDrops;
    }
    return {
      ...this.counters,
      rxDropped: this.counters.rxDropped + this.kernelDrops,
      extra: {
        ...this.extra,
        kernelRxDrops: this.kernelDrops,
        inFlight: this.pool.inFlight,
        recvBufferBytes: this.recvBufferBytes,
        sendBufferBytes: this.sendBufferBytes,
      },
    };
  }

  /** Idempotent. Datagrams gathered but not yet delivered are dropped (counted). */
  close(): Promise<void> {
    if (this.closing === undefined) {
      if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
      this.flushScheduled = undefined;
      this.counters.rxDropped += this.rx.count;
      this.rx.clear();
      this.closing = new Promise<void>((resolve) => this.socket.close(() => resolve()));
    }
    return this.closing;
  }

  private sent(slot: number, err: Error | null): void {
    const len = this.pool.lengths[slot]!;
    this.pool.release(slot);
    if (err === null) {
      this.counters.txPackets++;
      this.counters.txBytes += len;
    } else {
      this.counters.txDropped++;
      this.extra.sendErrors++;
    }
    if (this.wantWritable && this.pool.inFlight <= this.lowWater && this.closing === undefined) {
      this.wantWritable = false;
      this.writableCb?.();
    }
  }

  private received(msg: Buffer, host: string, port: number): void {
    if (this.closing !== undefined) return;
    const b = this.rx;
    if (msg.length > b.slotSize || this.recvCb === undefined) {
      if (msg.length > b.slotSize) this.extra.oversizeRx++;
      this.counters.rxDropped++;
      return;
    }
    const i = b.count++;
    b.buf.set(msg, b.offsets[i]);
    b.lengths[i] = msg.length;
    b.addrs[i] = this.source(host, port);
    this.counters.rxPackets++;
    this.counters.rxBytes += msg.length;
    if (b.count === b.capacity) {
      this.flush();
    } else if (this.flushScheduled === undefined) {
      this.flushScheduled = setImmediate(this.flushNow);
    }
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = undefined;
    this.flush();
  };

  private flush(): void {
    const b = this.rx;
    if (b.count === 0 || this.closing !== undefined) return;
    try {
      this.recvCb?.(b);
    } finally {
      b.clear();
    }
  }

  /** The SocketAddr for a datagram source, IPv4-mapped hosts as plain IPv4. */
  private source(host: string, port: number): SocketAddr {
    let ports = this.srcCache.get(host);
    let a = ports?.get(port);
    if (a !== undefined) return a;
    if (this.srcCacheSize >= ADDR_CACHE_LIMIT) {
      this.srcCache.clear();
      this.srcCacheSize = 0;
      ports = undefined;
    }
    if (ports === undefined) {
      ports = new Map();
      this.srcCache.set(host, ports);
    }
    a = { host: unmapV4(host), port };
    ports.set(port, a);
    this.srcCacheSize++;
    return a;
  }
}
