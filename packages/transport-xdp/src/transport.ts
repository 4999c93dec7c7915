/**
 * The AF_XDP transport. Lifecycle:
 *   claim the interface (E_XDP_BUSY if any XDP program is on it) -> XSKMAP +
 *   program -> one AF_XDP socket per RX queue -> kernel UDP socket(s) on the
 *   same port -> every socket into the XSKMAP -> attach through a BPF link.
 * close() detaches first (closing the link), then closes the sockets.
 *
 * RX: one uv_poll per socket on the main loop; a wakeup copies up to
 * batchSize frames into that socket's DatagramBatch, which is parsed in
 * place (offsets point at the UDP payloads) and handed to onRecv.
 * TX: per-peer header templates. The node asks txBatch() for a batch over
 * free UMEM frames (lent by the addon), builds and seals its packets there,
 * and send() writes the headers in front of them and queues the frames where
 * they are (txSubmit). A batch of the caller's own goes the copying way:
 * headers into a staging area, then native tx() copies header + payload into
 * UMEM. Both fill in the UDP checksum in native code; the pump kicks. Peers
 * whose next hop is not resolved yet go through the kernel UDP socket
 * (which also makes the kernel resolve them).
 */
import { isIPv4, isIPv6 } from 'node:net';
import {
  addrKey,
  DatagramBatch,
  WraithError,
  type SocketAddr,
  type Transport,
  type TransportLoss,
  type TransportCaps,
  type TransportFactory,
  type TransportStats,
} from '@wraith/core';
import { claimInterface, XdpProgram, type LogFn } from './attach.js';
import {
  bytesToIp,
  ETH_HLEN,
  HeaderTemplate,
  ipToBytes,
  IPV4_HLEN,
  IPV6_HLEN,
  MAX_HDR_LEN,
  newParsedUdp,
  parseMac,
  parseUdpFrame,
  UDP_HLEN,
  type ParsedUdp,
} from './frames.js';
import { nativeXdp, type NativeXdp, type XskSocket } from './native.js';
import { createNativeUdpTransport } from '@wraith/transport-udp';
import { interfaceAddrs, NextHopCache, type HopState } from './neigh.js';
import * as netdev from './netdev.js';
import { closeXsk, openXsk, type ZeroCopy } from './xsk.js';

export interface XdpTransportInit {
  interface: string;
  port: number;
  /** Local address to send from and accept on; default: the interface's first IPv4 address. */
  bindHost?: string;
  /** RX queues to bind; default: every queue in /sys/class/net/IF/queues/rx-*. */
  queues?: number[];
  /** Entries per ring (power of two, 64..16384); default 4096. */
  ringSize?: number;
  /** UMEM frames per socket; default 2 * ringSize (half RX, half TX). */
  umemFrames?: number;
  frameSize?: 2048 | 4096;
  /** Try 2 MiB pages for the UMEM (falls back to normal pages); default false. */
  hugePages?: boolean;
  /** Datagrams per RX callback and per native TX call; default 64. */
  batchSize?: number;
  zeroCopy?: ZeroCopy;
  /** XDP attach mode; 'auto' tries native (driver) mode, then generic. */
  attachMode?: 'auto' | 'native' | 'generic';
  log?: LogFn;
}

/** 4096 RX frames absorbed a 250 kpps dgram flood on the 2-vCPU VM; 2048 lost ~5 % (bench/rx-wakeup.mjs). */
const DEFAULT_RING = 4096;
const DEFAULT_BATCH = 64;
/** Copy-mode RX data starts this far into a UMEM frame (XDP_PACKET_HEADROOM). */
const XDP_PACKET_HEADROOM = 256;
/** Staging stride for one header (>= MAX_HDR_LEN). */
const HDR_STRIDE = 64;
/** Where a lent frame's datagram starts: room for the largest header in front. */
const TX_HEADROOM = 64;
/** Upper bound of cached source addresses before the cache is reset. */
const ADDR_CACHE_MAX = 65536;
/** Pump delay while waiting for TX completions. */
const PUMP_RETRY_MS = 1;

