// @ts-check
/**
 * A user-space impairment relay for end-to-end tests (this kernel has no
 * sch_netem). It listens on a loopback port for one client, forwards what the
 * client sends to an upstream address from a separate socket, and relays the
 * replies back to the client's last-seen address. Each direction has its own
 * impairments, each drawing from its own seeded random stream, so a run
 * replays from its seed and enabling one impairment does not shift another.
 *
 * Plain JavaScript so the hand-run CLI (relay-cli.mjs) can import it without a
 * build step; types are in relay.d.mts. Pipeline per datagram and direction:
 * capture('in') -> blackhole -> random loss -> burst loss -> corruption ->
 * duplication -> rate limit (bounded backlog) -> delay + jitter + reordering
 * -> capture('out') -> send.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SeededRng } from '@wraith/core';

/** The relay stops itself after this long unless told otherwise (tests must not leak it). */
export const DEFAULT_MAX_LIFETIME_MS = 10 * 60_000;
/** Extra delay of a datagram picked for reordering, when not configured. */
export const DEFAULT_REORDER_EXTRA_MS = 10;
/** Rate limiter backlog before it drops, when not configured (like tbf's limit). */
export const DEFAULT_RATE_QUEUE_BYTES = 64 * 1024;
/** Corruption flips a byte among the first this many (headers live there). */
export const CORRUPT_SPAN = 50;
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** A replaced upstream socket stays open this long, so late replies to it are counted as stale. */
export const STALE_SOCKET_GRACE_MS = 2000;

/** @typedef {import('./relay.d.mts').SocketAddr} SocketAddr */
/** @typedef {import('./relay.d.mts').Direction} Direction */
/** @typedef {import('./relay.d.mts').Impairments} Impairments */
/** @typedef {import('./relay.d.mts').RelayConfig} RelayConfig */
/** @typedef {import('./relay.d.mts').DirectionCounters} DirectionCounters */
/** @typedef {import('./relay.d.mts').RelayCounters} RelayCounters */

/**
 * "HOST:PORT" or "[IPV6]:PORT" (IP literals only), or an address object.
 * @param {SocketAddr | string} a
 * @returns {SocketAddr}
 */
export function parseAddr(a) {
  if (typeof a !== 'string') return checkAddr(a);
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(a) ?? /^([^:[\]]+):(\d+)$/.exec(a);
  if (m === null) throw new Error(`invalid address "${a}": expected HOST:PORT or [IPv6]:PORT`);
  return checkAddr({ host: /** @type {string} */ (m[1]), port: Number(m[2]) });
}

/** @param {SocketAddr} a */
function checkAddr(a) {
  if (isIP(a.host) === 0) throw new Error(`invalid address: "${a.host}" is not an IP address`);
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new Error(`invalid port ${a.port}`);
  return { host: a.host, port: a.port };
}

/** @returns {DirectionCounters} */
function emptyCounters() {
  return {
    received: 0,
    forwarded: 0,
    bytesIn: 0,
    bytesOut: 0,
    blackholed: 0,
    lost: 0,
    burstLost: 0,
    rateDropped: 0,
    corrupted: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    noClient: 0,
    sendErrors: 0,
  };
}

/** @param {string} name @param {number | undefined} p */
function probability(name, p) {
  if (p === undefined) return 0;
  if (!(p >= 0 && p <= 1)) throw new Error(`${name} must be a probability in [0, 1], got ${p}`);
  return p;
}

/** @param {string} name @param {number | undefined} v */
function nonNegative(name, v) {
  if (v === undefined) return 0;
  if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`${name} must be a finite number >= 0, got ${v}`);
  return v;
}

/** One direction's settings, validated, with its random streams. */
class Lane {
  /**
   * @param {Direction} dir
   * @param {Impairments} s
   * @param {SeededRng} rng
   */
  constructor(dir, s, rng) {
    this.dir = dir;
    this.counters = emptyCounters();
    // Each impairment gets its own stream, forked in a fixed order.
    this.rng = {
      loss: rng.fork(),
      burst: rng.fork(),
      corrupt: rng.fork(),
      duplicate: rng.fork(),
      delay: rng.fork(),
      reorder: rng.fork(),
    };
    /** Gilbert-Elliott state: true while in the bad (lossy) state. */
    this.bad = false;
    /** When the rate limiter's backlog drains (ms on the relay clock). */
    this.rateFreeAt = 0;
    /** @type {boolean | undefined} manual blackhole override */
    this.forcedBlackhole = undefined;
    // Every setting is (re)assigned by set(); declared here for the type checker.
    this.loss = 0;
    /** @type {Required<import('./relay.d.mts').BurstLoss> | undefined} */
    this.burst = undefined;
    this.corrupt = 0;
    this.duplicate = 0;
    this.delayMs = 0;
    this.jitterMs = 0;
    this.reorder = 0;
    this.reorderExtraMs = 0;
    this.rateBytesPerSec = 0;
    this.rateQueueBytes = 0;
    /** @type {import('./relay.d.mts').Blackhole | undefined} */
    this.blackhole = undefined;
    this.set(s);
  }

