/**
 * The AF_XDP transport as the wraith node starts it: the node's resolved
 * configuration (`[network] xdp_interface`, `[xdp]`) and its bind address
 * mapped onto createXdpTransport, after probeXdp said it can run here.
 *
 * Anything that stops AF_XDP is a WraithError with a reason and a remedy
 * (E_XDP_UNAVAILABLE, E_XDP_BUSY, E_CONFIG, E_ADDR_IN_USE); the node's
 * transport selection logs it and falls back to UDP when allowed. Peers that
 * are not reached through the XDP interface are still served: the transport
 * keeps a kernel UDP socket on the same port for them.
 *
 * This package does not depend on the wraith package (which loads it
 * dynamically), so the configuration and logger are described structurally.
 */
import dgram from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { addrKey, WraithError, type SocketAddr } from '@wraith/core';
import type { LogFn } from './attach.js';
import { interfaceAddrs } from './neigh.js';
import * as netdev from './netdev.js';
import { probeXdp, type XdpProbe } from './probe.js';
import { createXdpTransport, type XdpTransport, type XdpTransportInit } from './transport.js';

/** The parts of wraith's ResolvedConfig this transport reads. */
export interface XdpNodeConfig {
  network: {
    xdp_interface: string | null;
  };
  xdp: {
    rx_ring_size: number;
    tx_ring_size: number;
    fill_ring_size: number;
    comp_ring_size: number;
    umem_size: number;
    frame_size: 2048 | 4096;
    huge_pages: boolean;
    batch_size: number;
    cpus: number[];
    lock_memory: boolean;
    zero_copy: 'auto' | 'on' | 'off';
  };
}

type LogMethod = { (obj: object, msg?: string): void; (msg: string): void };

/** The pino Logger methods used here. */
export interface XdpNodeLogger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

export interface XdpNodeTransportOptions {
  config: XdpNodeConfig;
  /** "IP:PORT" or "[IPv6]:PORT"; a wildcard IP takes the interface's addresses, port 0 a free port. */
  bind: string;
  log: XdpNodeLogger;
}

export interface XdpNodeDetails {
  /** XDP attach mode. */
  mode: 'native' | 'generic';
  zeroCopy: boolean;
  /** AF_XDP sockets (one per RX queue). */
  queues: number;
  interface: string;
  hugePages: boolean;
  ringSize: number;
  frameSize: number;
  umemFrames: number;
  batchSize: number;
  /** The UMEM is pinned by the kernel (always: XDP_UMEM_REG pins it). */
  umemPinned: true;
  [k: string]: unknown;
}

export interface XdpNodeTransport {
  transport: XdpTransport;
  details: XdpNodeDetails;
}

/** The transport's limits (native XskSocket options and createXdpTransport's checks). */
const RING_MAX = 16384;
const BATCH_MAX = 1024;
const FREE_PORT_ATTEMPTS = 5;

/** Splits "IP:PORT" / "[IPv6]:PORT". */
export function parseBind(bind: string): SocketAddr {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(bind);
  const m = v6 ?? /^([^:]+):(\d+)$/.exec(bind);
  const host = m?.[1];
  const port = Number(m?.[2]);
  const ipOk = host !== undefined && (v6 ? isIPv6(host) : isIPv4(host));
  if (!m || !ipOk || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new WraithError('E_ADDR_INVALID', `bind address ${JSON.stringify(bind)} is not IP:PORT or [IPv6]:PORT`, { bind });
  }
  return { host, port };
}

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';

const MiB = 1024 * 1024;
const mib = (n: number): string => (n % MiB === 0 ? `${n / MiB} MiB` : `${n} bytes`);