/** Counters logged with "XDP disabled on interface IF" (a process's lifetime totals). */
const CLOSE_TOTALS = [
  'xdp_rx_packets',
  'xdp_tx_packets',
  'tx_in_place',
  'kernel_rx_packets',
  'kernel_tx_packets',
  'kernel_tx_errors',
  'tx_oversize',
  'rx_invalid_frames',
  'rx_dropped',
  'rx_ring_full',
  'tx_kick_dropped',
] as const;

const XDP_CAPS: TransportCaps = { gso: false, gro: false, xdp: true };
const noLog: LogFn = () => {};

interface Queue {
  readonly queue: number;
  readonly sock: XskSocket;
  readonly batch: DatagramBatch;
  readonly lens: Uint32Array;
  rxDatagrams: number;
  rxBytes: number;
}

/** js-libp2p-style factory. */
export const xdpTransport: TransportFactory<XdpTransportInit> = (init) => async () => createXdpTransport(init);

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function validate(init: XdpTransportInit): void {
  const bad = (msg: string, field: string): never => {
    throw new WraithError('E_CONFIG', `xdp transport: ${msg}`, { field }, `fix ${field}`);
  };
  if (!netdev.validIfName(init.interface)) bad(`interface '${init.interface}' is not a valid interface name`, 'interface');
  if (!Number.isInteger(init.port) || init.port < 1 || init.port > 65535) bad(`port ${init.port} is not in 1..65535`, 'port');
  if (init.bindHost !== undefined && !isIPv4(init.bindHost) && !isIPv6(init.bindHost))
    bad(`bindHost '${init.bindHost}' is not an IP address`, 'bindHost');
  const ring = init.ringSize ?? DEFAULT_RING;
  if (!isPow2(ring) || ring < 64 || ring > 16384) bad(`ringSize ${ring} must be a power of two in 64..16384`, 'ringSize');
  const frames = init.umemFrames ?? 2 * ring;
  if (!Number.isInteger(frames) || frames < 128 || frames > 1 << 20) bad(`umemFrames ${frames} must be in 128..1048576`, 'umemFrames');
  if (init.frameSize !== undefined && init.frameSize !== 2048 && init.frameSize !== 4096)
    bad(`frameSize ${String(init.frameSize)} must be 2048 or 4096`, 'frameSize');
  const batch = init.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(batch) || batch < 1 || batch > 1024) bad(`batchSize ${batch} must be in 1..1024`, 'batchSize');
  for (const q of init.queues ?? []) if (!Number.isInteger(q) || q < 0 || q > 4095) bad(`queue ${q} is not a queue index`, 'queues');
}