  /** @param {Impairments} s */
  set(s) {
    this.loss = probability(`${this.dir}.loss`, s.loss);
    const b = s.burst;
    this.burst = b === undefined ? undefined : {
      pEnterBad: probability(`${this.dir}.burst.pEnterBad`, b.pEnterBad),
      pLeaveBad: probability(`${this.dir}.burst.pLeaveBad`, b.pLeaveBad),
      lossInGood: probability(`${this.dir}.burst.lossInGood`, b.lossInGood ?? 0),
      lossInBad: probability(`${this.dir}.burst.lossInBad`, b.lossInBad ?? 1),
    };
    this.corrupt = probability(`${this.dir}.corrupt`, s.corrupt);
    this.duplicate = probability(`${this.dir}.duplicate`, s.duplicate);
    this.delayMs = nonNegative(`${this.dir}.delayMs`, s.delayMs);
    this.jitterMs = nonNegative(`${this.dir}.jitterMs`, s.jitterMs);
    this.reorder = probability(`${this.dir}.reorder`, s.reorder);
    this.reorderExtraMs = nonNegative(`${this.dir}.reorderExtraMs`, s.reorderExtraMs ?? DEFAULT_REORDER_EXTRA_MS);
    this.rateBytesPerSec = nonNegative(`${this.dir}.rateBytesPerSec`, s.rateBytesPerSec);
    this.rateQueueBytes = nonNegative(`${this.dir}.rateQueueBytes`, s.rateQueueBytes ?? DEFAULT_RATE_QUEUE_BYTES);
    const h = s.blackhole;
    if (h !== undefined && !(h.onMs > 0 && h.offMs >= 0)) {
      throw new Error(`${this.dir}.blackhole needs onMs > 0 and offMs >= 0`);
    }
    this.blackhole = h;
  }

  /**
   * Whether the blackhole swallows traffic at `t` ms after the relay started.
   * @param {number} t
   */
  blackholed(t) {
    if (this.forcedBlackhole !== undefined) return this.forcedBlackhole;
    const h = this.blackhole;
    if (h === undefined) return false;
    const phase = t % (h.onMs + h.offMs);
    return h.startOn === true ? phase < h.onMs : phase >= h.offMs;
  }

  /**
   * Loss decisions, in pipeline order: the counter to bump, or undefined to keep.
   * @returns {'lost' | 'burstLost' | undefined}
   */
  lose() {
    if (this.loss > 0 && this.rng.loss.nextFloat() < this.loss) return 'lost';
    const b = this.burst;
    if (b !== undefined) {
      // Transition first, then lose with the new state's probability.
      const r = this.rng.burst;
      this.bad = this.bad ? r.nextFloat() >= b.pLeaveBad : r.nextFloat() < b.pEnterBad;
      const p = this.bad ? b.lossInBad : b.lossInGood;
      if (p > 0 && r.nextFloat() < p) return 'burstLost';
    }
    return undefined;
  }
}

/** A pending send, ordered by time then arrival. @typedef {{ at: number, seq: number, lane: Lane, bytes: Buffer }} Pending */

/** Binary min-heap of pending sends. */
class SendQueue {
  constructor() {
    /** @type {Pending[]} */
    this.items = [];
  }
  get size() {
    return this.items.length;
  }
  /** @returns {Pending | undefined} */
  peek() {
    return this.items[0];
  }
  /** @param {Pending} p @param {Pending} q */
  static less(p, q) {
    return p.at < q.at || (p.at === q.at && p.seq < q.seq);
  }
  /** @param {Pending} p */
  push(p) {
    const a = this.items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!SendQueue.less(/** @type {Pending} */ (a[i]), /** @type {Pending} */ (a[up]))) break;
      [a[i], a[up]] = [/** @type {Pending} */ (a[up]), /** @type {Pending} */ (a[i])];
      i = up;
    }
  }
  /** @returns {Pending | undefined} */
  pop() {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && SendQueue.less(/** @type {Pending} */ (a[l]), /** @type {Pending} */ (a[m]))) m = l;
        if (r < a.length && SendQueue.less(/** @type {Pending} */ (a[r]), /** @type {Pending} */ (a[m]))) m = r;
        if (m === i) break;
        [a[i], a[m]] = [/** @type {Pending} */ (a[m]), /** @type {Pending} */ (a[i])];
        i = m;
      }
    }
    return top;
  }
  clear() {
    this.items.length = 0;
  }
}

