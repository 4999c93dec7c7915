/**
 * The one error registry. Every error has a stable code, a category (which the
 * CLI maps to an exit code and the admin API to an HTTP status) and a hint.
 * Modules add codes here, never ad-hoc strings elsewhere.
 */
export type ErrorCategory =
  | 'usage'
  | 'config'
  | 'auth'
  | 'network'
  | 'transfer'
  | 'io'
  | 'cancelled'
  | 'protocol'
  | 'internal';

/** Process exit code per category (documented in docs/CLI.md). */
export const EXIT_CODES: Readonly<Record<ErrorCategory, number>> = {
  internal: 1,
  usage: 2,
  config: 3,
  auth: 4,
  network: 5,
  protocol: 5,
  transfer: 6,
  io: 7,
  cancelled: 130,
};

/** HTTP status per category for the admin API. */
export const HTTP_STATUS: Readonly<Record<ErrorCategory, number>> = {
  internal: 500,
  usage: 400,
  config: 400,
  auth: 403,
  network: 502,
  protocol: 400,
  transfer: 409,
  io: 507,
  cancelled: 409,
};

interface ErrorSpec {
  readonly category: ErrorCategory;
  readonly hint: string;
}

const spec = (category: ErrorCategory, hint: string): ErrorSpec => ({ category, hint });

