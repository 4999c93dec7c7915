/**
 * The fast UDP path: a socket owned by the native addon (native/src/udp).
 *
 * Send: one native call per chunk of the batch. Destinations cross as ids
 * (PeerTable); native groups consecutive equal-size datagrams to one peer
 * into UDP GSO sends and sends everything with sendmmsg. The kernel copies
 * during the call, so the caller's batch is free again when send() returns.
 * At most `sendPoolSize` datagrams go out per event-loop turn (on loopback
 * the kernel never pushes back, and a sender that never yields starves its
 * receiver); the rest are refused and onWritable fires on the next turn, or
 * when the socket is writable again after an EAGAIN.
 *
 * Receive: UDP GRO on; native reads with recvmmsg into this transport's
 * receive area, splits coalesced buffers and calls back once per batch of
 * up to `recvBatch` datagrams, each a view into the area (no copy). Sources
 * arrive as numbers and become cached SocketAddr objects (SourceDecoder).
 *
 * When the kernel refuses GSO at runtime, native turns it off for the socket
 * and resends; this transport logs that once and caps.gso turns false.
 */
import { constants as osConstants } from 'node:os';
import { isIPv4 } from 'node:net';
import {
  DatagramBatch,
  WraithError,
  type ErrorCode,
  type SocketAddr,
  type Transport,
  type TransportCaps,
  type TransportStats,
} from '@wraith/core';
import type { DgramOptions } from './dgram-transport.js';
import { readKernelDrops } from './kernel-drops.js';
import { PeerTable, SourceDecoder } from './native-addr.js';
import { loadNativeUdp, type UdpNative, type UdpSocketInfo, type UdpSocketInstance } from './native-binding.js';

/** Receive area with GRO on: 32 recvmmsg regions of 64 KiB. */
export const NATIVE_GRO_AREA_BYTES = 2 * 1024 * 1024;
/** Receive area without GRO, in maxDatagram-size regions. */
export const NATIVE_PLAIN_AREA_DATAGRAMS = 256;
/** Datagrams delivered per readable wakeup before other handles get a turn. */
export const NATIVE_RX_BUDGET = 8192;
/** Datagrams per native send call (bounds the peer ids one call can need). */
export const NATIVE_TX_CHUNK = 1024;
/** Destinations the socket remembers before its table starts over. */
export const NATIVE_PEER_CAPACITY = 4096;
/** How often stats() may re-read /proc/net/udp for kernel drops. */
const KERNEL_DROPS_REFRESH_MS = 1000;

/** pino-compatible: what the transport logs (once: GSO turned off at runtime). */
export interface UdpLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface NativeUdpOptions extends DgramOptions {
  /** Try UDP GSO / GRO (what the kernel accepts shows in caps). */
  gso: boolean;
  gro: boolean;
  log: UdpLogger | undefined;
  /** Test hook: one GSO send fails with this errno, as a kernel refusing GSO would: the first
   *  after `testFailGsoAfter` (default 0) GSO sends succeeded. */
  testFailGso?: number;
  testFailGsoAfter?: number;
}

/** The six TransportStats counters, kept by native under these names. */
const MAIN = ['txPackets', 'txBytes', 'rxPackets', 'rxBytes', 'txDropped', 'rxDropped'] as const;

const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

const BIND_CODES: ReadonlySet<string> = new Set(['E_ADDR_IN_USE', 'E_ADDR_INVALID', 'E_PERMISSION', 'E_SOCKET']);

/** A native constructor error as a WraithError (the message names the call, address and port). */
function openError(e: unknown, bind: SocketAddr): WraithError {
  const err = e as { code?: unknown; message?: unknown; syscall?: unknown; errno?: unknown; errnoName?: unknown; hint?: unknown };
  const code = typeof err?.code === 'string' && BIND_CODES.has(err.code) ? (err.code as ErrorCode) : 'E_SOCKET';
  const details: Record<string, unknown> = { host: bind.host, port: bind.port };
  if (typeof err?.syscall === 'string') details['syscall'] = err.syscall;
  if (typeof err?.errnoName === 'string' && err.errnoName !== '') details['errno'] = err.errnoName;
  else if (typeof err?.errno === 'number') details['errno'] = err.errno;
  // The registry's hint for a busy port (choose another with --bind) beats the native one.
  const hint = code !== 'E_ADDR_IN_USE' && typeof err?.hint === 'string' && err.hint !== '' ? err.hint : undefined;
  return new WraithError(code, String(err?.message ?? e), details, hint);
}