/** @param {string} host */
function familyOf(host) {
  return isIP(host) === 6 ? 'udp6' : 'udp4';
}

/**
 * @param {dgram.Socket} s
 * @returns {SocketAddr}
 */
function addressOf(s) {
  const a = s.address();
  return { host: a.address, port: a.port };
}

/** @param {string} host */
function isLoopback(host) {
  return host === '::1' || host.startsWith('127.');
}

/**
 * @param {'udp4' | 'udp6'} type
 * @param {SocketAddr} at
 * @returns {Promise<dgram.Socket>}
 */
async function bindSocket(type, at) {
  const s = dgram.createSocket({ type, ipv6Only: false });
  await new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(at.port, at.host, () => {
      s.off('error', reject);
      resolve(undefined);
    });
  });
  try {
    s.setRecvBufferSize(SOCKET_BUFFER_BYTES);
    s.setSendBufferSize(SOCKET_BUFFER_BYTES);
  } catch {
    // The kernel caps these anyway; a smaller buffer only risks loss the counters will show.
  }
  return s;
}

export class ImpairmentRelay {
  /** @param {RelayConfig} config */
  constructor(config) {
    this.listenAt = parseAddr(config.listen ?? '127.0.0.1:0');
    this.upstream = parseAddr(config.upstream);
    this.seed = config.seed ?? 1;
    this.maxLifetimeMs = config.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS;
    if (!(this.maxLifetimeMs > 0 && Number.isFinite(this.maxLifetimeMs))) {
      throw new Error(`maxLifetimeMs must be finite and > 0, got ${this.maxLifetimeMs}`);
    }
    this.rebindEveryMs = nonNegative('rebindEveryMs', config.rebindEveryMs);
    this.capture = config.capture;
    this.now = config.now ?? (() => performance.now());
    const root = new SeededRng(this.seed);
    const both = config.both ?? {};
    this.lanes = {
      toUpstream: new Lane('toUpstream', { ...both, ...config.toUpstream }, root.fork()),
      toClient: new Lane('toClient', { ...both, ...config.toClient }, root.fork()),
    };
    /** @type {RelayCounters} */
    this.counters = {
      toUpstream: this.lanes.toUpstream.counters,
      toClient: this.lanes.toClient.counters,
      rebinds: 0,
      rebindErrors: 0,
      staleUpstream: 0,
      droppedAtStop: 0,
    };
    /** @type {SocketAddr | undefined} the client as reported (IPv4-mapped shown as IPv4) */
    this.client = undefined;
    /** @type {SocketAddr | undefined} the client as the listen socket must address it */
    this.clientRaw = undefined;
    /** @type {dgram.Socket | undefined} */
    this.listenSock = undefined;
    /** @type {dgram.Socket | undefined} */
    this.upstreamSock = undefined;
    /** @type {SocketAddr | undefined} the upstream socket's own address */
    this.upstreamFrom = undefined;
    /** @type {Set<dgram.Socket>} replaced upstream sockets in their grace period */
    this.retired = new Set();
    this.queue = new SendQueue();
    this.seq = 0;
    /** @type {NodeJS.Timeout | undefined} */
    this.timer = undefined;
    this.timerAt = Infinity;
    /** @type {NodeJS.Timeout | undefined} */
    this.rebindTimer = undefined;
    /** @type {NodeJS.Timeout | undefined} */
    this.lifetimeTimer = undefined;
    this.startedAt = 0;
    this.state = /** @type {'new' | 'running' | 'stopped'} */ ('new');
    /** @type {(reason: 'stopped' | 'lifetime') => void} */
    this.resolveStopped = () => {};
    /** @type {Promise<'stopped' | 'lifetime'>} */
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.rebinding = Promise.resolve();
  }

