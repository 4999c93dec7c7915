import { WraithError, type ErrorCode } from '../errors.js';
import type { Rng } from '../rng.js';
import { NEVER, secs, type Duration, type Instant } from '../time.js';
import { addrEquals, type DatagramBatch, type SocketAddr } from '../transport.js';
import { ProtectBatch, ReplayWindow, type CryptoBackend, type PacketKey } from '../crypto/index.js';
import { AckTracker, LossRecovery, RttEstimator, createController } from '../recovery/index.js';
import type { Blake3, FileManifest, MerkleTree, SendItem } from '../transfer/index.js';
import {
  AEAD_TAG_LEN,
  MIN_CONTROL_WINDOW,
  MIN_MAX_DATAGRAM_SIZE,
  ControlStreamAssembler,
  ControlStreamSender,
  Reader,
  SHORT_HEADER_LEN,
  Writer,
  chunkFrameOverhead,
  decodeFrame,
  encodeChunkHeader,
  decodeShortHeaderFields,
  encodeFrame,
  encodeShortHeader,
  errorCodeForWire,
  expandPn,
  frameLength,
  isAckEliciting,
  truncatePn,
  wireCodeFor,
  type ControlMessage,
  type Frame,
  type TransportParams,
} from '../wire/index.js';
import type { SessionConfig } from './config.js';
import type { SessionEvent } from './events.js';
import { Handshake, hex, type StaticKeyPair } from './handshake.js';
import { KeySchedule, type KeyCrypto } from './keys.js';
import { ChunkFramePool } from './chunk-frames.js';
import { PathState } from './path.js';
import { PmtuRaise } from './pmtu-raise.js';
import { EntryList, isItem, type SentEntry, type SentPacket } from './sent.js';
import { STATELESS_RESET_MIN_TRIGGER } from './stateless-reset.js';
import { TransferTable } from './transfers.js';
import type { ReceiveBudget } from './receive-budget.js';

/** Reserve for a CHUNK frame's type, ids, offset and length fields. */
const CHUNK_FRAME_RESERVE = 24;
/** Smallest useful room for a data item in a packet. */
const MIN_ITEM_ROOM = 64;
const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export type SessionState =
  | { kind: 'handshake' }
  | { kind: 'established' }
  | { kind: 'closing'; until: Instant }
  | { kind: 'closed' };

export interface SessionDeps {
  id: number;
  config: SessionConfig;
  backend: CryptoBackend;
  keyCrypto: KeyCrypto;
  hasher: Blake3;
  rng: Rng;
  emit: (e: SessionEvent) => void;
  drop: (reason: string) => void;
  releaseChunk?: (bytes: Uint8Array) => void;
  allocChunk?: (size: number) => Uint8Array;
  /** Receive memory shared with the endpoint's other sessions (receive-budget.ts). */
  receiveBudget?: ReceiveBudget;
  /**
   * A short-header datagram this session could not process (it failed
   * authentication, the replay window or the key phase): true when the
   * endpoint took it for a stateless reset (PROTOCOL.md §3a), so it is not a drop.
   */
  unprocessable?: (now: Instant, from: SocketAddr, datagram: Uint8Array) => boolean;
}

/** Counters a session keeps for its driver and the admin API. */
export interface SessionStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  packetsLost: number;
  keyUpdates: number;
  pathValidations: number;
}

/** Probe timeouts in a row, with the peer heard meanwhile, that mean a PMTU black hole. */
const BLACK_HOLE_PTOS = 3;
/** Full-size packets lost in a row, with only smaller ones acknowledged meanwhile: the same. */
const BLACK_HOLE_LOSSES = 3;

/**
 * One wraith session after the handshake's first message: a sans-IO state
 * machine. The endpoint feeds it datagrams and time and drains its packets.
 */
export class Session {
  readonly id: number;
  readonly initiator: boolean;
  readonly localCid: Uint8Array;
  remoteCid: Uint8Array;
  state: SessionState = { kind: 'handshake' };
  readonly path: PathState;
  remoteStatic: Uint8Array | null = null;
  peerId = '';
  remoteParams: TransportParams = {};
  /** Initiator: Noise message 1, re-sent with a cookie when asked. */
  initiationNoise: Uint8Array | null = null;
  /** Responder: the endpoint's key for retransmitted INITIATIONs. */
  pendingKey: string | null = null;
  /** Responder: the FINISH datagram that completed the handshake (its retransmissions are byte-exact). */
  finishDatagram: Uint8Array | null = null;
  /** The stateless-reset token for our localCid, sent in our encrypted handshake parameters (null: none). */
  private readonly localResetToken: Uint8Array | null;

  private readonly d: SessionDeps;
  private readonly cfg: SessionConfig;
  private hs: Handshake | null;
  private keys: KeySchedule | null = null;
  /** Initiator: handshake datagrams to (re)send until confirmed. */
  private handshakeDatagram: Uint8Array | null = null;
  private handshakeSendAt: Instant = NEVER;
  private handshakeRetries = 0;
  /** Initiator: a COOKIE_REPLY may draw a re-sent INITIATION from this time on (PROTOCOL.md §6). */
  private cookieResendAt: Instant = Number.NEGATIVE_INFINITY;
  private readonly handshakeDeadline: Instant;
  /** Initiator: an authenticated short packet from the responder arrived. */
  private confirmed: boolean;

  private readonly rtt = new RttEstimator();
  private readonly recovery: LossRecovery<SentPacket>;
  private readonly acks: AckTracker;
  private readonly replay = new ReplayWindow(8192);
  private readonly ctlSend = new ControlStreamSender();
  private readonly ctlRecv: ControlStreamAssembler;
  readonly transfers: TransferTable;

  private nextPn = 0;
  private largestRecvPn = -1;
  private lastRecvAt: Instant;
  private lastAckElicitingSentAt: Instant;
  private pingsOwed = 0;
  private appLimited = false;
  /** When the pacer next lets a data packet out (NEVER: it is not what holds data back). */
  private pacingWakeAt: Instant = NEVER;
  /** What the path carries unfragmented, as ICMP told (limitDatagramSize); Infinity: no word. */
  private pathDatagram = Infinity;
  /** The next probe-timeout probe goes as a bare ping (buildPacket). */
  private smallProbeOwed = false;
  /** The black hole's limit, and the probes that raise it again. */
  private readonly pmtu = new PmtuRaise();
  /** When the current run of probe timeouts began (checkBlackHole). */
  private ptoRunStart: Instant = NEVER;
  private readonly keyUpdatesOut: Array<{ seq: number; publicKey: Uint8Array }> = [];
  private closeFrame: { code: ErrorCode; reason: string } | null = null;
  /** Packets sent + received, and bytes in flight, when idle() last marked the window unused. */
  private idleMarkedAt = -1;
  private idleMarkedInFlight = -1;
  /** What prepareShort found for the datagram at hand (one object, not one per packet). */
  private readonly rx: { pn: number; key: PacketKey | null; which: 'current' | 'next' | 'prev' } = { pn: 0, key: null, which: 'current' };
  private readonly rxReader = new Reader(new Uint8Array(0));
  /** closeFrame answers the peer's CLOSE. */
  private closeEcho = false;
  private closeEmitted = false;
  private readonly openBatch = new ProtectBatch(1);
  private readonly openBatchN = new ProtectBatch(64);
  private readonly pendingOpen = new Uint32Array(64);
  /** The datagram lengths of the packets in openBatchN. */
  private readonly pendingLen = new Uint32Array(64);
  /** CHUNK frames of the packet being applied (reused: no object per packet). */
  private readonly rxChunks = new ChunkFramePool();
  // Reused per packet. Never `length = 0` a hot array: V8 drops its storage and the
  // next push allocates again. A count says how many entries are live.
  private readonly frameScratch: Frame[] = [];
  private rxFrameCount = 0;
  private readonly frameReader = new Reader(new Uint8Array(0));
  // Reused by buildPacket: the packet being built (never kept past it).
  private readonly txWriter = new Writer(new Uint8Array(0));
  /**
   * The last CHUNK frame's data, not yet in the packet being built: the
   * sealer encrypts it straight from the chunk buffer (ProtectBatch tails).
   * Copied in if another frame follows it.
   */
  private readonly txTail: { buf: Uint8Array; at: number; src: Uint8Array; start: number; len: number } = { buf: EMPTY_BYTES, at: 0, src: EMPTY_BYTES, start: 0, len: 0 };
  private readonly txHdr: { keyPhase: number; dcid: Uint8Array; pnTruncated: number } = { keyPhase: 0, dcid: new Uint8Array(0), pnTruncated: 0 };
  private readonly txFrames = new EntryList();
  private txAckEliciting = false;
  private readonly hdrScratch = { keyPhase: 0, dcid: new Uint8Array(0), pnTruncated: 0 };
  private readonly sealBatch: ProtectBatch;
  readonly stats: SessionStats = {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    packetsLost: 0,
    keyUpdates: 0,
    pathValidations: 0,
  };