export const ERRORS = {
  // wire / protocol
  E_WIRE_TRUNCATED: spec('protocol', 'the datagram ended before the field it declares'),
  E_WIRE_VARINT: spec('protocol', 'a variable-length integer is malformed or too large'),
  E_WIRE_FRAME_TYPE: spec('protocol', 'an unknown frame type was received'),
  E_WIRE_FRAME: spec('protocol', 'a frame field is out of range'),
  E_WIRE_HEADER: spec('protocol', 'the packet header is malformed'),
  E_WIRE_TRAILING: spec('protocol', 'bytes were left after the last field'),
  E_WIRE_TOO_LARGE: spec('protocol', 'the encoded value does not fit the space available'),
  E_WIRE_PARAM: spec('protocol', 'a transport parameter is repeated, malformed or out of range'),
  E_VERSION: spec('protocol', 'the peer speaks another wire version; upgrade one side'),
  E_PROTOCOL: spec('protocol', 'the peer violated the protocol'),
  // crypto / handshake / auth
  E_CRYPTO_LOW_ORDER: spec('auth', 'an X25519 result was all zero (low-order point)'),
  E_CRYPTO_DECRYPT: spec('auth', 'authentication of a ciphertext failed'),
  E_CRYPTO_KEY: spec('auth', 'a key has the wrong length or form'),
  E_CRYPTO_BACKEND: spec('config', 'the requested crypto backend is not available here'),
  E_NOISE_STATE: spec('internal', 'a Noise operation was called in the wrong state'),
  E_NOISE_PROTOCOL: spec('config', 'supported: Noise_XX_25519_ChaChaPoly_{BLAKE2s,BLAKE2b,SHA256,SHA512}'),
  E_NONCE_EXHAUSTED: spec('protocol', 'a key reached its nonce limit without being updated'),
  E_HANDSHAKE_NO_PARAMS: spec('protocol', 'the initiator sent a FINISH without transport parameters, which wire version 1 requires; the peer is not a conforming wraith'),
  E_HANDSHAKE_TIMEOUT: spec('network', 'the peer did not complete the handshake in time; check the address and firewall'),
  E_PEER_ID_MISMATCH: spec('auth', 'the peer presented another identity than the one dialled; check the peer id'),
  E_PEER_NOT_AUTHORIZED: spec('auth', 'the peer is not in trusted_peers; add its id or use --auto-accept'),
  E_PEER_ID_REQUIRED: spec('usage', 'give the peer as <id>@<host>:<port>; there is no trust on first use'),
  E_PEER_ID_INVALID: spec('usage', 'a peer id is 64 lowercase hex characters'),
  // session / network
  E_IDLE_TIMEOUT: spec('network', 'nothing was heard from the peer within idle_timeout'),
  E_PEER_LOST: spec('network', 'the receiver keeps what arrived: once the peer is back, the same send resumes it (a longer --reconnect-for waits longer)'),
  E_PEER_CLOSED: spec('network', 'the peer closed the session'),
  E_PEER_UNREACHABLE: spec('network', 'nothing listens on that UDP port at the peer (its host answered ICMP port unreachable); check the port, and that the daemon runs'),
  E_PEER_RESET: spec('network', 'the peer has no state for the session (it restarted or lost it); --reconnect-for dials again'),
  E_SHUTTING_DOWN: spec('network', 'the peer is shutting down; retry later'),
  E_TOO_MANY_SESSIONS: spec('network', 'the peer already has max_sessions_per_peer sessions'),
  E_ADDR_IN_USE: spec('network', 'the port is in use; choose another with --bind'),
  E_ADDR_INVALID: spec('usage', 'an address is HOST:PORT, or [IPv6]:PORT'),
  // transfer / integrity
  E_CHUNK_SIZE: spec('transfer', 'chunk size must be a power of two between 16 KiB and 16 MiB'),
  E_MANIFEST: spec('transfer', 'the transfer manifest is malformed'),
  E_INTEGRITY: spec('transfer', 'a chunk did not match the Merkle root; it will be re-requested'),
  E_TRANSFER_UNKNOWN: spec('transfer', 'no such transfer'),
  E_TRANSFER_REJECTED: spec('transfer', 'the receiver refused the transfer'),
  E_TRANSFER_CANCELLED: spec('cancelled', 'the transfer was cancelled'),
  E_FLOW_CONTROL: spec('protocol', 'the peer sent beyond the window it was given'),
  E_RESUME_STATE: spec('transfer', 'the resume state is malformed; the transfer restarts'),
  E_EXISTS: spec('transfer', 'the receiver has, or is receiving, something by that name; for a file with other content its [receive] on_conflict decides ("refuse", "rename" or "overwrite"), but a file never replaces a directory, nor a directory a file'),
  E_SOURCE_CHANGED: spec('transfer', 'the source file changed while it was being sent; send it again'),
  E_PATH_INVALID: spec('transfer', 'received names are relative, without "..", control characters or over-long components'),
  E_FILE_TOO_LARGE: spec('transfer', 'the file exceeds [receive] max_file_size'),
  // io
  E_NO_SPACE: spec('io', 'the destination is out of room: free space, inodes or a disk quota, as the message says (min_free is kept free)'),
  E_IO: spec('io', 'a file operation failed (the message says which and why)'),
  E_PERMISSION: spec('io', 'the user wraith runs as may not do this: check the mode and owner of the path and of its directories'),
  E_NOT_FOUND: spec('io', 'the path does not exist: check it (was it moved or deleted?)'),
  // config / usage / node
  E_CONFIG: spec('config', 'fix the named key in the config file'),
  E_CONFIG_SYNTAX: spec('config', 'the config file is not valid TOML'),
  E_USAGE: spec('usage', 'see --help'),
  E_HOME_LOCKED: spec('config', 'another daemon uses this home; stop it or pass another --home'),
  E_DOWNLOAD_DIR_LOCKED: spec('config', 'another wraith receiver uses this download directory; stop it, or give this one its own --output'),
  E_HOME_PERMISSIONS: spec('config', 'chmod 700 the home and 600 identity.key'),
  E_NO_IDENTITY: spec('config', 'run `wraith keygen` first'),
  E_IDENTITY_EXISTS: spec('config', 'pass --force to replace it; peers that trust the old id will refuse the new one'),
  E_DAEMON_NOT_RUNNING: spec('network', 'start one with `wraith daemon`, or pass the --home it uses'),
  E_CANCELLED: spec('cancelled', 'cancelled by the user'),
  E_INTERNAL: spec('internal', 'this is a bug; please report it with the log'),
  // transports / native
  E_TRANSPORT_CLOSED: spec('network', 'the transport was closed'),
  E_SOCKET: spec('network', 'a socket call failed; the message names the call, the address and the errno'),
  E_NATIVE_UNAVAILABLE: spec('internal', 'the native addon is not built or not loadable'),
  E_XDP_UNAVAILABLE: spec('network', 'AF_XDP cannot run here; see `wraith doctor`'),
  E_XDP_BUSY: spec('network', 'the interface already has an XDP program this node did not load'),
  E_IO_URING_UNAVAILABLE: spec('io', 'io_uring cannot run here; the fs backend is used'),
  // admin API (the API answers some of these with a more precise status: docs/ADMIN.md)
  E_ADMIN_AUTH: spec('auth', 'send the token from <home>/admin.token as "Authorization: Bearer <token>"'),
  E_ADMIN_FORBIDDEN: spec('auth', 'the bearer token is wrong; read it again from <home>/admin.token'),
  E_ADMIN_HOST: spec('auth', 'the admin API answers only its own Host names and no foreign browser Origin or Referer'),
  E_ADMIN_TOKEN_IN_URL: spec('usage', 'never put the token in the URL: send it in the Authorization header'),
  E_ADMIN_TOKEN_PERMISSIONS: spec('config', 'chmod 600 the admin token file (and check who could have read it)'),
  E_ADMIN_OFF: spec('config', 'the daemon runs with [admin] listen = "off"; set an address and restart it'),
  E_ADMIN_SEND_DISABLED: spec('auth', 'set [admin] send_roots to the directories the admin API may send from'),
  E_ADMIN_PATH_OUTSIDE: spec('auth', 'the path must resolve, after symlinks, to a place inside one of [admin] send_roots'),
  E_API_NOT_FOUND: spec('usage', 'no such route; see docs/ADMIN.md'),
  E_API_VALIDATION: spec('usage', "the request does not match the route's schema; see docs/ADMIN.md"),
  E_API_BAD_REQUEST: spec('usage', 'the request is malformed (URL, headers or JSON body)'),
  E_API_BODY_TOO_LARGE: spec('usage', 'the request body exceeds the admin API body limit'),
  E_API_MEDIA_TYPE: spec('usage', 'send the body as Content-Type: application/json'),
  E_PEER_UNKNOWN: spec('usage', 'name a [peers.NAME] entry of the config'),
  E_PEER_NO_ADDR: spec('usage', 'give the [peers.NAME] entry addr = "HOST:PORT" to send to it, or send to <id>@<host>:<port>'),
  E_HASH_MISMATCH: spec('transfer', 'the file is not the one listed: its content differs, or the list was made at another chunk size (pass the sender\'s --chunk-size)'),
  E_HASH_LIST: spec('usage', 'a --check list holds `wraith hash` lines, or the NDJSON of `wraith hash --json` or `wraith send --json`'),
  E_TRANSFER_FINISHED: spec('transfer', 'the transfer has already finished; nothing to cancel'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class WraithError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly category: ErrorCategory;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, hint?: string) {
    super(message);
    this.name = 'WraithError';
    this.code = code;
    const s = ERRORS[code];
    this.category = s.category;
    this.hint = hint ?? s.hint;
    this.details = details;
  }

  get exitCode(): number {
    return EXIT_CODES[this.category];
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.category];
  }

  toJSON(): { code: ErrorCode; message: string; hint: string; exit_code: number } {
    return { code: this.code, message: this.message, hint: this.hint, exit_code: this.exitCode };
  }
}

export function isWraithError(e: unknown, code?: ErrorCode): e is WraithError {
  return e instanceof WraithError && (code === undefined || e.code === code);
}
