import type { ErrorCode } from '../errors.js';
import type { SocketAddr } from '../transport.js';
import type { FileManifest } from '../transfer/index.js';

/** What a session reports to its driver (drained through Endpoint.pollEvent). */
export type SessionEvent =
  | { type: 'connected'; session: number; peerId: string; addr: SocketAddr; initiator: boolean }
  /** The peer offers a file; answer with accept() or reject(). */
  /** `zeroBytes`: of its size, the bytes the sender says are all-zero chunks (they need no room). */
  | { type: 'offer'; session: number; peerId: string; transferId: number; manifest: FileManifest; zeroBytes: number }
  /** Sender side: the receiver accepted; chunk reads follow. */
  | { type: 'accepted'; session: number; transferId: number; heldChunks: number }
  /** Sender side: read these chunks and hand them over with supplyChunk(). */
  | { type: 'read_chunks'; session: number; transferId: number; chunks: number[] }
  /**
   * Receiver side: a chunk verified against the root; write it, then chunkWritten(). `zero`: it
   * came as a ZERO_CHUNK, and `bytes` are shared zeros (a sparse partial needs no write).
   */
  | { type: 'chunk_verified'; session: number; transferId: number; index: number; offset: number; bytes: Uint8Array; leaf: Uint8Array; zero: boolean }
  /** Receiver side: the leaf row asked for with requestLeaves(), checked against the offer's root. */
  | { type: 'leaves'; session: number; transferId: number; leaves: Uint8Array }
  /** Receiver side: every chunk is held; install the file, then finishTransfer(). */
  | { type: 'transfer_received'; session: number; transferId: number }
  /** Either side: the transfer ended (sender: the receiver confirmed it). */
  | {
      type: 'transfer_complete';
      session: number;
      transferId: number;
      status: 'verified' | 'already_present';
      stats: TransferStats;
      /** Sender side: the receiver installed the file under this name, not the offered one. */
      storedAs?: string;
    }
  | { type: 'transfer_failed'; session: number; transferId: number; code: ErrorCode; reason: string; byPeer: boolean }
  | { type: 'key_update'; session: number; seq: number }
  | { type: 'path_validated'; session: number; addr: SocketAddr }
  /** Datagrams of `from` bytes stopped getting through while the peer was heard: now `to` (1200). */
  | { type: 'black_hole'; session: number; addr: SocketAddr; from: number; to: number }
  /** A probe of a larger size got through after a black hole: datagrams grow again. */
  | { type: 'pmtu_raised'; session: number; addr: SocketAddr; from: number; to: number }
  | { type: 'closed'; session: number; code: ErrorCode | null; reason: string; byPeer: boolean };

export interface TransferStats {
  payloadBytesSent: number;
  bytesRetransmitted: number;
  bytesSkippedResume: number;
  /** Bytes of all-zero chunks sent as ZERO_CHUNK frames, without their bytes. */
  bytesZero: number;
  /** Of bytesSkippedResume, those the receiver copied from its older copy of the file (sender side). */
  bytesReused: number;
  bytesReceived: number;
}
