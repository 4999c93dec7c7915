/**
 * The node behind the CLI (see ../node-api.ts): the daemon, the foreground
 * receiver, the sender and the demo.
 */
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { MerkleTree, WraithError, type SocketAddr } from '@wraith/core';
import type { DaemonHandle, NodeContext, NodeModule } from '../node-api.js';
import type { RunInfo } from '../home/runinfo.js';
import { FileStore } from '../store/index.js';
import { formatAddr, parseAddr, type PeerSpec } from '../peer.js';
import { IncomingTransfers } from './incoming.js';
import { PeerDirs } from './peer-dirs.js';
import { WraithNode } from './node.js';
import { startListening } from './listen-fallback.js';
import { sendersHint } from '../ui/senders-hint.js';
import { OutgoingJob } from './outgoing.js';
import { peerAddresses } from './dial.js';
import { hashCacheIn } from './hash-cache.js';
import { ApiSendStore } from './api-sends.js';
import { LogLimiter } from '../log-limit.js';
import { SourceHasher } from './source-hash.js';
import { runDemo as demo } from './demo.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { Logger } from 'pino';
import { nativeBeneath } from '@wraith/io-uring';

/** Authorisation of initiators: trusted_peers, or anyone authenticated with auto_accept. */
export interface Authorizer {
  (peerId: string, addr: SocketAddr): boolean;
  /** Takes trusted_peers and auto_accept from a reloaded config. */
  update(config: ResolvedConfig): void;
  /** Whether the peer is admitted now, without logging a refusal. */
  allows(peerId: string): boolean;
}

export function authorizer(config: ResolvedConfig, log: Logger): Authorizer {
  const trustedOf = (c: ResolvedConfig): Set<string> => new Set(c.receive.trusted_peers.map((p) => p.toLowerCase().replace(/^0x/, '')));
  let trusted = trustedOf(config);
  let autoAccept = config.receive.auto_accept;
  const allows = (peerId: string): boolean => autoAccept || trusted.has(peerId);
  // Anyone can make a key and complete a handshake: one line per key a minute, 20 a minute in all.
  const limit = new LogLimiter({ perKeyMs: 60_000, burst: 20, windowMs: 60_000 });
  const authorize = ((peerId: string, addr: SocketAddr): boolean => {
    if (allows(peerId)) return true;
    const line = limit.take(peerId);
    if (line !== null) {
      const more = line.held > 0 ? ` (${line.held} refusals since the last such line were not logged; wraith_handshakes_total counts them all)` : '';
      log.warn({ peer: peerId, addr: formatAddr(addr), not_logged: line.held }, `refused an untrusted peer (add it to [receive] trusted_peers or use --auto-accept)${more}`);
    }
    return false;
  }) as Authorizer;
  authorize.update = (c) => {
    trusted = trustedOf(c);
    autoAccept = c.receive.auto_accept;
  };
  authorize.allows = allows;
  return authorize;
}

async function openStore(config: ResolvedConfig, stateDir: string, node: WraithNode): Promise<FileStore> {
  // The event loop alone (no worker threads idling in the daemon), reading ahead; the cache
  // makes a file found again (a backup sent twice) cost one small read.
  const hashing = new SourceHasher(node.io, node.hasher, () => undefined, { workers: 0, cache: hashCacheIn(stateDir, config.transfer.hash_cache) });
  // With the addon the kernel refuses symlinks and escapes in one openat2, with no race; the
  // store's own lstat walk is the portable path.
  const safe = nativeBeneath(config.transfer.download_dir);
  node.log.debug({ open: safe !== null ? 'openat2' : 'lstat walk + O_NOFOLLOW' }, 'download directory access');
  return FileStore.open({
    ...(safe !== null
      ? { opener: safe.open, lstatBeneath: safe.lstat, renameNoReplace: safe.renameNoReplace, renameBeneath: safe.renameBeneath, unlinkBeneath: safe.unlinkBeneath, mkdirBeneath: safe.mkdirBeneath }
      : {}),
    downloadDir: config.transfer.download_dir,
    stateDir,
    onConflict: config.receive.on_conflict,
    maxFileSize: config.receive.max_file_size,
    maxTotalBytes: config.receive.max_total_bytes,
    minFree: config.receive.min_free,
    partialTtlMs: config.transfer.partial_ttl,
    resume: config.transfer.enable_resume,
    reuse: config.receive.reuse_existing,
    directWrites: config.io.direct_writes,
    logger: node.log,
    stats: node.opts.stats,
    contentRoot: (fd, size, chunkSize, stop) => contentRoot(node, hashing, fd, size, chunkSize, stop),
  });
}

