import { WraithError, type ErrorCode } from './errors.js';
import type { Rng } from './rng.js';
import { NEVER, type Instant } from './time.js';
import { addrEquals, addrKey, type DatagramBatch, type SocketAddr } from './transport.js';
import {
  deriveKeyUpdate,
  jsPacketProtection,
  type CryptoBackend,
  type PacketProtection,
} from './crypto/index.js';
import type { Blake3, FileManifest, MerkleTree } from './transfer/index.js';
import {
  CID_LEN,
  MIN_INITIATION_SIZE,
  MIN_MAX_DATAGRAM_SIZE,
  Reader,
  WIRE_VERSION,
  Writer,
  decodeLongHeader,
  encodeLongHeader,
  isLongHeader,
  isShortHeader,
  SHORT_HEADER_LEN,
  peekDcid,
  type LongHeaderPacket,
} from './wire/index.js';
import { resolveSessionConfig, type SessionConfig } from './session/config.js';
import { TimerQueue } from './timer-queue.js';
import type { SessionEvent } from './session/events.js';
import { equalBytes, hex, type StaticKeyPair } from './session/handshake.js';
import type { KeyCrypto } from './session/keys.js';
import { Session } from './session/session.js';
import { COOKIE_LEN, CookieJar } from './session/cookies.js';
import { DropCounters } from './session/drops.js';
import {
  DEFAULT_STATELESS_RESETS_PER_SEC,
  ResetBudget,
  STATELESS_RESET_MIN_LEN,
  STATELESS_RESET_MIN_TRIGGER,
  buildStatelessReset,
  endsWithToken,
  statelessResetTokens,
  tailHex,
} from './session/stateless-reset.js';
import { ReceiveBudget } from './session/receive-budget.js';

export interface EndpointConfig {
  staticKey: StaticKeyPair;
  backend: CryptoBackend;
  hasher: Blake3;
  rng: Rng;
  /** Batched packet protection; defaults to the JS implementation over `backend`. */
  protection?: PacketProtection;
  session?: Partial<SessionConfig>;
  /** Decide whether an authenticated initiator may use this node. */
  authorize?: (peerId: string, addr: SocketAddr) => boolean;
  /** Accept INITIATIONs at all (a pure sender does not). */
  acceptIncoming?: boolean;
  maxSessionsPerPeer?: number;
  /** Sessions at most (default 4096); past half of it, new initiators must return a cookie. */
  maxSessions?: number;
  /** Global budget of handshake DH operations per second (DoS defence). */
  maxHandshakesPerSec?: number;
  /** Initiations per second from one address before it must show a cookie. */
  perSourceInitiationsPerSec?: number;
  /**
   * Called with chunk bytes given to supplyChunk once every byte of them is
   * acknowledged: the driver may reuse the buffer (no allocation per chunk).
   */
  releaseChunk?: (bytes: Uint8Array) => void;
  /**
   * Allocates the receive buffer of one chunk (zeroed, `size` bytes); default `new Uint8Array`.
   * A node passes aligned memory so verified chunks can be written with O_DIRECT as they are.
   */
  allocChunk?: (size: number) => Uint8Array;
  /**
   * Chunk data not yet on disk over all sessions, shared equally among those receiving; each
   * keeps to SessionConfig.sessionBufferBytes too (and this applies only with it). Default: none.
   */
  receiveBufferBytes?: number;
  /**
   * Stateless resets sent per second at most, also the burst (token bucket;
   * default 20, 0: never send one). Resets from peers are accepted regardless.
   */
  statelessResetsPerSec?: number;
  /**
   * The largest datagram the route to `addr` carries unfragmented, as the node's kernel knows
   * it (null: no word). A responder's session keeps to it and announces it, as a dial's does
   * with ConnectOptions.maxDatagramSize: asked once per INITIATION answered.
   */
  routeDatagram?: (addr: SocketAddr) => number | null;
}

interface QueuedDatagram {
  bytes: Uint8Array;
  addr: SocketAddr;
}

/** Counters for the node's stats registry and the DoS tests. */
/** Per-session settings of a dial. */
export interface ConnectOptions {
  /** Cap on this session's sending rate, bytes per second (SessionConfig.maxSendRate); null: none. */
  maxSendRate?: number | null;
  /**
   * Largest datagram of this session (SessionConfig.maxDatagramSize, sent to the peer as
   * max_datagram_size): the dialler's path MTU, when it is below the configured size, so that
   * datagrams are not fragmented. Only lowers the configured size, never below 1200.
   */
  maxDatagramSize?: number;
}

export interface EndpointCounters {
  handshakesInitiated: number;
  handshakesCompleted: number;
  handshakesFailed: number;
  dhOperations: number;
  cookiesSent: number;
  cookiesValidated: number;
  versionNegotiations: number;
  datagramsReceived: number;
  datagramsSent: number;
  /** Stateless resets sent in reply to short-header packets for unknown CIDs (PROTOCOL.md §3a). */
  statelessResetsSent: number;
  /** Stateless resets from a peer that ended one of our sessions. */
  statelessResetsReceived: number;
}

/**
 * The sans-IO endpoint (quinn-proto's shape): demultiplexes datagrams to
 * sessions by connection id, runs the handshake's outer layer with its DoS
 * defences, and drains every session's packets into caller batches.
 */
