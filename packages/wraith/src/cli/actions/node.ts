/**
 * `wraith daemon`, `receive`, `send` and `demo` (registered in ../commands/node.ts). Only the
 * daemon serves metrics (admin API); `receive` counts for its idle trim only; the others count
 * into a DiscardStats.
 */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { EXIT_CODES, WraithError } from '@wraith/core';
import { fsError } from '../../fsutil.js';
import { unsendablePath } from '../../walk.js';
import { parseDest } from '../../dest.js';
import { excludesOf, type ExcludeOpts } from '../excludes.js';
import { dryRun } from '../dry-run.js';
import { namingOf } from '../read-list.js';
import { formatAddr, parseAddr, parsePeer } from '../../peer.js';
import { acquireDaemonLock, lockDownloadDir, type DownloadDirLock } from '../../home/lock.js';
import { loadIdentity } from '../../home/identity.js';
import { removeRunInfo, writeRunInfo } from '../../home/runinfo.js';
import { ensureAdminToken } from '../../home/token.js';
import { loadNode, type DaemonHandle, type ReceiveResult } from '../../node-api.js';
import { configChanges, withLiveKeys } from '../../config/reload.js';
import { EarlyHash } from '../../node/hash-jobs.js';
import { reportActivity, serviceNotifier } from '../../node/service-manager.js';
import { trimWhenIdle } from '../../node/idle-trim.js';
import { hashCacheIn } from '../../node/hash-cache.js';
import { DiscardStats, Stats } from '../../stats.js';
import { createUi, forwarding } from '../../ui/index.js';
import { NdjsonUi } from '../../ui/ndjson.js';
import { receiveSummary } from '../../ui/progress.js';
import { sendersHint } from '../../ui/senders-hint.js';
import { limitRepeats } from '../../ui/repeats.js';
import type { TransferUi } from '../../ui/types.js';
import { humanBytes, humanRate, parseDuration, parseRate, parseSize, RATE_EXPECTED } from '../../units.js';
import { flagLayer, loadAll, type CliIo, type CliState } from '../context.js';
import { makeLog } from '../logging.js';
import { watchShutdown } from '../signals.js';

export interface RunOpts {
  json?: boolean;
  verbose?: boolean;
  logLevel?: string;
  bind?: string;
  output?: string;
  progress?: boolean;
  [k: string]: unknown;
}

export type SendOpts = RunOpts & { to: string; rate?: string; reconnectFor: string; followSymlinks?: boolean; allowGrowth?: boolean; dest?: string; relative?: boolean; filesFrom?: string; removeSourceFiles?: boolean; quiet?: boolean; dryRun?: boolean } & ExcludeOpts;

/** A UI that also remembers the transfer id, so a fatal error line can carry it. */
function tracking(ui: TransferUi, state: CliState): TransferUi {
  return {
    ...forwarding(ui),
    started: (e) => {
      state.transferId = e.transfer_id;
      ui.started(e);
    },
  };
}

function bindAlias(value: string | undefined): { flag: string; value: unknown } {
  if (value !== undefined) parseAddr(value, { allowPortZero: true }); // E_ADDR_INVALID naming --bind's value
  return { flag: '--bind', value };
}

/** The flags of the receiving commands: --bind and --output stand for their config keys. */
function receiverFlags(cmd: Command, opts: RunOpts): ReturnType<typeof flagLayer> {
  return flagLayer(cmd, opts, {
    'network.listen_addr': bindAlias(opts.bind),
    'transfer.download_dir': { flag: '--output', value: opts.output },
  });
}

/**
 * What `daemon` and `receive` open alike: config, log, identity, the home's receiver lock (same
 * home, same resume state: one receiver at a time) and the download directory's (one receiver
 * there whatever its home), released on exit even without unwinding.
 */
async function openReceiver(opts: RunOpts, cmd: Command, io: CliIo, state: CliState, interactive: boolean) {
  state.json = opts.json === true;
  state.working = true;
  const { home, loaded } = await loadAll(cmd.optsWithGlobals(), receiverFlags(cmd, opts), io, 'open');
  const { config } = loaded;
  const log = makeLog(loaded, io, { interactive, verbose: opts.verbose === true, levelFlag: opts.logLevel !== undefined });
  const identity = await loadIdentity(config.node.identity_file);
  const lock = await acquireDaemonLock(home);
  let dirLock: DownloadDirLock | null = null;
  const releaseOnExit = (): void => {
    dirLock?.release();
    lock.releaseSync();
  };
  process.on('exit', releaseOnExit);
  const release = async (): Promise<void> => {
    dirLock?.release();
    await lock.release();
    process.off('exit', releaseOnExit);
  };
  try {
    dirLock = lockDownloadDir(config.transfer.download_dir);
  } catch (e) {
    await release();
    throw e;
  }
  if (dirLock.skipped !== undefined) {
    log.logger.warn({ dir: config.transfer.download_dir }, `no lock on the download directory: ${dirLock.skipped}; a second receiver started there would not be refused`);
  } else if (dirLock.dir === null) {
    log.logger.debug('no lock on the download directory without the native addon: a second receiver there is not refused');
  }
  const lockNow = dirLock;
  const followDir = (stop: (e: WraithError) => void): (() => void) => followDownloadDir(lockNow, log.logger, stop);
  return { home, config, log, identity, release, followDir };
}

