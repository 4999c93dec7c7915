import { randomFillSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import {
  Endpoint,
  MIN_MAX_DATAGRAM_SIZE,
  WraithError,
  parsePeerId,
  loadBackend,
  type Blake3,
  type ConnectOptions,
  type ErrorCode,
  type SessionEvent,
  type SocketAddr,
  type Transport,
  type TransportStats,
} from '@wraith/core';
import { loadBlake3Async } from '@wraith/blake3';
import { allocAligned, createFileIo, type FileIo } from '@wraith/io-uring';
import { bestPacketProtection } from '@wraith/native-crypto';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/schema.js';
import type { Identity } from '../home/identity.js';
import type { Log } from '../log.js';
import type { Stats } from '../stats.js';
import { monoMs } from '../clock.js';
import { formatAddr } from '../peer.js';
import { Driver, nowMicros } from './driver.js';
import { selectTransport, type TransportProbe } from './select-transport.js';
import { StatsBridge } from './stats-bridge.js';
import { ChunkPool } from './chunk-pool.js';
import { DialAbandoned } from './dial.js';
import { XdpWatchdog, type WatchdogEvidence } from './watchdog.js';
import { createUdpTransport } from '@wraith/transport-udp';

export interface NodeStartOptions {
  config: ResolvedConfig;
  identity: Identity;
  log: Log;
  stats: Stats;
  /** HOST:PORT to bind ("0.0.0.0:0" for a sender). */
  bind: string;
  /** Answer handshakes (daemon/receive); a pure sender does not. */
  acceptIncoming: boolean;
  /** Whether an authenticated initiator may send us files. */
  authorize?: (peerId: string, addr: SocketAddr) => boolean;
}

/** Events of incoming sessions kept while the receiving side is still starting (see `early`). */
const MAX_EARLY_EVENTS = 4096;

/** Transfer-level events are routed to whoever owns the (session, transfer). */
export type TransferHandler = (e: SessionEvent) => void;

/**
 * One running wraith node: identity, endpoint, transport, file I/O and the
 * driver loop. Receiving and sending are layered on top (incoming.ts,
 * outgoing.ts) through event handlers.
 */
export class WraithNode {
  readonly events = new EventEmitter();
  readonly log: Logger;
  /** Dials still in their handshake, and where each went (for the transport's ICMP errors). */
  private readonly sessionWaiters = new Map<number, { resolve: () => void; reject: (e: Error) => void; addr: SocketAddr }>();
  /** Established sessions whose peer's port refuses: since when (µs). */
  private readonly refused = new Map<number, number>();

  /** Per-session handler for transfer events (the sender that opened it). */
  readonly sessionHandlers = new Map<number, TransferHandler>();
  /** Fallback for events of sessions nobody owns (incoming transfers); see the setter. */
  private incoming: TransferHandler | null = null;
  /**
   * Events of incoming sessions that came before incomingHandler was set: the node answers
   * handshakes as soon as it is bound, while a daemon is still opening its store. A sender
   * that re-dials at once (a stateless reset from the restarted daemon) gets there first, and
   * an OFFER nobody saw was never answered. Replayed, in order, when the handler is set.
   */
  private readonly early: SessionEvent[] = [];
  readonly sessionPeers = new Map<number, { peerId: string; addr: SocketAddr; since: number }>();
  /** monoMs() at start: uptime, whatever the wall clock does. */
  readonly startedMono = monoMs();
  private readonly bridge: StatsBridge;
  private statsTimer: NodeJS.Timeout;
  private closed = false;
  /** Why the node cannot go on (see stopFatally), or null. */
  fatal: WraithError | null = null;
  private watchdog: XdpWatchdog | null = null;
  /** Runtime transport switches, for status and tests. */
  readonly transportChanges: Array<{ from: string; to: string; reason: string; detail: string; at: string }> = [];
  /** Transports the watchdog replaced: their totals stay in the counters the stats bridge copies. */
  private readonly replaced: Transport[] = [];

  private constructor(
    readonly opts: NodeStartOptions,
    readonly endpoint: Endpoint,
    readonly driver: Driver,
    readonly hasher: Blake3,
    readonly io: FileIo,
    public transportName: 'udp' | 'xdp',
    readonly probes: TransportProbe[],
    /** The AF_XDP details (mode, zeroCopy, queues) of the transport in use; empty for UDP. */
    public transportDetails: Record<string, unknown>,
    readonly cryptoName: string,
    readonly chunkPool: ChunkPool,
  ) {
    this.log = opts.log.child('node');
    // The bridge reads the transport in use (the watchdog may swap it) plus the totals of the
    // replaced ones, so the datagram counters keep counting and never go back. It reads stats() only.
    const stats = (): TransportStats => this.transportStats();
    const name = (): string => this.transportName;
    const view: Pick<Transport, 'stats' | 'name'> = {
      stats,
      get name() {
        return name();
      },
    };
    this.bridge = new StatsBridge(opts.stats, endpoint, view);
    driver.onEvent((e) => this.dispatch(e));
    driver.unreachable = (peer, error) => this.unreachable(peer, error);
    this.statsTimer = setInterval(() => {
      this.bridge.update();
      this.checkTransport();
      this.recheckPaths();
      if (this.log.isLevelEnabled('debug')) {
        for (const sess of endpoint.listSessions()) this.log.debug({ session: sess.id, ...sess.metrics() }, 'session metrics');
      }
    }, 1000);
    this.statsTimer.unref();
    if (transportName === 'xdp') this.armWatchdog();
  }

  private armWatchdog(): void {
    const w = this.opts.config.xdp.watchdog;
    const targets: SocketAddr[] = [];
    for (const t of w.targets) {
      const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(t);
      if (m) targets.push({ host: m[1] as string, port: Number(m[2]) });
    }
    if (targets.length === 0) return;
    this.watchdog = new XdpWatchdog(
      targets,
      w.interval,
      w.failures,
      (ev) => void this.fallbackToUdp('watchdog', `XDP watchdog tripped (${ev.lastErrors.join('; ')})`, ev),
      this.opts.log.child('watchdog'),
    );
    this.watchdog.start();
  }

  private transportStats(): TransportStats {
    const cur = this.driver.transport.stats();
    const sum = { ...cur };
    for (const t of this.replaced) {
      if (t === this.driver.transport) continue;
      const s = t.stats();
      sum.txPackets += s.txPackets;
      sum.txBytes += s.txBytes;
      sum.rxPackets += s.rxPackets;
      sum.rxBytes += s.rxBytes;
      sum.txDropped += s.txDropped;
      sum.rxDropped += s.rxDropped;
    }
    return sum;
  }

  /** Detach XDP and carry on over UDP on the same address, sessions intact. */
  async fallbackToUdp(reason: 'watchdog' | 'program_detached', why: string, evidence?: WatchdogEvidence): Promise<void> {
    if (this.transportName !== 'xdp' || this.closed || this.fatal !== null) return;
    const addr = this.localAddr;
    this.log.error({ alert: true, ...(evidence !== undefined ? { evidence } : {}) }, `ALERT: ${why}: detaching XDP and falling back to UDP`);
    const bind = addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
    this.replaced.push(this.driver.transport);
    try {
      await this.driver.replaceTransport(() => createUdpTransport({ bind, maxDatagram: this.opts.config.network.max_datagram_size }));
    } catch (e) {
      // XDP is off and UDP would not open: nothing can arrive. Stopping says so; a node left
      // running would look healthy and be deaf.
      const err = e instanceof WraithError ? e : new WraithError('E_INTERNAL', (e as Error).message);
      this.stopFatally(new WraithError(err.code, `${why}, and UDP on ${bind} would not open: ${err.message}`, err.details, err.hint));
      return;
    }
    const change = { from: 'xdp', to: 'udp', reason, detail: why, at: new Date().toISOString() };
    this.transportChanges.push(change);
    this.transportName = 'udp';
    this.transportDetails = {};
    this.opts.stats.setTransportInfo({ transport: 'udp', io_backend: this.io.backend, crypto_backend: this.cryptoName, zero_copy: 'false' });
    this.log.warn(change, 'transport_changed');
    this.events.emit('event', { type: 'transport_changed', ...change, evidence });
  }

  get incomingHandler(): TransferHandler | null {
    return this.incoming;
  }

  set incomingHandler(h: TransferHandler | null) {
    this.incoming = h;
    if (!h) return;
    for (const e of this.early.splice(0)) this.callHandler(h, e);
  }

  private callHandler(h: TransferHandler, e: SessionEvent): void {
    try {
      h(e);
    } catch (err) {
      this.log.error({ err, event: e.type }, 'event handler failed');
    }
  }

  static async start(opts: NodeStartOptions): Promise<WraithNode> {
    const { config, log } = opts;
    const nlog = log.child('node');
    const backend = await loadBackend(config.crypto.backend); // imports @noble/* only when selected
    const protection = bestPacketProtection(backend);
    const hasher = await loadBlake3Async('auto');
    const { io, reason } = await createFileIo(config.io.backend, (m) => nlog.info(m));
    if (reason) nlog.info({ reason }, `file I/O on fs: ${reason}`);
    const selected = await selectTransport(config, opts.bind, log.child('transport'));
    const rng = { fill: (b: Uint8Array) => void randomFillSync(b) };
    const chunkPool = new ChunkPool();
    let driverRef: Driver | null = null;
    const endpoint = new Endpoint({
      staticKey: { priv: opts.identity.privateKey, pub: opts.identity.publicKey },
      backend,
      hasher,
      rng,
      protection,
      acceptIncoming: opts.acceptIncoming,
      maxSessionsPerPeer: config.network.max_sessions_per_peer,
      maxHandshakesPerSec: config.dos.max_handshakes_per_s,
      receiveBufferBytes: config.receive.max_total_buffer_bytes,
      ...(opts.authorize ? { authorize: opts.authorize } : {}),
      releaseChunk: (bytes) => chunkPool.release(bytes),
      // A responder keeps to its own route too (an interface of a smaller MTU on its side).
      routeDatagram: (addr) => driverRef?.transport.pathDatagram?.(addr) ?? null,
      // Receive buffers O_DIRECT can write from as they are (store/direct-writes.ts).
      allocChunk: allocAligned,
      session: {
        maxDatagramSize: config.network.max_datagram_size,
        handshakeTimeout: config.network.handshake_timeout * 1000,
        idleTimeout: config.network.idle_timeout * 1000,
        rekeyInterval: config.transfer.rekey_interval * 1000,
        congestion: config.network.congestion,
        transferWindow: Math.min(config.receive.max_buffer_bytes, 32 * 1024 * 1024),
        // Shared out among the session's transfers: one sender cannot make this node buffer
        // max_concurrent whole windows.
        sessionBufferBytes: config.receive.max_buffer_bytes,
        maxTransfers: config.transfer.max_concurrent,
      },
    });
    const driver = new Driver(endpoint, selected.transport);
    driverRef = driver;
    const node = new WraithNode(
      opts,
      endpoint,
      driver,
      hasher,
      io,
      selected.name,
      selected.probes,
      selected.details,
      `${backend.name}/${protection.name}`,
      chunkPool,
    );
    opts.stats.setTransportInfo({
      transport: selected.name,
      io_backend: io.backend,
      crypto_backend: backend.name,
      zero_copy: String(selected.details['zeroCopy'] ?? false),
    });
    nlog.info(
      {
        peer_id: opts.identity.peerId,
        addr: selected.transport.localAddr(),
        transport: selected.name,
        io: io.backend,
        crypto: node.cryptoName,
        blake3: hasher.name,
      },
      'node started',
    );
    return node;
  }

  get localAddr(): SocketAddr {
    return this.driver.transport.localAddr();
  }

  /**
   * Dial a peer; resolves with the session id once authenticated. An abort gives up the
   * handshake at once (E_CANCELLED) rather than at its timeout.
   */
  async connect(peerId: string, addr: SocketAddr, handler: TransferHandler, signal?: AbortSignal, opts: ConnectOptions = {}): Promise<number> {
    if (signal?.aborted) throw cancelledDial();
    // A send whose session the stop just closed would dial again in the grace period, and leave
    // the peer a session nobody closes (it counts against max_sessions_per_peer until it idles out).
    if (this.closed) throw new WraithError('E_SHUTTING_DOWN', 'this node is shutting down', { local: true }, 'send again once it runs');
    const id = this.endpoint.connect(nowMicros(), addr, parsePeerId(peerId), this.withPathDatagram(addr, opts));
    this.sessionHandlers.set(id, handler);
    const ready = new Promise<void>((resolve, reject) => this.sessionWaiters.set(id, { resolve, reject, addr }));
    const onAbort = (): void => {
      const w = this.sessionWaiters.get(id);
      if (!w) return;
      this.sessionWaiters.delete(id);
      // Another address of the peer answered first (dialFirst): not a cancel.
      const reason: unknown = signal?.reason;
      const abandoned = reason instanceof DialAbandoned;
      w.reject(abandoned ? reason : cancelledDial());
      if (this.endpoint.hasSession(id)) {
        this.endpoint.close(nowMicros(), id, abandoned ? null : 'E_CANCELLED', abandoned ? 'another address answered first' : 'cancelled by the sender');
        this.driver.run();
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.driver.run();
    try {
      await ready;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return id;
  }

  /**
   * A dial's datagrams fit the route's MTU where it is below max_datagram_size (a tunnel such as
   * WireGuard, a VPN, a link with a small MTU): larger ones leave as IP fragments, which cost a
   * multiple of the CPU and are lost whole when one fragment is, or are dropped on the way.
   */
  private withPathDatagram(addr: SocketAddr, opts: ConnectOptions): ConnectOptions {
    const configured = this.endpoint.config.maxDatagramSize;
    const path = this.driver.transport.pathDatagram?.(addr) ?? null;
    if (path === null || path >= configured) return opts;
    const size = Math.max(MIN_MAX_DATAGRAM_SIZE, path);
    this.log.info(
      { addr, path_datagram: path, max_datagram_size: configured, using: size },
      size > path ? 'the route to the peer is narrower than 1200-byte datagrams: they leave fragmented' : 'datagrams to the peer fit the route MTU',
    );
    return { ...opts, maxDatagramSize: size };
  }

  /**
   * The route to `peer` carries less than its sessions send: a router dropped a datagram as too
   * large for its next link (ICMP "fragmentation needed" / "packet too big") and the kernel
   * lowered the route's MTU, or the route itself changed under the sessions (an interface's MTU
   * lowered, a route moved onto a tunnel), which no ICMP reports. The sessions there keep
   * within it, where they would otherwise leave every datagram fragmented.
   */
  private narrowerPath(peer: SocketAddr, cause: 'icmp' | 'route'): void {
    const size = this.driver.transport.pathDatagram?.(peer) ?? null;
    if (size === null) return;
    const lowered = this.endpoint.limitDatagramSize(peer, size);
    if (lowered.length === 0) {
      if (cause === 'route') this.widerPath(peer, size);
      return;
    }
    this.opts.stats.datagramSizeChanges.inc({ change: cause === 'icmp' ? 'icmp_narrowed' : 'route_narrowed' }, lowered.length);
    this.log.info(
      { addr: peer, path_datagram: size, sessions: lowered, cause },
      cause === 'icmp' ? 'the path to the peer is narrower (ICMP packet too big): datagrams fit it from now on' : 'the route to the peer narrowed: datagrams fit it from now on',
    );
    this.driver.run();
  }

  /**
   * The route MTU grew back (the kernel's learnt path MTU expired after net.ipv4.route.mtu_expires,
   * an interface's MTU was raised): sessions it had narrowed grow with it. Should the path still
   * be narrow, the next ICMP "packet too big" narrows them again, as the kernel does for TCP.
   */
  private widerPath(peer: SocketAddr, size: number): void {
    const raised = this.endpoint.raiseDatagramSize(peer, size);
    if (raised.length === 0) return;
    this.opts.stats.datagramSizeChanges.inc({ change: 'route_widened' }, raised.length);
    this.log.info({ addr: peer, path_datagram: size, sessions: raised, cause: 'route' }, 'the route to the peer widened: datagrams grow with it');
    this.driver.run();
  }

  /**
   * Each second: a route that narrowed (narrowerPath) or widened (widerPath) under running
   * sessions. One route lookup per peer address (a socket, connect, getsockopt): microseconds.
   */
  /**
   * Once a second: a transport that can no longer receive (its program detached by another
   * process) is replaced by UDP on the same address. When the address went with it (the
   * interface was deleted), nothing on it can help: the node stops, saying why, and a service
   * manager's restart brings it back once the interface is.
   */
  private checkTransport(): void {
    if (this.closed || this.fatal !== null || this.transportName !== 'xdp') return;
    const loss = this.driver.transport.lost?.() ?? null;
    if (loss === null) return;
    if (!loss.addressGone) {
      void this.fallbackToUdp('program_detached', loss.reason);
      return;
    }
    this.stopFatally(new WraithError('E_XDP_UNAVAILABLE', `${loss.reason}: nothing can arrive on ${formatAddr(this.localAddr)} any more`, { reason: loss.reason },
      'start the node again once the interface is back (the systemd unit restarts it on its own)'));
  }

  /** Ends the node with `err`: logged as an alert; the 'fatal' event carries it, once. */
  private stopFatally(err: WraithError): void {
    if (this.fatal !== null) return;
    this.fatal = err;
    this.log.error({ alert: true, code: err.code, err: err.message }, `ALERT: ${err.message}; stopping`);
    this.events.emit('fatal', err);
  }

  private recheckPaths(): void {
    if (this.driver.transport.pathDatagram === undefined) return;
    for (const a of this.endpoint.peerAddrs()) this.narrowerPath(a, 'route');
  }

  /**
   * The kernel says nothing listens at `peer` (ICMP port unreachable): the dials there end now
   * rather than at their handshake timeout. An established session ends once its peer's port
   * has refused for REFUSED_FOR_MS with nothing heard from the peer meanwhile (its process is
   * gone): a sender re-dials then rather than after idle_timeout. A peer that still talks
   * keeps its session, so a forged ICMP message cannot end it (RFC 5927). Other ICMP errors
   * (a router's host unreachable may pass) change nothing.
   */
  private unreachable(peer: SocketAddr, error: string): void {
    if (error === 'EMSGSIZE') {
      this.narrowerPath(peer, 'icmp');
      return;
    }
    if (error !== 'ECONNREFUSED') {
      this.log.debug({ addr: peer, error }, 'ICMP error from the network');
      return;
    }
    const reason = `nothing listens on UDP port ${peer.port} at ${peer.host} (ICMP port unreachable)`;
    for (const [id, w] of [...this.sessionWaiters]) {
      if (!sameAddr(w.addr, peer)) continue;
      this.log.info({ session: id, addr: peer }, 'dial refused: ICMP port unreachable');
      this.endpoint.close(nowMicros(), id, 'E_PEER_UNREACHABLE', reason);
      this.driver.run();
    }
    const now = nowMicros();
    for (const [id, p] of this.sessionPeers) {
      const heard = this.endpoint.lastHeard(id);
      if (!sameAddr(p.addr, peer) || heard === null) continue;
      const since = this.refused.get(id);
      // Refusals count from the first one after the peer was last heard.
      if (since === undefined || heard >= since) {
        this.refused.set(id, now);
      } else if (now - since >= REFUSED_FOR_MS * 1000) {
        this.refused.delete(id);
        this.log.info({ session: id, peer: p.peerId, addr: peer }, 'the peer\'s port refuses and nothing was heard from it: closing the session');
        this.endpoint.close(now, id, 'E_PEER_UNREACHABLE', `${reason}: the peer stopped`);
        this.driver.run();
      }
    }
  }

  private dispatch(e: SessionEvent): void {
    switch (e.type) {
      case 'connected': {
        this.sessionPeers.set(e.session, { peerId: e.peerId, addr: e.addr, since: Date.now() });
        this.opts.stats.sessionsOpened.inc();
        this.opts.stats.handshake('ok');
        this.log.info({ session: e.session, peer: e.peerId, addr: e.addr }, 'session established');
        const w = this.sessionWaiters.get(e.session);
        this.sessionWaiters.delete(e.session);
        w?.resolve();
        break;
      }
      case 'closed': {
        const w = this.sessionWaiters.get(e.session);
        this.sessionWaiters.delete(e.session);
        const code: ErrorCode = e.code ?? 'E_PEER_CLOSED';
        if (w) {
          this.opts.stats.handshake(code === 'E_HANDSHAKE_TIMEOUT' ? 'timeout' : 'rejected');
          w.reject(new WraithError(code, e.reason || 'the session closed during the handshake'));
        }
        if (e.code === 'E_PEER_RESET') {
          const p = this.sessionPeers.get(e.session);
          // A sender's user reads it in the send's own warning (outgoing.ts recover).
          this.log[this.opts.acceptIncoming ? 'warn' : 'info'](
            { session: e.session, peer: p?.peerId, addr: p?.addr, code: e.code },
            'the peer restarted or lost the session (stateless reset)',
          );
        }
        // A responder's handshake the engine completed and then refused (untrusted, too many
        // sessions) was never a session: it closes without 'connected'. The refusal of an
        // untrusted peer has its own (rate-limited) warning: anyone can make a key and complete
        // handshakes at will, so no info line of its own.
        const refused = !w && !e.byPeer && !this.sessionPeers.has(e.session) && (code === 'E_PEER_NOT_AUTHORIZED' || code === 'E_TOO_MANY_SESSIONS');
        if (refused) this.opts.stats.handshake('rejected');
        this.log[refused && code === 'E_PEER_NOT_AUTHORIZED' ? 'debug' : 'info']({ session: e.session, code: e.code, reason: e.reason, by_peer: e.byPeer }, 'session closed');
        break;
      }
      case 'black_hole':
        this.opts.stats.datagramSizeChanges.inc({ change: 'black_hole' });
        this.log.warn(
          { session: e.session, addr: e.addr, from: e.from, to: e.to },
          `datagrams of ${e.from} bytes stopped getting through while the peer is still heard (a path MTU black hole: a narrower link, and its ICMP "packet too big" filtered): sending ${e.to}-byte datagrams; probing for larger ones from time to time`,
        );
        break;
      case 'pmtu_raised':
        this.opts.stats.datagramSizeChanges.inc({ change: 'probe_raised' });
        this.log.info({ session: e.session, addr: e.addr, from: e.from, to: e.to }, `a ${e.to}-byte probe got through: sending ${e.to}-byte datagrams again`);
        break;
      default:
        break;
    }
    const h = this.sessionHandlers.get(e.session) ?? this.incoming;
    if (h) this.callHandler(h, e);
    else if (this.opts.acceptIncoming && !this.closed && this.early.length < MAX_EARLY_EVENTS) this.early.push(e);
    if (e.type === 'closed') {
      this.sessionHandlers.delete(e.session);
      this.sessionPeers.delete(e.session);
      this.refused.delete(e.session);
    }
    this.events.emit('event', e);
  }

  /**
   * Ends the sessions peers opened to this node that `allowed` no longer admits: a reload that
   * takes a key out of trusted_peers (a leaked key) would otherwise leave its running sessions,
   * and the transfers they may still start, alive until they end. Their partials stay for
   * resume, should the key be trusted again. Returns how many were ended.
   */
  revokeIncoming(allowed: (peerId: string) => boolean): number {
    let n = 0;
    for (const s of this.endpoint.listSessions()) {
      if (s.initiator || !s.established || allowed(s.peerId)) continue;
      this.log.warn({ session: s.id, peer: s.peerId, addr: s.path.addr }, 'ended the session of a peer this node no longer trusts (config reloaded)');
      this.endpoint.close(nowMicros(), s.id, 'E_PEER_NOT_AUTHORIZED', 'the receiver no longer trusts this sender (its trusted_peers changed)');
      n++;
    }
    if (n > 0) this.driver.run();
    return n;
  }

  /** Close every session with a reason the peer sees, then stop. */
  async close(code: ErrorCode | null = 'E_SHUTTING_DOWN', reason = 'shutting down', graceMs = 1000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watchdog?.stop();
    clearInterval(this.statsTimer);
    this.endpoint.closeAll(nowMicros(), code, reason);
    this.driver.run();
    // Let the CLOSE frames leave.
    const deadline = monoMs() + graceMs;
    while (this.endpoint.sessionCount > 0 && monoMs() < deadline) {
      await new Promise((r) => setTimeout(r, 2));
      this.driver.run();
    }
    this.bridge.update();
    await this.driver.close();
    await this.io.destroy();
  }
}

function cancelledDial(): WraithError {
  return new WraithError('E_CANCELLED', 'cancelled by the user while connecting', undefined, 'nothing was sent');
}

/** How long an established session's peer must refuse, unheard, before the session ends. */
export const REFUSED_FOR_MS = 3000;

/** IPv6 text in one form ("0:0::1" and "::1" are one address), IPv4 as is. */
function canonicalHost(host: string): string {
  return isIP(host) === 6 ? new URL(`http://[${host.split('%')[0]}]`).hostname.slice(1, -1) : host;
}

function sameAddr(a: SocketAddr, b: SocketAddr): boolean {
  return a.port === b.port && canonicalHost(a.host) === canonicalHost(b.host);
}