/** What createXdpTransport gets for this configuration, and the notes about what had to change. */
export function mapXdpConfig(cfg: XdpNodeConfig['xdp']): {
  init: Omit<XdpTransportInit, 'interface' | 'port' | 'log'>;
  notes: Array<{ level: 'info' | 'warn'; msg: string }>;
} {
  const notes: Array<{ level: 'info' | 'warn'; msg: string }> = [];
  // One size for all four rings in the transport: the largest configured
  // (the fill ring is the one that absorbs bursts).
  const rings = [cfg.rx_ring_size, cfg.tx_ring_size, cfg.fill_ring_size, cfg.comp_ring_size];
  let ringSize = Math.max(...rings);
  if (ringSize > RING_MAX) {
    notes.push({ level: 'warn', msg: `AF_XDP ring size ${ringSize} is above the ${RING_MAX} the transport supports; using ${RING_MAX}` });
    ringSize = RING_MAX;
  }
  if (new Set(rings).size > 1) {
    notes.push({
      level: 'info',
      msg: `AF_XDP rings: ${ringSize} entries each (rx ${cfg.rx_ring_size}, tx ${cfg.tx_ring_size}, fill ${cfg.fill_ring_size}, comp ${cfg.comp_ring_size} configured; the transport uses one size, the largest)`,
    });
  }
  const frameSize = cfg.frame_size;
  // Half the UMEM frames feed the fill ring and half the TX path, each at
  // most one ring's worth: more frames than 2 x ring would sit unused.
  const configured = Math.floor(cfg.umem_size / frameSize);
  let umemFrames = Math.min(configured, 2 * ringSize);
  if (umemFrames < 128) umemFrames = 128;
  if (umemFrames !== configured) {
    notes.push({
      level: 'info',
      msg: `UMEM: ${umemFrames} frames of ${frameSize} bytes (${mib(umemFrames * frameSize)}) per socket; umem_size ${mib(cfg.umem_size)} ${configured > umemFrames ? `is more than ${ringSize}-entry rings can use` : 'is below the 128-frame minimum'}`,
    });
  }
  let batchSize = cfg.batch_size;
  if (batchSize > BATCH_MAX) {
    notes.push({ level: 'warn', msg: `xdp.batch_size ${batchSize} is above the ${BATCH_MAX} the transport supports; using ${BATCH_MAX}` });
    batchSize = BATCH_MAX;
  }
  return {
    init: { ringSize, umemFrames, frameSize, hugePages: cfg.huge_pages, batchSize, zeroCopy: cfg.zero_copy },
    notes,
  };
}

/** The first failing probe check as the error a start would end with. */
export function probeError(p: XdpProbe): WraithError | null {
  const failed = p.checks.find((c) => !c.ok);
  if (!failed) return null;
  return new WraithError(failed.code ?? 'E_XDP_UNAVAILABLE', `${failed.name}: ${failed.reason}`, { interface: p.interface, check: failed.name }, failed.remedy || undefined);
}