/** How often a receiver checks that its lock is on the download directory at its path. */
const DIR_RECHECK_MS = 2000;

/**
 * Keeps the download directory's lock on the directory at its path: one removed and made again
 * while the receiver runs gets the lock (else a second receiver could start there); when another
 * process locked it first, `stop` is called with E_DOWNLOAD_DIR_LOCKED, once.
 */
function followDownloadDir(lock: DownloadDirLock, log: Logger, stop: (e: WraithError) => void): () => void {
  if (lock.dir === null) return () => undefined;
  const timer = setInterval(() => {
    try {
      if (lock.recheck() === 'moved') log.warn({ dir: lock.dir }, `download directory ${lock.dir} was removed and made again: its lock moved to the new one`);
    } catch (e) {
      if (!(e instanceof WraithError)) return; // it went again meanwhile: the next check tells
      clearInterval(timer);
      log.error({ alert: true, code: e.code, err: e.message }, 'the download directory was made again and another receiver locked it: stopping');
      stop(e);
    }
  }, DIR_RECHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

export async function daemon(opts: RunOpts, cmd: Command, io: CliIo, state: CliState): Promise<void> {
  const { home, config, log, identity, release, followDir } = await openReceiver(opts, cmd, io, state, false);
  let dirTaken: WraithError | null = null;
  let stopFollow = (): void => undefined;
  let handle: DaemonHandle | null = null;
  let running = config;
  const service = serviceNotifier(io.env, log.logger);
  let stopActivity = (): void => undefined;
  let stopTrim = (): void => undefined;
  // SIGHUP (`systemctl reload`): reopen the log file, then read the config again.
  const reload = async (): Promise<void> => {
    log.reopen();
    if (handle === null) return;
    service.reloading();
    try {
      const next = (await loadAll(cmd.optsWithGlobals(), receiverFlags(cmd, opts), io, 'none')).loaded.config;
      const { live, restart } = configChanges(running, next);
      handle.reload(next);
      // --verbose without --log-level keeps debug, as at start.
      if (live.includes('logging.level') && !(opts.verbose === true && opts.logLevel === undefined)) log.logger.level = next.logging.level;
      running = withLiveKeys(running, next);
      log.logger.info({ applied: live, needs_restart: restart }, live.length + restart.length === 0 ? 'config reloaded: nothing changed' : 'config reloaded');
      if (restart.length > 0) log.logger.warn({ keys: restart }, `these config changes apply at the next restart: ${restart.join(', ')}`);
    } catch (e) {
      const err = e instanceof WraithError ? e : new WraithError('E_CONFIG', (e as Error).message);
      log.logger.error({ code: err.code, err: err.message }, 'config reload failed: the daemon keeps its running config');
    }
    service.ready(readyStatus());
  };
  const readyStatus = (): string => {
    const info = handle?.info;
    return info === undefined ? 'starting' : `listening on ${info.udp_addrs.join(', ') || config.network.listen_addr} (${info.transport})`;
  };
  const shutdown = watchShutdown(io, { onHup: () => void reload() });
  try {
    const startDaemon = await loadNode('startDaemon');
    const adminOn = config.admin.listen !== 'off' || config.admin.unix_socket !== null;
    const adminToken = adminOn ? await ensureAdminToken(home) : null;
    // Process metrics are read only through the admin API: without it they would cost a timer.
    const stats = new Stats({ processMetrics: adminOn });
    handle = await startDaemon({ config, home, identity, log, stats, signal: shutdown.signal, adminToken });
    try {
      await writeRunInfo(home, { pid: process.pid, peer_id: identity.peerId, ...handle.info });
    } catch (e) {
      // Peers may have connected meanwhile: they are told, and partials are checkpointed.
      await handle.close();
      throw e;
    }
    // run/daemon.json follows the transport in use (the XDP watchdog may fall back to UDP).
    handle.onInfoChanged((info) => {
      service.status(readyStatus());
      writeRunInfo(home, { pid: process.pid, peer_id: identity.peerId, ...info }).catch((e: Error) =>
        log.logger.warn({ err: e.message }, 'could not update run/daemon.json'),
      );
    });
    log.logger.info({ peer_id: identity.peerId, ...handle.info }, 'daemon ready');
    service.ready(readyStatus());
    stopActivity = reportActivity(service, stats, readyStatus);
    stopTrim = trimWhenIdle(stats, log.logger);
    stopFollow = followDir((e) => {
      dirTaken = e;
      shutdown.stop('download directory taken');
    });
    if (state.json) {
      new NdjsonUi(io.stdout).emit('ready', null, { pid: process.pid, peer_id: identity.peerId, ...handle.info });
    } else {
      const addr = handle.info.udp_addrs[0] ?? config.network.listen_addr;
      io.stdout.write(`wraith daemon ready: ${identity.peerId}@${addr} (${handle.info.transport}${handle.info.admin_url !== null ? `, admin ${handle.info.admin_url}` : ''})\n`);
      const hint = sendersHint(identity.peerId, addr);
      if (hint !== null) io.stdout.write(`${hint}\n`);
    }
    const stopped = await Promise.race([handle.done.then(() => 'done' as const), shutdown.requested.then(() => 'signal' as const)]);
    stopActivity();
    service.stopping();
    if (stopped === 'signal') {
      log.logger.info('shutting down');
      await handle.close();
    }
    if (dirTaken !== null) throw dirTaken;
  } finally {
    stopActivity();
    stopTrim();
    stopFollow();
    service.close();
    shutdown.dispose();
    await removeRunInfo(home);
    await release();
    log.flush();
  }
}

export async function receive(opts: RunOpts & { once?: boolean; quiet?: boolean }, cmd: Command, io: CliIo, state: CliState): Promise<void> {
  const { home, config, log, identity, release, followDir } = await openReceiver(opts, cmd, io, state, true);
  const shutdown = watchShutdown(io, { onHup: () => log.reopen(), foreground: true });
  let dirTaken: WraithError | null = null;
  const stopFollow = followDir((e) => {
    dirTaken = e;
    shutdown.stop('download directory taken');
  });
  const quiet = opts.quiet === true;
  const ui = tracking(createUi({ json: state.json, progress: opts.progress !== false, quiet, stdout: io.stdout, stderr: io.stderr }), state);
  let result: ReceiveResult | null = null;
  // A receive can run for days: after each burst of files it gives memory back, as the daemon does.
  const stats = new Stats();
  const stopTrim = opts.once === true ? () => undefined : trimWhenIdle(stats, log.logger);
  try {
    const runReceive = await loadNode('runReceive');
    result = await runReceive({ config, home, identity, log, stats, signal: shutdown.signal, once: opts.once === true }, ui);
    if (dirTaken !== null) throw dirTaken;
    if (result.errors.length > 0) state.exitCode = result.errors[0]!.exitCode;
    // Stopped by the user mid-file: not a clean end, as a send's Ctrl-C is not.
    else if (result.interrupted > 0) state.exitCode = EXIT_CODES.cancelled;
  } finally {
    stopFollow();
    stopTrim();
    ui.close();
    // The files' own lines are above; this says what the whole run took in.
    const clean = result !== null && result.errors.length === 0 && result.interrupted === 0;
    if (result !== null && !state.json && !(quiet && clean)) io.stderr.write(`${receiveSummary(result)}\n`);
    shutdown.dispose();
    await release();
    log.flush();
  }
}

export async function send(paths: string[], opts: SendOpts, cmd: Command, io: CliIo, state: CliState): Promise<void> {
  state.json = opts.json === true;
  state.working = true;
  let rateBps: number | null = null;
  if (opts.rate !== undefined) {
    rateBps = parseRate(opts.rate);
    if (rateBps === null) {
      throw new WraithError('E_USAGE', `--rate: expected ${RATE_EXPECTED}, found ${JSON.stringify(opts.rate)}`);
    }
  }
  const reconnectForMs = parseDuration(opts.reconnectFor);
  if (reconnectForMs === null) {
    throw new WraithError('E_USAGE', `--reconnect-for: expected a duration like 30s, 5m or 1h, found ${JSON.stringify(opts.reconnectFor)}`);
  }
  const dest = opts.dest === undefined ? undefined : parseDest(opts.dest);
  const exclude = await excludesOf(opts, io.cwd);
  const { relative, listed } = await namingOf(paths, opts, io, 'send');
  for (const p of paths) {
    const st = await stat(p).catch((e: unknown) => {
      if (p === '-' && (e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new WraithError('E_USAGE', 'wraith sends files, not standard input ("-"): a file is hashed before it is offered',
          { path: p }, 'write the data to a file and send that (e.g. tar cf data.tar DIR && wraith send data.tar --to PEER)');
      }
      throw fsError('stat', p, e);
    });
    const why = await unsendablePath(p, st, relative);
    if (why !== null) throw why;
  }
  const flags = flagLayer(cmd, opts, {});
  const { home, loaded } = await loadAll(cmd.optsWithGlobals(), flags, io, 'open');
  const { config } = loaded;
  const peer = parsePeer(opts.to, config.peers);
  if (opts.dryRun === true) {
    const to = `${peer.id}@${formatAddr(peer.addr)}`;
    await dryRun(paths, { followSymlinks: opts.followSymlinks === true, ...(dest !== undefined ? { dest } : {}), ...(exclude !== undefined ? { exclude } : {}), relative, ...(listed !== undefined ? { listed } : {}), peer: to, quiet: opts.quiet === true }, io, state);
    return;
  }
  const log = makeLog(loaded, io, { interactive: true, verbose: opts.verbose === true, levelFlag: opts.logLevel !== undefined });
  const identity = await loadIdentity(config.node.identity_file);
  const shutdown = watchShutdown(io, { onHup: () => log.reopen(), foreground: true });
  const base = createUi({ json: state.json, progress: opts.progress !== false, quiet: opts.quiet === true, stdout: io.stdout, stderr: io.stderr });
  const limited = state.json ? null : limitRepeats(base);
  const ui = tracking(limited ?? base, state);
  // A worker hashes the first big file while the engine loads and the node starts: the root
  // must be known before anything is offered, so this hides much of that pass.
  let failed: readonly WraithError[] = [];
  let sentFiles = 0;
  const earlyHash = EarlyHash.start(
    paths.length > 0 ? paths : (listed ?? []),
    config.transfer.chunk_size,
    opts.followSymlinks === true,
    undefined,
    hashCacheIn(home.stateDir, config.transfer.hash_cache),
  );
  try {
    const runSend = await loadNode('runSend');
    log.logger.debug({ peer: `${peer.id}@${formatAddr(peer.addr)}`, paths }, 'sending');
    const result = await runSend(
      {
        config,
        home,
        identity,
        log,
        stats: new DiscardStats(),
        signal: shutdown.signal,
        paths,
        peer,
        rateBps,
        reconnectForMs,
        followSymlinks: opts.followSymlinks === true,
        allowGrowth: opts.allowGrowth === true,
        ...(dest !== undefined ? { dest } : {}),
        ...(exclude !== undefined ? { exclude } : {}),
        relative,
        ...(listed !== undefined ? { listed } : {}),
        removeSourceFiles: opts.removeSourceFiles === true,
        earlyHash,
      },
      ui,
    );
    if (result.errors.length > 0) state.exitCode = result.errors[0]!.exitCode;
    failed = result.errors;
    sentFiles = result.files;
  } finally {
    ui.close();
    shutdown.dispose();
    log.flush();
    await earlyHash?.dispose();
  }
  // The last line says the send is not complete (each failure was printed as it came).
  if (failed.length > 0 && !state.json) {
    const codes = [...new Set(failed.map((e) => e.code))].join(', ');
    const hidden = limited?.hidden ?? 0;
    const count = hidden === 0 ? `${failed.length} ${failed.length === 1 ? 'error' : 'errors'} above` : `${failed.length} errors, ${failed.length - hidden} above and ${hidden} not shown`;
    io.stderr.write(`not complete: ${count} (${codes}); ${sentFiles === 0 ? 'nothing was sent' : 'everything else was sent'}\n`);
  }
}

export async function demo(opts: RunOpts & { size: string }, cmd: Command, io: CliIo, state: CliState): Promise<void> {
  state.json = opts.json === true;
  state.working = true;
  const size = parseSize(opts.size);
  if (size === null) throw new WraithError('E_USAGE', `--size: expected a size like 64MiB or 1GB, found ${JSON.stringify(opts.size)}`);
  const flags = flagLayer(cmd, opts, {});
  const { loaded } = await loadAll(cmd.optsWithGlobals(), flags, io, 'none');
  const log = makeLog(loaded, io, { interactive: true, verbose: opts.verbose === true, levelFlag: opts.logLevel !== undefined });
  const shutdown = watchShutdown(io, { foreground: true });
  const ui = tracking(createUi({ json: state.json, progress: opts.progress !== false, stdout: io.stdout, stderr: io.stderr }), state);
  try {
    const runDemo = await loadNode('runDemo');
    const r = await runDemo({ config: loaded.config, log, stats: new DiscardStats(), signal: shutdown.signal, size }, ui);
    if (!state.json) {
      io.stdout.write(`demo: ${humanBytes(r.bytes)} in ${r.seconds.toFixed(2)} s (${humanRate(r.bytes / Math.max(r.seconds, 1e-9))}), ${r.verified ? 'verified' : 'NOT verified'}\n`);
    }
    if (!r.verified) throw new WraithError('E_INTEGRITY', 'demo: the received data does not match what was sent');
  } finally {
    ui.close();
    shutdown.dispose();
    log.flush();
  }
}

export { hash } from './hash.js';