  constructor(
    deps: SessionDeps,
    opts: {
      initiator: boolean;
      now: Instant;
      addr: SocketAddr;
      localCid: Uint8Array;
      remoteCid: Uint8Array;
      staticKey: StaticKeyPair;
      expectedRemote: Uint8Array | null;
      sealCapacity: number;
      /** Our stateless-reset token for localCid (PROTOCOL.md §3a). */
      resetToken?: Uint8Array | null;
    },
  ) {
    this.d = deps;
    this.localResetToken = opts.resetToken ?? null;
    this.cfg = deps.config;
    this.id = deps.id;
    this.initiator = opts.initiator;
    this.localCid = opts.localCid;
    this.remoteCid = opts.remoteCid;
    this.confirmed = !opts.initiator;
    this.path = new PathState(opts.addr, false);
    this.hs = new Handshake(deps.backend, opts.initiator, opts.staticKey, deps.rng, opts.expectedRemote);
    this.handshakeDeadline = opts.now + this.cfg.handshakeTimeout;
    this.lastRecvAt = opts.now;
    this.lastAckElicitingSentAt = opts.now;
    this.sealBatch = new ProtectBatch(opts.sealCapacity);
    this.recovery = new LossRecovery<SentPacket>({
      congestion: createController(this.cfg.congestion, { mtu: this.cfg.maxDatagramSize, rng: deps.rng }),
      rtt: this.rtt,
      maxAckDelay: this.cfg.maxAckDelay,
      maxPtoInterval: this.cfg.maxPtoInterval,
      maxPacingRate: this.cfg.maxSendRate,
      mtu: this.cfg.maxDatagramSize,
    });
    this.acks = new AckTracker({ maxAckDelay: this.cfg.maxAckDelay });
    this.ctlRecv = new ControlStreamAssembler(this.cfg.maxControlBuffer);
    this.transfers = new TransferTable({
      sessionId: () => this.id,
      peerId: () => this.peerId,
      emit: deps.emit,
      sendControl: (m) => this.ctlSend.queue(toWireControl(m)),
      hasher: deps.hasher,
      windowBytes: this.cfg.transferWindow,
      ...(this.cfg.sessionBufferBytes !== null ? { sessionBufferBytes: this.cfg.sessionBufferBytes } : {}),
      ...(deps.receiveBudget ? { receiveBudget: deps.receiveBudget } : {}),
      sendBufferBytes: this.cfg.sendBufferBytes,
      maxTransfers: this.cfg.maxTransfers,
      peerMaxTransfers: () => this.remoteParams.maxTransfers,
      peerStoredNames: () => this.remoteParams.storedNames === 1,
      peerWrittenProgress: () => this.remoteParams.writtenProgress === 1,
      peerZeroChunks: () => this.remoteParams.zeroChunks === 1,
      peerLeafRows: () => this.remoteParams.leafRows === 1,
      controlBuffered: () => this.ctlSend.buffered,
      controlWindow: () => this.ctlSend.window,
      firstLocalId: opts.initiator ? 0 : 1,
      ...(deps.releaseChunk ? { releaseChunk: deps.releaseChunk } : {}),
      ...(deps.allocChunk ? { allocChunk: deps.allocChunk } : {}),
    });
  }

  /**
   * Keep the session alive with pings while nothing is being transferred: the sender holds it
   * while it walks and hashes before its first offer (a big file takes longer than idle_timeout).
   */
  holdOpen = false;

  /** idle_timeout: the lower of ours and the peer's (RFC 9000 §10.1). */
  private get idleTimeout(): Duration {
    const peer = this.remoteParams.idleTimeoutMs;
    return peer !== undefined && peer > 0 ? Math.min(this.cfg.idleTimeout, peer * 1000) : this.cfg.idleTimeout;
  }

  /**
   * The peer has sent nothing for a while: it has most likely left this session (a sender
   * re-dials on a new one when it thinks it lost this). A sending peer's data, or its pings when
   * it has none, come much more often: 1 s or three PTOs, and two keep-alive intervals at most.
   */
  /** When a packet of the peer's last authenticated. */
  get lastHeardAt(): Instant {
    return this.lastRecvAt;
  }

  /**
   * A PMTU black hole (RFC 8899 §4.3): the path stopped carrying our datagrams' size and no
   * ICMP said so (filtered), so nothing we send is acknowledged while the peer is still heard.
   * After BLACK_HOLE_PTOS probe timeouts in a row with the peer heard since the first, the
   * session falls back to 1200-byte datagrams, which every path must carry. A total outage
   * (the peer unheard too) is left to the idle timeout.
   */
  private checkBlackHole(now: Instant): void {
    const n = this.recovery.consecutivePtos;
    if (n === 1) this.ptoRunStart = now;
    if (n < BLACK_HOLE_PTOS || this.lastRecvAt <= this.ptoRunStart) return;
    this.fallBackToMinimum(now);
  }

  /**
   * The same black hole where the probe timeouts never run three in a row: full-size packets
   * keep getting lost while the peer acknowledges small ones (a retransmission at the end of a
   * transfer, whose PTO probes are pings that get through). See LossRecovery.largeLossRun.
   */
  private checkLargeLosses(now: Instant): void {
    const run = this.recovery.largeLossRun;
    if (run.count < BLACK_HOLE_LOSSES || this.lastRecvAt <= run.since) return;
    this.fallBackToMinimum(now);
  }

  private fallBackToMinimum(now: Instant): void {
    const from = this.datagramSize;
    if (from <= MIN_MAX_DATAGRAM_SIZE) return;
    this.pmtu.onBlackHole(now, MIN_MAX_DATAGRAM_SIZE);
    this.recovery.onMtuUpdate(this.datagramSize);
    this.d.emit({ type: 'black_hole', session: this.id, addr: this.path.addr, from, to: this.datagramSize });
  }