/** A UDP port free on `host` (and, for a wildcard IPv4 host, on the IPv6 wildcard too when there is one). */
async function freePort(host: string): Promise<number> {
  const type = isIPv6(host) ? 'udp6' : 'udp4';
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    s.once('error', (e) => {
      s.close();
      reject(new WraithError('E_ADDR_IN_USE', `no free UDP port on ${host}: ${e.message}`, { host }));
    });
    s.bind(0, host, () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

function forward(log: XdpNodeLogger): LogFn {
  return (level, msg, fields) => {
    if (fields && Object.keys(fields).length > 0) log[level](fields, msg);
    else log[level](msg);
  };
}

/**
 * lock_memory. The UMEM, the memory the kernel and the datapath share, is
 * pinned by the kernel when it is registered (XDP_UMEM_REG): it is never
 * swapped, with or without this option. mlockall() is not applied to the
 * process: V8 gives heap pages back with madvise(MADV_DONTNEED), which the
 * kernel refuses on locked memory, and V8 aborts on that refusal (measured:
 * mlockall(MCL_CURRENT | MCL_FUTURE [| MCL_ONFAULT]) in Node 20 ends in
 * "Check failed: 0 == ret" in OS::SetPermissions or at exit).
 */
function lockMemoryNote(umemBytes: number, sockets: number): string {
  return `lock_memory: the UMEM (${mib(umemBytes)} x ${sockets} socket(s)) is pinned by the kernel and never swapped; mlockall is not applied to the rest of the process: V8 releases heap pages with madvise(MADV_DONTNEED), which fails on locked memory and aborts Node`;
}

/**
 * Starts AF_XDP on `config.network.xdp_interface` for the node. Throws a
 * WraithError (with a remedy in `hint`) when it cannot.
 */
export async function createXdpNodeTransport(opts: XdpNodeTransportOptions): Promise<XdpNodeTransport> {
  const { config, log } = opts;
  const ifname = config.network.xdp_interface;
  if (ifname === null || ifname === '') {
    throw new WraithError('E_CONFIG', 'network.xdp_interface: expected an interface name for AF_XDP, found none', { field: 'network.xdp_interface' },
      'set [network] xdp_interface or --xdp-interface');
  }
  const bind = parseBind(opts.bind);
  const { init, notes } = mapXdpConfig(config.xdp);
  const queueCount = netdev.validIfName(ifname) ? Math.max(1, netdev.rxQueues(ifname).length) : 1;

  const probe = probeXdp(ifname, { frameSize: init.frameSize!, umemBytes: init.umemFrames! * init.frameSize! * queueCount });
  const failed = probeError(probe);
  if (failed) throw failed;

  // The bind address must be one of the interface's: AF_XDP sends from it
  // and the program only sees this interface's traffic.
  let bindHost: string | undefined;
  if (!isWildcard(bind.host)) {
    const addrs = await interfaceAddrs(ifname).catch(() => ({ v4: [] as string[], v6: [] as string[] }));
    const mine = [...addrs.v4, ...addrs.v6];
    if (!mine.includes(bind.host)) {
      throw new WraithError('E_CONFIG', `bind address ${bind.host} is not an address of ${ifname} (${mine.length > 0 ? mine.join(', ') : 'it has none'})`,
        { interface: ifname, bind: opts.bind }, `bind to one of ${ifname}'s addresses, or to 0.0.0.0 (${ifname}'s first address is then used)`);
    }
    bindHost = bind.host;
  }

  for (const n of notes) log[n.level](n.msg);
  if (config.xdp.cpus.length > 0) {
    log.info(
      { cpus: config.xdp.cpus },
      `xdp.cpus (${config.xdp.cpus.join(',')}): not applicable: the AF_XDP rings are served on the node's main event loop (no per-queue threads to pin)`,
    );
  }

  const tlog = forward(log);
  let transport: XdpTransport | undefined;
  for (let attempt = 1; ; attempt++) {
    const port = bind.port !== 0 ? bind.port : await freePort(bindHost ?? (isIPv6(bind.host) ? '::' : '0.0.0.0'));
    try {
      transport = await createXdpTransport({ ...init, interface: ifname, port, ...(bindHost !== undefined ? { bindHost } : {}), log: tlog });
      break;
    } catch (e) {
      // A free port can be taken between the check and the bind: pick again.
      if (bind.port === 0 && e instanceof WraithError && e.code === 'E_ADDR_IN_USE' && attempt < FREE_PORT_ATTEMPTS) continue;
      throw e;
    }
  }

  const extra = transport.stats().extra ?? {};
  const sockets = extra['queues'] ?? queueCount;
  if (config.xdp.lock_memory) log.info(lockMemoryNote(init.umemFrames! * init.frameSize!, sockets));
  const details: XdpNodeDetails = {
    mode: extra['native_mode'] === 1 ? 'native' : 'generic',
    zeroCopy: extra['zero_copy'] === 1,
    queues: sockets,
    interface: ifname,
    hugePages: extra['huge_pages'] === 1,
    ringSize: init.ringSize!,
    frameSize: init.frameSize!,
    umemFrames: init.umemFrames!,
    batchSize: init.batchSize!,
    umemPinned: true,
  };
  log.debug({ ...details, addr: addrKey(transport.localAddr()) }, 'AF_XDP transport started');
  return { transport, details };
}