export class NativeUdpTransport implements Transport {
  readonly name = 'udp';
  /** Which implementation this is (see udpBackend()). */
  readonly backend = 'native' as const;

  private readonly sock: UdpSocketInstance;
  private readonly opts: NativeUdpOptions;
  private readonly info: UdpSocketInfo;
  private readonly local: SocketAddr;
  private readonly c: Float64Array;
  private readonly names: readonly string[];
  private readonly at: Record<string, number>;
  private readonly kTxPackets: number;
  private readonly kGsoDisabled: number;
  private readonly table: PeerTable;
  private peers: Uint32Array;
  private readonly rx: DatagramBatch;
  private readonly decoder: SourceDecoder;
  private recvCb: ((batch: DatagramBatch) => void) | undefined;
  private writableCb: (() => void) | undefined;
  private unreachableCb: ((peer: SocketAddr, error: string) => void) | undefined;
  /** Datagrams handed to the kernel since the loop last turned (bounded by sendPoolSize). */
  private turnSent = 0;
  private turnScheduled = false;
  private refusedForTurn = false;
  private gsoLogged = false;
  private undeliveredPackets = 0;
  private undeliveredBytes = 0;
  private closing: Promise<void> | undefined;
  private procDrops = 0;
  private procDropsAt = -Infinity;

  private constructor(udp: UdpNative, sock: UdpSocketInstance, counters: Float64Array, opts: NativeUdpOptions) {
    this.sock = sock;
    this.opts = opts;
    this.c = counters;
    this.names = udp.counterNames;
    this.at = Object.fromEntries(this.names.map((n, i) => [n, i]));
    this.kTxPackets = this.at['txPackets']!;
    this.kGsoDisabled = this.at['gsoDisabled']!;
    this.info = sock.info();
    this.local = { host: this.info.host, port: this.info.port };
    this.table = new PeerTable(sock, Math.min(this.info.peerCapacity, NATIVE_PEER_CAPACITY), udp.constants.unroutable);
    this.peers = new Uint32Array(64);

    // The delivered batch's buffer is the whole receive area: capacity
    // recvBatch, slots of area/recvBatch bytes. Native sets offsets and
    // lengths per delivery; datagrams are views into the area.
    const region = sock.gro ? udp.constants.groRegion : opts.maxDatagram;
    const want = sock.gro ? NATIVE_GRO_AREA_BYTES : NATIVE_PLAIN_AREA_DATAGRAMS * opts.maxDatagram;
    const slot = Math.max(1, Math.ceil(Math.max(want, region) / opts.recvBatch));
    this.rx = new DatagramBatch(opts.recvBatch, slot);
    this.rx.buf.fill(0); // touch the pages now, not on the first burst
    this.decoder = new SourceDecoder(opts.recvBatch);
    sock.startPoll({
      area: this.rx.buf,
      offsets: this.rx.offsets,
      lengths: this.rx.lengths,
      ip: this.decoder.ip,
      ports: this.decoder.ports,
      families: this.decoder.families,
      scopes: this.decoder.scopes,
      batch: opts.recvBatch,
      region,
      budget: NATIVE_RX_BUDGET,
      onRecv: this.received,
      onWritable: this.kernelWritable,
      onUnreachable: this.icmpError,
    });
  }