export class Endpoint {
  private readonly cfg: SessionConfig;
  private readonly keyCrypto: KeyCrypto;
  private readonly sessions = new Map<string, Session>();
  private readonly byId = new Map<number, Session>();
  /**
   * The endpoint asks only the sessions something happened to. `active`: may have something to
   * send (anything happened to it since it last had nothing); `retime`: its timeout() may have
   * moved. A datagram, a command, a timer and sending are what happens to a session.
   */
  private readonly active = new Set<Session>();
  private readonly retime = new Set<Session>();
  private readonly timers = new TimerQueue<Session>();
  /** Responder sessions still in handshake, by initiator address + cid. */
  private readonly pendingInit = new Map<string, { session: Session; response: Uint8Array }>();
  private readonly queue: QueuedDatagram[] = [];
  private readonly events: SessionEvent[] = [];
  private readonly cookies: CookieJar;
  readonly drops = new DropCounters();
  private readonly receiveBudget: ReceiveBudget | null;
  readonly counters: EndpointCounters = {
    handshakesInitiated: 0,
    handshakesCompleted: 0,
    handshakesFailed: 0,
    dhOperations: 0,
    cookiesSent: 0,
    cookiesValidated: 0,
    versionNegotiations: 0,
    datagramsReceived: 0,
    datagramsSent: 0,
    statelessResetsSent: 0,
    statelessResetsReceived: 0,
  };
  /** Bytes in/out per address that has no validated session (anti-amplification). */
  readonly unvalidated = new Map<string, { rx: number; tx: number }>();
  private nextSessionId = 1;
  private rrIndex = 0;
  private dhBudget: number;
  private dhBudgetAt: Instant = 0;
  private readonly perSource = new Map<string, { count: number; since: Instant }>();
  /** token(cid) for our own CIDs, from the static key (the same after a restart). */
  private readonly resetTokenFor: (cid: Uint8Array) => Uint8Array;
  private readonly resetBudget: ResetBudget;
  /** Established sessions by the hex of the stateless-reset token their peer gave us. */
  private readonly byResetToken = new Map<string, Session>();
  /**
   * Tokens of sessions a reset ended, for a while: the peer answered each packet
   * still in flight with a reset, and those copies are consumed quietly instead
   * of each drawing a reset back (oldest first; bounded).
   */
  private readonly retiredResetTokens = new Map<string, { token: Uint8Array; addr: SocketAddr; until: Instant }>();

  constructor(private readonly c: EndpointConfig) {
    this.receiveBudget = c.receiveBufferBytes !== undefined ? new ReceiveBudget(c.receiveBufferBytes) : null;
    this.cfg = resolveSessionConfig(c.session);
    const protection = c.protection ?? jsPacketProtection(c.backend);
    const hash = c.backend.hash('BLAKE2s');
    this.keyCrypto = {
      protection,
      generateKeyPair: (rng) => c.backend.x25519GenerateKeyPair(rng),
      dh: (priv, pub) => c.backend.x25519(priv, pub),
      kdf: (ck, dh) => deriveKeyUpdate(hash, c.backend.hmac, ck, dh),
    };
    this.cookies = new CookieJar(c.backend, c.rng);
    this.dhBudget = this.maxHandshakes;
    this.resetTokenFor = statelessResetTokens(c.backend, c.staticKey.priv);
    this.resetBudget = new ResetBudget(c.statelessResetsPerSec ?? DEFAULT_STATELESS_RESETS_PER_SEC);
  }

  get config(): Readonly<SessionConfig> {
    return this.cfg;
  }

  get staticPublicKey(): Uint8Array {
    return this.c.staticKey.pub;
  }

  get peerId(): string {
    return hex(this.c.staticKey.pub);
  }

  private get maxHandshakes(): number {
    return this.c.maxHandshakesPerSec ?? 1000;
  }

  // ------------------------------------------------------------------ commands

  /** Dial `addr`, expecting the static key `peer` (no trust on first use). */
  connect(now: Instant, addr: SocketAddr, peer: Uint8Array, opts: ConnectOptions = {}): number {
    const session = this.newSession(now, true, addr, this.c.rng, peer, randomCid(this.c.rng), opts);
    const noise = session.writeInitiation();
    this.counters.handshakesInitiated++;
    const dg = this.encodeLong({
      type: 'initiation',
      version: WIRE_VERSION,
      dcid: session.remoteCid,
      scid: session.localCid,
      token: new Uint8Array(0),
      noise,
    });
    session.initiationNoise = noise;
    this.queue.push({ bytes: dg, addr });
    session.armHandshakeRetransmit(now, dg);
    return session.id;
  }

  session(id: number): Session {
    const s = this.byId.get(id);
    if (!s) throw new WraithError('E_PEER_CLOSED', `no session ${id}`);
    return this.touch(s);
  }

  /** Something happened to `s` (or may: the caller holds it): ask it again. */
  private touch(s: Session): Session {
    this.active.add(s);
    this.retime.add(s);
    return s;
  }

  private touchId(id: number): Session | undefined {
    const s = this.byId.get(id);
    return s === undefined ? undefined : this.touch(s);
  }