export async function createXdpTransport(init: XdpTransportInit): Promise<XdpTransport> {
  validate(init);
  const log = init.log ?? noLog;
  const x = nativeXdp();
  const ifname = init.interface;
  const ifindex = x.ifIndex(ifname);
  if (ifindex === 0) throw new WraithError('E_XDP_UNAVAILABLE', `no interface '${ifname}'`, { interface: ifname }, 'check the interface name (ip link)');

  // Undo steps for a partial start, run in reverse.
  const undo: Array<() => void | Promise<void>> = [];
  const rollback = async (): Promise<void> => {
    for (const f of undo.reverse()) {
      try {
        await f();
      } catch {}
    }
  };
  try {
    const release = claimInterface(x, ifname, ifindex);
    undo.push(release);

    const available = netdev.rxQueues(ifname);
    const queues = init.queues ?? available;
    if (queues.length === 0) throw new WraithError('E_XDP_UNAVAILABLE', `interface ${ifname} reports no RX queues`, { interface: ifname });
    for (const q of queues) {
      if (!available.includes(q))
        throw new WraithError('E_CONFIG', `queue ${q} does not exist on ${ifname} (has ${available.join(', ')})`, { field: 'queues' });
    }
    const mtu = netdev.mtu(ifname) ?? 1500;
    const mac = netdev.macAddress(ifname);
    if (!mac) throw new WraithError('E_XDP_UNAVAILABLE', `interface ${ifname} has no MAC address`, { interface: ifname });
    const numa = netdev.numaNode(ifname);
    let addrs: { v4: string[]; v6: string[] };
    try {
      addrs = await interfaceAddrs(ifname);
    } catch (e) {
      throw new WraithError('E_XDP_UNAVAILABLE', `cannot list the addresses of ${ifname}: ${(e as Error).message}`, { interface: ifname },
        'AF_XDP needs iproute2 (the ip command) for addresses and next hops');
    }
    const host = init.bindHost ?? addrs.v4[0] ?? addrs.v6[0];
    if (!host) throw new WraithError('E_XDP_UNAVAILABLE', `interface ${ifname} has no IP address`, { interface: ifname }, 'give bindHost or add an address');

    const frameSizeWanted = init.frameSize ?? 2048;
    if (mtu + ETH_HLEN > frameSizeWanted - XDP_PACKET_HEADROOM)
      log('warn', `MTU ${mtu} frames exceed a ${frameSizeWanted}-byte UMEM frame after ${XDP_PACKET_HEADROOM} bytes of headroom: larger datagrams from peers will be dropped; use frameSize 4096`, { interface: ifname });
    const program = XdpProgram.load(x, ifname, ifindex, [init.port], Math.max(...queues));
    undo.push(() => program.close());

    const ring = init.ringSize ?? DEFAULT_RING;
    const frameSize = init.frameSize ?? 2048;
    const opts = { ringSize: ring, frames: init.umemFrames ?? 2 * ring, frameSize, hugePages: init.hugePages ?? false, numaNode: numa };
    const batchSize = init.batchSize ?? DEFAULT_BATCH;
    const sockets: Queue[] = [];
    for (const q of queues) {
      const sock = await openXsk(x, opts, ifname, ifindex, q, init.zeroCopy ?? 'auto');
      undo.push(() => closeXsk(sock));
      sockets.push({ queue: q, sock, batch: new DatagramBatch(batchSize, frameSize), lens: new Uint32Array(batchSize), rxDatagrams: 0, rxBytes: 0 });
    }
    const first = sockets[0]!.sock.info;
    log('info', first.zeroCopy ? 'Zero-copy mode: enabled' : 'Zero-copy mode: disabled (using copy mode)', { interface: ifname });
    if (opts.hugePages) log(first.hugePages ? 'info' : 'warn', first.hugePages ? 'UMEM on huge pages' : `UMEM on normal pages: ${first.note}`);
    if (numa >= 0) log('debug', `interface ${ifname} is on NUMA node ${numa}`, { numaNode: numa });

    const t = new XdpTransport(x, {
      ifname,
      port: init.port,
      host,
      bindHost: init.bindHost ?? null,
      mac,
      mtu,
      frameSize,
      batchSize,
      program,
      sockets,
      log,
      release,
    });
    undo.push(() => t.close());
    await t.openKernelSockets();

    // Sockets go into the map before the program can see a packet.
    for (const s of sockets) program.setSocket(s.queue, s.sock.fd);
    const mode = program.attach(init.attachMode ?? 'auto', log);
    log('info', `XDP enabled on interface ${ifname}`, { mode, queues, programId: program.progId });
    for (const s of sockets) {
      log('info', `AF_XDP socket bound to ${addrKey({ host, port: init.port })} (queue ${s.queue})`, { interface: ifname, queue: s.queue });
    }
    t.start();
    return t;
  } catch (e) {
    await rollback();
    throw e;
  }
}

interface Config {
  ifname: string;
  port: number;
  host: string;
  bindHost: string | null;
  mac: string;
  mtu: number;
  frameSize: number;
  batchSize: number;
  program: XdpProgram;
  sockets: Queue[];
  log: LogFn;
  /** Gives the interface claim back. */
  release: () => void;
}

export class XdpTransport implements Transport {
  readonly name = 'xdp';
  readonly caps = XDP_CAPS;

  private readonly srcMac: Uint8Array;
  private readonly hops: NextHopCache;
  private tplByObj = new WeakMap<SocketAddr, HeaderTemplate>();
  private readonly tplByKey = new Map<string, HeaderTemplate>();
  private readonly addr4 = new Map<number, SocketAddr>();
  private readonly addr6 = new Map<string, SocketAddr>();
  private readonly parsed: ParsedUdp = newParsedUdp();
  private readonly bindBytes: Uint8Array | null;

