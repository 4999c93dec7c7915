/** Types of relay.mjs (plain JavaScript so the hand-run CLI needs no build). */

export interface SocketAddr {
  readonly host: string;
  readonly port: number;
}

/** toUpstream: client -> upstream; toClient: upstream -> client. */
export type Direction = 'toUpstream' | 'toClient';

/** Gilbert-Elliott burst loss: a two-state Markov chain stepped once per datagram. */
export interface BurstLoss {
  /** Probability of moving from the good to the bad state. */
  pEnterBad: number;
  /** Probability of moving from the bad back to the good state (mean burst: 1 / pLeaveBad). */
  pLeaveBad: number;
  /** Loss probability in the good state (default 0). */
  lossInGood?: number;
  /** Loss probability in the bad state (default 1). */
  lossInBad?: number;
}

/** Blackhole periods, repeating from relay start: `onMs` dropping everything, `offMs` passing. */
export interface Blackhole {
  onMs: number;
  offMs: number;
  /** Begin with the dropping period (default: begin passing, so a session can start). */
  startOn?: boolean;
}

export interface Impairments {
  /** Independent random loss probability. */
  loss?: number;
  burst?: BurstLoss;
  /** Probability of flipping one random byte among the first 50. */
  corrupt?: number;
  /** Probability of sending a datagram twice. */
  duplicate?: number;
  /** Fixed one-way delay added to every datagram. */
  delayMs?: number;
  /** Uniform jitter: the delay varies by up to +/- jitterMs (clamped at 0). */
  jitterMs?: number;
  /** Probability of holding a datagram back by reorderExtraMs, so later ones overtake it. */
  reorder?: number;
  /** Default 10 ms. */
  reorderExtraMs?: number;
  /** Serialisation rate; 0 or absent: unlimited. */
  rateBytesPerSec?: number;
  /** Backlog the rate limiter holds before it drops (default 64 KiB). */
  rateQueueBytes?: number;
  blackhole?: Blackhole;
}

export interface CapturedDatagram {
  /** 'in': as received by the relay; 'out': as forwarded (after corruption). */
  stage: 'in' | 'out';
  dir: Direction;
  /** The relay's buffer: copy it to keep it. */
  bytes: Buffer;
  from: SocketAddr;
  to: SocketAddr;
  /** Milliseconds since the relay started. */
  atMs: number;
}

export interface RelayConfig {
  /** Where clients send (default "127.0.0.1:0": a free loopback port). */
  listen?: SocketAddr | string;
  upstream: SocketAddr | string;
  /** Seed of every random decision (default 1). */
  seed?: number;
  /** Applied to both directions; toUpstream / toClient override per key. */
  both?: Impairments;
  toUpstream?: Impairments;
  toClient?: Impairments;
  /** Replace the upstream-facing socket this often (NAT rebinding); 0 or absent: never. */
  rebindEveryMs?: number;
  /** The relay stops itself after this long (default 10 minutes). */
  maxLifetimeMs?: number;
  /** Called for every datagram in and out. */
  capture?: (d: CapturedDatagram) => void;
  /**
   * Clock in milliseconds (default performance.now). It drives the blackhole
   * schedule, the rate limiter and delays; a frozen fake clock suits tests
   * of the blackhole schedule only, since delays are real timers.
   */
  now?: () => number;
}

export interface DirectionCounters {
  received: number;
  forwarded: number;
  bytesIn: number;
  bytesOut: number;
  blackholed: number;
  /** Random loss. */
  lost: number;
  /** Gilbert-Elliott loss. */
  burstLost: number;
  /** Dropped by the rate limiter's full backlog. */
  rateDropped: number;
  corrupted: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  /** toClient datagrams that arrived before any client did. */
  noClient: number;
  sendErrors: number;
}

export interface RelayCounters {
  toUpstream: DirectionCounters;
  toClient: DirectionCounters;
  rebinds: number;
  /** Timed rebinds that failed to bind a new socket. */
  rebindErrors: number;
  /** Upstream datagrams that reached a replaced (rebound) socket and were dropped. */
  staleUpstream: number;
  /** Delayed datagrams discarded by stop(). */
  droppedAtStop: number;
}

export const DEFAULT_MAX_LIFETIME_MS: number;
export const DEFAULT_REORDER_EXTRA_MS: number;
export const DEFAULT_RATE_QUEUE_BYTES: number;
export const CORRUPT_SPAN: number;
export const STALE_SOCKET_GRACE_MS: number;

export function parseAddr(a: SocketAddr | string): SocketAddr;

export class ImpairmentRelay {
  constructor(config: RelayConfig);
  readonly counters: RelayCounters;
  readonly seed: number;
  /** Resolves with why the relay stopped: stop() or its max lifetime. */
  readonly stopped: Promise<'stopped' | 'lifetime'>;
  start(): Promise<SocketAddr>;
  readonly listenAddr: SocketAddr;
  readonly upstreamSourceAddr: SocketAddr;
  readonly clientAddr: SocketAddr | undefined;
  configure(dir: Direction | 'both', settings: Impairments): void;
  setBlackhole(on: boolean | undefined, dir?: Direction | 'both'): void;
  rebind(): Promise<void>;
  stop(reason?: 'stopped' | 'lifetime'): Promise<'stopped' | 'lifetime'>;
}

export function startRelay(config: RelayConfig): Promise<ImpairmentRelay>;