  /** The largest datagram this session sends now: its own size, the peer's, the path's, and a black hole's. */
  get datagramSize(): number {
    return Math.min(this.pathCeiling, this.pmtu.limit);
  }

  /** The size without a black hole: its own, the peer's, and what ICMP or the route told. */
  private get pathCeiling(): number {
    return Math.min(this.cfg.maxDatagramSize, this.remoteParams.maxDatagramSize ?? Infinity, this.pathDatagram);
  }

  /**
   * The path carries at most `size` bytes unfragmented (an ICMP "packet too big" lowered the
   * route's MTU): later packets, retransmissions included, keep within it. Never below 1200,
   * so a forged ICMP message can cost little. Returns whether the size went down.
   */
  limitDatagramSize(size: number): boolean {
    const next = Math.max(MIN_MAX_DATAGRAM_SIZE, Math.floor(size));
    if (next >= this.pathCeiling) return false;
    const before = this.datagramSize;
    // Kept below a black hole's limit too: it is the ceiling probes climb back to.
    this.pathDatagram = next;
    if (this.datagramSize >= before) return false;
    this.recovery.onMtuUpdate(this.datagramSize);
    return true;
  }

  /**
   * The route carries `size` bytes again (its MTU grew back: the kernel's learnt path MTU
   * expired, a tunnel went away): a size ICMP or the route lowered goes up to it, never above
   * this session's own and the peer's. Returns whether the size went up.
   */
  raiseDatagramSize(size: number): boolean {
    if (this.pathDatagram === Infinity) return false;
    const next = Math.floor(size);
    if (next <= this.pathDatagram) return false;
    const before = this.datagramSize;
    this.pathDatagram = next >= Math.min(this.cfg.maxDatagramSize, this.remoteParams.maxDatagramSize ?? Infinity) ? Infinity : next;
    if (this.datagramSize <= before) return false;
    this.recovery.onMtuUpdate(this.datagramSize);
    return true;
  }

  peerQuiet(now: Instant): boolean {
    const keepAlive = Math.min(this.cfg.keepAlive, Math.floor(this.idleTimeout / 3));
    const quiet = Math.min(2 * keepAlive, Math.max(secs(1), 3 * this.rtt.pto(this.cfg.maxAckDelay)));
    return now - this.lastRecvAt > quiet;
  }

  /** Pings this often while held or transferring: a third of the idle timeout at most. */
  private get keepAliveEvery(): Duration | null {
    if (!this.holdOpen && this.transfers.activeCount === 0) return null;
    return Math.min(this.cfg.keepAlive, Math.floor(this.idleTimeout / 3));
  }

  get established(): boolean {
    return this.state.kind === 'established';
  }

  /** Every control message queued so far has been acknowledged. */
  get controlAcked(): boolean {
    return this.ctlSend.allAcked;
  }

  get closed(): boolean {
    return this.state.kind === 'closed';
  }

  /**
   * Our transport parameters. The stateless-reset token is a secret: it goes only
   * into encrypted handshake messages (RESPONSE, FINISH), never into INITIATION,
   * whose payload travels in the clear.
   */
  localParams(withResetToken = true): TransportParams {
    const p: TransportParams = {
      maxDatagramSize: this.cfg.maxDatagramSize,
      idleTimeoutMs: Math.round(this.cfg.idleTimeout / 1000),
      // What every new transfer is sure to get: with a shared session budget a new one may get
      // no more than its first missing chunk (which a budget of 1 grants), so promise only that.
      initialWindow: this.cfg.sessionBufferBytes !== null ? 1 : this.cfg.transferWindow,
      maxTransfers: this.cfg.maxTransfers,
      storedNames: 1,
      writtenProgress: 1,
      zeroChunks: 1,
      leafRows: 1,
      // What ctlRecv buffers (an old peer keeps to 65536 all the same).
      ...(this.cfg.maxControlBuffer >= MIN_CONTROL_WINDOW ? { controlWindow: this.cfg.maxControlBuffer } : {}),
      sourceCid: this.localCid,
    };
    if (withResetToken && this.localResetToken) p.statelessResetToken = this.localResetToken;
    return p;
  }

  /** The token a stateless reset from the peer ends with, learned in the authenticated handshake; null if none. */
  get peerResetToken(): Uint8Array | null {
    return this.state.kind === 'handshake' ? null : (this.remoteParams.statelessResetToken ?? null);
  }

  // ---------------------------------------------------------------- handshake

  /** Initiator: the Noise message 1 for the INITIATION packet. */
  writeInitiation(): Uint8Array {
    return this.requireHs().write(this.localParams(false));
  }

  /** Initiator: remember the datagram to retransmit until answered. */
  armHandshakeRetransmit(now: Instant, datagram: Uint8Array): void {
    this.handshakeDatagram = datagram;
    this.handshakeSendAt = now + this.cfg.handshakeRetransmit;
  }

  /**
   * Initiator, on a COOKIE_REPLY: may it draw a re-sent INITIATION now? The first one may; after
   * that, at most one per retransmit interval (PROTOCOL.md §6), so forged replies cannot make us
   * send our 1200-byte INITIATION at their rate.
   */
  mayResendForCookie(now: Instant): boolean {
    return now >= this.cookieResendAt;
  }

  /**
   * Initiator: `datagram` (the INITIATION with the cookie as token) goes out now in answer to a
   * COOKIE_REPLY. It counts as a retransmission: the backoff advances as when the timer fires,
   * the timer repeats `datagram` from then on, and no other COOKIE_REPLY draws an INITIATION
   * before that timer is due.
   */
  armCookieResend(now: Instant, datagram: Uint8Array): void {
    this.handshakeDatagram = datagram;
    this.handshakeRetries++;
    this.handshakeSendAt = now + this.handshakeInterval();
    this.cookieResendAt = this.handshakeSendAt;
  }

  /** Responder: read message 1, return message 2. */
  onInitiation(noise: Uint8Array): Uint8Array {
    const hs = this.requireHs();
    hs.read(noise);
    return hs.write(this.localParams());
  }

  /** Initiator: read message 2, return message 3, and install the keys. */
  onResponse(now: Instant, noise: Uint8Array): Uint8Array {
    const hs = this.requireHs();
    hs.read(noise);
    const msg3 = hs.write(this.localParams());
    this.completeHandshake(now);
    this.adoptEchoedCid();
    return msg3;
  }

  /** Responder: read message 3; returns the initiator's static key. */
  onFinish(now: Instant, noise: Uint8Array): Uint8Array {
    const hs = this.requireHs();
    hs.read(noise);
    this.completeHandshake(now);
    this.adoptEchoedCid();
    this.path.validated = true; // FINISH proves the initiator received our RESPONSE
    this.pingsOwed++; // confirm the handshake to the initiator at once
    return this.remoteStatic as Uint8Array;
  }

  /**
   * Long-header CIDs travel in the clear, outside the Noise transcript: the peer's
   * own CID echoed in its encrypted parameters wins over the header's copy, so a
   * rewritten or corrupted header cannot point our packets at a CID it never had.
   */
  private adoptEchoedCid(): void {
    const echoed = this.remoteParams.sourceCid;
    if (echoed !== undefined && !sameBytes(echoed, this.remoteCid)) this.remoteCid = echoed.slice();
  }