  hasSession(id: number): boolean {
    return this.byId.has(id);
  }

  /**
   * A session that exists and is not closing or closed. One whose `closed` event was emitted
   * stays (hasSession) while it drains, until a later timeout or transmit pass removes it.
   */
  sessionOpen(id: number): boolean {
    const kind = this.byId.get(id)?.state.kind;
    return kind === 'established' || kind === 'handshake';
  }

  /** When the session last heard its peer; null for a session that is gone. */
  lastHeard(id: number): Instant | null {
    return this.byId.get(id)?.lastHeardAt ?? null;
  }

  /**
   * The path to `addr` carries at most `size`-byte datagrams unfragmented (the transport learnt
   * it from an ICMP "packet too big"): the sessions on it keep within it from now on
   * (Session.limitDatagramSize). Returns the sessions whose datagram size went down.
   */
  limitDatagramSize(addr: SocketAddr, size: number): number[] {
    const lowered: number[] = [];
    for (const s of this.byId.values()) {
      if (addrEquals(s.path.addr, addr) && s.limitDatagramSize(size)) lowered.push(s.id);
    }
    return lowered;
  }

  /**
   * The route to `addr` carries `size`-byte datagrams again (Session.raiseDatagramSize).
   * Returns the sessions whose datagram size went up.
   */
  raiseDatagramSize(addr: SocketAddr, size: number): number[] {
    const raised: number[] = [];
    for (const s of this.byId.values()) {
      if (addrEquals(s.path.addr, addr) && s.raiseDatagramSize(size)) raised.push(s.id);
    }
    return raised;
  }

  /** The distinct addresses the sessions talk to now. */
  peerAddrs(): SocketAddr[] {
    const out = new Map<string, SocketAddr>();
    for (const s of this.byId.values()) out.set(addrKey(s.path.addr), s.path.addr);
    return [...out.values()];
  }

  /** The session's peer has gone quiet (Session.peerQuiet); true for a session that is gone. */
  peerQuiet(id: number, now: Instant): boolean {
    return this.byId.get(id)?.peerQuiet(now) ?? true;
  }

  offer(sessionId: number, manifest: FileManifest, tree: MerkleTree): number {
    return this.session(sessionId).offer(manifest, tree);
  }

  accept(sessionId: number, transferId: number, held?: Array<[number, number]>, reusedBytes?: number): void {
    this.session(sessionId).transfers.accept(transferId, held, reusedBytes);
  }

  /** Whether the session's peer sends leaf rows (requestLeaves). */
  peerSendsLeaves(sessionId: number): boolean {
    return this.session(sessionId).transfers.peerSendsLeaves;
  }

  /** Receiver: ask for an offered file's leaf row before accepting it (a `leaves` event brings it). */
  requestLeaves(sessionId: number, transferId: number): void {
    this.session(sessionId).transfers.requestLeaves(transferId);
  }

  /** Leaves of a requested row that have come so far, or null (none awaited, or no session). */
  leavesReceived(sessionId: number, transferId: number): number | null {
    return this.byId.get(sessionId)?.transfers.leavesReceived(transferId) ?? null;
  }

  reject(sessionId: number, transferId: number, code: ErrorCode, reason: string): void {
    this.session(sessionId).transfers.reject(transferId, code, reason);
  }

  cancel(sessionId: number, transferId: number, code: ErrorCode, reason: string): void {
    this.session(sessionId).transfers.cancel(transferId, code, reason);
  }

  supplyChunk(sessionId: number, transferId: number, index: number, bytes: Uint8Array): void {
    this.touchId(sessionId)?.transfers.supplyChunk(transferId, index, bytes);
  }

  chunkWritten(sessionId: number, transferId: number, index: number): void {
    this.touchId(sessionId)?.transfers.chunkWritten(transferId, index);
  }

  finishTransfer(sessionId: number, transferId: number, status: 'verified' | 'already_present', storedAs?: string): void {
    this.session(sessionId).transfers.finish(transferId, status, storedAs);
  }

  resumeState(sessionId: number, transferId: number): unknown {
    return this.byId.get(sessionId)?.transfers.resumeState(transferId) ?? null;
  }

  /** Live counters of an outgoing transfer, or null when it is not (or no longer) sending. */
  transferProgress(sessionId: number, transferId: number): { payloadBytesSent: number; bytesRetransmitted: number; bytesSkippedResume: number; bytesZero: number } | null {
    return this.byId.get(sessionId)?.transfers.senderStats(transferId) ?? null;
  }

  /**
   * True once the peer has acknowledged every control message of the session (a CANCEL among
   * them), or the session is gone or no longer established: a graceful close waits for it, since
   * CLOSE ends the control stream.
   */
  controlSettled(sessionId: number): boolean {
    const s = this.byId.get(sessionId);
    return s === undefined || !s.established || s.controlAcked;
  }

  /** How many outgoing transfers the session may have at once (ours and the peer's max_transfers, the lower), or null. */
  offerLimit(sessionId: number): number | null {
    return this.byId.get(sessionId)?.transfers.offerLimit ?? null;
  }

