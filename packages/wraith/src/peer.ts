/**
 * Peer ids, socket addresses and PEER arguments (`<id>@<host>:<port>`, `<id>@[v6]:<port>`, or a
 * name from `[peers.NAME]`). There is no trust on first use: dialling always needs the id.
 */
import { isIP } from 'node:net';
import { WraithError } from '@wraith/core';

/** 64 lowercase hex characters: the peer's X25519 static public key. */
export type PeerId = string;

const HEX64 = /^[0-9a-f]{64}$/;

/** Normalises a peer id (accepts a `0x` prefix and upper case); throws E_PEER_ID_INVALID. */
export function parsePeerId(input: string): PeerId {
  const s = input.trim();
  const hex = (s.startsWith('0x') || s.startsWith('0X') ? s.slice(2) : s).toLowerCase();
  if (!HEX64.test(hex)) {
    throw new WraithError(
      'E_PEER_ID_INVALID',
      `invalid peer id ${JSON.stringify(input)}: expected 64 hex characters, found ${hex.length}${
        /[^0-9a-f]/.test(hex) ? ' with non-hex characters' : ''
      }`,
      { value: input },
    );
  }
  return hex;
}

export function isPeerId(input: string): boolean {
  try {
    parsePeerId(input);
    return true;
  } catch {
    return false;
  }
}

/** The peer id of a 32-byte X25519 public key. */
export function peerIdFromPublicKey(publicKey: Uint8Array): PeerId {
  if (publicKey.length !== 32) {
    throw new WraithError('E_CRYPTO_KEY', `a public key is 32 bytes, found ${publicKey.length}`);
  }
  return Buffer.from(publicKey).toString('hex');
}

export interface SocketAddr {
  /** Host name, IPv4 address, or IPv6 address without brackets. */
  readonly host: string;
  readonly port: number;
  /** 4 or 6 for literal addresses, 0 for a host name to resolve. */
  readonly family: 0 | 4 | 6;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * `HOST:PORT` or `[IPv6]:PORT`. Port 0 is allowed only with `allowPortZero` (binding to an
 * ephemeral port); throws E_ADDR_INVALID naming the value.
 */
/** The daemon's default port (listen_addr in config/wraith.toml): a peer address may leave it out. */
export const DEFAULT_PORT = 40000;

/**
 * HOST:PORT or [IPv6]:PORT. With `defaultPort` (peer addresses) the port may be left out:
 * HOST or [IPv6]. A bare IPv6 address always needs brackets (its last group could be a port).
 */
export function parseAddr(input: string, opts: { allowPortZero?: boolean; defaultPort?: number } = {}): SocketAddr {
  const bad = (why: string): WraithError =>
    new WraithError('E_ADDR_INVALID', `invalid address ${JSON.stringify(input)}: ${why}`, { value: input });
  const s = input.trim();
  const dflt = opts.defaultPort === undefined ? null : String(opts.defaultPort);
  let host: string;
  let portText: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    const portless = close === s.length - 1 && dflt !== null;
    if (close < 0 || (s[close + 1] !== ':' && !portless)) throw bad(dflt === null ? 'expected [IPv6]:PORT' : 'expected [IPv6] or [IPv6]:PORT');
    host = s.slice(1, close);
    portText = portless ? dflt : s.slice(close + 2);
    if (isIP(host) !== 6) throw bad(`${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0 && dflt === null) throw bad('expected HOST:PORT');
    host = colon < 0 ? s : s.slice(0, colon);
    portText = colon < 0 ? (dflt as string) : s.slice(colon + 1);
    if (host.includes(':')) throw bad('an IPv6 address needs brackets: [addr]:PORT');
    if (host === '') throw bad('the host is empty');
    if (isIP(host) === 0 && !HOSTNAME.test(host)) throw bad(`${JSON.stringify(host)} is not a host name or address`);
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad(`port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  const min = opts.allowPortZero ? 0 : 1;
  if (port < min || port > 65535) throw bad(`port ${port} is outside ${min}..65535`);
  const ip = isIP(host);
  return { host, port, family: ip === 4 ? 4 : ip === 6 ? 6 : 0 };
}

export function formatAddr(a: { host: string; port: number }): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export interface PeerSpec {
  readonly id: PeerId;
  readonly addr: SocketAddr;
  /** The `[peers.NAME]` entry it came from, if any. */
  readonly name: string | null;
}

export interface NamedPeer {
  readonly id: PeerId;
  /** Absent: a peer that only sends here (peer_dirs names its directory). */
  readonly addr?: string;
}

/**
 * Resolves a PEER argument. A bare address (no id) is refused with E_PEER_ID_REQUIRED: the id is
 * what authenticates the receiver.
 */
/**
 * peer id -> the [peers.NAME] that names it: of several, the first in order (the same at every
 * start), among those `accept` takes.
 */
export function namesById(named: Readonly<Record<string, { readonly id: string }>>, accept: (name: string, id: string) => boolean = () => true): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of Object.keys(named).sort()) {
    const id = named[name]!.id.toLowerCase().replace(/^0x/, '');
    if (!out.has(id) && accept(name, id)) out.set(id, name);
  }
  return out;
}

export function parsePeer(input: string, named: Readonly<Record<string, NamedPeer>> = {}): PeerSpec {
  const s = input.trim();
  const at = s.indexOf('@');
  if (at >= 0) {
    const idText = s.slice(0, at);
    if (idText === '') {
      throw new WraithError('E_PEER_ID_REQUIRED', `peer ${JSON.stringify(input)} has no id before "@"`, { value: input });
    }
    return { id: parsePeerId(idText), addr: parseAddr(s.slice(at + 1), { defaultPort: DEFAULT_PORT }), name: null };
  }
  const entry = Object.hasOwn(named, s) ? named[s] : undefined;
  if (entry !== undefined) {
    if (entry.addr === undefined) {
      throw new WraithError('E_PEER_NO_ADDR', `[peers.${s}] has no addr: it names a peer that sends here`, { peer: s });
    }
    return { id: parsePeerId(entry.id), addr: parseAddr(entry.addr, { defaultPort: DEFAULT_PORT }), name: s };
  }
  if (looksLikeAddr(s)) {
    throw new WraithError(
      'E_PEER_ID_REQUIRED',
      `peer ${JSON.stringify(input)} has no id`,
      { value: input },
      `give it as <id>@${s} (the receiver prints its id with \`wraith id\`), or name it in [peers.NAME]`,
    );
  }
  if (isPeerId(s)) {
    throw new WraithError('E_ADDR_INVALID', `peer ${JSON.stringify(input)} has no address`, { value: input },
      `give it as ${s}@<host>:<port>`);
  }
  const names = Object.keys(named);
  throw new WraithError(
    'E_USAGE',
    `unknown peer ${JSON.stringify(input)}: not <id>@<host>:<port> and not a [peers.NAME] entry`,
    { value: input },
    names.length > 0 ? `configured peers: ${names.join(', ')}` : 'add a [peers.NAME] table with id and addr to the config',
  );
}

function looksLikeAddr(s: string): boolean {
  // An IP address alone is one too (its port defaults); a bare word is more likely a peer name.
  if (isIP(s) !== 0 || (s.startsWith('[') && s.endsWith(']') && isIP(s.slice(1, -1)) === 6)) return true;
  try {
    parseAddr(s);
    return true;
  } catch {
    return false;
  }
}