  /** Bind both sockets; resolves with the address clients should send to. */
  async start() {
    if (this.state !== 'new') throw new Error(`relay already ${this.state}`);
    this.state = 'running';
    this.startedAt = this.now();
    const listen = await bindSocket(familyOf(this.listenAt.host), this.listenAt);
    this.listenSock = listen;
    this.listenAt = addressOf(listen);
    listen.on('message', (msg, rinfo) => {
      if (this.clientRaw?.port !== rinfo.port || this.clientRaw.host !== rinfo.address) {
        this.clientRaw = { host: rinfo.address, port: rinfo.port };
        this.client = { host: unmapV4(rinfo.address), port: rinfo.port };
      }
      this.ingress(this.lanes.toUpstream, msg, /** @type {SocketAddr} */ (this.client), this.upstream);
    });
    listen.on('error', () => this.counters.toClient.sendErrors++);
    this.upstreamSock = await this.openUpstream();
    this.upstreamFrom = addressOf(this.upstreamSock);
    this.lifetimeTimer = setTimeout(() => void this.stop('lifetime'), this.maxLifetimeMs);
    this.lifetimeTimer.unref();
    if (this.rebindEveryMs > 0) {
      this.rebindTimer = setInterval(() => {
        this.rebind().catch(() => this.counters.rebindErrors++);
      }, this.rebindEveryMs);
      this.rebindTimer.unref();
    }
    return this.listenAddr;
  }

  /** Where clients send (still readable after stop, for logs). */
  get listenAddr() {
    if (this.listenAt.port === 0 || this.listenSock === undefined) throw new Error('relay not started');
    return this.listenAt;
  }

  /** The source address upstream currently sees (changes on rebind). */
  get upstreamSourceAddr() {
    if (this.upstreamFrom === undefined) throw new Error('relay not started');
    return this.upstreamFrom;
  }

  /** The client's last-seen address, once it has sent something. */
  get clientAddr() {
    return this.client;
  }

  /**
   * Change one direction's impairments while running (replaces them; the
   * random streams continue).
   * @param {Direction | 'both'} dir
   * @param {Impairments} settings
   */
  configure(dir, settings) {
    for (const lane of this.lanesOf(dir)) lane.set(settings);
  }

  /**
   * Force the blackhole on or off, or give control back to the schedule
   * (undefined). Deterministic alternative to timed periods.
   * @param {boolean | undefined} on
   * @param {Direction | 'both'} [dir]
   */
  setBlackhole(on, dir = 'both') {
    for (const lane of this.lanesOf(dir)) lane.forcedBlackhole = on;
  }

  /** @param {Direction | 'both'} dir */
  lanesOf(dir) {
    return dir === 'both' ? [this.lanes.toUpstream, this.lanes.toClient] : [this.lanes[dir]];
  }

  /** Replace the upstream-facing socket, so upstream sees a new source port (NAT rebinding). */
  rebind() {
    if (this.state !== 'running') return Promise.resolve();
    // Chained so rebinds never overlap; an earlier failure does not block this one.
    const p = this.rebinding.catch(() => {}).then(async () => {
      if (this.state !== 'running') return;
      const next = await this.openUpstream();
      if (this.state !== 'running') {
        await closeQuietly(next);
        return;
      }
      const old = this.upstreamSock;
      this.upstreamSock = next;
      this.upstreamFrom = addressOf(next);
      this.counters.rebinds++;
      if (old !== undefined) {
        this.retired.add(old);
        setTimeout(() => {
          if (this.retired.delete(old)) void closeQuietly(old);
        }, STALE_SOCKET_GRACE_MS).unref();
      }
    });
    this.rebinding = p;
    return p;
  }

  /**
   * Idempotent; drops whatever is still delayed.
   * @param {'stopped' | 'lifetime'} [reason]
   */
  async stop(reason = 'stopped') {
    if (this.state === 'stopped') return this.stopped;
    this.state = 'stopped';
    clearTimeout(this.timer);
    clearTimeout(this.lifetimeTimer);
    clearInterval(this.rebindTimer);
    this.counters.droppedAtStop += this.queue.size;
    this.queue.clear();
    await this.rebinding.catch(() => {});
    const retired = [...this.retired];
    this.retired.clear();
    await Promise.all([this.listenSock, this.upstreamSock, ...retired].map(closeQuietly));
    this.resolveStopped(reason);
    return this.stopped;
  }

  async openUpstream() {
    const type = familyOf(this.upstream.host);
    const host = isLoopback(this.upstream.host) ? this.upstream.host : type === 'udp6' ? '::' : '0.0.0.0';
    const s = await bindSocket(type, { host, port: 0 });
    s.on('message', (msg, rinfo) => {
      // A real NAT forgets the old mapping: replies to it go nowhere.
      if (s !== this.upstreamSock) {
        this.counters.staleUpstream++;
        return;
      }
      const from = { host: unmapV4(rinfo.address), port: rinfo.port };
      const to = this.client;
      if (to === undefined) {
        this.counters.toClient.received++;
        this.counters.toClient.noClient++;
        return;
      }
      this.ingress(this.lanes.toClient, msg, from, to);
    });
    s.on('error', () => this.counters.toUpstream.sendErrors++);
    return s;
  }