  /** The receiver has accepted an outgoing transfer (false while it decides), or null when it is not sending. */
  transferAccepted(sessionId: number, transferId: number): boolean | null {
    return this.byId.get(sessionId)?.transfers.senderAccepted(transferId) ?? null;
  }

  /**
   * Bytes of an outgoing transfer the receiver holds on its disk, from its last WRITTEN message,
   * or null (none yet: a small file, a peer that does not send them, or not sending).
   */
  transferWritten(sessionId: number, transferId: number): number | null {
    return this.byId.get(sessionId)?.transfers.senderWritten(transferId) ?? null;
  }

  /** Keep a session alive with pings while it has nothing to transfer (see Session.holdOpen). */
  holdOpen(sessionId: number, on: boolean): void {
    const s = this.touchId(sessionId);
    if (s !== undefined) s.holdOpen = on;
  }

  close(now: Instant, sessionId: number, code: ErrorCode | null, reason: string): void {
    this.touchId(sessionId)?.close(now, code, reason);
  }

  /** Close every session (shutdown). */
  closeAll(now: Instant, code: ErrorCode | null, reason: string): void {
    for (const s of this.byId.values()) this.touch(s).close(now, code, reason);
  }

  get sessionCount(): number {
    return this.byId.size;
  }

  listSessions(): Session[] {
    for (const s of this.byId.values()) this.touch(s);
    return [...this.byId.values()];
  }

  // -------------------------------------------------------------------- input

  handleDatagram(now: Instant, from: SocketAddr, bytes: Uint8Array): void {
    this.counters.datagramsReceived++;
    if (bytes.length === 0) return this.drops.add('empty');
    const first = bytes[0] ?? 0;
    if (isLongHeader(first)) return this.handleLong(now, from, bytes);
    const dcid = peekDcid(bytes);
    if (!dcid) return this.drops.add('malformed_header');
    const s = this.sessions.get(cidKey(dcid));
    if (!s) return this.onUnknownCid(now, from, bytes, dcid);
    this.touch(s).handleShort(now, from, bytes);
  }

  /**
   * A receive batch: short-header datagrams are grouped per session and
   * opened in one call per key (order kept within a session); handshake
   * packets go one by one.
   */
  handleBatch(now: Instant, batch: DatagramBatch): void {
    const groups = this.batchGroups;
    groups.clear();
    const buf = batch.buf;
    for (let i = 0; i < batch.count; i++) {
      this.counters.datagramsReceived++;
      // The common case first, without a view or a string: a short header for the session
      // the previous datagram went to (the batch is one session's flight, mostly).
      const off = batch.offsets[i] ?? 0;
      const len = batch.lengths[i] ?? 0;
      const last = this.lastRx;
      if (
        last !== null &&
        len >= SHORT_HEADER_LEN &&
        isShortHeader(buf[off] ?? 0) &&
        readU32(buf, off + 1) === this.lastRxCidHi &&
        readU32(buf, off + 5) === this.lastRxCidLo
      ) {
        this.group(last, i);
        continue;
      }
      const bytes = batch.datagram(i);
      if (bytes.length === 0) {
        this.drops.add('empty');
        continue;
      }
      if (isLongHeader(bytes[0] ?? 0)) {
        this.flushGroups(now, batch);
        this.handleLong(now, batch.addrs[i] as SocketAddr, bytes);
        continue;
      }
      const dcid = peekDcid(bytes);
      if (!dcid) {
        this.drops.add('malformed_header');
        continue;
      }
      const s = this.sessions.get(cidKey(dcid));
      if (!s) {
        const from = batch.addrs[i] as SocketAddr;
        const reset = this.resetTarget(from, bytes);
        if (reset) {
          // Packets of that session earlier in this batch are processed first, in order.
          this.flushGroups(now, batch);
          this.applyReset(now, reset);
        } else {
          this.unknownCid(now, from, bytes, dcid);
        }
        continue;
      }
      if (bytes.length >= SHORT_HEADER_LEN) {
        this.lastRx = s;
        this.lastRxCidHi = readU32(bytes, 1);
        this.lastRxCidLo = readU32(bytes, 5);
      }
      this.group(s, i);
    }
    this.flushGroups(now, batch);
  }

  private readonly batchGroups = new Map<Session, number[]>();
  /** Index arrays for batchGroups, kept between batches. */
  private readonly spareGroups: number[][] = [];
  /** The session of the last short-header datagram and its CID (two big-endian words). */
  private lastRx: Session | null = null;
  private lastRxCidHi = 0;
  private lastRxCidLo = 0;

  private group(s: Session, i: number): void {
    let g = this.batchGroups.get(s);
    if (!g) {
      g = this.spareGroups.pop() ?? [];
      g.length = 0;
      this.batchGroups.set(s, g);
    }
    g.push(i);
  }

  private flushGroups(now: Instant, batch: DatagramBatch): void {
    for (const [s, idx] of this.batchGroups) {
      this.touch(s).handleShortBatch(now, batch, idx);
      this.spareGroups.push(idx);
    }
    this.batchGroups.clear();
  }

  // ---------------------------------------------------------- stateless reset