/**
 * The manifest root of an open file, computed as a sender does: the store compares it with an
 * offer to tell "already present" (same content) from a conflict.
 */
async function contentRoot(node: WraithNode, hashing: SourceHasher, fd: number, size: number, chunkSize: number, stop?: () => boolean): Promise<Uint8Array> {
  try {
    return new MerkleTree(node.hasher, await hashing.leaves('the existing file', fd, size, chunkSize, stop)).root;
  } catch (e) {
    if (e instanceof WraithError && e.code === 'E_SOURCE_CHANGED') {
      throw new WraithError('E_IO', `an existing file of ${size} bytes became shorter while it was hashed`);
    }
    throw e;
  }
}

function warnOpen(config: ResolvedConfig, log: Logger): void {
  if (config.receive.auto_accept) {
    const host = config.network.listen_addr.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
      log.warn({ listen: config.network.listen_addr }, 'auto_accept is on and the node listens beyond loopback: any authenticated peer may send files');
    }
  }
}

/**
 * listen_addr with a host name (`localhost:40000`) resolved to the first address it names. One
 * socket takes one address: when the name has more (`localhost` as ::1 and 127.0.0.1), a warning
 * says which one senders must use.
 */
async function resolveBind(bind: string, log: Logger): Promise<string> {
  const addr = parseAddr(bind, { allowPortZero: true });
  if (isIP(addr.host) !== 0) return bind;
  let all: { address: string }[];
  try {
    all = await lookup(addr.host, { all: true });
  } catch (e) {
    throw new WraithError('E_ADDR_INVALID', `cannot resolve ${addr.host} (network.listen_addr): ${(e as Error).message}`, { host: addr.host });
  }
  const distinct = [...new Set(all.map((a) => a.address))]; // /etc/hosts may list one twice
  const chosen = formatAddr({ host: distinct[0]!, port: addr.port });
  const others = distinct.slice(1);
  if (others.length > 0) {
    log.warn({ listen: bind, others }, `${addr.host} names ${distinct.length} addresses; listening on ${chosen} only, so senders that dial ${others.join(' or ')} find nothing (bind an IP address, or [::] for all)`);
  }
  return chosen;
}

/** A node that accepts files: bound to listen_addr, authorising by trusted_peers / auto_accept, with its store. */
async function startReceiver(opts: NodeContext): Promise<{ node: WraithNode; store: FileStore; authorize: Authorizer }> {
  const { config, log } = opts;
  warnOpen(config, log.logger);
  const authorize = authorizer(config, log.child('auth'));
  const node = await startListening(
    await resolveBind(config.network.listen_addr, log.logger),
    (bind) => WraithNode.start({ config, identity: opts.identity, log, stats: opts.stats, bind, acceptIncoming: true, authorize }),
    (fields, msg) => log.logger.warn(fields, msg),
  );
  try {
    return { node, store: await openStore(config, opts.home.stateDir, node), authorize };
  } catch (e) {
    await node.close(null, 'startup failed', 0);
    throw e;
  }
}