  // TX staging, allocated once: headers, their lengths, payload slices, and
  // which batch index each staged frame came from.
  private readonly hdrs: Uint8Array;
  private readonly hdrLens: Uint32Array;
  private readonly payOffs: Uint32Array;
  private readonly payLens: Uint32Array;
  private readonly stagedIdx: Uint32Array;
  // Lent UMEM frames (txBatch): where each starts in txArea, and the batch over them.
  private readonly lendOffs: Uint32Array;
  private lendBatch: DatagramBatch | null = null;

  /** The kernel path: the addon's UDP socket on our port (it sees ICMP errors, node:dgram does not). */
  private kernel: Transport | null = null;
  private readonly kernelTx: DatagramBatch;
  private recvCb: ((b: DatagramBatch) => void) | null = null;
  private writableCb: (() => void) | null = null;
  private unreachableCb: ((peer: SocketAddr, error: string) => void) | null = null;
  private blocked = false;
  private kernelBlocked = false;
  private pumpScheduled = false;
  private pumpTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private oversizeWarned = false;

  private readonly c = {
    kernelRxPackets: 0,
    kernelRxBytes: 0,
    kernelTxPackets: 0,
    kernelTxBytes: 0,
    kernelTxErrors: 0,
    kernelRxDrops: 0,
    xdpTxPackets: 0,
    xdpTxBytes: 0,
    txOversize: 0,
    txNoRoute: 0,
    rxInvalidFrames: 0,
    rxOtherDst: 0,
  };

  constructor(
    private readonly x: NativeXdp,
    private readonly cfg: Config,
  ) {
    this.srcMac = parseMac(cfg.mac);
    this.bindBytes = cfg.bindHost ? ipToBytes(cfg.bindHost) : null;
    const b = cfg.batchSize;
    this.hdrs = new Uint8Array(b * HDR_STRIDE);
    this.hdrLens = new Uint32Array(b);
    this.payOffs = new Uint32Array(b);
    this.payLens = new Uint32Array(b);
    this.stagedIdx = new Uint32Array(b);
    this.lendOffs = new Uint32Array(b);
    this.kernelTx = new DatagramBatch(1, 65536);
    const src = cfg.bindHost;
    this.hops = new NextHopCache(
      cfg.ifname,
      { v4: src && isIPv4(src) ? src : null, v6: src && isIPv6(src) ? src : null },
      (ip, state) => this.onHopChange(ip, state),
    );
  }

  /** Kernel UDP socket on our port: what the program passes lands here. */
  async openKernelSockets(): Promise<void> {
    const bindHost = this.cfg.bindHost;
    const port = this.cfg.port;
    const open = (bind: string): Promise<Transport> => createNativeUdpTransport({ bind, recvBufferBytes: 4 << 20, gso: false });
    let k: Transport;
    if (bindHost !== null) {
      k = await open(isIPv6(bindHost) ? `[${bindHost}]:${port}` : `${bindHost}:${port}`);
    } else {
      try {
        k = await open(`[::]:${port}`); // dual stack
      } catch (e) {
        if (!(e instanceof WraithError) || e.details?.['errno'] !== 'EAFNOSUPPORT') throw e;
        this.cfg.log('debug', `no IPv6 kernel socket: ${e.message}`);
        k = await open(`0.0.0.0:${port}`);
      }
    }
    k.onRecv((b) => this.onKernelBatch(b));
    k.onWritable(() => {
      if (!this.kernelBlocked || this.closed) return;
      this.kernelBlocked = false;
      this.writableCb?.();
    });
    k.onUnreachable?.((peer, error) => {
      if (!this.closed) this.unreachableCb?.(peer, error);
    });
    this.kernel = k;
  }

  /** Starts RX polling on every socket. */
  start(): void {
    for (const q of this.cfg.sockets) {
      // Up to a full ring per wakeup: a sender that refills the ring within
      // one loop turn (say, another transport in this process) must not
      // find the fill ring empty.
      q.sock.startPoll(q.batch.buf, this.cfg.frameSize, q.lens, q.batch.capacity, (n) => this.onRx(q, n), q.sock.info.rxFrames);
    }
  }

  onRecv(cb: (batch: DatagramBatch) => void): void {
    this.recvCb = cb;
  }

