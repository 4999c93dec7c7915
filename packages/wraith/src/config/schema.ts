/**
 * THE config schema: one JSON Schema description of config.toml (built like TypeBox's, see
 * ./json-schema.ts) that the loader validates against and the admin API can reuse.
 *
 * Every key is optional in a file (files and flags are layers over config/wraith.toml). Leaves
 * carry `x-` annotations that JSON Schema cannot express and the loader needs:
 *   x-kind      int | size | duration | bool | enum | string | path | addr | peer_id | list
 *   x-min/x-max bounds in base units (bytes, milliseconds) for size/duration/int
 *   x-pow2      the value must be a power of two
 *   x-nullable  no default: absent resolves to null
 *   x-flag      the command-line flag when it is not `--<key with dashes>`
 *   x-secret    redacted by `config show` and the logs
 *   x-deprecated how to replace a deprecated key
 */
import { Type, type JsonSchema } from './json-schema.js';

export type LeafKind = 'int' | 'size' | 'duration' | 'bool' | 'enum' | 'string' | 'path' | 'addr' | 'peer_id' | 'list';

export interface LeafMeta {
  'x-kind': LeafKind;
  'x-min'?: number;
  'x-max'?: number;
  'x-pow2'?: boolean;
  'x-nullable'?: boolean;
  'x-flag'?: string;
  'x-secret'?: boolean;
  'x-deprecated'?: string;
  /** addr: port 0 allowed (bind). */
  'x-port-zero'?: boolean;
  /** addr: the port may be left out (a peer's address: the daemon's default port). */
  'x-default-port'?: boolean;
  /** addr: the string "off" is allowed (disables the listener). */
  'x-off'?: boolean;
  /** list: the kind of each item. */
  'x-item'?: LeafKind;
  description: string;
}

type Extra = Partial<Omit<LeafMeta, 'x-kind' | 'description'>>;

const SIZE_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*([kKmMgGtTpP]i?)?[bB]?\\s*$';
const DURATION_PATTERN = '^\\s*(\\d+(\\.\\d+)?\\s*(ms|s|m|h|d|w)\\s*)+$';

const int = (description: string, min: number, max: number, extra: Extra = {}) =>
  Type.Optional(Type.Integer({ minimum: min, maximum: max, 'x-kind': 'int', 'x-min': min, 'x-max': max, ...extra, description }));

const size = (description: string, min: number, max: number, extra: Extra = {}) =>
  Type.Optional(
    Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: SIZE_PATTERN })], {
      'x-kind': 'size',
      'x-min': min,
      'x-max': max,
      ...extra,
      description,
    }),
  );

const duration = (description: string, min: number, max: number, extra: Extra = {}) =>
  Type.Optional(
    Type.String({ pattern: DURATION_PATTERN, 'x-kind': 'duration', 'x-min': min, 'x-max': max, ...extra, description }),
  );

const bool = (description: string, extra: Extra = {}) =>
  Type.Optional(Type.Boolean({ 'x-kind': 'bool', ...extra, description }));

const oneOf = <T extends string>(description: string, values: readonly T[], extra: Extra = {}) =>
  Type.Optional(Type.Union(values.map((v) => Type.Literal(v)), { 'x-kind': 'enum', ...extra, description }));

const path = (description: string, extra: Extra = {}) =>
  Type.Optional(Type.String({ minLength: 1, 'x-kind': 'path', ...extra, description }));

const addr = (description: string, extra: Extra = {}) =>
  Type.Optional(Type.String({ minLength: 1, 'x-kind': 'addr', ...extra, description }));

const list = (description: string, item: JsonSchema, itemKind: LeafKind, extra: Extra = {}) =>
  Type.Optional(Type.Array(item, { 'x-kind': 'list', 'x-item': itemKind, ...extra, description }));