export const startDaemon: NodeModule['startDaemon'] = async (opts) => {
  const { log } = opts;
  const { node, store, authorize } = await startReceiver(opts);
  const stopSweeps = store.scheduleSweeps();
  const peerDirs = new PeerDirs(opts.config);
  const incoming = new IncomingTransfers(node, store, log.child('receive'), opts.stats, null, peerDirs);
  node.incomingHandler = (e) => incoming.handle(e);
  let admin: { url: string | null; close(): Promise<void>; reload?(config: ResolvedConfig): void } = { url: null, close: async () => {} };
  try {
    if (opts.adminToken !== null) {
      // Loaded here: fastify is a tenth of a second of start-up that `send` does not need.
      const { startAdmin } = await import('./admin-provider.js');
      admin = await startAdmin({ node, incoming, opts });
    } else {
      await warnKeptSends(opts.home.stateDir, log.logger);
    }
  } catch (e) {
    stopSweeps();
    await node.close(null, 'startup failed', 0);
    throw e;
  }
  let resolveDone!: () => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // The node cannot go on (its XDP interface was deleted): it shuts down as on SIGTERM, and
  // `done` rejects with why, so the daemon exits with that error.
  const settle = (): void => (node.fatal !== null ? rejectDone(node.fatal) : resolveDone());
  let closing = false;
  const local = node.localAddr;
  const info = (): Omit<RunInfo, 'pid' | 'peer_id'> => ({ udp_addrs: [formatAddr(local)], admin_url: admin.url, transport: node.transportName });
  const handle: DaemonHandle = {
    info: info(),
    done,
    reload(config) {
      authorize.update(config);
      peerDirs.update(config);
      node.revokeIncoming(authorize.allows);
      admin.reload?.(config);
      warnOpen(config, log.logger);
    },
    onInfoChanged(cb) {
      node.events.on('event', (e: { type?: string }) => {
        if (e.type === 'transport_changed') cb(info());
      });
    },
    async close() {
      if (closing) return done;
      closing = true;
      // Stop accepting, checkpoint, tell peers (retriable), exit within 5 s.
      const hard = setTimeout(settle, 4500);
      try {
        await admin.close();
        await incoming.checkpoint();
        await node.close('E_SHUTTING_DOWN', 'the receiver is shutting down; retry later', 1500);
      } finally {
        stopSweeps();
        clearTimeout(hard);
        settle();
      }
      return done;
    },
  };
  node.events.once('fatal', () => void handle.close().catch(() => undefined));
  return handle;
};

/** API sends kept from before a restart wait for the admin API: said once, not dropped. */
async function warnKeptSends(stateDir: string, logger: Logger): Promise<void> {
  const { records } = await new ApiSendStore(stateDir).list().catch(() => ({ records: [] }));
  if (records.length === 0) return;
  logger.warn({ transfers: records.map((r) => r.id) }, `${records.length} send(s) started through the admin API before a restart wait for it: they go on at a start with the admin API on`);
}

export const runReceive: NodeModule['runReceive'] = async (opts, ui) => {
  const { log } = opts;
  const { node, store } = await startReceiver(opts);
  const incoming = new IncomingTransfers(node, store, log.child('receive'), opts.stats, ui, new PeerDirs(opts.config));
  node.incomingHandler = (e) => incoming.handle(e);
  const bound = formatAddr(node.localAddr);
  const hint = sendersHint(opts.identity.peerId, bound);
  process.stderr.write(`wraith receiving as ${opts.identity.peerId}@${bound}\n${hint !== null ? `${hint}\n` : ''}`);
  // --once: done when nothing is being received and every sender connected has offered its files
  // (a sender that connected while the first was sending, and is still hashing, is not cut off).
  const offered = new Set<number>();
  const finished = (): boolean => offered.size > 0 && incoming.activeCount === 0 && [...node.sessionPeers.keys()].every((s) => offered.has(s));
  await new Promise<void>((resolve) => {
    opts.signal.addEventListener('abort', () => resolve(), { once: true });
    node.events.once('fatal', () => resolve());
    node.events.on('event', (e: { type: string; session?: number }) => {
      if (e.type === 'offer' && e.session !== undefined) offered.add(e.session);
      if (opts.once && e.type === 'closed' && finished()) resolve();
    });
    incoming.onIdle = () => {
      if (opts.once) setTimeout(() => finished() && resolve(), 200);
    };
  });
  // Stopped (Ctrl-C) while files were arriving: their partials stay for a resume.
  const interrupted = incoming.activeCount;
  await incoming.checkpoint();
  await node.close('E_SHUTTING_DOWN', 'the receiver stopped', 1000);
  if (node.fatal !== null) throw node.fatal;
  return { ...incoming.totals, interrupted };
};

/**
 * The sender's socket: IPv4 for an IPv4 peer, dual-stack [::] when the peer is or may be IPv6
 * (a host name with an IPv6 address: the job dials every address it has). A name that does not
 * resolve is refused here, before anything starts.
 */