  /** Bind a native socket; rejects like the dgram path (E_ADDR_IN_USE naming the port, ...). */
  static async open(opts: NativeUdpOptions): Promise<NativeUdpTransport> {
    const { udp, reason } = loadNativeUdp();
    if (udp === null) {
      throw new WraithError('E_NATIVE_UNAVAILABLE', `the native UDP path is unavailable: ${reason ?? 'unknown'}`, { reason });
    }
    const counters = new Float64Array(udp.counterNames.length);
    let sock: UdpSocketInstance;
    try {
      sock = new udp.UdpSocket({
        host: opts.bind.host,
        port: opts.bind.port,
        recvBufferBytes: opts.recvBufferBytes,
        sendBufferBytes: opts.sendBufferBytes,
        maxDatagram: opts.maxDatagram,
        gso: opts.gso,
        gro: opts.gro,
        peerCapacity: NATIVE_PEER_CAPACITY,
        counters,
        testFailGso: opts.testFailGso ?? 0,
        testFailGsoAfter: opts.testFailGsoAfter ?? 0,
      });
    } catch (e) {
      throw openError(e, opts.bind);
    }
    try {
      return new NativeUdpTransport(udp, sock, counters, opts);
    } catch (e) {
      sock.close();
      throw e;
    }
  }

  /** gso: in use now (false once the kernel refused it); gro: coalesced receive is on. */
  get caps(): TransportCaps {
    return { gso: this.sock.gso, gro: this.sock.gro, xdp: false };
  }

  /**
   * Why GSO or GRO is off, or null: the probe at open failed (errno), they
   * were not asked for, or the kernel refused GSO at runtime.
   */
  offloadNotes(): { gso: string | null; gro: string | null } {
    const gso = this.sock.gso
      ? null
      : !this.opts.gso
        ? 'not requested'
        : this.c[this.kGsoDisabled] !== 0
          ? `the kernel refused a GSO send (errno ${this.c[this.at['gsoDisableErrno']!]})`
          : `setsockopt(UDP_SEGMENT) failed (errno ${this.info.gsoProbeErrno})`;
    const gro = this.sock.gro
      ? null
      : !this.opts.gro
        ? 'not requested'
        : `setsockopt(UDP_GRO) failed (errno ${this.info.groProbeErrno})`;
    return { gso, gro };
  }

  send(batch: DatagramBatch): number {
    if (this.closing !== undefined) {
      throw new WraithError('E_TRANSPORT_CLOSED', `UDP transport on port ${this.local.port} is closed`);
    }
    const n = batch.count;
    if (this.peers.length < n) this.peers = new Uint32Array(Math.max(n, batch.capacity));
    const peers = this.peers;
    const addrs = batch.addrs;
    const c = this.c;
    let i = 0;
    while (i < n) {
      const credit = this.opts.sendPoolSize - this.turnSent;
      if (credit <= 0) {
        this.refusedForTurn = true;
        break;
      }
      const m = Math.min(n - i, NATIVE_TX_CHUNK, credit);
      this.table.reserve(m);
      for (let k = i; k < i + m; k++) peers[k] = this.table.id(addrs[k]!);
      const before = c[this.kTxPackets]!;
      const accepted = this.sock.send(batch.buf, batch.offsets, batch.lengths, peers, i, m);
      // Only datagrams the kernel took count against the turn; drops cost nothing.
      this.turnSent += c[this.kTxPackets]! - before;
      i += accepted;
      if (accepted < m) {
        // EAGAIN: native arms a writable poll and calls kernelWritable.
        break;
      }
    }
    if (this.turnSent > 0 || this.refusedForTurn) this.armTurn();
    if (!this.gsoLogged && c[this.kGsoDisabled] !== 0) this.logGsoOff();
    return i;
  }

  onRecv(cb: (batch: DatagramBatch) => void): void {
    this.recvCb = cb;
  }

  onWritable(cb: () => void): void {
    this.writableCb = cb;
  }

  onUnreachable(cb: (peer: SocketAddr, error: string) => void): void {
    this.unreachableCb = cb;
  }

  localAddr(): SocketAddr {
    return this.local;
  }

  maxDatagram(_peer: SocketAddr): number {
    return this.opts.maxDatagram;
  }

  pathDatagram(peer: SocketAddr): number | null {
    if (this.closing !== undefined) return null;
    const mtu = this.sock.pathMtu(peer.host, peer.port);
    if (mtu <= 0) return null;
    // IPv4 (also IPv4-mapped on a dual-stack socket): 20-byte header; IPv6: 40. UDP: 8.
    return mtu - (isIPv4(peer.host) || peer.host.startsWith('::ffff:') ? 28 : 48);
  }