  /** A short-header datagram for no session: a stateless reset from a peer, or a reason to send one. */
  private onUnknownCid(now: Instant, from: SocketAddr, bytes: Uint8Array, dcid: Uint8Array): void {
    const reset = this.resetTarget(from, bytes);
    if (reset) return this.applyReset(now, reset);
    this.unknownCid(now, from, bytes, dcid);
  }

  /**
   * Counted as unknown_cid as ever; answered with a stateless reset when it is
   * large enough for a strictly smaller reply and the budget allows.
   */
  private unknownCid(now: Instant, from: SocketAddr, bytes: Uint8Array, dcid: Uint8Array): void {
    if (this.isLateReset(now, from, bytes)) return this.drops.add('late_stateless_reset');
    this.drops.add('unknown_cid');
    if (bytes.length < STATELESS_RESET_MIN_TRIGGER) return;
    if (!this.resetBudget.take(now)) return;
    const dg = buildStatelessReset(this.c.rng, bytes.length, this.resetTokenFor(dcid));
    // In the anti-amplification books like any reply to an unvalidated address (always < 1x).
    const amp = this.noteUnvalidatedRx(addrKey(from), bytes.length);
    if (this.sendBounded(amp, dg, from)) this.counters.statelessResetsSent++;
  }

  /**
   * The session a datagram resets: its last 16 bytes are the token that
   * session's peer gave us, and it comes from that peer's current address.
   */
  private resetTarget(from: SocketAddr, bytes: Uint8Array): Session | null {
    if (this.byResetToken.size === 0 || bytes.length < STATELESS_RESET_MIN_LEN) return null;
    const s = this.byResetToken.get(tailHex(bytes));
    if (!s) return null;
    const token = s.peerResetToken;
    if (!token || !endsWithToken(bytes, token)) return null;
    if (!addrEquals(from, s.path.addr)) return null;
    return s;
  }

  private lookupTouch(cid: Uint8Array): Session | undefined {
    const s = this.sessions.get(cidKey(cid));
    return s === undefined ? undefined : this.touch(s);
  }

  private applyReset(now: Instant, s: Session): void {
    this.touch(s);
    const token = s.peerResetToken as Uint8Array;
    if (!s.closed) {
      s.peerReset();
      this.counters.statelessResetsReceived++;
    }
    this.removeSession(s);
    const retired = this.retiredResetTokens;
    if (retired.size >= MAX_RETIRED_RESET_TOKENS) retired.delete(retired.keys().next().value as string);
    retired.set(hex(token), { token, addr: s.path.addr, until: now + RETIRED_RESET_TOKEN_LIFETIME });
  }

  /** Another copy of a reset that already ended a session here (from the same address, recently). */
  private isLateReset(now: Instant, from: SocketAddr, bytes: Uint8Array): boolean {
    if (this.retiredResetTokens.size === 0 || bytes.length < STATELESS_RESET_MIN_LEN) return false;
    const k = tailHex(bytes);
    const r = this.retiredResetTokens.get(k);
    if (!r) return false;
    if (now >= r.until) {
      this.retiredResetTokens.delete(k);
      return false;
    }
    return endsWithToken(bytes, r.token) && addrEquals(from, r.addr);
  }

  /** Session callback for a datagram it could not process: true when it was a stateless reset. */
  private onUnprocessable(now: Instant, from: SocketAddr, bytes: Uint8Array): boolean {
    const reset = this.resetTarget(from, bytes);
    if (!reset) return false;
    this.applyReset(now, reset);
    return true;
  }

  /** The handshake completed: a reset token from the peer's authenticated parameters now counts. */
  private learnResetToken(s: Session): void {
    const token = s.peerResetToken;
    if (token) this.byResetToken.set(hex(token), s);
  }

