/**
 * The admin API's data: TypeBox schemas (the routes validate and serialise with them) and the
 * TypeScript types derived from them, which the AdminProvider returns. Field names are the JSON
 * names (snake_case), documented in docs/ADMIN.md.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { PEER_NAME_PATTERN } from '../config/schema.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** One check of the transport probe (the AF_XDP probe's shape). */
export const ProbeSchema = Type.Object({
  name: Type.String(),
  ok: Type.Boolean(),
  /** The error code a start would fail with; null when ok. */
  code: Nullable(Type.String()),
  reason: Type.String(),
  /** What to change; empty when ok. */
  remedy: Type.String(),
});

export const TransportStatusSchema = Type.Object({
  /** What runs now: "udp" or "xdp". */
  active: Type.String(),
  /** The path each connected peer uses (XDP can fall back to UDP per peer). */
  per_peer: Type.Array(Type.Object({ peer_id: Type.String(), transport: Type.String() })),
  /** The last transport probe (empty when none ran, e.g. transport = "udp"). */
  probes: Type.Array(ProbeSchema),
  /**
   * Transport changes while the daemon runs, oldest first: an XDP fallback to UDP, `reason`
   * "watchdog" or "program_detached", `detail` what the ALERT said, `at` when (ISO 8601).
   */
  changes: Type.Array(Type.Object({ from: Type.String(), to: Type.String(), reason: Type.String(), detail: Type.String(), at: Type.String() })),
});

export const StatusSchema = Type.Object({
  peer_id: Type.String(),
  version: Type.String(),
  uptime_s: Type.Number({ minimum: 0 }),
  /** Bound UDP addresses, "HOST:PORT" / "[v6]:PORT". */
  listen: Type.Array(Type.String()),
  transport: TransportStatusSchema,
  /** "native", "generic" or null when AF_XDP does not run. */
  xdp_mode: Nullable(Type.String()),
  zero_copy: Type.Boolean(),
  /** AF_XDP queues in use (0 on UDP). */
  queues: Type.Integer({ minimum: 0 }),
  io_backend: Type.String(),
  crypto_backend: Type.String(),
});

export const PeerSchema = Type.Object({
  /** The `[peers.NAME]` name, or null for a peer known only by id. */
  name: Nullable(Type.String()),
  peer_id: Type.String(),
  addr: Nullable(Type.String()),
  connected: Type.Boolean(),
  sessions: Type.Integer({ minimum: 0 }),
  rtt_ms: Nullable(Type.Number({ minimum: 0 })),
  /**
   * The largest datagram the sessions to it send now (the smallest over them): below
   * max_datagram_size after a narrower route, an ICMP "packet too big" or a black hole. Null
   * when not connected.
   */
  datagram_size: Nullable(Type.Integer({ minimum: 0 })),
  /** "udp" / "xdp" while connected, else null. */
  transport: Nullable(Type.String()),
});

export const TRANSFER_STATES = ['queued', 'connecting', 'running', 'completed', 'failed', 'cancelled'] as const;

export const TransferErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  /** The file the error concerns, when it concerns one. */
  path: Type.Optional(Type.String()),
});

