/**
 * startAdminServer: the admin API on `[admin] listen` (loopback unless allow_remote, which
 * requires TLS) and optionally on `[admin] unix_socket` (mode 0600). Returns the URL the daemon
 * writes to run/daemon.json (the chosen port when listen has port 0; null when "off").
 */
import { lstat, readFile, unlink, chmod } from 'node:fs/promises';
import { connect, type AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { WraithError } from '@wraith/core';
import { createAdminApp } from './app.js';
import { authority, hostNames, parseAdminListen, type ListenAddr } from './listen-addr.js';
import type { AdminProvider } from './provider.js';
import { ensureToken } from './token-file.js';
import { byHolders, tcpPortHolders } from '../node/port-holder.js';

export interface AdminServerOptions {
  /** "127.0.0.1:40080", "[::1]:0", "off", ... */
  readonly listen: string;
  readonly unixSocket?: string | null;
  readonly allowRemote: boolean;
  readonly tlsCert?: string | null;
  readonly tlsKey?: string | null;
  /** The home directory (admin.token lives there). */
  readonly home: string;
  readonly provider: AdminProvider;
  /** An untagged logger: the admin API adds `component: "admin"` to its lines itself. */
  readonly logger: Logger;
  /** More Host names to accept (e.g. the DNS name remote clients use), bare or with a port. */
  readonly hostNames?: readonly string[];
  readonly bodyLimit?: number;
  readonly heartbeatMs?: number;
}

export interface AdminServer {
  /** e.g. "http://127.0.0.1:40080"; null when listen is "off". */
  readonly url: string | null;
  /** The unix socket path when one is served. */
  readonly socketPath: string | null;
  close(): Promise<void>;
}

function configError(key: string, message: string, hint: string): WraithError {
  return new WraithError('E_CONFIG', `${key}: ${message}`, { key }, hint);
}

const REMOTE_HINT = 'keep admin.listen on a loopback address (127.0.0.1:PORT), or set admin.allow_remote = true together with admin.tls_cert and admin.tls_key';

/** Checks the listen/remote/TLS combination; returns the parsed address (null: off). */
export function checkAdminListen(opts: Pick<AdminServerOptions, 'listen' | 'allowRemote' | 'tlsCert' | 'tlsKey'>): ListenAddr | null {
  const addr = parseAdminListen(opts.listen);
  const cert = opts.tlsCert ?? null;
  const key = opts.tlsKey ?? null;
  if (addr !== null && !addr.loopback) {
    if (!opts.allowRemote) {
      throw configError('admin.listen', `${opts.listen} is not a loopback address and admin.allow_remote is false`, REMOTE_HINT);
    }
    if (cert === null) throw configError('admin.tls_cert', `admin.allow_remote serves ${opts.listen} remotely, which needs TLS: admin.tls_cert is not set`, 'set admin.tls_cert and admin.tls_key to a PEM certificate and key');
    if (key === null) throw configError('admin.tls_key', `admin.allow_remote serves ${opts.listen} remotely, which needs TLS: admin.tls_key is not set`, 'set admin.tls_cert and admin.tls_key to a PEM certificate and key');
  }
  if ((cert === null) !== (key === null)) {
    const missing = cert === null ? 'admin.tls_cert' : 'admin.tls_key';
    throw configError(missing, `${missing} is not set but ${missing === 'admin.tls_cert' ? 'admin.tls_key' : 'admin.tls_cert'} is`, 'set both, or neither');
  }
  return addr;
}

async function readPem(key: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw configError(key, `cannot read ${path}: ${(e as Error).message}`, `point ${key} at a readable PEM file`);
  }
}