  private handleLong(now: Instant, from: SocketAddr, bytes: Uint8Array): void {
    let p: LongHeaderPacket;
    try {
      p = decodeLongHeader(new Reader(bytes));
    } catch {
      return this.drops.add('malformed_handshake');
    }
    switch (p.type) {
      case 'unsupported_version':
        return this.sendVersionNegotiation(from, p.dcid, p.scid, bytes.length);
      case 'initiation':
        return this.onInitiation(now, from, bytes.length, p);
      case 'version_negotiation': {
        const s = this.lookupTouch(p.dcid);
        if (!s || !s.initiator || s.established) return this.drops.add('unexpected_handshake');
        this.counters.handshakesFailed++;
        s.fail('E_VERSION', `the peer supports wire versions ${p.versions.join(', ')}, not ${WIRE_VERSION}`);
        return;
      }
      case 'cookie_reply': {
        const s = this.lookupTouch(p.dcid);
        if (!s || !s.initiator || s.established || !s.initiationNoise) return this.drops.add('unexpected_handshake');
        // Unauthenticated: only a cookie-sized one from the address we dialled may make us
        // re-send our 1200-byte INITIATION, and only to that address (no reflection).
        // Why it stays unauthenticated: PROTOCOL.md §6.
        if (!addrEquals(from, s.path.addr)) return this.drops.add('unexpected_handshake');
        if (p.cookie.length !== COOKIE_LEN) return this.drops.add('malformed_handshake');
        // Forgeable by an observer of the INITIATION: one re-send per retransmit interval at most.
        if (!s.mayResendForCookie(now)) return this.drops.add('cookie_reply_rate_limited');
        const dg = this.encodeLong({
          type: 'initiation',
          version: WIRE_VERSION,
          dcid: s.remoteCid,
          scid: s.localCid,
          token: p.cookie.slice(),
          noise: s.initiationNoise,
        });
        this.queue.push({ bytes: dg, addr: s.path.addr });
        s.armCookieResend(now, dg);
        return;
      }
      case 'response': {
        const s = this.lookupTouch(p.dcid);
        if (!s || !s.initiator || s.state.kind !== 'handshake') return this.drops.add('unexpected_handshake');
        let msg3: Uint8Array;
        try {
          s.remoteCid = p.scid.slice();
          msg3 = s.onResponse(now, p.noise);
          this.counters.dhOperations += 3;
        } catch (e) {
          if (e instanceof WraithError && e.code === 'E_PEER_ID_MISMATCH') {
            this.counters.handshakesFailed++;
            s.fail('E_PEER_ID_MISMATCH', e.message);
            return;
          }
          return this.drops.add('handshake_auth');
        }
        s.onHandshakeBytes(from, bytes.length);
        s.path.validated = true; // the RESPONSE proves the peer holds our INITIATION
        this.learnResetToken(s);
        this.counters.handshakesCompleted++;
        const dg = this.encodeLong({ type: 'finish', version: WIRE_VERSION, dcid: s.remoteCid, scid: s.localCid, noise: msg3 });
        this.queue.push({ bytes: dg, addr: from });
        s.armHandshakeRetransmit(now, dg);
        return;
      }
      case 'finish': {
        const s = this.lookupTouch(p.dcid);
        if (!s || s.initiator) return this.drops.add('unexpected_handshake');
        if (s.state.kind === 'established') {
          // Only a byte-exact copy of the FINISH that completed the handshake is the
          // initiator's retransmission; anything else is forged or corrupted.
          if (!s.finishDatagram || !equalBytes(s.finishDatagram, bytes)) return this.drops.add('unexpected_handshake');
          s.reconfirm(); // our confirmation was lost
          return;
        }
        if (s.state.kind !== 'handshake') return this.drops.add('unexpected_handshake');
        let rs: Uint8Array;
        try {
          rs = s.onFinish(now, p.noise);
          s.finishDatagram = bytes.slice();
          this.counters.dhOperations += 1;
        } catch (e) {
          if (e instanceof WraithError && e.code === 'E_HANDSHAKE_NO_PARAMS') {
            // It decrypted, so it came from the initiator's ephemeral key: no better FINISH will follow.
            this.drops.add('finish_without_params');
            this.counters.handshakesFailed++;
            s.fail(e.code, e.message);
            return;
          }
          return this.drops.add('handshake_auth');
        }
        // The pending entry stays until the session goes: a copy of its INITIATION is now a replay.
        this.unvalidated.delete(addrKey(from));
        s.onHandshakeBytes(from, bytes.length);
        this.learnResetToken(s);
        const peer = hex(rs);
        if (this.c.authorize && !this.c.authorize(peer, from)) {
          this.counters.handshakesFailed++;
          s.close(now, 'E_PEER_NOT_AUTHORIZED', 'this peer is not authorised here');
          return;
        }
        const max = this.c.maxSessionsPerPeer ?? 8;
        let n = 0;
        for (const o of this.byId.values()) if (o !== s && o.established && o.peerId === peer) n++;
        if (n >= max) {
          this.counters.handshakesFailed++;
          s.close(now, 'E_TOO_MANY_SESSIONS', `at most ${max} sessions per peer`);
          return;
        }
        this.counters.handshakesCompleted++;
        s.announceConnected();
        return;
      }
    }
  }

  private onInitiation(
    now: Instant,
    from: SocketAddr,
    size: number,
    p: Extract<LongHeaderPacket, { type: 'initiation' }>,
  ): void {
    if (this.c.acceptIncoming === false) return this.drops.add('incoming_disabled');
    if (size < MIN_INITIATION_SIZE) return this.drops.add('short_initiation');
    const akey = addrKey(from);
    // The content is part of the key: a corrupted copy must not shadow the genuine one.
    const pendingKey = `${akey}/${hex(p.scid)}/${fnv1a(p.noise)}`;
    const pending = this.pendingInit.get(pendingKey);
    // The handshake it started has completed: this copy is a replay (or a very late duplicate).
    if (pending && pending.session.state.kind !== 'handshake') return this.drops.add('replayed_initiation');
    const amp = this.noteUnvalidatedRx(akey, size);
    if (pending) {
      // A retransmitted INITIATION: answer again from the cache, no DH.
      this.sendBounded(amp, pending.response, from);
      return;
    }
    const maxSessions = this.c.maxSessions ?? 4096;
    if (this.byId.size >= maxSessions) return this.drops.add('session_table_full');

    const cookieOk = p.token.length > 0 && this.cookies.verify(now, from, p.token);
    if (cookieOk) this.counters.cookiesValidated++;
    if (!cookieOk && this.needsCookie(now, akey)) {
      const cookie = this.cookies.issue(now, from);
      const dg = this.encodeLong({ type: 'cookie_reply', version: WIRE_VERSION, dcid: p.scid, scid: randomCid(this.c.rng), cookie });
      if (this.sendBounded(amp, dg, from)) this.counters.cookiesSent++;
      return;
    }
    if (!this.takeDhBudget(now)) return this.drops.add('handshake_budget');

    const route = this.c.routeDatagram?.(from) ?? null;
    const s = this.newSession(now, false, from, this.c.rng, null, p.scid.slice(), route === null ? {} : { maxDatagramSize: route });
    let msg2: Uint8Array;
    try {
      msg2 = s.onInitiation(p.noise);
      this.counters.dhOperations += 2;
    } catch {
      this.removeSession(s);
      return this.drops.add('handshake_malformed');
    }
    s.onHandshakeBytes(from, size);
    const dg = this.encodeLong({ type: 'response', version: WIRE_VERSION, dcid: p.scid, scid: s.localCid, noise: msg2 });
    this.pendingInit.set(pendingKey, { session: s, response: dg });
    s.pendingKey = pendingKey;
    this.sendBounded(amp, dg, from);
  }