  /**
   * The six counters, plus in `extra` every native counter (sendCalls,
   * gsoSends, gsoSegments, recvCalls, groBuffers, groSegments, kernelRxDrops,
   * gsoDisabled, ...; names in native udp.counterNames), inFlight (datagrams
   * handed to the kernel this event-loop turn, the count sendPoolSize bounds),
   * gso and gro (1 when on), peerTableResets, and the buffer sizes as the
   * kernel reports them. rxDropped includes kernel drops (kernelRxDrops: the
   * larger of SO_RXQ_OVFL and /proc/net/udp's count, the latter re-read at
   * most once a second).
   */
  stats(): TransportStats {
    const c = this.c;
    const at = this.at;
    const get = (name: string): number => c[at[name]!]!;
    const extra: Record<string, number> = {};
    for (let i = 0; i < this.names.length; i++) {
      const name = this.names[i]!;
      if (!(MAIN as readonly string[]).includes(name)) extra[name] = c[i]!;
    }
    // SO_RXQ_OVFL reports drops only with the next datagram that arrives;
    // /proc/net/udp has them at once. Both count the same socket's drops.
    const now = performance.now(); // monotonic: a stepped wall clock must not freeze the refresh;
    if (this.closing === undefined && now - this.procDropsAt >= KERNEL_DROPS_REFRESH_MS) {
      this.procDropsAt = now;
      this.procDrops = readKernelDrops(this.local) ?? this.procDrops;
    }
    const kernelDrops = Math.max(get('kernelRxDrops'), this.procDrops);
    extra['kernelRxDrops'] = kernelDrops;
    extra['inFlight'] = this.turnSent;
    extra['gso'] = this.sock.gso ? 1 : 0;
    extra['gro'] = this.sock.gro ? 1 : 0;
    extra['peerTableResets'] = this.table.resets;
    extra['undelivered'] = this.undeliveredPackets;
    extra['recvBufferBytes'] = this.info.recvBufferBytes;
    extra['sendBufferBytes'] = this.info.sendBufferBytes;
    return {
      txPackets: get('txPackets'),
      txBytes: get('txBytes'),
      rxPackets: get('rxPackets') - this.undeliveredPackets,
      rxBytes: get('rxBytes') - this.undeliveredBytes,
      txDropped: get('txDropped'),
      rxDropped: get('rxDropped') + kernelDrops + this.undeliveredPackets,
      extra,
    };
  }

  /** Idempotent; resolves once the socket is closed. Nothing fires afterwards. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.closing = new Promise<void>((resolve) => {
        if (!this.sock.close(() => resolve())) resolve();
      });
    }
    return this.closing;
  }

  private armTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(this.newTurn);
  }

  private readonly newTurn = (): void => {
    this.turnScheduled = false;
    this.turnSent = 0;
    if (this.refusedForTurn) {
      this.refusedForTurn = false;
      this.fireWritable();
    }
  };

  private readonly kernelWritable = (): void => {
    this.fireWritable();
  };

  private readonly icmpError = (host: string, port: number, errno: number): void => {
    if (this.closing === undefined) this.unreachableCb?.({ host, port }, ERRNO_NAMES.get(errno) ?? `errno ${errno}`);
  };

  private fireWritable(): void {
    if (this.closing === undefined) this.writableCb?.();
  }

  private readonly received = (count: number): void => {
    if (this.closing !== undefined) return;
    const b = this.rx;
    const cb = this.recvCb;
    if (cb === undefined) {
      this.undeliveredPackets += count;
      for (let i = 0; i < count; i++) this.undeliveredBytes += b.lengths[i]!;
      return;
    }
    this.decoder.decode(b.addrs, count);
    b.count = count;
    try {
      cb(b);
    } finally {
      b.count = 0;
    }
  };

  private logGsoOff(): void {
    this.gsoLogged = true;
    const errno = this.c[this.at['gsoDisableErrno']!];
    const msg = `UDP GSO refused by the kernel (errno ${errno}) on ${this.local.host}:${this.local.port}: sending without it`;
    if (this.opts.log !== undefined) this.opts.log.warn({ errno, local: this.local }, msg);
    else process.emitWarning(msg, { code: 'WRAITH_UDP_GSO_OFF' });
  }
}