  onWritable(cb: () => void): void {
    this.writableCb = cb;
  }

  /** ICMP errors for what the kernel socket sent: dials go that way until a peer's MAC is known. */
  onUnreachable(cb: (peer: SocketAddr, error: string) => void): void {
    this.unreachableCb = cb;
  }

  /**
   * Looks up the next hop to `peer` now instead of on first send: 'xdp' when
   * datagrams to it will take AF_XDP, 'kernel' when they go through the
   * kernel socket (no neighbour entry yet, or routed via another interface).
   */
  async resolvePeer(peer: SocketAddr): Promise<'xdp' | 'kernel'> {
    const state = await this.hops.resolveNow(peer.host);
    return state.kind === 'ready' ? 'xdp' : 'kernel';
  }

  localAddr(): SocketAddr {
    return { host: this.cfg.host, port: this.cfg.port };
  }

  maxDatagram(peer: SocketAddr): number {
    const ipHdr = peer.host.includes(':') ? IPV6_HLEN : IPV4_HLEN;
    // Both the interface MTU (the kernel drops bigger frames silently) and the UMEM frame bound it.
    return Math.min(this.cfg.mtu, this.cfg.frameSize - ETH_HLEN) - ipHdr - UDP_HLEN;
  }

  /** AF_XDP never fragments: what fits the interface is what reaches the peer unfragmented. */
  pathDatagram(peer: SocketAddr): number | null {
    return this.maxDatagram(peer);
  }

  /** The interface deleted, or our program detached by another process: nothing arrives any more. */
  lost(): TransportLoss | null {
    if (this.closed) return null;
    const { program, ifname } = this.cfg;
    const h = program.health();
    if (h === 'gone') return { reason: `interface ${ifname} (index ${program.ifindex}) is gone, and the XDP program with it`, addressGone: true };
    if (h === 'detached') return { reason: `the XDP program on ${ifname} was detached by another process`, addressGone: false };
    return null;
  }

  /**
   * A batch over batchSize free UMEM frames of socket 0, each slot
   * TX_HEADROOM bytes into its frame; null when fewer are free. The previous
   * batch's unsent frames go back to the free list first.
   */
  txBatch(): DatagramBatch | null {
    if (this.closed) return null;
    const sock = this.cfg.sockets[0]!.sock;
    const want = this.cfg.batchSize;
    let b = this.lendBatch;
    if (b === null) {
      b = new DatagramBatch(want, this.cfg.frameSize - TX_HEADROOM, new Uint8Array(sock.txArea()));
      this.lendBatch = b;
    }
    b.clear();
    const n = sock.txLend(this.lendOffs, want);
    if (n < want) {
      sock.txLend(this.lendOffs, 0); // give the partial lend back
      return null;
    }
    for (let i = 0; i < n; i++) b.offsets[i] = this.lendOffs[i]! + TX_HEADROOM;
    return b;
  }

  send(batch: DatagramBatch): number {
    if (this.closed) throw new WraithError('E_TRANSPORT_CLOSED', `xdp transport on ${this.cfg.ifname} is closed`);
    // A txBatch() is already in UMEM: headers go in front of each datagram, frames queue in place.
    const lent = batch === this.lendBatch;
    let staged = 0;
    let bytes = 0;
    for (let i = 0; i < batch.count; i++) {
      const addr = batch.addrs[i]!;
      const len = batch.lengths[i]!;
      if (len > this.maxDatagram(addr)) {
        this.dropOversize(len, addr);
        continue;
      }
      const tpl = this.templateFor(addr);
      if (tpl === null) {
        // Kernel path: keep order with what is already staged.
        if (staged > 0) {
          const n = this.flushStaged(batch, staged, bytes, lent);
          if (n < staged) return this.stagedIdx[n]!;
          staged = bytes = 0;
        }
        if (!this.sendKernel(batch, i, addr, len)) {
          this.kernelBlocked = true;
          return i;
        }
        continue;
      }
      if (lent) {
        const at = batch.offsets[i]! - tpl.length;
        tpl.write(batch.buf, at, len);
        this.payOffs[staged] = at;
        this.payLens[staged] = tpl.length + len;
      } else {
        this.hdrLens[staged] = tpl.write(this.hdrs, staged * HDR_STRIDE, len);
        this.payOffs[staged] = batch.offsets[i]!;
        this.payLens[staged] = len;
      }
      this.stagedIdx[staged] = i;
      staged++;
      bytes += len;
      if (staged === this.cfg.batchSize) {
        const n = this.flushStaged(batch, staged, bytes, lent);
        if (n < staged) return this.stagedIdx[n]!;
        staged = bytes = 0;
      }
    }
    if (staged > 0) {
      const n = this.flushStaged(batch, staged, bytes, lent);
      if (n < staged) return this.stagedIdx[n]!;
    }
    return batch.count;
  }