  /**
   * @param {Lane} lane
   * @param {Buffer} msg a fresh Buffer from dgram: ours to keep and change
   * @param {SocketAddr} from
   * @param {SocketAddr} to
   */
  ingress(lane, msg, from, to) {
    if (this.state !== 'running') return;
    const c = lane.counters;
    const now = this.now();
    c.received++;
    c.bytesIn += msg.length;
    this.capture?.({ stage: 'in', dir: lane.dir, bytes: msg, from, to, atMs: now - this.startedAt });
    if (lane.blackholed(now - this.startedAt)) {
      c.blackholed++;
      return;
    }
    const lost = lane.lose();
    if (lost !== undefined) {
      c[lost]++;
      return;
    }
    if (lane.corrupt > 0 && lane.rng.corrupt.nextFloat() < lane.corrupt && msg.length > 0) {
      const i = lane.rng.corrupt.nextInt(Math.min(CORRUPT_SPAN, msg.length));
      // XOR with 1..255 so the byte always changes.
      msg[i] = /** @type {number} */ (msg[i]) ^ (1 + lane.rng.corrupt.nextInt(255));
      c.corrupted++;
    }
    const copies = lane.duplicate > 0 && lane.rng.duplicate.nextFloat() < lane.duplicate ? 2 : 1;
    if (copies === 2) c.duplicated++;
    for (let k = 0; k < copies; k++) this.schedule(lane, msg, now);
  }

  /**
   * @param {Lane} lane
   * @param {Buffer} bytes
   * @param {number} now
   */
  schedule(lane, bytes, now) {
    const c = lane.counters;
    let at = now;
    if (lane.rateBytesPerSec > 0) {
      // Serialise at the configured rate; the backlog is what has not left yet.
      const start = Math.max(now, lane.rateFreeAt);
      const backlogBytes = ((start - now) * lane.rateBytesPerSec) / 1000;
      if (backlogBytes + bytes.length > lane.rateQueueBytes) {
        c.rateDropped++;
        return;
      }
      lane.rateFreeAt = start + (bytes.length * 1000) / lane.rateBytesPerSec;
      at = lane.rateFreeAt;
    }
    let delay = lane.delayMs;
    if (lane.jitterMs > 0) delay += (lane.rng.delay.nextFloat() * 2 - 1) * lane.jitterMs;
    if (lane.reorder > 0 && lane.rng.reorder.nextFloat() < lane.reorder) {
      delay += lane.reorderExtraMs;
      c.reordered++;
    }
    if (delay > 0) {
      c.delayed++;
      at += delay;
    }
    if (at <= now && this.queue.size === 0) {
      this.emit(lane, bytes);
      return;
    }
    this.queue.push({ at, seq: this.seq++, lane, bytes });
    this.arm();
  }

  arm() {
    const head = this.queue.peek();
    if (head === undefined || this.state !== 'running') return;
    if (this.timer !== undefined && this.timerAt <= head.at) return;
    clearTimeout(this.timer);
    this.timerAt = head.at;
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.ceil(head.at - this.now())));
  }

  onTimer = () => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    for (let head = this.queue.peek(); head !== undefined && head.at <= now; head = this.queue.peek()) {
      this.queue.pop();
      this.emit(head.lane, head.bytes);
    }
    this.arm();
  };

  /** @param {Lane} lane @param {Buffer} bytes */
  emit(lane, bytes) {
    const c = lane.counters;
    const up = lane.dir === 'toUpstream';
    const sock = up ? this.upstreamSock : this.listenSock;
    const to = up ? this.upstream : this.clientRaw;
    if (sock === undefined || to === undefined) {
      c.noClient++;
      return;
    }
    this.capture?.({
      stage: 'out',
      dir: lane.dir,
      bytes,
      from: up ? this.upstreamSourceAddr : this.listenAddr,
      to: up ? to : /** @type {SocketAddr} */ (this.client),
      atMs: this.now() - this.startedAt,
    });
    c.forwarded++;
    c.bytesOut += bytes.length;
    sock.send(bytes, to.port, to.host, (err) => {
      if (err) c.sendErrors++;
    });
  }
}

/**
 * Close a socket; one already closed (or never bound) is fine.
 * @param {dgram.Socket | undefined} s
 * @returns {Promise<void>}
 */
function closeQuietly(s) {
  return new Promise((resolve) => {
    if (s === undefined) return resolve();
    try {
      s.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/** @param {string} host */
function unmapV4(host) {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}

/**
 * Create and start a relay.
 * @param {RelayConfig} config
 */
export async function startRelay(config) {
  const r = new ImpairmentRelay(config);
  await r.start();
  return r;
}
