/**
 * <home>/run/daemon.json: how other commands find a running daemon. Written atomically once the
 * daemon is up, removed at shutdown; a file left by a dead daemon is ignored.
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { unlinkSync } from 'node:fs';
import { WraithError } from '@wraith/core';
import { homeWriteError, writeFileAtomic } from '../fsutil.js';
import type { Home } from './home.js';
import { isProcessAlive } from './lock.js';

export interface RunInfo {
  readonly pid: number;
  readonly peer_id: string;
  /** The bound UDP addresses, "HOST:PORT" / "[v6]:PORT". */
  readonly udp_addrs: readonly string[];
  /** e.g. "http://127.0.0.1:40080", or null when the admin API is off. */
  readonly admin_url: string | null;
  /** "udp" or "xdp": what actually started. */
  readonly transport: string;
}

export async function writeRunInfo(home: Home, info: RunInfo): Promise<void> {
  try {
    // A home provisioned with only its identity.key has no run/ yet.
    await mkdir(home.runDir, { mode: 0o700, recursive: true });
    await writeFileAtomic(home.runInfoFile, `${JSON.stringify(info, null, 2)}\n`, 0o600);
  } catch (e) {
    throw homeWriteError('cannot write', home.runInfoFile, e);
  }
}

function parse(text: string, path: string): RunInfo {
  let v: Partial<RunInfo>;
  try {
    v = JSON.parse(text) as Partial<RunInfo>;
  } catch {
    throw new WraithError('E_IO', `${path} is not valid JSON`, { path }, 'the daemon rewrites it at start; restart it');
  }
  if (
    typeof v.pid !== 'number' ||
    typeof v.peer_id !== 'string' ||
    !Array.isArray(v.udp_addrs) ||
    !(typeof v.admin_url === 'string' || v.admin_url === null) ||
    typeof v.transport !== 'string'
  ) {
    throw new WraithError('E_IO', `${path} lacks pid, peer_id, udp_addrs, admin_url or transport`, { path },
      'the daemon rewrites it at start; restart it');
  }
  return v as RunInfo;
}

/** The running daemon's info, or null when none runs (no file, or its pid is dead). */
export async function readRunInfo(home: Home): Promise<RunInfo | null> {
  let text: string;
  try {
    text = await readFile(home.runInfoFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new WraithError('E_IO', `cannot read ${home.runInfoFile}: ${(e as Error).message}`, { path: home.runInfoFile });
  }
  const info = parse(text, home.runInfoFile);
  return isProcessAlive(info.pid) ? info : null;
}

/** Like readRunInfo, but E_DAEMON_NOT_RUNNING when there is none. */
export async function requireRunInfo(home: Home): Promise<RunInfo> {
  const info = await readRunInfo(home);
  if (info === null) throw new WraithError('E_DAEMON_NOT_RUNNING', `no daemon is running on home ${home.dir}`, { home: home.dir });
  return info;
}

export async function removeRunInfo(home: Home): Promise<void> {
  await unlink(home.runInfoFile).catch(() => undefined);
}

export function removeRunInfoSync(home: Home): void {
  try {
    unlinkSync(home.runInfoFile);
  } catch {
    // already gone
  }
}