  /** Queues what send() staged; returns how many went (lent frames always all go). */
  private flushStaged(batch: DatagramBatch, staged: number, payloadBytes: number, lent: boolean): number {
    if (!lent) return this.flush(batch, staged);
    this.submit(staged, payloadBytes);
    return staged;
  }

  /**
   * Queues staged lent frames (payOffs/payLens: where each frame starts in
   * the TX area, and its length). A lent frame always has a TX ring slot, so
   * native takes all of them (or throws on a frame that was not lent).
   */
  private submit(staged: number, payloadBytes: number): void {
    this.cfg.sockets[0]!.sock.txSubmit(this.payOffs, this.payLens, staged, true);
    this.c.xdpTxPackets += staged;
    this.c.xdpTxBytes += payloadBytes;
    this.schedulePump();
  }

  stats(): TransportStats {
    const extra: Record<string, number> = {};
    const add = (k: string, v: number | undefined): void => {
      extra[k] = (extra[k] ?? 0) + (v ?? 0);
    };
    let xdpRx = 0;
    let xdpRxBytes = 0;
    let ringDrops = 0;
    for (const q of this.cfg.sockets) {
      const s = this.closed ? {} : q.sock.stats();
      const p = `q${q.queue}_`;
      extra[`${p}rx_packets`] = q.rxDatagrams;
      extra[`${p}rx_bytes`] = q.rxBytes;
      extra[`${p}rx_frames`] = s['rxPackets'] ?? 0;
      extra[`${p}tx_packets`] = s['txPackets'] ?? 0;
      extra[`${p}tx_bytes`] = s['txBytes'] ?? 0;
      for (const k of ['rx_dropped', 'rx_invalid_descs', 'tx_invalid_descs', 'rx_ring_full', 'fill_ring_empty_descs', 'tx_ring_empty_descs']) {
        extra[`${p}${k}`] = s[k] ?? 0;
        add(k, s[k]);
      }
      add('tx_kicks', s['txKicks']);
      add('tx_kick_again', s['txKickAgain']);
      add('tx_kick_dropped', s['txKickDropped']);
      add('tx_kick_errors', s['txKickErrors']);
      add('tx_no_frames', s['txNoFrames']);
      add('tx_lent_frames', s['txLent']);
      add('tx_in_place', s['txSubmitted']);
      add('poll_wakeups', s['pollWakeups']);
      xdpRx += q.rxDatagrams;
      xdpRxBytes += q.rxBytes;
      ringDrops += (s['rx_dropped'] ?? 0) + (s['rx_ring_full'] ?? 0);
    }
    const c = this.c;
    // The kernel socket counts its own failed sends and its drops (the last figures stay after close).
    const ks = this.kernel?.stats();
    if (ks !== undefined) {
      c.kernelTxErrors = ks.txDropped;
      c.kernelRxDrops = ks.rxDropped;
    }
    Object.assign(extra, {
      xdp_rx_packets: xdpRx,
      xdp_rx_bytes: xdpRxBytes,
      xdp_tx_packets: c.xdpTxPackets,
      xdp_tx_bytes: c.xdpTxBytes,
      kernel_rx_packets: c.kernelRxPackets,
      kernel_rx_bytes: c.kernelRxBytes,
      kernel_tx_packets: c.kernelTxPackets,
      kernel_tx_bytes: c.kernelTxBytes,
      kernel_tx_errors: c.kernelTxErrors,
      kernel_rx_drops: c.kernelRxDrops,
      tx_oversize: c.txOversize,
      rx_invalid_frames: c.rxInvalidFrames,
      rx_other_dst: c.rxOtherDst,
      queues: this.cfg.sockets.length,
      native_mode: this.cfg.program.mode === 'native' ? 1 : 0,
      zero_copy: this.cfg.sockets[0]?.sock.info.zeroCopy ? 1 : 0,
      huge_pages: this.cfg.sockets[0]?.sock.info.hugePages ? 1 : 0,
    });
    return {
      txPackets: c.xdpTxPackets + c.kernelTxPackets,
      txBytes: c.xdpTxBytes + c.kernelTxBytes,
      rxPackets: xdpRx + c.kernelRxPackets,
      rxBytes: xdpRxBytes + c.kernelRxBytes,
      txDropped: c.txOversize + c.kernelTxErrors + c.txNoRoute,
      rxDropped: ringDrops + c.rxInvalidFrames + c.kernelRxDrops,
      extra,
    };
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    // Totals for the closing log line, read while the sockets still exist.
    const totals: Record<string, number> = {};
    try {
      const e = this.stats().extra ?? {};
      for (const k of CLOSE_TOTALS) totals[k] = e[k] ?? 0;
    } catch {}
    this.closed = true;
    this.closing = (async () => {
      this.recvCb = null;
      this.writableCb = null;
      if (this.pumpTimer) clearTimeout(this.pumpTimer);
      // Detach first: from here on the kernel gets every packet again.
      this.cfg.program.detach();
      await Promise.all(this.cfg.sockets.map((q) => closeXsk(q.sock)));
      this.cfg.program.close();
      await this.kernel?.close();
      this.kernel = null;
      this.hops.close();
      this.cfg.release();
      this.cfg.log('info', `XDP disabled on interface ${this.cfg.ifname}`, totals);
    })();
    return this.closing;
  }