  private completeHandshake(now: Instant): void {
    const hs = this.requireHs();
    const r = hs.finish();
    this.hs = null;
    this.remoteStatic = r.remoteStatic;
    this.peerId = hex(r.remoteStatic);
    this.remoteParams = r.remoteParams;
    // An older peer announces no control_window: it buffers the fixed 65536 bytes.
    if (r.remoteParams.controlWindow !== undefined) this.ctlSend.widenWindow(r.remoteParams.controlWindow);
    // The peer's size may be below ours: the controller, pacer and loss accounting use the real one.
    if (this.datagramSize < this.cfg.maxDatagramSize) this.recovery.onMtuUpdate(this.datagramSize);
    this.keys = new KeySchedule(this.d.keyCrypto, this.initiator, r.sendSecret, r.recvSecret, r.chainingKey, now);
    this.state = { kind: 'established' };
    this.lastRecvAt = now;
    // A responder's endpoint first decides whether the peer may in (announceConnected).
    if (this.initiator) this.announceConnected();
  }

  /**
   * 'connected': the initiator's at once, a responder's once its endpoint has let the peer in
   * (authorised, under the session cap). A refused one only closes: it never was a session.
   */
  announceConnected(): void {
    this.d.emit({ type: 'connected', session: this.id, peerId: this.peerId, addr: this.path.addr, initiator: this.initiator });
  }

  private requireHs(): Handshake {
    if (!this.hs) throw new WraithError('E_NOISE_STATE', 'handshake already finished');
    return this.hs;
  }

  /** Handshake bytes from the peer's address count toward its send budget. */
  onHandshakeBytes(from: SocketAddr, n: number): void {
    this.lastRecvAt = Math.max(this.lastRecvAt, 0);
    this.path.onReceived(from, n);
  }

  // ------------------------------------------------------------------ receive

  /**
   * A short-header datagram addressed to this session. Anything that does
   * not authenticate, or does not parse, is dropped without changing state.
   */
  handleShort(now: Instant, from: SocketAddr, datagram: Uint8Array): void {
    if (!this.prepareShort(now, from, datagram, 0, datagram.length)) return;
    const k = this.rx;
    const b = this.openBatch;
    b.buf = datagram;
    b.count = 1;
    b.offsets[0] = 0;
    b.headerLens[0] = SHORT_HEADER_LEN;
    b.payloadLens[0] = datagram.length - SHORT_HEADER_LEN;
    b.pns[0] = k.pn;
    b.status[0] = 0;
    (k.key as PacketKey).open(b);
    if (b.status[0] !== 1) return this.unprocessable(now, from, datagram, 'auth');
    this.acceptShort(now, from, datagram, 0, datagram.length, b.payloadLens[0] ?? 0, k.pn, k.which);
  }

  /**
   * Several short-header datagrams of this session from one receive batch:
   * the same checks as handleShort, with one open call per run of packets
   * under the same key (the batch-shaped path a native AEAD speeds up).
   */
  handleShortBatch(now: Instant, batch: DatagramBatch, idx: readonly number[]): void {
    const b = this.openBatchN;
    const pending = this.pendingOpen;
    const pendingLen = this.pendingLen;
    const buf = batch.buf;
    let i = 0;
    while (i < idx.length) {
      // Collect a run under one key.
      b.buf = batch.buf;
      b.count = 0;
      let runKey: PacketKey | null = null;
      let runWhich: 'current' | 'next' | 'prev' = 'current';
      for (; i < idx.length && b.count < b.offsets.length; i++) {
        const slot = idx[i] as number;
        const off = batch.offsets[slot] ?? 0;
        const len = batch.lengths[slot] ?? 0;
        const wasClosed = this.state.kind === 'closed';
        const ok = this.prepareShort(now, batch.addrs[slot] as SocketAddr, buf, off, len);
        // A stateless reset for this very session ended it: nothing collected may be opened.
        if (!wasClosed && this.state.kind === 'closed') return;
        if (!ok) continue;
        const k = this.rx;
        if (runKey !== null && k.key !== runKey) break;
        runKey = k.key;
        runWhich = k.which;
        const j = b.count++;
        b.offsets[j] = off;
        b.headerLens[j] = SHORT_HEADER_LEN;
        b.payloadLens[j] = len - SHORT_HEADER_LEN;
        b.pns[j] = k.pn;
        b.status[j] = 0;
        pending[j] = slot;
        pendingLen[j] = len;
      }
      if (runKey === null || b.count === 0) continue;
      runKey.open(b);
      const n = b.count;
      for (let j = 0; j < n; j++) {
        const slot = pending[j] as number;
        const off = b.offsets[j] ?? 0;
        const len = pendingLen[j] ?? 0;
        if (b.status[j] !== 1) {
          this.unprocessable(now, batch.addrs[slot] as SocketAddr, buf.subarray(off, off + len), 'auth');
          if (this.state.kind === 'closed') return;
          continue;
        }
        const pn = b.pns[j] ?? 0;
        // A duplicate inside the batch passed the first check; catch it now.
        if (!this.replay.check(pn)) {
          this.d.drop('replay');
          continue;
        }
        this.acceptShort(now, batch.addrs[slot] as SocketAddr, buf, off, len, b.payloadLens[j] ?? 0, pn, runWhich);
        if (this.state.kind === 'closed') return;
      }
    }
  }

  /**
   * Header, packet number, replay window and key phase of the datagram at
   * buf[off, off + len) into `rx`; false when dropped.
   */
  private prepareShort(now: Instant, from: SocketAddr, buf: Uint8Array, off: number, len: number): boolean {
    const keys = this.keys;
    if (!keys || this.state.kind === 'closed') {
      this.d.drop('no_keys');
      return false;
    }
    if (len < SHORT_HEADER_LEN + AEAD_TAG_LEN) {
      this.d.drop('truncated');
      return false;
    }
    let hdr: { keyPhase: number; pnTruncated: number };
    try {
      // The endpoint routed it by its CID: only the key phase and packet number are needed.
      hdr = decodeShortHeaderFields(this.rxReader.reset(buf, off, off + len), this.hdrScratch);
    } catch {
      this.d.drop('malformed_header');
      return false;
    }
    const pn = expandPn(this.largestRecvPn, hdr.pnTruncated);
    if (!this.replay.check(pn)) {
      this.unprocessable(now, from, buf.subarray(off, off + len), 'replay');
      return false;
    }
    const k = keys.recvKeyFor(hdr.keyPhase);
    if (!k) {
      this.unprocessable(now, from, buf.subarray(off, off + len), 'key_phase');
      return false;
    }
    const rx = this.rx;
    rx.pn = pn;
    rx.key = k.key;
    rx.which = k.which;
    return true;
  }

  /**
   * A datagram that could not be processed may be a stateless reset (its random
   * CID happened to name this session): the endpoint checks its token table.
   * Otherwise it is dropped and counted as before.
   */
  private unprocessable(now: Instant, from: SocketAddr, datagram: Uint8Array, reason: string): void {
    if (this.d.unprocessable?.(now, from, datagram)) return;
    this.d.drop(reason);
  }