  /** Cookies engage under global load (DH budget, or a half-full session table), or for a source sending too fast. */
  private needsCookie(now: Instant, akey: string): boolean {
    this.refillDh(now);
    if (this.dhBudget < this.maxHandshakes / 2) return true;
    // Spoofed INITIATIONs must not fill the table with half-open sessions: past half of
    // it, only initiators that receive at their address (and so return a cookie) get one.
    if (this.byId.size >= (this.c.maxSessions ?? 4096) / 2) return true;
    const limit = this.c.perSourceInitiationsPerSec ?? 50;
    let e = this.perSource.get(akey);
    if (!e || now - e.since >= 1_000_000) {
      if (this.perSource.size > 10_000) this.perSource.clear();
      e = { count: 0, since: now };
      this.perSource.set(akey, e);
    }
    e.count++;
    return e.count > limit;
  }

  private refillDh(now: Instant): void {
    const elapsed = now - this.dhBudgetAt;
    if (elapsed <= 0) return;
    this.dhBudget = Math.min(this.maxHandshakes, this.dhBudget + (elapsed / 1_000_000) * this.maxHandshakes);
    this.dhBudgetAt = now;
  }

  private takeDhBudget(now: Instant): boolean {
    this.refillDh(now);
    if (this.dhBudget < 1) return false;
    this.dhBudget -= 1;
    return true;
  }

  private noteUnvalidatedRx(akey: string, n: number): { rx: number; tx: number } {
    let e = this.unvalidated.get(akey);
    if (!e) {
      if (this.unvalidated.size > 50_000) this.unvalidated.clear();
      e = { rx: 0, tx: 0 };
      this.unvalidated.set(akey, e);
    }
    e.rx += n;
    return e;
  }

  /** Queue a handshake reply unless it would break the 3x amplification limit. */
  private sendBounded(amp: { rx: number; tx: number }, dg: Uint8Array, to: SocketAddr): boolean {
    if (amp.tx + dg.length > 3 * amp.rx) {
      this.drops.add('amplification_limit');
      return false;
    }
    amp.tx += dg.length;
    this.queue.push({ bytes: dg, addr: to });
    return true;
  }

  private sendVersionNegotiation(to: SocketAddr, dcid: Uint8Array, scid: Uint8Array, size: number): void {
    const amp = this.noteUnvalidatedRx(addrKey(to), size);
    const dg = this.encodeLong({ type: 'version_negotiation', version: 0, dcid: scid, scid: dcid, versions: [WIRE_VERSION] });
    if (this.sendBounded(amp, dg, to)) this.counters.versionNegotiations++;
  }

  private encodeLong(p: LongHeaderPacket): Uint8Array {
    const buf = new Uint8Array(Math.max(MIN_INITIATION_SIZE, this.cfg.maxDatagramSize));
    const w = new Writer(buf);
    encodeLongHeader(w, p);
    return buf.slice(0, w.offset);
  }

  // ------------------------------------------------------------------- timers

  pollTimeout(): Instant {
    if (this.queue.length > 0) return 0;
    this.retimeTouched();
    return this.timers.next();
  }

  handleTimeout(now: Instant): void {
    this.retimeTouched();
    for (const s of this.timers.due(now)) {
      this.touch(s);
      if (s.timeout() <= now) s.handleTimeout(now);
      if (s.closed) this.removeSession(s);
    }
  }

  private retimeTouched(): void {
    for (const s of this.retime) this.timers.set(s, s.timeout());
    this.retime.clear();
  }

  // ----------------------------------------------------------------- transmit