  // --- RX ---------------------------------------------------------------

  private onRx(q: Queue, n: number): void {
    const b = q.batch;
    const buf = b.buf;
    const stride = this.cfg.frameSize;
    const p = this.parsed;
    const port = this.cfg.port;
    let j = 0;
    for (let i = 0; i < n; i++) {
      const off = i * stride;
      if (!parseUdpFrame(buf, off, q.lens[i]!, p) || p.dstPort !== port) {
        this.c.rxInvalidFrames++;
        continue;
      }
      if (this.bindBytes !== null && !this.isBindDst(buf, p)) {
        this.c.rxOtherDst++;
        continue;
      }
      b.offsets[j] = p.payloadOffset;
      b.lengths[j] = p.payloadLength;
      b.addrs[j] = this.sourceAddr(buf, p);
      q.rxBytes += p.payloadLength;
      j++;
    }
    q.rxDatagrams += j;
    b.count = j;
    if (j > 0 && this.recvCb) this.recvCb(b);
  }

  private isBindDst(buf: Uint8Array, p: ParsedUdp): boolean {
    const want = this.bindBytes!;
    if ((p.family === 4) !== (want.length === 4)) return false;
    for (let k = 0; k < want.length; k++) if (buf[p.dstIpOffset + k] !== want[k]) return false;
    return true;
  }

  /** The cached SocketAddr for a source (no allocation for known IPv4 peers). */
  private sourceAddr(buf: Uint8Array, p: ParsedUdp): SocketAddr {
    const o = p.srcIpOffset;
    if (p.family === 4) {
      const key = (buf[o]! * 0x1000000 + buf[o + 1]! * 0x10000 + buf[o + 2]! * 0x100 + buf[o + 3]!) * 0x10000 + p.srcPort;
      let a = this.addr4.get(key);
      if (!a) {
        if (this.addr4.size >= ADDR_CACHE_MAX) this.addr4.clear();
        a = { host: bytesToIp(buf, o, 4), port: p.srcPort };
        this.addr4.set(key, a);
      }
      return a;
    }
    const host = bytesToIp(buf, o, 6);
    const key = `${host}|${p.srcPort}`;
    let a = this.addr6.get(key);
    if (!a) {
      if (this.addr6.size >= ADDR_CACHE_MAX) this.addr6.clear();
      a = { host, port: p.srcPort };
      this.addr6.set(key, a);
    }
    return a;
  }

