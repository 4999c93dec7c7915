/**
 * The checks every request passes before routing, in this order:
 *  1. no token in the URL (a `?token=` query, or the token anywhere in the URL): 400, so a
 *     token never reaches logs, shell history or a browser's history;
 *  2. the Host header is one of the API's own names, and a browser Origin or Referer, when
 *     present, names one too: 403 otherwise (DNS rebinding, cross-site requests);
 *  3. `Authorization: Bearer <token>`: absent 401, wrong 403. Compared in constant time on
 *     SHA-256 digests (equal lengths whatever was sent).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { WraithError } from '@wraith/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './http-errors.js';

/** Query keys that look like a credential. */
const TOKEN_KEYS = new Set(['token', 'access_token', 'admin_token', 'auth', 'authorization', 'bearer', 'api_key', 'apikey', 'key']);

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function tokensEqual(presented: string, expectedDigest: Buffer): boolean {
  return timingSafeEqual(digest(presented), expectedDigest);
}

/** The bearer token from an Authorization header, or null when there is none. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m === null ? null : m[1]!;
}

/** Runs of 64 or more hex characters: where a token could be (found without looking at the secret). */
const HEX_RUN = /[0-9a-fA-F]{64,}/g;
const TOKEN_LENGTH = 64;
const MAX_HEX_RUN = 256;

/**
 * Whether the URL carries the token: a credential-like query key, or the token itself anywhere
 * (raw or percent-encoded). Candidates are found by shape and compared in constant time, so the
 * check's duration does not depend on how much of the token a URL guesses.
 */
function urlCarriesToken(rawUrl: string, expected: Buffer): boolean {
  let decoded = rawUrl;
  try {
    decoded = decodeURIComponent(rawUrl);
  } catch {
    // malformed percent-encoding: the raw form is checked
  }
  for (const text of decoded === rawUrl ? [rawUrl] : [rawUrl, decoded]) {
    for (const m of text.matchAll(HEX_RUN)) {
      const run = m[0].toLowerCase();
      // No route takes such a run; refusing it bounds the hashing work per request.
      if (run.length > MAX_HEX_RUN) return true;
      // Every 64-character window of the run (a token may be glued to other hex digits).
      for (let i = 0; i + TOKEN_LENGTH <= run.length; i++) if (tokensEqual(run.slice(i, i + TOKEN_LENGTH), expected)) return true;
    }
  }
  const q = rawUrl.indexOf('?');
  if (q < 0) return false;
  for (const key of new URLSearchParams(rawUrl.slice(q + 1)).keys()) if (TOKEN_KEYS.has(key.toLowerCase())) return true;
  return false;
}

/** "host:port" forms of an Origin or Referer URL; null when it does not parse. */
function urlHosts(value: string): string[] | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return null;
  }
  if (u.host === '') return null;
  const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : u.protocol === 'http:' ? '80' : '';
  return [u.host.toLowerCase(), `${u.hostname.toLowerCase()}:${port}`];
}

export interface GuardOptions {
  readonly token: string;
  /**
   * Accepted Host header values ("127.0.0.1:40080", "localhost:40080", "[::1]:40080", configured
   * names), compared case-insensitively; read on every request, so a server may add the port's
   * names after it learns the port. "*" accepts any Host (a unix socket, where the file mode
   * is the access control and no browser can connect).
   */
  readonly allowedHosts: readonly string[];
}

export function installGuards(app: FastifyInstance, opts: GuardOptions): void {
  const expected = digest(opts.token);
  const allowed = (host: string): boolean => {
    const list = opts.allowedHosts;
    if (list.includes('*')) return true;
    const h = host.toLowerCase();
    return list.some((a) => a.toLowerCase() === h);
  };
  const deny = (reply: FastifyReply, err: WraithError): FastifyReply => sendError(reply, err);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const rawUrl = request.raw.url ?? '';
    if (urlCarriesToken(rawUrl, expected)) {
      return deny(reply, new WraithError('E_ADMIN_TOKEN_IN_URL', 'a token was sent in the URL; it is refused and must be sent in the Authorization header'));
    }

    const host = request.headers.host;
    if (host === undefined || !allowed(host)) {
      return deny(reply, new WraithError('E_ADMIN_HOST', `Host ${JSON.stringify(host ?? '')} is not one of this API's names`, { host }));
    }
    for (const name of ['origin', 'referer'] as const) {
      const value = request.headers[name];
      if (value === undefined) continue;
      const hosts = typeof value === 'string' ? urlHosts(value) : null;
      if (hosts === null || !hosts.some(allowed)) {
        return deny(reply, new WraithError('E_ADMIN_HOST', `${name === 'origin' ? 'Origin' : 'Referer'} ${JSON.stringify(String(value).slice(0, 200))} is foreign to this API`));
      }
    }

    const presented = bearerToken(request.headers.authorization);
    if (presented === null) {
      return deny(reply, new WraithError('E_ADMIN_AUTH', 'no bearer token: send "Authorization: Bearer <token>"'));
    }
    if (!tokensEqual(presented, expected)) {
      return deny(reply, new WraithError('E_ADMIN_FORBIDDEN', 'the bearer token is not this daemon\'s admin token'));
    }
    return undefined;
  });
}
