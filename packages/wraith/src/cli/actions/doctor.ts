/**
 * `wraith doctor` (registered in ../commands/doctor.ts): what this machine allows (../../doctor:
 * kernel, native addon, io_uring, capabilities and memlock for AF_XDP, huge pages, the interface)
 * and what this home holds (runChecks: home and key permissions, config, the download directory
 * with its free space and O_DIRECT, a running daemon). Exits 0 unless a check fails; then with
 * that failure's exit code.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ERRORS, EXIT_CODES, WraithError } from '@wraith/core';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { checkPrivate, homePaths, resolveHomeDir } from '../../home/home.js';
import { loadIdentity } from '../../home/identity.js';
import { readRunInfo } from '../../home/runinfo.js';
import { parseAddr } from '../../peer.js';
import { toWraithError } from '../../ui/errors.js';
import type { CliIo, CliState } from '../context.js';
import { blockingChecks, gatherChecks } from '../../doctor/run.js';
import { formatJson, formatTable } from '../../doctor/format.js';
import { downloadDirCheck } from '../../doctor/download-dir.js';
import type { Check as SystemCheck } from '../../doctor/types.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  readonly error?: WraithError;
}

export async function runChecks(homeDir: string, configFile: string | null): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, status: CheckStatus, detail: string, error?: WraithError): void => {
    checks.push({ name, status, detail, ...(error !== undefined ? { error } : {}) });
  };
  const home = homePaths(homeDir);
  if (!existsSync(homeDir)) {
    add('home', 'warn', `${homeDir} does not exist; \`wraith keygen\` creates it`);
  } else {
    try {
      await checkPrivate(homeDir, 'dir');
      add('home', 'ok', homeDir);
    } catch (e) {
      const err = toWraithError(e);
      add('home', 'fail', err.message, err);
    }
  }

  let loaded: LoadedConfig | null = null;
  try {
    loaded = await loadConfig({ home: homeDir, configFile });
    add('config', loaded.warnings.length > 0 ? 'warn' : 'ok', [loaded.files.user ?? loaded.files.defaults, ...loaded.warnings].join('; '));
  } catch (e) {
    const err = toWraithError(e);
    add('config', 'fail', err.message, err);
  }

  const keyFile = loaded?.config.node.identity_file ?? home.identityFile;
  if (!existsSync(keyFile)) {
    add('identity', 'warn', `${keyFile} does not exist; run \`wraith keygen\``);
  } else {
    try {
      const id = await loadIdentity(keyFile);
      add('identity', 'ok', `peer id ${id.peerId}`);
    } catch (e) {
      const err = toWraithError(e);
      add('identity', 'fail', err.message, err);
    }
  }

  if (loaded !== null) {
    const c = loaded.config;
    if (c.network.xdp_interface !== null) {
      const exists = existsSync(`/sys/class/net/${c.network.xdp_interface}`);
      add('xdp interface', exists ? 'ok' : 'fail', exists ? c.network.xdp_interface : `${c.network.xdp_interface} does not exist`,
        exists ? undefined : new WraithError('E_CONFIG', `network.xdp_interface: no interface ${c.network.xdp_interface}`));
    }
    const running = existsSync(homeDir) ? await readRunInfo(home).catch(() => null) : null;
    const d = await downloadDirCheck({ dir: c.transfer.download_dir, minFree: c.receive.min_free, directWrites: c.io.direct_writes, daemonPid: running?.pid ?? null });
    add('download dir', d.status, d.detail, d.status === 'fail' ? new WraithError(d.code ?? 'E_IO', d.detail) : undefined);
  }

  try {
    const info = existsSync(homeDir) ? await readRunInfo(home) : null;
    add('daemon', 'ok', info === null ? 'not running' : `pid ${info.pid}, ${info.transport}, ${info.udp_addrs.join(' ')}${info.admin_url !== null ? `, admin ${info.admin_url}` : ''}`);
  } catch (e) {
    add('daemon', 'warn', toWraithError(e).message);
  }
  return checks;
}

export interface DoctorOptions {
  json?: boolean;
  config?: string;
  interface?: string;
  debug?: boolean;
}

export async function doctor(opts: DoctorOptions, cmd: Command, io: CliIo, state: CliState): Promise<void> {
  state.json = opts.json === true;
  const g = cmd.optsWithGlobals<{ home?: string; config?: string }>();
  const homeDir = resolveHomeDir(g.home, io.env, io.cwd);
  const configFile = g.config !== undefined ? resolve(io.cwd, g.config) : null;
  let transport: 'auto' | 'udp' | 'xdp' = 'auto';
  let port: number | undefined;
  let host: string | undefined;
  let iface: string | undefined = opts.interface;
  let umemBytes: number | undefined;
  try {
    const loaded = await loadConfig({ home: homeDir, ...(configFile !== null ? { configFile } : {}), cwd: io.cwd });
    transport = loaded.config.network.transport;
    const addr = parseAddr(loaded.config.network.listen_addr, { allowPortZero: true });
    port = addr.port;
    // A host name is resolved by the node at start; the check then binds the default.
    if (isIP(addr.host) !== 0) host = addr.host;
    iface ??= loaded.config.network.xdp_interface ?? undefined;
    umemBytes = loaded.config.xdp.umem_size;
  } catch {
    // a broken config is reported by the home checks below
  }
  const system = await gatherChecks({
    ...(iface !== undefined ? { interface: iface } : {}),
    ...(opts.debug ? { debug: true } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(host !== undefined ? { host } : {}),
    ...(umemBytes !== undefined ? { umemBytes } : {}),
    transport,
  });
  const home: SystemCheck[] = (await runChecks(homeDir, configFile))
    .map((c) => ({
      name: c.name.replace(/ /g, '_'),
      status: c.status,
      found: c.detail,
      ...(c.error ? { code: c.error.code, remedy: c.error.hint } : {}),
    }));
  const checks = [...system, ...home];
  const blocking = blockingChecks(system, transport);
  const transportOk = blocking.length === 0;
  io.stdout.write(state.json ? formatJson(checks, transport, transportOk) : formatTable(checks, transport, transportOk));
  const homeFail = home.find((c) => c.status === 'fail');
  const first = blocking[0] ?? homeFail;
  if (first) {
    const code = first.code;
    state.exitCode = code !== undefined && code in ERRORS ? EXIT_CODES[ERRORS[code as keyof typeof ERRORS].category] : 1;
  }
}