function listenError(e: unknown, what: string, key: string): WraithError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    const port = Number(what.slice(what.lastIndexOf(':') + 1));
    const pids = Number.isInteger(port) && port > 0 ? tcpPortHolders(port) : [];
    return new WraithError('E_ADDR_IN_USE', `${key} ${what}: the address is in use${byHolders(pids)}`, { key, address: what, ...(pids.length > 0 ? { holders: pids } : {}) },
      `stop what holds ${what}${pids.length === 1 ? ` (process ${pids[0]})` : ''}, or choose another ${key} ("127.0.0.1:0" picks a free port)`);
  }
  if (code === 'EADDRNOTAVAIL') return configError(key, `${what}: no local interface has this address`, 'use an address of this host (ip addr)');
  if (code === 'EACCES' || code === 'EPERM') {
    return new WraithError('E_PERMISSION', `${key} ${what}: not permitted (${code})`, { key, address: what },
      'ports below 1024 need privileges; choose a higher port');
  }
  return new WraithError('E_SOCKET', `listen(${what}): ${(e as Error).message}`, { key, address: what });
}

/** Every local address as a Host name, for a wildcard bind with allow_remote. */
function localAddressNames(): string[] {
  const names = [hostname()];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.push(a.address.replace(/%.*$/, ''));
  return names;
}

const UNSPECIFIED: Record<string, string> = { '0.0.0.0': '127.0.0.1', '::': '::1' };

/** Removes a socket file left by a dead daemon; refuses a live one or a non-socket. */
async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw configError('admin.unix_socket', `${path} exists and is not a socket`, 'remove it or choose another path');
  }
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) {
    throw new WraithError('E_ADDR_IN_USE', `admin.unix_socket ${path}: another process serves it`, { key: 'admin.unix_socket', address: path },
      'stop the other daemon, or choose another admin.unix_socket');
  }
  await unlink(path).catch(() => undefined);
}

async function listenUnix(app: FastifyInstance, path: string): Promise<void> {
  await clearStaleSocket(path);
  let previous: number | undefined;
  try {
    previous = process.umask(0o077);
  } catch {
    // worker threads cannot change the umask; the chmod below still applies
  }
  try {
    await app.listen({ path });
  } catch (e) {
    throw listenError(e, path, 'admin.unix_socket');
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
  await chmod(path, 0o600);
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const addr = checkAdminListen(opts);
  const socketPath = opts.unixSocket ?? null;
  if (addr === null && socketPath === null) {
    opts.logger.info({ component: 'admin' }, 'admin API off');
    return { url: null, socketPath: null, close: async () => {} };
  }
  const cert = opts.tlsCert ?? null;
  const key = opts.tlsKey ?? null;
  const https = cert !== null && key !== null ? { cert: await readPem('admin.tls_cert', cert), key: await readPem('admin.tls_key', key) } : undefined;
  const token = await ensureToken(opts.home);
  const common = { provider: opts.provider, token, logger: opts.logger, bodyLimit: opts.bodyLimit, heartbeatMs: opts.heartbeatMs };

  const apps: FastifyInstance[] = [];
  let socketCreated = false;
  const closeAll = async (): Promise<void> => {
    await Promise.allSettled(apps.map((a) => a.close()));
    // Only a socket this server created is removed (never another daemon's live one).
    if (socketPath !== null && socketCreated) await unlink(socketPath).catch(() => undefined);
  };

  let url: string | null = null;
  try {
    if (addr !== null) {
      const allowed: string[] = [];
      const app = createAdminApp({ ...common, allowedHosts: allowed, ...(https !== undefined ? { https } : {}) });
      apps.push(app);
      try {
        await app.listen({ host: addr.host, port: addr.port });
      } catch (e) {
        throw listenError(e, authority(addr.host, addr.port), 'admin.listen');
      }
      const port = (app.server.address() as AddressInfo).port;
      const extra = [...(opts.hostNames ?? []), ...(addr.loopback ? [] : localAddressNames())];
      allowed.push(...hostNames(addr, port, extra));
      const clientHost = UNSPECIFIED[addr.host] ?? addr.host;
      url = `${https !== undefined ? 'https' : 'http'}://${authority(clientHost, port)}`;
    }
    if (socketPath !== null) {
      const app = createAdminApp({ ...common, allowedHosts: ['*'] });
      apps.push(app);
      await listenUnix(app, socketPath);
      socketCreated = true;
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  opts.logger.info({ component: 'admin', url, socket: socketPath }, 'admin API listening');
  let closing: Promise<void> | null = null;
  return {
    url,
    socketPath,
    close: () => (closing ??= closeAll()),
  };
}
