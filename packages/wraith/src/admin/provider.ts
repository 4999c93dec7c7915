/**
 * AdminProvider: what the admin API needs from the daemon. The daemon implements it; the API
 * never reaches into the node otherwise. Every method is cheap and synchronous except
 * startTransfer and metrics. Errors thrown are WraithErrors from the registry; the API answers
 * them with their code and status (anything else is a 500 E_INTERNAL, logged).
 */
import type { EventEmitter } from 'node:events';
import type { AdminEvent, PeerDto, StatusDto, TransferDto } from './dto.js';

export type { AdminEvent, AdminEventType, PeerDto, ProbeDto, StatusDto, TransferDto, TransferState } from './dto.js';

/** A send the API was asked for, checked. */
export interface SendRequest {
  readonly path: string;
  readonly peerName: string;
  /** A cap on the send's rate (bytes/s), or null. */
  readonly rateBps: number | null;
  readonly allowGrowth: boolean;
  /** From parseDest. */
  readonly dest?: string;
  /** Patterns that compileExcludes takes. */
  readonly exclude?: readonly string[];
}

export interface AdminProvider {
  /** GET /v1/status. */
  status(): StatusDto;
  /** GET /v1/peers: configured and connected peers. */
  peers(): PeerDto[];
  /** GET /v1/transfers: in progress and recently finished. */
  transfers(): TransferDto[];
  /** GET /v1/transfers/:id; null when unknown. */
  transfer(id: string): TransferDto | null;
  /**
   * POST /v1/transfers: send `path` to the `[peers.NAME]` peer. The API has already checked that
   * send_roots is set, that `path` is the realpath of an existing file or directory inside one
   * of them, and that `peerName` is in peerNames(). Resolves once the transfer is registered
   * (state "queued" or later), not when it finishes.
   */
  startTransfer(req: SendRequest): Promise<TransferDto>;
  /** DELETE /v1/transfers/:id: true when the transfer was running and is now cancelled. */
  cancel(id: string): boolean | Promise<boolean>;
  /** GET /v1/metrics: Prometheus text exposition (Stats.metrics()). */
  metrics(): Promise<string>;
  /** `[admin] send_roots` (absolute paths); empty: POST /v1/transfers is refused. */
  sendRoots(): string[];
  /** The `[peers.NAME]` names. */
  peerNames(): string[];
  /**
   * Emits 'event' with an AdminEvent ({type: 'progress' | 'transfer' | 'transport_changed', ...})
   * for GET /v1/events. Listeners are added per open stream and removed when it closes.
   */
  readonly events: EventEmitter;
}

/** The payload type of the provider's 'event' emission. */
export type AdminEventListener = (event: AdminEvent) => void;
