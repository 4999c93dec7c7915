/**
 * A client of a running daemon's admin API: finds it through <home>/run/daemon.json
 * (admin_url), reads <home>/admin.token, and calls the API with fetch. Error answers come back
 * as the WraithError the server sent (same code, message and hint).
 */
import { WraithError } from '@wraith/core';
import { homePaths } from '../home/home.js';
import { requireRunInfo } from '../home/runinfo.js';
import type { PeerDto, StatusDto, TransferDto } from './dto.js';
import { isKnownCode } from './http-errors.js';
import { readToken } from './token-file.js';

export interface AdminEndpoint {
  /** e.g. "http://127.0.0.1:40080" (no trailing slash). */
  readonly url: string;
  readonly token: string;
}

/** E_DAEMON_NOT_RUNNING without a live daemon.json; E_ADMIN_OFF when its admin API is off. */
export async function findDaemon(homeDir: string): Promise<AdminEndpoint> {
  const home = homePaths(homeDir);
  const info = await requireRunInfo(home);
  if (info.admin_url === null) {
    throw new WraithError('E_ADMIN_OFF', `the daemon (pid ${info.pid}) on home ${homeDir} runs without the admin API`, { pid: info.pid });
  }
  const token = await readToken(homeDir);
  return { url: info.admin_url.replace(/\/+$/, ''), token };
}

export interface AdminClientOptions {
  /** Per request; default 10 s. */
  readonly timeoutMs?: number;
}

interface ErrorAnswer {
  error?: { code?: unknown; message?: unknown; hint?: unknown };
}

export class AdminClient {
  private readonly timeoutMs: number;

  constructor(
    readonly endpoint: AdminEndpoint,
    opts: AdminClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  static async forHome(homeDir: string, opts: AdminClientOptions = {}): Promise<AdminClient> {
    return new AdminClient(await findDaemon(homeDir), opts);
  }

  /** One request; resolves the parsed JSON (or text) of a 2xx answer, throws the coded error otherwise. */
  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const url = `${this.endpoint.url}${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.endpoint.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
    } catch (e) {
      throw this.networkError(e, method, path);
    }
    const text = await res.text();
    const isJson = (res.headers.get('content-type') ?? '').includes('application/json');
    if (res.ok) return (isJson ? JSON.parse(text) : text) as T;
    let answer: ErrorAnswer = {};
    if (isJson) {
      try {
        answer = JSON.parse(text) as ErrorAnswer;
      } catch {
        // not JSON after all: reported below with the status
      }
    }
    const err = answer.error;
    if (err !== undefined && isKnownCode(err.code) && typeof err.message === 'string') {
      throw new WraithError(err.code, err.message, { status: res.status }, typeof err.hint === 'string' ? err.hint : undefined);
    }
    throw new WraithError('E_INTERNAL', `${method} ${path}: HTTP ${res.status} without a coded error: ${text.slice(0, 200)}`, { status: res.status });
  }

  private networkError(e: unknown, method: string, path: string): WraithError {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? (e as { name?: string }).name;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') {
      return new WraithError('E_DAEMON_NOT_RUNNING', `nothing answers at ${this.endpoint.url} (${code})`, { url: this.endpoint.url },
        'the daemon may have just stopped; start it with `wraith daemon`, or pass the --home it uses');
    }
    if (code === 'TimeoutError' || code === 'AbortError') {
      return new WraithError('E_SOCKET', `${method} ${path}: no answer from ${this.endpoint.url} within ${this.timeoutMs} ms`, { url: this.endpoint.url },
        'the daemon is busy or stuck; check its log');
    }
    return new WraithError('E_SOCKET', `${method} ${this.endpoint.url}${path}: ${cause?.message ?? (e as Error).message}`, { url: this.endpoint.url });
  }

  status(): Promise<StatusDto> {
    return this.request('GET', '/v1/status');
  }

  async peers(): Promise<PeerDto[]> {
    return (await this.request<{ peers: PeerDto[] }>('GET', '/v1/peers')).peers;
  }

  async transfers(): Promise<TransferDto[]> {
    return (await this.request<{ transfers: TransferDto[] }>('GET', '/v1/transfers')).transfers;
  }

  transfer(id: string): Promise<TransferDto> {
    return this.request('GET', `/v1/transfers/${encodeURIComponent(id)}`);
  }

  startTransfer(path: string, peer: string): Promise<TransferDto> {
    return this.request('POST', '/v1/transfers', { path, peer });
  }

  cancel(id: string): Promise<TransferDto> {
    return this.request('DELETE', `/v1/transfers/${encodeURIComponent(id)}`);
  }

  metrics(): Promise<string> {
    return this.request('GET', '/v1/metrics');
  }
}
