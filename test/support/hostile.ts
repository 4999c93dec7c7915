/**
 * Helpers for the reliability tests under hostile networks (test/reliability/):
 * a daemon with its admin API and Prometheus metrics, relays that stop with
 * their Scope, an engine-level initiator over a real UDP socket, helper
 * processes (junk and flood generators) with an NDJSON protocol, /proc
 * sampling, slopes and fairness.
 *
 * Built on procs.ts (temp homes, daemons, senders, cleanup); everything a
 * helper starts belongs to the caller's Scope and is undone by dispose().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { DatagramBatch, Endpoint, loadBackend, type CryptoBackend, type SessionEvent, type SocketAddr as CoreAddr } from '@wraith/core';
import { loadBlake3Async } from '@wraith/blake3';
import { REPO_ROOT } from './prereq.js';
import { Daemon, Scope, WraithProc, WRAITH_BIN, type DaemonOptions, type TestHome } from './procs.js';
import type { Netns } from './netns.js';
import { startRelay, type ImpairmentRelay, type RelayConfig, type SocketAddr } from './relay.js';

// --- waiting ---------------------------------------------------------------------------------

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

/** "HOST:PORT" of an address object ([v6] bracketed). */
export function hostPort(a: SocketAddr): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

// --- metrics ---------------------------------------------------------------------------------

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition -> samples (comments skipped; label values unescaped). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let l = re.exec(body); l; l = re.exec(body)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    const v = m[4]!;
    out.push({ name: m[1]!, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  }
  return out;
}

/** One scrape of GET /v1/metrics. */
export class Metrics {
  constructor(
    readonly samples: Sample[],
    readonly atMs: number,
  ) {}

  /** Sum of the series of `name` whose labels include `labels` (0 when none). */
  get(name: string, labels: Record<string, string> = {}): number {
    let sum = 0;
    for (const s of this.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
    }
    return sum;
  }

  /** Values of one label across the series of `name` (e.g. drops by reason). */
  byLabel(name: string, label: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.samples) if (s.name === name && s.labels[label] !== undefined) out[s.labels[label]!] = (out[s.labels[label]!] ?? 0) + s.value;
    return out;
  }

  /** Per-label increase from an earlier scrape (labels absent before count from 0). */
  deltaByLabel(earlier: Metrics, name: string, label: string): Record<string, number> {
    const now = this.byLabel(name, label);
    const then = earlier.byLabel(name, label);
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(now)) if (v - (then[k] ?? 0) !== 0) out[k] = v - (then[k] ?? 0);
    return out;
  }
}

/**
 * The admin API of a daemon started with `--admin-listen 127.0.0.1:0`, or
 * with `--admin-unix-socket PATH` (`socketPath`; a unix socket reaches a
 * daemon inside another network namespace).
 */
export class Admin {
  constructor(
    readonly url: string,
    readonly token: string,
    readonly socketPath: string | null = null,
  ) {}