  /** An authenticated packet (the datagram at buf[off, off + len)): parse all frames first, then let it change state. */
  private acceptShort(
    now: Instant,
    from: SocketAddr,
    buf: Uint8Array,
    off: number,
    len: number,
    plainLen: number,
    pn: number,
    which: 'current' | 'next' | 'prev',
  ): void {
    const keys = this.keys as KeySchedule;
    const frames = this.frameScratch;
    this.rxFrameCount = 0;
    let n = 0;
    try {
      // decodeFrames' loop over a reused reader, without a view of the plaintext.
      const start = off + SHORT_HEADER_LEN;
      const r = this.frameReader.reset(buf, start, start + plainLen);
      while (!r.atEnd()) frames[n++] = decodeFrame(r, this.rxChunks);
      this.rxFrameCount = n;
      if (n === 0) throw new WraithError('E_WIRE_FRAME', 'empty packet');
    } catch {
      this.rxFrameCount = n;
      this.clearRxFrames();
      return this.d.drop('malformed_frame');
    }
    // Authentic and well-formed: only now may it change state.
    this.replay.commit(pn);
    const newest = pn > this.largestRecvPn;
    if (newest) this.largestRecvPn = pn;
    if (which === 'next') {
      keys.promoteNext(now, 3 * this.rtt.pto(this.cfg.maxAckDelay));
      this.stats.keyUpdates = keys.updates;
      this.d.emit({ type: 'key_update', session: this.id, seq: keys.updates });
    }
    keys.packetsUnderKey++;
    this.stats.packetsReceived++;
    this.stats.bytesReceived += len;
    this.lastRecvAt = now;
    if (!this.confirmed) {
      this.confirmed = true;
      this.handshakeDatagram = null;
      this.handshakeSendAt = NEVER;
    }
    // A new address becomes the candidate first, so this datagram counts toward its
    // anti-amplification budget (RFC 9000 §8.1) and the challenge can go out at once.
    if (!addrEquals(from, this.path.addr) && newest) this.onPeerMoved(now, from);
    this.path.onReceived(from, len);
    let ackEliciting = false;
    for (let i = 0; i < n; i++) if (isAckEliciting(frames[i] as Frame)) ackEliciting = true;
    this.acks.onPacketReceived(now, pn, ackEliciting);
    try {
      for (let i = 0; i < n; i++) this.applyFrame(now, from, frames[i] as Frame);
    } catch (e) {
      const code: ErrorCode = e instanceof WraithError ? e.code : 'E_PROTOCOL';
      this.close(now, code, e instanceof Error ? e.message : 'protocol error');
    }
    this.clearRxFrames();
  }

  private applyFrame(now: Instant, from: SocketAddr, f: Frame): void {
    // A closing session (e.g. refused at FINISH) takes no more offers or data.
    if (this.state.kind !== 'established' && f.type !== 'close' && f.type !== 'ack') return;
    switch (f.type) {
      case 'padding':
      case 'ping':
        return;
      case 'ack': {
        const { acked, lost } = this.recovery.onAckReceived(now, f.largest, f.ackDelay, f.ranges);
        for (const p of acked) this.onPacketAcked(now, p);
        for (const p of lost) this.onPacketLost(now, p);
        if (lost.length > 0) this.checkLargeLosses(now);
        return;
      }
      case 'control': {
        this.ctlRecv.push(f.offset, f.data);
        for (let m = this.ctlRecv.poll(); m; m = this.ctlRecv.poll()) this.transfers.onControl(fromWireControl(m));
        return;
      }
      case 'chunk':
        return this.transfers.onChunk(f.transferId, f.offset, f.data);
      case 'proof':
        return this.transfers.onProof(f.transferId, f.chunkIndex, f.first, f.hashes);
      case 'zero_chunk':
        return this.transfers.onZeroChunk(f.transferId, f.chunkIndex);
      case 'window':
        return this.transfers.onWindow(f.transferId, f.maxOffset);
      case 'key_update': {
        const keys = this.keys;
        if (!keys) return;
        const reply = keys.onKeyUpdate(now, f.seq, f.publicKey, this.d.rng, 3 * this.rtt.pto(this.cfg.maxAckDelay));
        if (reply) this.keyUpdatesOut.push(reply);
        return;
      }
      case 'path_challenge':
        this.path.responses.push({ addr: from, data: f.data.slice() });
        return;
      case 'path_response':
        if (this.path.onResponse(f.data)) {
          this.stats.pathValidations = this.path.validations;
          this.d.emit({ type: 'path_validated', session: this.id, addr: this.path.addr });
        }
        return;
      case 'close': {
        const code = errorCodeForWire(f.errorCode);
        const local = code === 'E_INTERNAL' && f.errorCode === 0 ? null : code;
        if (this.state.kind !== 'established' || !this.keys) {
          this.finishClosed(local, f.reason, true);
          return;
        }
        // Answer with one CLOSE of our own (PROTOCOL.md §4): the closing peer then ends at once
        // instead of lingering 3 × PTO. The session is over for us now; it only sends that.
        this.emitClosed(local, f.reason, true);
        this.closeFrame = { code: 'E_PEER_CLOSED', reason: '' };
        this.closeEcho = true;
        this.state = { kind: 'closing', until: now + 3 * this.rtt.pto(this.cfg.maxAckDelay) };
        return;
      }
    }
  }

  /** An authenticated packet with the highest number came from elsewhere. */
  private onPeerMoved(now: Instant, from: SocketAddr): void {
    const c = this.path.candidate;
    if (c && addrEquals(c.addr, from)) return;
    const challenge = new Uint8Array(8);
    this.d.rng.fill(challenge);
    this.path.candidate = { addr: from, challenge, sentAt: now, bytesReceived: 0, bytesSent: 0 };
  }

  private onPacketAcked(now: Instant, p: SentPacket): void {
    if (!isPacketList(p)) return this.transfers.itemAcked(p);
    for (const f of p) {
      if (isItem(f)) this.transfers.itemAcked(f);
      else if (f.k === 'control') this.ctlSend.onAcked(f.offset, f.len);
      else if (f.k === 'pmtu_probe') this.pmtuProbeAcked(now, f.size);
    }
  }

  private pmtuProbeAcked(now: Instant, size: number): void {
    const from = this.datagramSize;
    if (!this.pmtu.acked(now, size, this.pathCeiling)) return;
    this.recovery.onMtuUpdate(this.datagramSize);
    this.d.emit({ type: 'pmtu_raised', session: this.id, addr: this.path.addr, from, to: this.datagramSize });
  }

  private onPacketLost(now: Instant, p: SentPacket): void {
    if (!isPacketList(p)) {
      this.stats.packetsLost++;
      return this.transfers.itemLost(p);
    }
    const only = p.length === 1 ? p[0] : undefined;
    // A probe that was too big says nothing of loss or congestion: the search takes it.
    if (only !== undefined && !isItem(only) && only.k === 'pmtu_probe') return this.pmtu.lost(now, only.size);
    this.stats.packetsLost++;
    for (const f of p) {
      if (isItem(f)) {
        this.transfers.itemLost(f);
        continue;
      }
      switch (f.k) {
        case 'control':
          this.ctlSend.onLost(f.offset, f.len);
          break;
        case 'window':
          this.transfers.windowDirty.add(f.transferId);
          break;
        case 'key_update': {
          const again = this.keys?.pendingUpdateFrame(f.seq);
          if (again) this.keyUpdatesOut.push(again);
          break;
        }
        case 'path_challenge':
          if (this.path.candidate && this.path.candidate.challenge === f.data) this.path.candidate.sentAt = -1;
          break;
        case 'pmtu_probe': // goes alone (above)
        case 'close':
          break;
      }
    }
  }

