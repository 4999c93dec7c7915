import { ms, secs, type Duration } from '../time.js';

/** Session settings; every field has a default (see DEFAULT_SESSION_CONFIG). */
export interface SessionConfig {
  /** Largest UDP payload ever sent, on every path (PROTOCOL.md §1). */
  maxDatagramSize: number;
  handshakeTimeout: Duration;
  /** First handshake retransmission; doubles per retry. */
  handshakeRetransmit: Duration;
  idleTimeout: Duration;
  /** Send a PING after this much silence while anything is active. */
  keepAlive: Duration;
  /** Key update at least this often (PROTOCOL.md §5). */
  rekeyInterval: Duration;
  /** ...or after this many packets under one key. */
  rekeyPackets: number;
  maxAckDelay: Duration;
  /** PTO backoff cap, so a path that returns after a blackhole is probed soon. */
  maxPtoInterval: Duration;
  congestion: 'bbr' | 'cubic' | 'newreno';
  /** Bytes of chunk data a receiver lets each transfer have outstanding. */
  transferWindow: number;
  /**
   * Bytes of chunk data a receiver lets all transfers of the session have outstanding together
   * (shared out, TransferTable): the session's receive memory stays within it plus a chunk per
   * transfer. null: transferWindow per transfer, without a session cap.
   */
  sessionBufferBytes: number | null;
  /** Chunk bytes a sender keeps read from disk ahead of acknowledgement. */
  sendBufferBytes: number;
  maxTransfers: number;
  /** Bytes of control stream a receiver buffers out of order. */
  maxControlBuffer: number;
  /**
   * Cap on the rate file data leaves at, bytes per second, retransmissions included; null:
   * congestion control alone. The pacer enforces it, so a backlog after a stall still leaves
   * at the cap.
   */
  maxSendRate: number | null;
}

export const DEFAULT_SESSION_CONFIG: Readonly<SessionConfig> = {
  maxDatagramSize: 1452,
  handshakeTimeout: secs(10),
  handshakeRetransmit: ms(250),
  idleTimeout: secs(30),
  keepAlive: secs(5),
  rekeyInterval: secs(120),
  rekeyPackets: 2 ** 30,
  maxAckDelay: ms(25),
  maxPtoInterval: secs(1),
  congestion: 'bbr',
  transferWindow: 16 * 1024 * 1024,
  sessionBufferBytes: null,
  sendBufferBytes: 32 * 1024 * 1024,
  maxTransfers: 64,
  maxControlBuffer: 4 * 1024 * 1024,
  maxSendRate: null,
};

export function resolveSessionConfig(partial?: Partial<SessionConfig>): SessionConfig {
  return { ...DEFAULT_SESSION_CONFIG, ...partial };
}