  async get(path: string): Promise<{ status: number; body: string }> {
    if (this.socketPath !== null) return this.getUnix(path, this.socketPath);
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), 10_000);
    try {
      const r = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${this.token}` }, signal: ctl.signal });
      return { status: r.status, body: await r.text() };
    } finally {
      clearTimeout(t);
    }
  }

  private getUnix(path: string, socketPath: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { socketPath, path: `/v1${path.replace(/^\/v1/, '')}`, method: 'GET', headers: { authorization: `Bearer ${this.token}`, host: 'localhost' }, timeout: 10_000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`GET ${path} over ${socketPath}: no answer within 10 s`)));
      req.on('error', reject);
      req.end();
    });
  }

  async metrics(): Promise<Metrics> {
    const r = await this.get('/v1/metrics');
    if (r.status !== 200) throw new Error(`GET /v1/metrics: ${r.status} ${r.body.slice(0, 300)}`);
    return new Metrics(parsePrometheus(r.body), Date.now());
  }

  /**
   * A scrape taken after the node's stats bridge (once a second) has copied
   * everything that happened before this call: waits until `name` stops
   * changing across two bridge periods, or `maxMs`.
   */
  async settledMetrics(name = 'wraith_packets_total', maxMs = 5000): Promise<Metrics> {
    const deadline = Date.now() + maxMs;
    let prev = await this.metrics();
    for (;;) {
      await sleep(1100);
      const cur = await this.metrics();
      if (cur.get(name) === prev.get(name) || Date.now() > deadline) return cur;
      prev = cur;
    }
  }
}

export interface AdminDaemon {
  daemon: Daemon;
  admin: Admin;
}

/** `scope.daemon` with the admin API on a free loopback port; reads the bearer token from the home. */
export async function adminDaemon(scope: Scope, opts: DaemonOptions): Promise<AdminDaemon> {
  const daemon = await scope.daemon({ ...opts, adminListen: opts.adminListen ?? '127.0.0.1:0' });
  const url = daemon.ready['admin_url'];
  if (typeof url !== 'string') throw new Error(`daemon ready line without admin_url: ${JSON.stringify(daemon.ready)}`);
  const token = (await readFile(join(daemon.home.dir, 'admin.token'), 'utf8')).trim();
  return { daemon, admin: new Admin(url, token) };
}

// --- relays ----------------------------------------------------------------------------------

/** A relay in front of `upstream`, stopped at the scope's dispose. */
export async function relayFor(scope: Scope, upstream: string | SocketAddr, config: Omit<RelayConfig, 'upstream'> = {}): Promise<ImpairmentRelay> {
  const relay = await startRelay({ maxLifetimeMs: 15 * 60_000, ...config, upstream });
  scope.defer(() => relay.stop());
  return relay;
}

/** `<id>@<relay listen address>`: the PEER argument of a send through the relay. */
export function viaRelay(daemon: Daemon, relay: ImpairmentRelay): string {
  return daemon.peer(hostPort(relay.listenAddr));
}

// --- an engine initiator over a real socket ----------------------------------------------------

let engineDeps: Promise<{ backend: CryptoBackend; hasher: Awaited<ReturnType<typeof loadBlake3Async>> }> | null = null;

function deps() {
  engineDeps ??= (async () => ({ backend: await loadBackend('auto'), hasher: await loadBlake3Async('auto') }))();
  return engineDeps;
}

/** Monotonic microseconds (the engine's clock). */
export function nowUs(): number {
  return Math.floor(performance.now() * 1000);
}

export interface EngineClientOptions {
  /** Session settings for the initiator (e.g. handshakeTimeout in µs). */
  session?: ConstructorParameters<typeof Endpoint>[0]['session'];
  host?: string;
}

/**
 * One initiator Endpoint on its own UDP socket, driven like the node's
 * driver: datagrams in -> endpoint, pollTransmit out, one timer. For
 * handshake-level tests without a process per client.
 */
export class EngineClient {
  readonly events: SessionEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly out = new DatagramBatch(64, 2048);
  private closed = false;
  /** Datagrams and bytes sent and received on the socket. */
  readonly io = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0 };

  private constructor(
    readonly endpoint: Endpoint,
    private readonly sock: Socket,
  ) {
    sock.on('message', (msg, rinfo) => {
      this.io.rxPackets++;
      this.io.rxBytes += msg.length;
      endpoint.handleDatagram(nowUs(), { host: rinfo.address, port: rinfo.port }, new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
      this.run();
    });
  }

  static async open(opts: EngineClientOptions = {}): Promise<EngineClient> {
    const { backend, hasher } = await deps();
    const rng = { fill: (b: Uint8Array) => void crypto.getRandomValues(b) };
    const staticKey = backend.x25519GenerateKeyPair(rng);
    const endpoint = new Endpoint({ staticKey, backend, hasher, rng, acceptIncoming: false, ...(opts.session ? { session: opts.session } : {}) });
    const host = opts.host ?? '127.0.0.1';
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, host, () => resolve());
    });
    return new EngineClient(endpoint, sock);
  }

  get addr(): SocketAddr {
    const a = this.sock.address();
    return { host: a.address, port: a.port };
  }

  /** Dial; returns the session id. Watch `events` for 'connected' / 'closed'. */
  connect(to: SocketAddr, peerId: string): number {
    const id = this.endpoint.connect(nowUs(), to as CoreAddr, Uint8Array.from(Buffer.from(peerId, 'hex')));
    this.run();
    return id;
  }

  private run(): void {
    if (this.closed) return;
    const now = nowUs();
    if (this.endpoint.pollTimeout() <= now) this.endpoint.handleTimeout(now);
    for (let e = this.endpoint.pollEvent(); e; e = this.endpoint.pollEvent()) this.events.push(e);
    for (let rounds = 0; rounds < 16; rounds++) {
      this.out.clear();
      if (this.endpoint.pollTransmit(now, this.out) === 0) break;
      for (let i = 0; i < this.out.count; i++) {
        const a = this.out.addrs[i] as SocketAddr;
        const dg = Buffer.from(this.out.datagram(i));
        this.io.txPackets++;
        this.io.txBytes += dg.length;
        this.sock.send(dg, a.port, a.host);
      }
    }
    for (let e = this.endpoint.pollEvent(); e; e = this.endpoint.pollEvent()) this.events.push(e);
    const at = this.endpoint.pollTimeout();
    if (this.timer) clearTimeout(this.timer);
    this.timer = at === Infinity ? null : setTimeout(() => this.run(), Math.max(0, (at - nowUs()) / 1000));
  }

  /** Close every session (CLOSE frames leave now) and the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.endpoint.closeAll(nowUs(), null, 'test done');
    this.run();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await new Promise<void>((r) => this.sock.close(() => r()));
  }
}

// --- helper processes ------------------------------------------------------------------------

/**
 * A node script (a generator of hostile traffic) speaking NDJSON: its stdout
 * lines are JSON messages, commands go to its stdin as JSON lines. It exits
 * when its stdin closes, so a killed test leaves nothing behind.
 */
export class Helper {
  readonly messages: Array<Record<string, unknown>> = [];
  private stderrText = '';
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined = undefined;

  constructor(readonly child: ChildProcess, readonly name: string) {
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
        this.wake();
      }),
    );
    child.stderr?.on('data', (d: Buffer) => {
      this.stderrText = (this.stderrText + d.toString()).slice(-20_000);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.messages.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        this.stderrText += `\n[stdout] ${line}`;
      }
      this.wake();
    });
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  send(msg: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify(msg)}\n`);
  }

  /** The first message (from index `from`) with `event` = name, or throws after timeoutMs / on exit. */
  async waitFor(event: string, timeoutMs: number, from = 0): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.messages.length; i++) if (this.messages[i]!['event'] === event) return this.messages[i]!;
      if (!this.alive) throw new Error(`${this.name} exited (${this.exitCode}) before "${event}"\n${this.stderrText}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no "${event}" within ${timeoutMs} ms\n${this.stderrText}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  get stderr(): string {
    return this.stderrText;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/**
 * Starts `node test/reliability/workers/<script>` with a JSON config argument
 * (inside network namespace `ns` when given), killed at dispose.
 */
export function startHelper(scope: Scope, script: string, config: unknown, nodeArgs: string[] = [], ns?: Netns): Helper {
  const argv = [process.execPath, ...nodeArgs, join(REPO_ROOT, 'test', 'reliability', 'workers', script), JSON.stringify(config)];
  const [cmd, ...args] = ns ? ['ip', 'netns', 'exec', ns.name, ...argv] : argv;
  const child = spawn(cmd!, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const h = new Helper(child, script);
  scope.defer(async () => {
    if (h.alive) {
      child.kill('SIGKILL');
      await h.exited;
    }
  });
  return h;
}

// --- wraith inside a network namespace ---------------------------------------------------------

function envWithoutHome(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['WRAITH_HOME'];
  return env;
}

/**
 * `node wraith.js ARGS` inside `ns` (`ip netns exec`, which execs node: the
 * pid is node's), tracked like the Scope's own processes: SIGKILLed at
 * dispose. The home and files live in the shared file system as usual.
 */
export function spawnInNetns(scope: Scope, ns: Netns, args: readonly string[], name: string): WraithProc {
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, WRAITH_BIN, ...args], {
    cwd: REPO_ROOT,
    env: envWithoutHome(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p = new WraithProc(child, name, args);
  scope.defer(async () => {
    if (p.alive) await p.kill9();
  });
  return p;
}

export interface NetnsDaemonOptions {
  home: TestHome;
  /** --bind inside the namespace (default 0.0.0.0:0: loopback and the veth). */
  bind?: string;
  args?: string[];
}

/**
 * A daemon inside `ns` (--json, --auto-accept, --min-free 0), its admin API
 * on a unix socket in the scope's temp dir (reachable from here, unlike the
 * namespace's loopback).
 */
export async function netnsDaemon(scope: Scope, ns: Netns, o: NetnsDaemonOptions): Promise<AdminDaemon> {
  const output = await scope.tempDir('out');
  const socketPath = join(await scope.tempDir('admin'), 'admin.sock');
  const args = ['--home', o.home.dir, 'daemon', '--json', '--bind', o.bind ?? '0.0.0.0:0', '--output', output, '--admin-listen', 'off',
    '--admin-unix-socket', socketPath, '--min-free', '0', '--auto-accept', ...(o.args ?? [])];
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, WRAITH_BIN, ...args], {
    cwd: REPO_ROOT,
    env: envWithoutHome(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const d = new Daemon(child, 'daemon', args);
  scope.defer(async () => {
    if (d.alive) await d.kill9();
  });
  d.home = o.home;
  d.output = output;
  d.ready = await d.waitFor((e) => e.type === 'ready', 20_000, 'ready line');
  const token = (await readFile(join(o.home.dir, 'admin.token'), 'utf8')).trim();
  return { daemon: d, admin: new Admin('http://localhost', token, socketPath) };
}

// --- processes -------------------------------------------------------------------------------

/** Fields of /proc/PID/status in KiB (VmRSS, VmHWM, ...), or null when the process is gone. */
export function procStatus(pid: number): Record<string, number> | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** CPU time (user + system) of a process in seconds, from /proc/PID/stat. */
export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

// --- statistics ------------------------------------------------------------------------------

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2 || ys.length !== n) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Theil-Sen slope: the median of the pairwise slopes (every pair when there
 * are few points, else `maxPairs` evenly spread ones). A step or a few
 * outliers (an allocator arena, one late GC) do not tilt it the way they
 * tilt least squares.
 */
export function robustSlope(xs: readonly number[], ys: readonly number[], maxPairs = 20_000): number {
  const n = xs.length;
  const slopes: number[] = [];
  const pairs = (n * (n - 1)) / 2;
  const step = Math.max(1, Math.floor(pairs / maxPairs));
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (k++ % step !== 0) continue;
      const dx = xs[j]! - xs[i]!;
      if (dx !== 0) slopes.push((ys[j]! - ys[i]!) / dx);
    }
  }
  return slopes.length === 0 ? 0 : median(slopes);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Jain's fairness index of throughputs: 1 is perfectly fair, 1/n is one flow taking all. */
export function jain(xs: readonly number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const sq = xs.reduce((a, b) => a + b * b, 0);
  return sq === 0 ? 0 : (sum * sum) / (xs.length * sq);
}

export const MiB = 1024 * 1024;

// --- raw sources -----------------------------------------------------------------------------

/**
 * `n` real INITIATION datagrams towards `peerId` (Noise message 1, padded to
 * >= 1200 bytes), each with a fresh ephemeral key and connection ids, made
 * by Endpoint.connect + pollTransmit. Nobody will answer for them.
 */
export async function makeInitiations(n: number, peerId: string, to: SocketAddr): Promise<Buffer[]> {
  const { backend, hasher } = await deps();
  const rng = { fill: (b: Uint8Array) => void crypto.getRandomValues(b) };
  const peer = Uint8Array.from(Buffer.from(peerId, 'hex'));
  const out: Buffer[] = [];
  const batch = new DatagramBatch(64, 2048);
  while (out.length < n) {
    const ep = new Endpoint({ staticKey: backend.x25519GenerateKeyPair(rng), backend, hasher, rng, acceptIncoming: false });
    for (let i = 0; i < Math.min(256, n - out.length); i++) ep.connect(0, to as CoreAddr, peer);
    for (;;) {
      batch.clear();
      if (ep.pollTransmit(0, batch) === 0) break;
      for (let i = 0; i < batch.count; i++) out.push(Buffer.from(batch.datagram(i)));
    }
  }
  return out.slice(0, n);
}

/** A UDP socket that counts what it sends and keeps what it receives (one "source"). */
export class Probe {
  txBytes = 0;
  txPackets = 0;
  readonly got: Buffer[] = [];

  private constructor(
    private readonly sock: Socket,
    readonly label: string,
  ) {
    sock.on('message', (m) => this.got.push(m));
    sock.on('error', () => {});
  }

  static async open(label: string, host = '127.0.0.1'): Promise<Probe> {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, host, () => resolve());
    });
    return new Probe(sock, label);
  }

  get port(): number {
    return this.sock.address().port;
  }

  get rxBytes(): number {
    return this.got.reduce((a, b) => a + b.length, 0);
  }

  send(to: SocketAddr, bytes: Uint8Array): Promise<void> {
    this.txBytes += bytes.length;
    this.txPackets++;
    return new Promise((resolve, reject) => this.sock.send(bytes, to.port, to.host, (e) => (e ? reject(e) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((r) => {
      try {
        this.sock.close(() => r());
      } catch {
        r();
      }
    });
  }
}

/** The packet number of a short-header packet (sent in the clear, bytes 9..12; docs/PROTOCOL.md §2.2). */
export function shortPn(b: Uint8Array): number {
  return ((b[9]! << 24) >>> 0) + (b[10]! << 16) + (b[11]! << 8) + b[12]!;
}