  // ----------------------------------------------------------------- commands

  offer(manifest: FileManifest, tree: MerkleTree): number {
    this.requireEstablished();
    return this.transfers.offer(manifest, tree);
  }

  /**
   * The peer sent a stateless reset (PROTOCOL.md §3a): it has no state for this
   * session. It ends at once and sends nothing more, not even a CLOSE.
   */
  peerReset(): void {
    if (this.state.kind === 'closed') return;
    this.closeFrame = null;
    this.handshakeDatagram = null;
    this.handshakeSendAt = NEVER;
    this.finishClosed('E_PEER_RESET', 'stateless reset: the peer restarted or lost the session', true);
  }

  /** End a session that never got established (handshake failure). */
  fail(code: ErrorCode, reason: string): void {
    this.finishClosed(code, reason, false);
  }

  /** Responder: the initiator re-sent FINISH, so it missed our confirmation. */
  reconfirm(): void {
    this.pingsOwed++;
  }

  requireEstablished(): void {
    if (this.state.kind !== 'established') throw new WraithError('E_PEER_CLOSED', 'the session is not established');
  }

  /** Close with a CLOSE frame; the session lingers briefly to send it. */
  close(now: Instant, code: ErrorCode | null, reason: string): void {
    if (this.state.kind === 'closed' || this.state.kind === 'closing') return;
    if (this.state.kind === 'handshake' || !this.keys) {
      this.finishClosed(code, reason, false);
      return;
    }
    this.closeFrame = { code: code ?? 'E_PEER_CLOSED', reason: reason.slice(0, 200) };
    this.state = { kind: 'closing', until: now + 3 * this.rtt.pto(this.cfg.maxAckDelay) };
    this.emitClosed(code, reason, false);
  }

  private finishClosed(code: ErrorCode | null, reason: string, byPeer: boolean): void {
    this.state = { kind: 'closed' };
    this.emitClosed(code, reason, byPeer);
    this.keys?.destroy();
    this.keys = null;
  }