const section = (properties: Record<string, JsonSchema>, description: string) =>
  Type.Optional(Type.Object(properties, { additionalProperties: false, 'x-kind': 'section', description }));

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const SECOND = 1000;
const DAY = 86_400_000;
const MAX_BYTES = Number.MAX_SAFE_INTEGER;

export const TRANSPORTS = ['auto', 'udp', 'xdp'] as const;
export const CONGESTION = ['bbr', 'cubic'] as const;
export const ZERO_COPY = ['auto', 'on', 'off'] as const;
export const ON_CONFLICT = ['refuse', 'rename', 'overwrite'] as const;
export const CRYPTO_BACKENDS = ['auto', 'node', 'noble'] as const;
export const IO_BACKENDS = ['auto', 'io_uring', 'fs'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const FRAME_SIZES = [2048, 4096] as const;

/** Names usable in `[peers.NAME]` and as a PEER argument. */
export const PEER_NAME_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';

const PeerEntry = Type.Object(
  {
    id: Type.String({ 'x-kind': 'peer_id', description: 'the peer id (64 hex characters, `wraith id` on that node)' }),
    addr: Type.Optional(Type.String({ 'x-kind': 'addr', 'x-default-port': true, description: 'HOST:PORT or [IPv6]:PORT (the port defaults to 40000); needed to send to it, not for a peer that only sends here' })),
  },
  { additionalProperties: false, 'x-kind': 'peer', description: 'a named peer' },
);

export const ConfigFileSchema = Type.Object(
  {
    node: section(
      {
        identity_file: path('the static key file; default <home>/identity.key', { 'x-nullable': true }),
      },
      'this node',
    ),
    network: section(
      {
        listen_addr: addr('UDP address to bind (port 0 picks a free port)', { 'x-port-zero': true }),
        transport: oneOf('datagram transport: auto tries AF_XDP, then UDP', TRANSPORTS),
        xdp_interface: Type.Optional(
          Type.String({ minLength: 1, maxLength: 15, 'x-kind': 'string', 'x-nullable': true, description: 'network interface for AF_XDP (auto uses AF_XDP only when one is named)' }),
        ),
        udp_fallback: bool('fall back to UDP when AF_XDP cannot start (transport = "auto" always does)'),
        enable_xdp: bool('deprecated: use transport', { 'x-deprecated': 'use transport = "auto" (true) or "udp" (false)', 'x-nullable': true }),
        max_datagram_size: int('largest UDP payload sent, in bytes', 1200, 65507),
        handshake_timeout: duration('give up a handshake after', 100, 10 * 60 * SECOND),
        idle_timeout: duration('close a silent session after (the lower of the two sides\' is used; a sending side pings to stay alive)', SECOND, DAY),
        max_sessions_per_peer: int('concurrent sessions one peer id may hold', 1, 1024),
        congestion: oneOf('congestion controller', CONGESTION),
      },
      'sockets and sessions',
    ),
    xdp: section(
      {
        rx_ring_size: int('AF_XDP RX ring entries', 64, 65536, { 'x-pow2': true }),
        tx_ring_size: int('AF_XDP TX ring entries', 64, 65536, { 'x-pow2': true }),
        fill_ring_size: int('AF_XDP fill ring entries', 64, 65536, { 'x-pow2': true }),
        comp_ring_size: int('AF_XDP completion ring entries', 64, 65536, { 'x-pow2': true }),
        umem_size: size('UMEM bytes per socket (a multiple of frame_size)', 1 * MiB, 64 * GiB),
        frame_size: Type.Optional(
          Type.Union([Type.Literal(2048), Type.Literal(4096)], { 'x-kind': 'enum', description: 'UMEM frame size in bytes' }),
        ),
        huge_pages: bool('back the UMEM with huge pages', { 'x-flag': '--umem-huge-pages' }),
        batch_size: int('descriptors moved per ring operation', 1, 4096),
        cpus: list('CPUs for AF_XDP ring work; the rings are driven from the main event loop today, so the node logs that pinning does not apply', Type.Integer({ minimum: 0, maximum: 4095 }), 'int'),
        lock_memory: bool('the UMEM is always pinned by the kernel (CAP_IPC_LOCK or a memlock limit); locking the rest of the process (mlockall) is not possible under Node\'s V8, and the node logs so'),
        zero_copy: oneOf('AF_XDP zero-copy mode', ZERO_COPY),
        watchdog: section(
          {
            targets: list('HOST:PORT addresses probed with TCP connects through the XDP interface (a refusal counts as an answer); empty: no watchdog', Type.String({ 'x-kind': 'addr' }), 'addr', { 'x-flag': '--watchdog-targets' }),
            interval: duration('time between watchdog probes', 100, 10 * 60 * SECOND, { 'x-flag': '--watchdog-interval' }),
            failures: int('consecutive failed probes before falling back to UDP', 1, 1000, { 'x-flag': '--watchdog-failures' }),
          },
          'falls back to UDP when the XDP path stops delivering',
        ),
      },
      'AF_XDP',
    ),
    transfer: section(
      {
        chunk_size: size('Merkle chunk size in bytes', 16 * KiB, 16 * MiB, { 'x-pow2': true }),
        download_dir: path('where received files go; default <home>/incoming (created 0700)', { 'x-nullable': true }),
        max_concurrent: int('files in flight per session: how many a send offers at once (small files overlap their round trips), and how many a receiver takes at once from one sender (announced in the handshake)', 1, 4096),
        enable_resume: bool('keep partial files and resume state'),
        hash_cache: bool('remember the leaf hashes of big files sent or found already present (in <home>/state/hash-cache), so an unchanged file is not read through again to hash it'),
        partial_ttl: duration('delete partial files older than this', 60 * SECOND, 365 * DAY),
        rekey_interval: duration('key update period (forward secrecy)', SECOND, DAY),
      },
      'transfers',
    ),
    receive: section(
      {
        trusted_peers: list('peer ids allowed to send to this node', Type.String({ 'x-kind': 'peer_id' }), 'peer_id'),
        auto_accept: bool('accept transfers from any authenticated peer'),
        max_file_size: size('largest single file accepted; default unlimited', 0, MAX_BYTES, { 'x-nullable': true }),
        max_total_bytes: size('bytes of unfinished incoming transfers at once; default unlimited', 0, MAX_BYTES, { 'x-nullable': true }),
        min_free: size('free space kept on the download file system', 0, MAX_BYTES),
        on_conflict: oneOf('when a different file already has the name', ON_CONFLICT),
        peer_dirs: bool("put each sender's files below a directory of its own: its [peers.NAME] name, else its peer id"),
        reuse_existing: bool("compare an older copy of an offered file (the file under its name, or an earlier version's partial) with the sender's leaf hashes, and copy the chunks that match instead of receiving them"),
        max_buffer_bytes: size('memory for chunk data not yet on disk, per session: shared among its transfers, at most 32 MiB to one', 1 * MiB, 64 * GiB),
        max_total_buffer_bytes: size('memory for chunk data not yet on disk, over all sessions: shared equally among those receiving, each within max_buffer_bytes', 1 * MiB, 1024 * GiB),
      },
      'accepting files',
    ),
    peers: Type.Optional(
      Type.Record(Type.String({ pattern: PEER_NAME_PATTERN }), PeerEntry, {
        'x-kind': 'peers',
        description: 'named peers: [peers.NAME] id, addr',
      }),
    ),
    admin: section(
      {
        listen: addr('admin HTTP API address (port 0 picks a free port), or "off"', { 'x-off': true, 'x-port-zero': true, 'x-flag': '--admin-listen' }),
        unix_socket: path('also serve the admin API on this unix socket', { 'x-nullable': true, 'x-flag': '--admin-unix-socket' }),
        allow_remote: bool('allow a non-loopback admin listen address', { 'x-flag': '--admin-allow-remote' }),
        tls_cert: path('TLS certificate (PEM) for the admin API', { 'x-nullable': true, 'x-flag': '--admin-tls-cert' }),
        tls_key: path('TLS private key (PEM) for the admin API', { 'x-nullable': true, 'x-flag': '--admin-tls-key' }),
        send_roots: list('directories the admin API may send from; empty: none', Type.String({ minLength: 1 }), 'path', { 'x-flag': '--admin-send-roots' }),
      },
      'admin HTTP API',
    ),
    dos: section(
      {
        max_handshakes_per_s: int('handshakes per second before cookies are required', 1, 1_000_000),
      },
      'denial-of-service defence',
    ),
    crypto: section({ backend: oneOf('AEAD and X25519 implementation', CRYPTO_BACKENDS, { 'x-flag': '--crypto-backend' }) }, 'crypto'),
    io: section(
      {
        backend: oneOf('file I/O implementation', IO_BACKENDS, { 'x-flag': '--io-backend' }),
        direct_writes: bool('write received chunks with O_DIRECT where the file system takes it (skips the page cache)'),
      },
      'file I/O',
    ),
    logging: section(
      {
        level: oneOf('log level', LOG_LEVELS, { 'x-flag': '--log-level' }),
        file: path('log to this file instead of stderr (reopened on SIGHUP)', { 'x-nullable': true, 'x-flag': '--log-file' }),
      },
      'logging',
    ),
  },
  { additionalProperties: false, 'x-kind': 'section', description: 'wraith config.toml' },
);

type Enum<T extends readonly unknown[]> = T[number];

/** The effective configuration. Sizes are bytes, durations milliseconds, paths absolute. */
export interface ResolvedConfig {
  node: { identity_file: string };
  network: {
    listen_addr: string;
    transport: Enum<typeof TRANSPORTS>;
    xdp_interface: string | null;
    udp_fallback: boolean;
    max_datagram_size: number;
    handshake_timeout: number;
    idle_timeout: number;
    max_sessions_per_peer: number;
    congestion: Enum<typeof CONGESTION>;
  };
  xdp: {
    rx_ring_size: number;
    tx_ring_size: number;
    fill_ring_size: number;
    comp_ring_size: number;
    umem_size: number;
    frame_size: Enum<typeof FRAME_SIZES>;
    huge_pages: boolean;
    batch_size: number;
    cpus: number[];
    lock_memory: boolean;
    zero_copy: Enum<typeof ZERO_COPY>;
    watchdog: { targets: string[]; interval: number; failures: number };
  };
  transfer: {
    chunk_size: number;
    download_dir: string;
    max_concurrent: number;
    enable_resume: boolean;
    hash_cache: boolean;
    partial_ttl: number;
    rekey_interval: number;
  };
  receive: {
    trusted_peers: string[];
    auto_accept: boolean;
    max_file_size: number | null;
    max_total_bytes: number | null;
    min_free: number;
    on_conflict: Enum<typeof ON_CONFLICT>;
    peer_dirs: boolean;
    reuse_existing: boolean;
    max_buffer_bytes: number;
    max_total_buffer_bytes: number;
  };
  peers: Record<string, { id: string; addr?: string }>;
  admin: {
    /** "HOST:PORT" or "off". */
    listen: string;
    unix_socket: string | null;
    allow_remote: boolean;
    tls_cert: string | null;
    tls_key: string | null;
    send_roots: string[];
  };
  dos: { max_handshakes_per_s: number };
  crypto: { backend: Enum<typeof CRYPTO_BACKENDS> };
  io: { backend: Enum<typeof IO_BACKENDS>; direct_writes: boolean };
  logging: { level: Enum<typeof LOG_LEVELS>; file: string | null };
}

export type OnConflict = ResolvedConfig['receive']['on_conflict'];
export type TransportName = ResolvedConfig['network']['transport'];
