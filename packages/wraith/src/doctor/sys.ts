/**
 * Everything the doctor reads from the system goes through Sys, so the checks can be tested
 * against a made-up machine. realSys() is this machine: files, commands, a UDP bind, the addon.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { udpPortHolders } from '../node/port-holder.js';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface NativeModule {
  readonly native: Record<string, unknown> | null;
  readonly loadError: string | null;
}

export interface UringProbe {
  readonly ok: boolean;
  readonly code?: string;
  readonly errno?: number;
  readonly reason?: string;
}

export interface Sys {
  /** File contents, or null (any error). */
  readText(path: string): string | null;
  /** A gzip-compressed file's contents (/proc/config.gz), or null. */
  readGzip(path: string): string | null;
  exists(path: string): boolean;
  readlink(path: string): string | null;
  readdir(path: string): string[] | null;
  /** null when the command is not installed. */
  run(cmd: string, args: readonly string[]): RunResult | null;
  /** uname -r. */
  release(): string;
  /**
   * Binds a UDP socket on `host` (an IP literal; `::` dual-stack, as the node binds it) and the
   * port briefly: null when that works, else the errno code.
   */
  bindUdp(port: number, host: string): Promise<string | null>;
  /** Pids holding a UDP socket on `port` (node/port-holder.ts); [] when none can be seen. */
  udpPortHolders(port: number): number[];
  /** require('@wraith/native'), or why it failed. */
  nativeModule(): NativeModule;
  /** The io_uring probe of @wraith/io-uring (or of the addon); null when neither is loadable. */
  ioUringProbe(): Promise<UringProbe | null>;
}

const require = createRequire(import.meta.url);

function loadNative(): NativeModule {
  try {
    const m = require('@wraith/native') as NativeModule;
    return { native: m.native ?? null, loadError: m.native ? null : (m.loadError ?? 'not loaded') };
  } catch (e) {
    return { native: null, loadError: `cannot load @wraith/native: ${(e as Error).message}` };
  }
}

export function realSys(): Sys {
  let native: NativeModule | null = null;
  return {
    readText(path) {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return null;
      }
    },
    readGzip(path) {
      try {
        return gunzipSync(readFileSync(path)).toString('utf8');
      } catch {
        return null;
      }
    },
    exists: (path) => existsSync(path),
    readlink(path) {
      try {
        return readlinkSync(path);
      } catch {
        return null;
      }
    },
    readdir(path) {
      try {
        return readdirSync(path);
      } catch {
        return null;
      }
    },
    run(cmd, args) {
      const r = spawnSync(cmd, [...args], { encoding: 'utf8', timeout: 10_000 });
      if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message ?? '') };
    },
    release: () => release(),
    udpPortHolders: (port) => udpPortHolders(port),
    bindUdp(port, host) {
      return new Promise((resolve) => {
        const s = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false, ipv6Only: false });
        s.once('error', (e: NodeJS.ErrnoException) => {
          s.close();
          resolve(e.code ?? 'EIO');
        });
        s.bind({ port, address: host, exclusive: true }, () => {
          s.close();
          resolve(null);
        });
      });
    },
    nativeModule() {
      native ??= loadNative();
      return native;
    },
    async ioUringProbe() {
      try {
        const m = (await import('@wraith/io-uring')) as { probeIoUring?: () => UringProbe };
        if (typeof m.probeIoUring === 'function') return m.probeIoUring();
      } catch {
        // not built: ask the addon directly
      }
      native ??= loadNative();
      const probe = native.native?.uringProbe;
      if (typeof probe !== 'function') return null;
      return (probe as () => UringProbe)();
    },
  };
}