  private emitClosed(code: ErrorCode | null, reason: string, byPeer: boolean): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    for (const id of this.transfers.openTransfers()) {
      this.d.emit({
        type: 'transfer_failed',
        session: this.id,
        transferId: id,
        code: code ?? 'E_PEER_CLOSED',
        reason: reason || 'session closed',
        byPeer,
      });
    }
    this.d.emit({ type: 'closed', session: this.id, code, reason, byPeer });
  }

  // -------------------------------------------------------------------- timers

  timeout(): Instant {
    switch (this.state.kind) {
      case 'closed':
        return NEVER;
      case 'closing':
        return this.state.until;
      case 'handshake':
        return Math.min(this.handshakeDeadline, this.handshakeSendAt);
      case 'established':
        break;
    }
    const keys = this.keys as KeySchedule;
    let t = Math.min(
      this.recovery.timeout(),
      this.acks.ackDeadline(),
      this.lastRecvAt + this.idleTimeout,
      keys.timeout(),
      this.handshakeSendAt,
    );
    const every = this.keepAliveEvery;
    if (every !== null) t = Math.min(t, this.lastAckElicitingSentAt + every);
    if (this.initiator && !keys.updateInFlight) t = Math.min(t, keys.keyInstalledAt + this.cfg.rekeyInterval);
    // Data held back by the pacer alone: wake when it may leave.
    if (this.pacingWakeAt < t && this.transfers.hasData() && this.recovery.canSend(this.datagramSize)) {
      t = this.pacingWakeAt;
    }
    return t;
  }

  handleTimeout(now: Instant): void {
    switch (this.state.kind) {
      case 'closed':
        return;
      case 'closing':
        if (now >= this.state.until) this.finishClosed(null, '', false);
        return;
      case 'handshake':
        if (now >= this.handshakeDeadline) {
          this.finishClosed('E_HANDSHAKE_TIMEOUT', 'the handshake did not complete in time', false);
        }
        return;
      case 'established':
        break;
    }
    if (now - this.lastRecvAt >= this.idleTimeout) {
      this.finishClosed('E_IDLE_TIMEOUT', 'nothing heard from the peer within idle_timeout', false);
      return;
    }
    const keys = this.keys as KeySchedule;
    keys.onTimeout(now);
    if (now >= this.recovery.timeout()) {
      const { lost, probes } = this.recovery.onTimeout(now);
      for (const p of lost) this.onPacketLost(now, p);
      this.pingsOwed += probes;
      if (probes > 0) {
        this.smallProbeOwed = true;
        this.checkBlackHole(now);
      } else if (lost.length > 0) this.checkLargeLosses(now);
    }
    const every = this.keepAliveEvery;
    if (every !== null && now - this.lastAckElicitingSentAt >= every) this.pingsOwed = Math.max(this.pingsOwed, 1);
    if (keys.updateDue(now, this.cfg.rekeyInterval, this.cfg.rekeyPackets)) this.keyUpdatesOut.push(keys.startUpdate(this.d.rng));
  }

  // ------------------------------------------------------------------ transmit

  private hasPendingData(): boolean {
    return this.transfers.hasData() || this.ctlSend.hasPending || this.transfers.windowDirty.size > 0;
  }

  /** Handshake datagram due for retransmission (initiator), or null. */
  pollHandshakeRetransmit(now: Instant): Uint8Array | null {
    if (!this.handshakeDatagram || now < this.handshakeSendAt) return null;
    this.handshakeRetries++;
    this.handshakeSendAt = now + this.handshakeInterval();
    return this.handshakeDatagram;
  }

  /** The handshake retransmission interval after `handshakeRetries` retries: doubled per retry. */
  private handshakeInterval(): Duration {
    // Capped like the PTO (PROTOCOL.md §5b): under heavy loss the handshake keeps trying about
    // once a second instead of waiting up to 16 s between attempts (and timing out first).
    const backoff = this.cfg.handshakeRetransmit * 2 ** Math.min(this.handshakeRetries, 6);
    return Math.min(backoff, Math.max(this.cfg.handshakeRetransmit, this.cfg.maxPtoInterval));
  }

  /**
   * Write up to `max` packets into `out` from out.count on, sealed in one
   * batch. Returns the number written.
   */
  pollTransmit(now: Instant, out: DatagramBatch, max: number): number {
    const keys = this.keys;
    if (!keys || this.state.kind === 'closed' || this.state.kind === 'handshake') return 0;
    this.transfers.pollReads();
    this.transfers.pumpLeaves();
    if (this.state.kind === 'established' && this.idle(now)) return 0;
    const key = keys.currentSendKey;
    const sb = this.sealBatch;
    sb.buf = out.buf;
    sb.count = 0;
    sb.clearTails();
    const tail = this.txTail;
    const limit = Math.min(max, out.capacity - out.count, sb.offsets.length);
    let written = 0;
    while (written < limit) {
      const slot = out.count;
      const len = this.buildPacket(now, out, slot, key, keys.sendPhase);
      if (len === 0) break;
      const i = sb.count++;
      sb.offsets[i] = out.offsets[slot] ?? 0;
      sb.headerLens[i] = SHORT_HEADER_LEN;
      sb.payloadLens[i] = len - SHORT_HEADER_LEN;
      sb.pns[i] = this.nextPn - 1;
      if (tail.len > 0) {
        sb.tailLens[i] = tail.len;
        sb.tailOffs[i] = tail.start;
        sb.tailIdx[i] = sb.tailSource(tail.src);
        tail.len = 0;
        tail.src = tail.buf = EMPTY_BYTES;
      } else {
        sb.tailLens[i] = 0;
      }
      written++;
      if (this.state.kind !== 'established') break;
    }
    if (this.appLimited) {
      this.appLimited = false;
      this.recovery.onAppLimited(now);
    }
    if (sb.count > 0) {
      key.seal(sb);
      sb.clearTails();
      for (let i = 0; i < sb.count; i++) {
        const slot = out.count - sb.count + i;
        out.lengths[slot] = SHORT_HEADER_LEN + (sb.payloadLens[i] ?? 0);
      }
    }
    return written;
  }

  /**
   * Nothing to send now, told without building a packet: an endpoint asks every session on
   * every loop, and most of a busy daemon's sessions are idle. It does what buildPacket would
   * do in that case (tell the controller the window went unused) and nothing else.
   */
  private idle(now: Instant): boolean {
    if (
      this.transfers.hasData() ||
      this.pingsOwed > 0 ||
      this.keyUpdatesOut.length > 0 ||
      this.transfers.windowDirty.size > 0 ||
      this.ctlSend.hasPending ||
      this.path.responses.length > 0 ||
      this.path.candidate !== null ||
      this.acks.ackDeadline() <= now
    ) {
      return false;
    }
    // Marking again with nothing sent, received or lost since would change nothing.
    const activity = this.stats.packetsSent + this.stats.packetsReceived;
    const inFlight = this.recovery.bytesInFlight;
    if (activity === this.idleMarkedAt && inFlight === this.idleMarkedInFlight) return true;
    const mds = this.datagramSize;
    if (this.recovery.canSend(mds) && this.recovery.pacer.nextSendTime(now, mds) <= now) {
      this.recovery.onAppLimited(now);
      this.idleMarkedAt = activity;
      this.idleMarkedInFlight = inFlight;
    }
    return true;
  }

  /** Build one packet's plaintext in slot `slot`; returns its length (0: nothing to send). */
  private buildPacket(now: Instant, out: DatagramBatch, slot: number, key: PacketKey, phase: number): number {
    void key;
    const mds = Math.min(this.datagramSize, out.slotSize);
    const cap = mds - AEAD_TAG_LEN;
    const base = out.offsets[slot] ?? 0;
    const w = this.txWriter.reset(out.buf, base, base + cap);
    this.txTail.len = 0; // nothing deferred may carry over from a packet that was not finished
    const pn = this.nextPn;
    const hdr = this.txHdr;
    hdr.keyPhase = phase;
    hdr.dcid = this.remoteCid;
    hdr.pnTruncated = truncatePn(pn);
    encodeShortHeader(w, hdr);
    const frames = this.txFrames;
    frames.clear();
    this.txAckEliciting = false;
    let dest = this.path.addr;
    const put = this.txPut;

    // CLOSE goes alone and once.
    if (this.state.kind === 'closing') {
      const c = this.closeFrame;
      if (!c) return 0;
      this.closeFrame = null;
      // An answer to the peer's CLOSE is all there is left to send.
      if (this.closeEcho) this.state = { kind: 'closing', until: now };
      put({ type: 'close', errorCode: wireCodeFor(c.code), reason: c.reason });
      return this.finishPacket(now, out, slot, w, pn, frames, false, dest);
    }

    // Path frames travel to the address they concern.
    const resp = this.path.responses.shift();
    if (resp) {
      dest = resp.addr;
      put({ type: 'path_response', data: resp.data });
      return this.finishPacket(now, out, slot, w, pn, frames, true, dest);
    }
    const cand = this.path.candidate;
    if (cand && (cand.sentAt === -1 || cand.bytesSent === 0) && this.path.sendBudget(cand.addr) >= 64) {
      dest = cand.addr;
      cand.sentAt = now;
      put({ type: 'path_challenge', data: cand.challenge });
      frames.push({ k: 'path_challenge', data: cand.challenge });
      return this.finishPacket(now, out, slot, w, pn, frames, true, dest);
    }

    const budget = this.path.sendBudget(dest);
    if (budget < mds) return 0; // anti-amplification: wait for more bytes from the peer

    // A probe for a larger size after a black hole, only while there is data it could carry.
    const probeSize = this.transfers.hasData() ? this.pmtu.due(now, this.pathCeiling) : null;
    if (probeSize !== null && probeSize <= out.slotSize && budget >= probeSize && this.recovery.canSend(probeSize)) {
      return this.buildPmtuProbe(now, out, slot, pn, probeSize);
    }

    // Congestion control gates everything ack-eliciting (probes excepted);
    // pacing gates only file data, so small control frames are never late.
    const ackDue = this.acks.ackDeadline() <= now;
    const congestionOk = this.recovery.canSend(mds);
    const probe = this.pingsOwed > 0;
    // One probe per probe timeout is a bare ping: where full-size packets vanish (a black hole)
    // it still draws an ACK, so the peer is heard and checkBlackHole can tell a black hole from
    // an outage, even when the peer has nothing else to send (the end of a transfer).
    const smallProbe = probe && this.smallProbeOwed && mds > MIN_MAX_DATAGRAM_SIZE;
    if (smallProbe) this.smallProbeOwed = false;
    const controlPending =
      this.keyUpdatesOut.length > 0 || this.transfers.windowDirty.size > 0 || this.ctlSend.hasPending;
    const mayControl = !smallProbe && (probe || (congestionOk && controlPending));
    const pacingAt = this.recovery.pacer.nextSendTime(now, mds);
    const pacingOk = pacingAt <= now;
    this.pacingWakeAt = pacingOk ? NEVER : this.recovery.pacer.wakeTime(now);
    const hasData = this.transfers.hasData();
    const mayData = !smallProbe && (probe || congestionOk) && hasData && pacingOk;
    // Window and pacer had room but nothing to send: bandwidth samples taken now say little.
    if (congestionOk && pacingOk && !hasData) this.appLimited = true;
    if (!ackDue && !mayControl && !mayData && !smallProbe) return 0;

    // ACK whenever one is pending and we send anyway.
    const ack = this.acks.buildAck(now);
    if (ack) {
      if (put({ type: 'ack', largest: ack.largest, ackDelay: Math.floor(ack.ackDelay), ranges: ack.ranges })) {
        this.acks.onAckSent(now);
      }
    }
    if (mayControl || mayData) {
      while (this.keyUpdatesOut.length > 0) {
        const ku = this.keyUpdatesOut[0] as { seq: number; publicKey: Uint8Array };
        if (!put({ type: 'key_update', seq: ku.seq, publicKey: ku.publicKey })) break;
        frames.push({ k: 'key_update', seq: ku.seq });
        this.keyUpdatesOut.shift();
      }
      for (const id of this.transfers.windowDirty) {
        const max = this.transfers.windowFor(id);
        if (max === null) {
          this.transfers.windowDirty.delete(id);
          continue;
        }
        if (!put({ type: 'window', transferId: id, maxOffset: max })) break;
        frames.push({ k: 'window', transferId: id });
        this.transfers.windowDirty.delete(id);
      }
      while (w.remaining > 16) {
        const cf = this.ctlSend.nextFrame(w.remaining - 16);
        if (!cf) break;
        if (!put({ type: 'control', offset: cf.offset, data: cf.data })) {
          this.ctlSend.onLost(cf.offset, cf.data.length);
          break;
        }
        frames.push({ k: 'control', offset: cf.offset, len: cf.data.length });
      }
    }
    if (mayData) {
      while (w.remaining > MIN_ITEM_ROOM) {
        const item = this.transfers.nextItem(w.remaining - CHUNK_FRAME_RESERVE);
        if (!item) {
          this.appLimited = true;
          break;
        }
        if (!(item.kind === 'chunk' ? this.putChunk(item) : put(item.kind === 'proof' ? this.proofFrame(item) : this.zeroFrame(item)))) {
          this.transfers.itemLost(item);
          break;
        }
        frames.push(item);
      }
    }
    if (probe) {
      if (!this.txAckEliciting) put({ type: 'ping' });
      this.pingsOwed--;
      // A probe must be big enough to draw a stateless reset from a restarted peer
      // (PROTOCOL.md §3a), or a sender with nothing else to send waits out idle_timeout.
      const short = STATELESS_RESET_MIN_TRIGGER - (w.offset - base + AEAD_TAG_LEN);
      if (short > 0 && w.remaining >= short) put({ type: 'padding', length: short });
    }
    if (w.offset - base === SHORT_HEADER_LEN) return 0;
    return this.finishPacket(now, out, slot, w, pn, frames, this.txAckEliciting, dest);
  }

  /** PING and PADDING filling `size` bytes on the wire; its loss is no congestion signal. */
  private buildPmtuProbe(now: Instant, out: DatagramBatch, slot: number, pn: number, size: number): number {
    const base = out.offsets[slot] ?? 0;
    const w = this.txWriter.reset(out.buf, base, base + size - AEAD_TAG_LEN);
    encodeShortHeader(w, this.txHdr);
    const frames = this.txFrames;
    frames.clear();
    this.txPut({ type: 'ping' });
    this.txPut({ type: 'padding', length: w.remaining });
    frames.push({ k: 'pmtu_probe', size });
    this.pmtu.sent(size);
    return this.finishPacket(now, out, slot, w, pn, frames, true, this.path.addr, false);
  }

  /** A CHUNK frame whose data stays in the chunk buffer until sealing (see txTail), if it fits. */
  private putChunk(item: SendItem & { kind: 'chunk' }): boolean {
    const w = this.txWriter;
    const len = item.end - item.start;
    if (chunkFrameOverhead(item.transferId, item.offset, len) + len > w.remaining) return false;
    if (this.txTail.len > 0) this.flushTail();
    encodeChunkHeader(w, item.transferId, item.offset, len);
    const t = this.txTail;
    t.buf = w.target;
    t.at = w.skip(len);
    t.src = item.src;
    t.start = item.start;
    t.len = len;
    this.txAckEliciting = true;
    return true;
  }

  /** Another frame follows the deferred CHUNK data: copy the data in after all. */
  private flushTail(): void {
    const t = this.txTail;
    t.buf.set(t.src.subarray(t.start, t.start + t.len), t.at);
    t.len = 0;
    t.src = t.buf = EMPTY_BYTES;
  }

  /** Let go of the last packet's frames (their bytes may be a transport buffer). */
  private clearRxFrames(): void {
    const f = this.frameScratch;
    for (let i = 0; i < f.length && f[i] !== undefined; i++) f[i] = undefined as unknown as Frame;
    this.rxFrameCount = 0;
    this.rxChunks.reset();
  }

  /** Encode a frame into the packet being built, if it fits. */
  private readonly txPut = (f: Frame): boolean => {
    const w = this.txWriter;
    if (frameLength(f) > w.remaining) return false;
    if (this.txTail.len > 0) this.flushTail();
    encodeFrame(w, f);
    if (isAckEliciting(f)) this.txAckEliciting = true;
    return true;
  };

  private finishPacket(
    now: Instant,
    out: DatagramBatch,
    slot: number,
    w: Writer,
    pn: number,
    frames: EntryList,
    ackEliciting: boolean,
    dest: SocketAddr,
    inFlight = ackEliciting,
  ): number {
    const len = w.offset - (out.offsets[slot] ?? 0);
    if (len === SHORT_HEADER_LEN) return 0;
    this.nextPn = pn + 1;
    out.lengths[slot] = len; // plaintext; pollTransmit fixes it after sealing
    out.addrs[slot] = dest;
    out.count = slot + 1;
    const wire = len + AEAD_TAG_LEN;
    const record = frames.record();
    this.recovery.onPacketSent(now, pn, wire, ackEliciting, inFlight, record);
    if (ackEliciting) {
      this.lastAckElicitingSentAt = now;
      this.recovery.pacer.onSent(now, wire);
    }
    this.path.onSent(dest, wire);
    if (this.keys) this.keys.packetsUnderKey++;
    this.stats.packetsSent++;
    this.stats.bytesSent += wire;
    return len;
  }

  private readonly proofScratch: { type: 'proof'; transferId: number; chunkIndex: number; first: number; hashes: Uint8Array } = {
    type: 'proof',
    transferId: 0,
    chunkIndex: 0,
    first: 0,
    hashes: new Uint8Array(0),
  };

  private readonly zeroScratch: { type: 'zero_chunk'; transferId: number; chunkIndex: number } = { type: 'zero_chunk', transferId: 0, chunkIndex: 0 };

  /** The frame for a ZERO_CHUNK item, in a reused object (encoded at once, never kept). */
  private zeroFrame(item: SendItem & { kind: 'zero' }): Frame {
    const f = this.zeroScratch;
    f.transferId = item.transferId;
    f.chunkIndex = item.chunkIndex;
    return f;
  }

  /** The frame for a PROOF item, in a reused object (encoded at once, never kept). CHUNK items go through putChunk. */
  private proofFrame(item: SendItem & { kind: 'proof' }): Frame {
    const f = this.proofScratch;
    f.transferId = item.transferId;
    f.chunkIndex = item.chunkIndex;
    f.first = item.first;
    f.hashes = item.hashes;
    return f;
  }

  // ------------------------------------------------------------------ metrics

  metrics(): Record<string, number> {
    return {
      ...this.recovery.metrics(),
      packets_sent: this.stats.packetsSent,
      packets_received: this.stats.packetsReceived,
      bytes_sent: this.stats.bytesSent,
      bytes_received: this.stats.bytesReceived,
      packets_lost: this.stats.packetsLost,
      key_updates: this.keys?.updates ?? this.stats.keyUpdates,
      path_validations: this.path.validations,
      datagram_size: this.datagramSize,
      ...this.transfers.senderFlow(),
    };
  }
}


function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isPacketList(p: SentPacket): p is readonly SentEntry[] {
  return Array.isArray(p);
}

/** Session-side control messages carry ErrorCode names; the wire carries numbers. */
export type SessionControl = ControlMessage extends infer M
  ? M extends { errorCode: number }
    ? Omit<M, 'errorCode'> & { errorCode: ErrorCode }
    : M
  : never;

function toWireControl(m: SessionControl): ControlMessage {
  if ('errorCode' in m) return { ...m, errorCode: wireCodeFor(m.errorCode) } as ControlMessage;
  return m as ControlMessage;
}

function fromWireControl(m: ControlMessage): SessionControl {
  if ('errorCode' in m) return { ...m, errorCode: errorCodeForWire(m.errorCode as number) } as SessionControl;
  return m as SessionControl;
}