async function senderBind(peer: PeerSpec): Promise<string[]> {
  const v6 = '[::]:0';
  const v4 = '0.0.0.0:0';
  const family = isIP(peer.addr.host);
  if (family !== 0) return [family === 6 ? v6 : v4];
  const addrs = await peerAddresses(peer.addr, { host: '::', port: 0 });
  const fams = new Set(addrs.map((a) => isIP(a.host)));
  // IPv6 may be disabled on this host: then an IPv4 socket still reaches the IPv4 addresses.
  return fams.has(6) ? (fams.has(4) ? [v6, v4] : [v6]) : [v4];
}

export const runSend: NodeModule['runSend'] = async (opts, ui) => {
  const { config, log } = opts;
  const binds = await senderBind(opts.peer);
  let node: WraithNode | null = null;
  for (const [i, bind] of binds.entries()) {
    try {
      node = await WraithNode.start({ config, identity: opts.identity, log, stats: opts.stats, bind, acceptIncoming: false });
      break;
    } catch (e) {
      if (i === binds.length - 1) throw e;
      log.logger.info({ bind, err: (e as Error).message }, 'no IPv6 socket here: dialling the IPv4 addresses only');
    }
  }
  if (node === null) throw new WraithError('E_INTERNAL', 'no socket to send from');
  const transferId = randomBytes(8).toString('hex');
  // The user's stop, or the node's own (its XDP interface deleted): the send stops either way,
  // and the error says which.
  const stop = new AbortController();
  const userStop = (): void => stop.abort(opts.signal.reason);
  if (opts.signal.aborted) userStop();
  else opts.signal.addEventListener('abort', userStop, { once: true });
  const live = node;
  live.events.once('fatal', () => stop.abort(live.fatal));
  try {
    const job = new OutgoingJob({
      node,
      peer: opts.peer,
      paths: opts.paths,
      followSymlinks: opts.followSymlinks,
      allowGrowth: opts.allowGrowth === true,
      ...(opts.dest !== undefined ? { dest: opts.dest } : {}),
      ...(opts.exclude !== undefined ? { exclude: opts.exclude } : {}),
      relative: opts.relative === true,
      ...(opts.listed !== undefined ? { listed: opts.listed } : {}),
      removeSources: opts.removeSourceFiles === true,
      reconnectForMs: opts.reconnectForMs,
      rateBps: opts.rateBps,
      chunkSize: config.transfer.chunk_size,
      maxConcurrent: config.transfer.max_concurrent,
      ui,
      uiShowsErrors: true,
      log: log.child('send'),
      stats: opts.stats,
      signal: stop.signal,
      transferId,
      earlyHash: opts.earlyHash ?? null,
      hashCache: hashCacheIn(opts.home.stateDir, config.transfer.hash_cache),
    });
    const r = await job.run();
    if (node.fatal !== null) throw node.fatal;
    if (r.errors.length === 0) {
      ui.completed({
        transfer_id: transferId,
        payload_bytes_sent: r.payloadBytesSent,
        bytes_retransmitted: r.bytesRetransmitted,
        bytes_skipped_resume: r.bytesSkippedResume,
        bytes_already_present: r.bytesAlreadyPresent,
        bytes_zero: r.bytesZero,
        bytes_reused: r.bytesReused,
        root: r.root,
      });
    }
    return {
      transfer_id: transferId,
      files: r.files,
      payload_bytes_sent: r.payloadBytesSent,
      bytes_retransmitted: r.bytesRetransmitted,
      bytes_skipped_resume: r.bytesSkippedResume,
      bytes_already_present: r.bytesAlreadyPresent,
      bytes_zero: r.bytesZero,
      bytes_reused: r.bytesReused,
      root: r.root,
      errors: r.errors,
    };
  } catch (e) {
    if (node.fatal !== null) throw node.fatal;
    const err = e instanceof WraithError ? e : new WraithError('E_INTERNAL', (e as Error).message);
    if (err.code === 'E_CANCELLED') {
      await node.close('E_CANCELLED', 'cancelled by the sender', 500);
    }
    throw err;
  } finally {
    opts.signal.removeEventListener('abort', userStop);
    await node.close(null, 'done', 500);
  }
};

export const runDemo: NodeModule['runDemo'] = demo;
export { runHash, runHashListed } from './hash-files.js';