  private onKernelBatch(b: DatagramBatch): void {
    if (this.closed) return;
    for (let i = 0; i < b.count; i++) {
      this.c.kernelRxPackets++;
      this.c.kernelRxBytes += b.lengths[i]!;
      // An IPv4 peer on the dual-stack socket, named as the AF_XDP path names it.
      const a = b.addrs[i]!;
      if (a.host.startsWith('::ffff:') && isIPv4(a.host.slice(7))) b.addrs[i] = { host: a.host.slice(7), port: a.port };
    }
    this.recvCb?.(b);
  }

  // --- TX ---------------------------------------------------------------

  private templateFor(addr: SocketAddr): HeaderTemplate | null {
    const hit = this.tplByObj.get(addr);
    if (hit) return hit;
    const key = addrKey(addr);
    let t = this.tplByKey.get(key);
    if (!t) {
      const hop = this.hops.get(addr.host);
      if (hop.kind !== 'ready') return null;
      t = new HeaderTemplate({
        srcMac: this.srcMac,
        dstMac: parseMac(hop.mac),
        srcIp: hop.src,
        dstIp: addr.host,
        srcPort: this.cfg.port,
        dstPort: addr.port,
      });
      this.tplByKey.set(key, t);
    }
    this.tplByObj.set(addr, t);
    return t;
  }

  private onHopChange(ip: string, state: HopState): void {
    // Rare (resolution, MAC or route change): rebuild templates lazily.
    this.tplByKey.clear();
    this.tplByObj = new WeakMap();
    this.cfg.log('debug', `next hop for ${ip}: ${state.kind}`, { ...state });
  }

  /**
   * Copies staged frames into socket 0's TX ring; returns how many it took.
   * The kick is left to the pump, once per event-loop turn: every send()
   * of this turn goes out with one sendto(), and the TX frames bound what
   * can be queued without yielding (the refusal the Transport contract wants).
   */
  private flush(batch: DatagramBatch, staged: number): number {
    const q = this.cfg.sockets[0]!;
    const n = q.sock.tx(this.hdrs, HDR_STRIDE, this.hdrLens, batch.buf, this.payOffs, this.payLens, staged, true, false);
    this.c.xdpTxPackets += n;
    for (let k = 0; k < n; k++) this.c.xdpTxBytes += this.payLens[k]!;
    if (n < staged) this.blocked = true;
    this.schedulePump();
    return n;
  }

  /** False when the kernel socket takes no more now (onWritable follows). */
  private sendKernel(batch: DatagramBatch, i: number, addr: SocketAddr, len: number): boolean {
    const k = this.kernel;
    if (k === null) {
      this.c.txNoRoute++;
      return true;
    }
    // One datagram through the kernel socket (cold path: a peer whose MAC is not known yet).
    const one = this.kernelTx;
    one.clear();
    const off = batch.offsets[i]!;
    one.push(batch.buf.subarray(off, off + len), addr);
    if (k.send(one) === 0) return false;
    this.c.kernelTxPackets++;
    this.c.kernelTxBytes += len;
    return true;
  }

  private dropOversize(len: number, addr: SocketAddr): void {
    this.c.txOversize++;
    if (!this.oversizeWarned) {
      this.oversizeWarned = true;
      this.cfg.log('warn', `dropping ${len}-byte datagram to ${addrKey(addr)}: over maxDatagram ${this.maxDatagram(addr)} (MTU ${this.cfg.mtu})`);
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  /**
   * Kicks what send() queued this turn, collects TX completions, and fires
   * onWritable once a refused send can go again. Runs while anything is
   * pending.
   */
  private pump(): void {
    this.pumpScheduled = false;
    this.pumpTimer = null;
    if (this.closed) return;
    const r = this.cfg.sockets[0]!.sock.reclaim();
    if (this.blocked && r.freeFrames > 0) {
      this.blocked = false;
      this.writableCb?.();
    }
    if (this.closed) return;
    if (this.blocked || r.queued > 0) {
      if (!this.pumpTimer && !this.pumpScheduled) this.pumpTimer = setTimeout(() => this.pump(), PUMP_RETRY_MS);
    }
  }
}

export { MAX_HDR_LEN };