  /** Fill `out` from out.count on; returns how many datagrams were added. */
  pollTransmit(now: Instant, out: DatagramBatch): number {
    const start = out.count;
    while (this.queue.length > 0 && out.count < out.capacity) {
      const q = this.queue.shift() as QueuedDatagram;
      out.push(q.bytes, q.addr);
    }
    const list = [...this.active];
    const n = list.length;
    for (const s of list) {
      if (out.count >= out.capacity) break;
      const dg = s.pollHandshakeRetransmit(now);
      if (dg) out.push(dg, s.path.addr);
    }
    // Round robin, a fair share each, then whatever room is left.
    const sent = new Array<number>(n).fill(0);
    for (let pass = 0; pass < 2 && out.count < out.capacity; pass++) {
      let progress = false;
      for (let k = 0; k < n && out.count < out.capacity; k++) {
        const j = (this.rrIndex + k) % n;
        const s = list[j] as Session;
        const share = pass === 0 ? Math.max(1, Math.floor((out.capacity - start) / n)) : out.capacity;
        const m = s.pollTransmit(now, out, share);
        sent[j] = (sent[j] ?? 0) + m;
        if (m > 0) progress = true;
      }
      if (!progress) break;
    }
    if (n > 0) this.rrIndex = (this.rrIndex + 1) % n;
    for (let j = 0; j < n; j++) {
      const s = list[j] as Session;
      // Sending arms timers; a session that sent may have more (the batch filled up).
      if ((sent[j] ?? 0) > 0) this.retime.add(s);
      else if (out.count < out.capacity) this.active.delete(s);
      if (s.closed) this.removeSession(s);
    }
    const added = out.count - start;
    this.counters.datagramsSent += added;
    return added;
  }

  // ------------------------------------------------------------------- events

  pollEvent(): SessionEvent | null {
    return this.events.shift() ?? null;
  }

  // ---------------------------------------------------------------- internals

  private newSession(
    now: Instant,
    initiator: boolean,
    addr: SocketAddr,
    rng: Rng,
    expectedRemote: Uint8Array | null,
    remoteCid: Uint8Array,
    opts: ConnectOptions = {},
  ): Session {
    let localCid = randomCid(rng);
    while (this.sessions.has(cidKey(localCid))) localCid = randomCid(rng);
    const id = this.nextSessionId++;
    const s = new Session(
      {
        id,
        config: sessionConfig(this.cfg, opts),
        backend: this.c.backend,
        keyCrypto: this.keyCrypto,
        hasher: this.c.hasher,
        rng,
        emit: (e) => this.onSessionEvent(e),
        drop: (r) => this.drops.add(r),
        unprocessable: (now, from, bytes) => this.onUnprocessable(now, from, bytes),
        ...(this.c.releaseChunk ? { releaseChunk: this.c.releaseChunk } : {}),
        ...(this.c.allocChunk ? { allocChunk: this.c.allocChunk } : {}),
        ...(this.receiveBudget ? { receiveBudget: this.receiveBudget } : {}),
      },
      {
        initiator,
        now,
        addr,
        localCid,
        remoteCid,
        staticKey: this.c.staticKey,
        expectedRemote,
        sealCapacity: 256,
        resetToken: this.resetTokenFor(localCid),
      },
    );
    this.sessions.set(cidKey(localCid), s);
    this.byId.set(id, s);
    this.touch(s);
    return s;
  }

  private onSessionEvent(e: SessionEvent): void {
    this.events.push(e);
  }

  private forgetPending(s: Session): void {
    if (s.pendingKey) this.pendingInit.delete(s.pendingKey);
    s.pendingKey = null;
  }

  private removeSession(s: Session): void {
    this.forgetPending(s);
    const token = s.peerResetToken;
    if (token) {
      const k = hex(token);
      if (this.byResetToken.get(k) === s) this.byResetToken.delete(k);
    }
    this.sessions.delete(cidKey(s.localCid));
    if (this.lastRx === s) this.lastRx = null;
    this.byId.delete(s.id);
    this.receiveBudget?.report(s.id, false, 0);
    this.active.delete(s);
    this.retime.delete(s);
    this.timers.delete(s);
  }
}

/** How long, and how many, tokens of reset sessions are remembered to absorb the peer's further resets. */
const RETIRED_RESET_TOKEN_LIFETIME = 10_000_000;
const MAX_RETIRED_RESET_TOKENS = 256;

function randomCid(rng: Rng): Uint8Array {
  const c = new Uint8Array(CID_LEN);
  rng.fill(c);
  return c;
}

function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] ?? 0), 0x01000193);
  return h >>> 0;
}

/** Map key for an 8-byte connection id. */
function readU32(b: Uint8Array, at: number): number {
  return (((b[at] ?? 0) << 24) | ((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0)) >>> 0;
}

function cidKey(cid: Uint8Array): string {
  return String.fromCharCode(
    ((cid[0] ?? 0) << 8) | (cid[1] ?? 0),
    ((cid[2] ?? 0) << 8) | (cid[3] ?? 0),
    ((cid[4] ?? 0) << 8) | (cid[5] ?? 0),
    ((cid[6] ?? 0) << 8) | (cid[7] ?? 0),
  );
}

/** The endpoint's session config with a dial's options applied. */
function sessionConfig(cfg: SessionConfig, opts: ConnectOptions): SessionConfig {
  if (opts.maxSendRate === undefined && opts.maxDatagramSize === undefined) return cfg;
  const out = { ...cfg };
  if (opts.maxSendRate !== undefined) out.maxSendRate = opts.maxSendRate;
  if (opts.maxDatagramSize !== undefined) {
    out.maxDatagramSize = Math.max(MIN_MAX_DATAGRAM_SIZE, Math.min(cfg.maxDatagramSize, Math.floor(opts.maxDatagramSize)));
  }
  return out;
}