export const TransferSchema = Type.Object({
  id: Type.String(),
  direction: Type.Union([Type.Literal('send'), Type.Literal('receive')]),
  /** The peer's id. */
  peer_id: Type.String(),
  /** The `[peers.NAME]` name when the peer has one. */
  peer_name: Nullable(Type.String()),
  /** The local source (send) or destination (receive) path. */
  path: Nullable(Type.String()),
  /** A send's `dest`: the directory below the receiver's download directory it goes into; null: none, and on receives. */
  dest: Nullable(Type.String()),
  /** A send's `exclude` patterns, as given; null: none, and on receives. */
  exclude: Nullable(Type.Array(Type.String())),
  state: Type.Union([
    Type.Literal('queued'),
    Type.Literal('connecting'),
    Type.Literal('running'),
    Type.Literal('completed'),
    Type.Literal('failed'),
    Type.Literal('cancelled'),
  ]),
  /**
   * What a running send waits for: its source being hashed, or the receiver deciding on an
   * offer (it hashes a copy it already has), before data can move; or, every byte sent, the
   * receiver finishing (writing what it buffered). A receive not yet accepted: `preparing` (this
   * node checks what it holds of the file: a partial, a copy under its name). null otherwise.
   */
  phase: Nullable(Type.Union([Type.Literal('hashing'), Type.Literal('waiting_for_receiver'), Type.Literal('receiver_finishing'), Type.Literal('preparing')])),
  bytes_done: Type.Number({ minimum: 0 }),
  /**
   * A send in phase receiver_finishing whose receiver reports its disk's progress: bytes on its
   * disk, of bytes_total (bytes_done counts bytes sent). null otherwise.
   */
  bytes_written: Nullable(Type.Number({ minimum: 0 })),
  bytes_total: Nullable(Type.Number({ minimum: 0 })),
  files_done: Type.Integer({ minimum: 0 }),
  files_total: Nullable(Type.Integer({ minimum: 0 })),
  rate_bps: Type.Number({ minimum: 0 }),
  /** A send's cap (the request's `rate`), in bytes per second on the wire; null: none, and on receives. */
  rate_limit_bps: Nullable(Type.Number({ minimum: 0 })),
  eta_s: Nullable(Type.Number({ minimum: 0 })),
  /** ISO 8601. */
  started_at: Type.String(),
  finished_at: Nullable(Type.String()),
  errors: Type.Array(TransferErrorSchema),
  /**
   * What a send skipped or noticed without failing (a symlink, a vanished file, a source that
   * changed after it was read): the first WARNINGS_KEPT, code null where the warning has none.
   */
  warnings: Type.Array(Type.Object({ code: Nullable(Type.String()), message: Type.String() })),
  /** All warnings, also those not kept. */
  warnings_total: Type.Integer({ minimum: 0 }),
});

/** Warnings a transfer keeps for the API (a tree full of symlinks must not grow it without bound). */
export const WARNINGS_KEPT = 100;

/** An event on GET /v1/events; `type` is also the SSE event name. Other fields vary by type. */
export const EVENT_TYPES = ['progress', 'transfer', 'transport_changed'] as const;

export type ProbeDto = Static<typeof ProbeSchema>;
export type StatusDto = Static<typeof StatusSchema>;
export type PeerDto = Static<typeof PeerSchema>;
export type TransferDto = Static<typeof TransferSchema>;
export type TransferState = TransferDto['state'];
export type AdminEventType = (typeof EVENT_TYPES)[number];
export interface AdminEvent {
  readonly type: AdminEventType;
  readonly [field: string]: unknown;
}

// ---- request and response shapes of the routes ----

export const ErrorBodySchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), hint: Type.String() }),
});
export type ErrorBody = Static<typeof ErrorBodySchema>;

export const TransferIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' }) },
  { additionalProperties: false },
);

/** No query parameters accepted (a stray `?x=` is a 400, so typos are not silently ignored). */
export const NoQuery = Type.Object({}, { additionalProperties: false });

export const StartTransferBody = Type.Object(
  {
    /** An absolute local path (file or directory) inside one of [admin] send_roots. */
    path: Type.String({ minLength: 1, maxLength: 4096, pattern: '^/[^\\u0000]*$' }),
    /** A `[peers.NAME]` name. */
    peer: Type.String({ pattern: PEER_NAME_PATTERN }),
    /** A cap on the send's rate, as `wraith send --rate` takes it: "500M", "1.5GiB", "800Mbit". */
    rate: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    /** As `wraith send --allow-growth`: files that grow meanwhile (logs) go as they were when opened. */
    allow_growth: Type.Optional(Type.Boolean()),
    /** As `wraith send --dest`: a directory below the receiver's download directory to put it in. */
    dest: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    /** As `wraith send --exclude`, once per pattern. */
    exclude: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export type StartTransferRequest = Static<typeof StartTransferBody>;

export const EventsQuery = Type.Object(
  {
    /** Comma-separated event types to receive; default all. */
    types: Type.Optional(Type.String({ pattern: '^[a-z_]+(,[a-z_]+)*$', maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const HealthSchema = Type.Object({ ok: Type.Literal(true), uptime_s: Type.Number({ minimum: 0 }) });
export const PeersListSchema = Type.Object({ peers: Type.Array(PeerSchema) });
export const TransfersListSchema = Type.Object({ transfers: Type.Array(TransferSchema) });
