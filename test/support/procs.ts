/**
 * Real `wraith` processes for end-to-end tests: temporary homes, a daemon
 * started with `--json` and awaited until its `ready` line, `send` with its
 * NDJSON collected, signals, random files and trees, and hashes to compare
 * what arrived with what was sent.
 *
 * Everything a test creates belongs to a Scope; `dispose()` kills the
 * processes that are still running (SIGKILL), runs the deferred cleanups
 * (newest first) and removes the temporary directories, even when the test
 * failed half-way. A process that exits without dispose() (a crashed worker)
 * still kills its children and removes its directories from an exit hook,
 * and a worker killed outright leaves a `.children` list in its root that
 * the next run's first Scope uses to end those children and remove the root.
 *
 *   const scope = new Scope('resume');
 *   afterAll(() => scope.dispose());
 *
 *   const rx = await scope.home();
 *   const tx = await scope.home();
 *   const daemon = await scope.daemon({ home: rx });          // --auto-accept, 127.0.0.1:0
 *   const src = join(await scope.tempDir(), 'a.bin');
 *   const sent = await writeRandomFile(src, 8 << 20);
 *   const send = scope.send([src], daemon.peer(), { home: tx });
 *   const { code } = await send.waitExit(60_000);
 *   expect(code).toBe(0);
 *   expect(await sha256File(join(daemon.output, 'a.bin'))).toBe(sent);
 *
 * The CLI is the BUILT one (packages/wraith/bin/wraith.js -> dist/): run
 * `npx tsc -b` first (`npm test` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { appendFileSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, readdir, readlink, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './prereq.js';

export const WRAITH_BIN = join(REPO_ROOT, 'packages', 'wraith', 'bin', 'wraith.js');

/** Every NDJSON line starts with these (docs/CLI.md §8). */
export interface NdjsonEvent {
  v: number;
  type: string;
  ts: string;
  transfer_id: string | null;
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunResult extends Exit {
  stdout: string;
  stderr: string;
  /** stdout lines that parsed as JSON objects. */
  events: NdjsonEvent[];
}

/** A temporary home with an identity (`wraith keygen`). */
export interface TestHome {
  readonly dir: string;
  readonly peerId: string;
}

const ROOT_PREFIX = 'wraith-e2e-';
const ROOT_RE = /^wraith-e2e-(\d+)-[0-9a-f]+$/;
const CHILDREN_FILE = '.children';
const STDERR_KEEP = 1 << 20;

// --- process-wide last resort ---------------------------------------------------------------

const liveProcs = new Set<WraithProc>();
const liveRoots = new Set<string>();
let exitHook = false;
let sweptStale = false;

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  // Synchronous by necessity: the event loop is gone in an exit handler.
  process.on('exit', () => {
    for (const p of liveProcs) {
      try {
        p.child.kill('SIGKILL');
      } catch {}
    }
    for (const r of liveRoots) {
      try {
        rmSync(r, { recursive: true, force: true });
      } catch {}
    }
  });
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), or null when the pid is gone. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Roots left by test processes that no longer exist: their recorded children
 * (same pid and start time, so never a reused pid) are killed and the root is
 * removed. Roots of live test processes are left alone.
 */
export function sweepStaleRoots(): string[] {
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = ROOT_RE.exec(name);
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    const root = join(tmpdir(), name);
    try {
      for (const line of readFileSync(join(root, CHILDREN_FILE), 'utf8').split('\n')) {
        const [pid, start] = line.split(' ');
        if (pid && start && startTime(Number(pid)) === start) process.kill(Number(pid), 'SIGKILL');
      }
    } catch {}
    try {
      rmSync(root, { recursive: true, force: true });
      removed.push(root);
    } catch {}
  }
  return removed;
}

// --- processes ------------------------------------------------------------------------------

export interface SpawnOptions {
  /** --home DIR (a TestHome or a path); omitted for commands that use none. */
  home?: TestHome | string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Shown in error messages ("daemon", "send"). */
  name?: string;
  /** A command that execs node with the rest, e.g. ['prlimit', '--nofile=96:96', '--']. */
  prefix?: readonly string[];
}

function homeDir(h: TestHome | string): string {
  return typeof h === 'string' ? h : h.dir;
}

/** A running `wraith` process: NDJSON events from stdout, stderr kept for error messages. */
export class WraithProc {
  readonly events: NdjsonEvent[] = [];
  /** stdout lines that were not JSON. */
  readonly lines: string[] = [];
  private stdoutText = '';
  private stderrText = '';
  private exitInfo: Exit | null = null;
  readonly exited: Promise<Exit>;
  private waiters: Array<() => void> = [];
  readonly startedAt = Date.now();

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
    readonly args: readonly string[],
  ) {
    liveProcs.add(this);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        liveProcs.delete(this);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
        this.wake();
      });
      child.on('error', (e) => {
        this.stderrText += `\n[spawn error: ${e.message}]`;
      });
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderrText += d.toString();
      if (this.stderrText.length > STDERR_KEEP) this.stderrText = this.stderrText.slice(-STDERR_KEEP / 2);
    });
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        this.stdoutText += `${line}\n`;
        if (this.stdoutText.length > STDERR_KEEP) this.stdoutText = this.stdoutText.slice(-STDERR_KEEP / 2);
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(line);
        } catch {}
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) this.events.push(parsed as NdjsonEvent);
        else this.lines.push(line);
        this.wake();
      });
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exitInfo === null;
  }

  get exit(): Exit | null {
    return this.exitInfo;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Events of one type, in order. */
  ofType(type: string): NdjsonEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  /** The last event of a type, or undefined. */
  last(type: string): NdjsonEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i]!.type === type) return this.events[i];
    return undefined;
  }

  /** A short description for assertion messages: name, pid, exit, the tail of stderr and stdout. */
  describe(tail = 3000): string {
    const ex = this.exitInfo ? `exited code=${this.exitInfo.code} signal=${this.exitInfo.signal}` : 'running';
    return `${this.name} (pid ${this.pid}, ${ex})\n--- stdout (tail) ---\n${this.stdoutText.slice(-tail)}\n--- stderr (tail) ---\n${this.stderrText.slice(-tail)}`;
  }

  /**
   * The first event (from index `from` on) satisfying `pred`. Rejects when
   * the process exits first or after `timeoutMs`, with the process's output.
   */
  async waitFor(pred: (e: NdjsonEvent) => boolean, timeoutMs = 20_000, what = 'the awaited event', from = 0): Promise<NdjsonEvent> {
    const deadline = Date.now() + timeoutMs;
    let i = from;
    for (;;) {
      for (; i < this.events.length; i++) if (pred(this.events[i]!)) return this.events[i]!;
      if (this.exitInfo) throw new Error(`${this.name}: exited before ${what}\n${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.describe()}`);
      await this.sleepUntilWoken(Math.min(left, 500));
    }
  }

  /** Polls `check` (also on every output line) until it returns true. */
  async until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, pollMs = 100): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check()) return;
      if (this.exitInfo) throw new Error(`${this.name}: exited before ${what}\n${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: not ${what} within ${timeoutMs} ms\n${this.describe()}`);
      await this.sleepUntilWoken(Math.min(left, pollMs));
    }
  }

  /** Waits for the exit; rejects after `timeoutMs` (the process keeps running: dispose kills it). */
  async waitExit(timeoutMs = 60_000): Promise<Exit> {
    if (this.exitInfo) return this.exitInfo;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name}: still running after ${timeoutMs} ms\n${this.describe()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal if the process is still running. */
  signal(sig: NodeJS.Signals): void {
    if (this.exitInfo === null) {
      try {
        this.child.kill(sig);
      } catch {}
    }
  }

  /** kill -9, then wait for the exit. */
  async kill9(): Promise<Exit> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** SIGTERM; SIGKILL after `graceMs` if it is still running. Resolves with the exit. */
  async terminate(graceMs = 5000): Promise<Exit> {
    if (this.exitInfo) return this.exitInfo;
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }

  /** Everything collected, once the process has exited. */
  async result(timeoutMs = 60_000): Promise<RunResult> {
    const ex = await this.waitExit(timeoutMs);
    // The exit event can precede the last stdout lines; let the streams drain.
    await new Promise<void>((r) => {
      if (!this.child.stdout || this.child.stdout.readableEnded) r();
      else this.child.stdout.once('end', () => r());
      setTimeout(r, 1000).unref();
    });
    return { ...ex, stdout: this.stdoutText, stderr: this.stderrText, events: [...this.events] };
  }

  private sleepUntilWoken(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** A daemon started with `--json` whose `ready` line has arrived. */
export class Daemon extends WraithProc {
  ready!: NdjsonEvent;
  home!: TestHome;
  /** Download directory (--output). */
  output!: string;

  get peerId(): string {
    return this.ready['peer_id'] as string;
  }

  /** The first UDP address from the ready line, e.g. "127.0.0.1:40123" or "[::1]:40123". */
  get addr(): string {
    return (this.ready['udp_addrs'] as string[])[0]!;
  }

  get port(): number {
    return Number(/:(\d+)$/.exec(this.addr)![1]);
  }

  /** `<id>@<addr>`, the PEER argument of `send`. */
  peer(addr = this.addr): string {
    return `${this.peerId}@${addr}`;
  }
}

export interface DaemonOptions extends SpawnOptions {
  home: TestHome;
  /** --bind (default 127.0.0.1:0). */
  bind?: string;
  /** --output (default: a new temp dir). */
  output?: string;
  /** --auto-accept (default true). */
  autoAccept?: boolean;
  /** --admin-listen (default "off": no port, no token file). */
  adminListen?: string;
  /** --min-free (default "0": the test machine's free space is not the test's business). */
  minFree?: string;
  /** More arguments after the defaults. */
  args?: string[];
  readyTimeoutMs?: number;
}

export interface SendOptions extends SpawnOptions {
  home: TestHome;
  /** --json (default true). */
  json?: boolean;
  /** More arguments (e.g. ['--reconnect-for', '60s']). */
  args?: string[];
}

/**
 * What one test (file) creates: temp dirs, homes, processes and cleanups,
 * all undone by `dispose()`.
 */
export class Scope {
  private root: string | null = null;
  private readonly procs = new Set<WraithProc>();
  private readonly deferred: Array<() => unknown> = [];
  private disposed = false;

  constructor(readonly label = 'e2e') {
    installExitHook();
    if (!sweptStale) {
      sweptStale = true;
      sweepStaleRoots();
    }
  }

  /** The scope's root directory under the system temp dir (created on first use). */
  rootDir(): string {
    if (this.disposed) throw new Error(`scope ${this.label}: already disposed`);
    if (this.root === null) {
      const root = join(tmpdir(), `${ROOT_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
      mkdirSync(root, { mode: 0o700 });
      this.root = root;
      liveRoots.add(root);
    }
    return this.root;
  }

  /** A new empty directory (mode 0700) under the scope's root. */
  async tempDir(prefix = 'd'): Promise<string> {
    const root = this.rootDir();
    const dir = await mkdtemp(join(root, `${prefix}-`));
    await chmod(dir, 0o700);
    return dir;
  }

  /** A new home with an identity (`wraith keygen --home DIR`). */
  async home(prefix = 'home'): Promise<TestHome> {
    const dir = join(await this.tempDir(prefix), 'home');
    const r = await this.run(['--home', dir, 'keygen'], { name: 'keygen' });
    const peerId = r.stdout.trim();
    if (r.code !== 0 || !/^[0-9a-f]{64}$/.test(peerId)) throw new Error(`keygen failed (code ${r.code}): ${r.stderr}${r.stdout}`);
    return { dir, peerId };
  }

  /** Runs a cleanup at dispose (newest first), after the processes are gone. */
  defer(fn: () => unknown): void {
    this.deferred.push(fn);
  }

  /** Starts `node wraith.js [--home DIR] ARGS...`. */
  spawn(args: readonly string[], opts: SpawnOptions = {}): WraithProc {
    const full = opts.home !== undefined ? ['--home', homeDir(opts.home), ...args] : [...args];
    return this.track(new WraithProc(this.spawnChild(full, opts), opts.name ?? String(args[0] ?? 'wraith'), full));
  }

  /** Runs a command to its end (killed after `timeoutMs`). */
  async run(args: readonly string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
    const p = this.spawn(args, opts);
    try {
      return await p.result(opts.timeoutMs ?? 60_000);
    } finally {
      if (p.alive) await p.kill9();
    }
  }

  /**
   * `wraith daemon --json` with test defaults (loopback, port 0, auto-accept,
   * no admin API, min_free 0), resolved once its `ready` line is out.
   */
  async daemon(opts: DaemonOptions): Promise<Daemon> {
    const output = opts.output ?? (await this.tempDir('out'));
    const args = [
      'daemon',
      '--json',
      '--bind',
      opts.bind ?? '127.0.0.1:0',
      '--output',
      output,
      '--admin-listen',
      opts.adminListen ?? 'off',
      '--min-free',
      opts.minFree ?? '0',
      ...(opts.autoAccept === false ? [] : ['--auto-accept']),
      ...(opts.args ?? []),
    ];
    const withHome = ['--home', homeDir(opts.home), ...args];
    const d = new Daemon(this.spawnChild(withHome, opts), opts.name ?? 'daemon', withHome);
    this.track(d);
    d.home = opts.home;
    d.output = output;
    d.ready = await d.waitFor((e) => e.type === 'ready', opts.readyTimeoutMs ?? 20_000, 'ready line');
    return d;
  }

  /** `wraith send PATHS --to PEER --json --no-progress` (not awaited). */
  send(paths: readonly string[], to: string, opts: SendOptions): WraithProc {
    const args = ['send', ...paths, '--to', to, '--no-progress', ...(opts.json === false ? [] : ['--json']), ...(opts.args ?? [])];
    return this.spawn(args, { ...opts, name: opts.name ?? 'send' });
  }

  /** Kills what still runs, runs the deferred cleanups and removes the temp dirs. Never throws. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const errors: string[] = [];
    await Promise.all([...this.procs].map((p) => p.kill9()));
    for (const fn of this.deferred.reverse()) {
      try {
        await fn();
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (this.root !== null) {
      try {
        await rm(this.root, { recursive: true, force: true, maxRetries: 3 });
        liveRoots.delete(this.root);
      } catch (e) {
        errors.push(`rm ${this.root}: ${(e as Error).message}`);
      }
    }
    if (errors.length > 0) console.warn(`scope ${this.label}: cleanup problems:\n  ${errors.join('\n  ')}`);
  }

  /** `node wraith.js ARGS` (ARGS complete, --home included). */
  private spawnChild(args: readonly string[], opts: SpawnOptions): ChildProcess {
    if (this.disposed) throw new Error(`scope ${this.label}: already disposed`);
    if (!existsSync(join(REPO_ROOT, 'packages', 'wraith', 'dist', 'cli.js'))) {
      throw new Error('packages/wraith/dist/cli.js is missing: run `npx tsc -b` first');
    }
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
    delete env['WRAITH_HOME'];
    if (opts.env?.['WRAITH_HOME'] !== undefined) env['WRAITH_HOME'] = opts.env['WRAITH_HOME'];
    const argv = [...(opts.prefix ?? []), process.execPath, WRAITH_BIN, ...args];
    return spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd ?? REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  private track<P extends WraithProc>(p: P): P {
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    // Record the child (pid + start time) so a later run can end it if this worker dies.
    const st = p.pid > 0 ? startTime(p.pid) : null;
    if (st !== null) {
      try {
        appendFileSync(join(this.rootDir(), CHILDREN_FILE), `${p.pid} ${st}\n`);
      } catch {}
    }
    return p;
  }
}

// --- ports ----------------------------------------------------------------------------------

/**
 * A UDP port that was free a moment ago on `host` (for a daemon restarted on
 * the same port). Another process could take it in between; tests bind it
 * right away.
 */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, host, () => resolve());
    });
    return sock.address().port;
  } finally {
    await new Promise<void>((r) => sock.close(() => r()));
  }
}

// --- files ----------------------------------------------------------------------------------

/** Writes random bytes at each [offset, length] of an existing file (past its end: it grows). */
export async function writeRandomAt(path: string, spans: ReadonlyArray<readonly [number, number]>): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    for (const [off, len] of spans) await fh.write(randomFillSync(Buffer.alloc(len)), 0, len, off);
  } finally {
    await fh.close();
  }
}

/** Writes `size` random bytes to a new file; returns their sha256 (hex). */
export async function writeRandomFile(path: string, size: number, mode = 0o644): Promise<string> {
  const fh = await open(path, 'wx', mode);
  const h = createHash('sha256');
  const block = Buffer.alloc(Math.min(size, 4 << 20) || 1);
  try {
    for (let off = 0; off < size; off += block.length) {
      const n = Math.min(block.length, size - off);
      randomFillSync(block, 0, n);
      h.update(block.subarray(0, n));
      await fh.write(block, 0, n, off);
    }
  } finally {
    await fh.close();
  }
  await chmod(path, mode);
  return h.digest('hex');
}

/**
 * A file of `size` bytes that is all hole (nothing allocated): big inputs at no disk cost. All
 * zeros is no work for a sender (holes are skipped, zero chunks go without their bytes); with
 * `byteEvery`, a byte at every multiple of it (a chunk size) makes every chunk data to hash and
 * send, at one file system block per chunk.
 */
export async function writeSparseFile(path: string, size: number, opts: { byteEvery?: number } = {}): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(size);
    const every = opts.byteEvery;
    if (every !== undefined) {
      const one = Buffer.of(1);
      for (let off = 0; off < size; off += every) await fh.write(one, 0, 1, off);
    }
  } finally {
    await fh.close();
  }
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

export interface RandomTreeOptions {
  /** Regular files to create. */
  files: number;
  /** Smallest and largest file size in bytes (uniform; default 0..4096). */
  minSize?: number;
  maxSize?: number;
  /** Directories to spread the files over (nested up to `depth`; default files/20, at least 1). */
  dirs?: number;
  depth?: number;
  /** File mode (default: a mix of 0644, 0600, 0755, 0640). */
  mode?: number;
  /** Files written at once (default 64). */
  parallel?: number;
}

/**
 * Creates `files` random files in nested directories under `root` (which
 * must exist). Returns the relative paths of the files and of the
 * directories (parents before children). File mtimes are set to distinct
 * whole seconds in the past so a test can check they were carried over.
 */
export async function randomTree(root: string, o: RandomTreeOptions): Promise<{ files: string[]; dirs: string[] }> {
  const minSize = o.minSize ?? 0;
  const maxSize = o.maxSize ?? 4096;
  const depth = Math.max(1, o.depth ?? 3);
  const ndirs = Math.max(1, o.dirs ?? Math.ceil(o.files / 20));
  const modes = [0o644, 0o600, 0o755, 0o640];
  const dirs: string[] = [''];
  for (let i = 0; dirs.length < ndirs + 1; i++) {
    // A parent among the existing directories that is not yet at full depth.
    const candidates = dirs.filter((d) => (d === '' ? 0 : d.split('/').length) < depth);
    const parent = candidates[i % candidates.length]!;
    const d = parent === '' ? `d${i}` : `${parent}/d${i}`;
    await mkdir(join(root, d), { recursive: true });
    dirs.push(d);
  }
  const names: string[] = [];
  for (let i = 0; i < o.files; i++) {
    const dir = dirs[(i * 7919) % dirs.length]!;
    names.push(dir === '' ? `f${i}.bin` : `${dir}/f${i}.bin`);
  }
  const base = Math.floor(Date.now() / 1000) - 86_400 * 30;
  const parallel = o.parallel ?? 64;
  for (let i = 0; i < names.length; i += parallel) {
    await Promise.all(
      names.slice(i, i + parallel).map(async (n, k) => {
        const idx = i + k;
        const size = minSize + (maxSize > minSize ? randomBytes(4).readUInt32LE() % (maxSize - minSize + 1) : 0);
        const p = join(root, n);
        await writeRandomFile(p, size, o.mode ?? modes[idx % modes.length]!);
        await utimes(p, base + idx, base + idx);
      }),
    );
  }
  return { files: names, dirs: dirs.slice(1) };
}

export interface TreeEntry {
  kind: 'file' | 'dir' | 'symlink' | 'fifo' | 'other';
  /** Full st_mode & 0o7777 (setuid/setgid/sticky included, so a test can see they are gone). */
  mode: number;
  size: number;
  /** Whole milliseconds. */
  mtimeMs: number;
  /** Files only. */
  sha256?: string;
  /** Symlinks only. */
  target?: string;
}

export interface SnapshotOptions {
  /** Leave out `.<name>.<root>.wraith-part` partial files (default true). */
  skipPartials?: boolean;
  /** Hash files (default true). */
  hash?: boolean;
}

const PARTIAL_RE = /^\..*\.[0-9a-f]{16}\.wraith-part$/s;

/** Every entry under `root` (not root itself) by relative path, without following symlinks. */
export async function snapshotTree(root: string, o: SnapshotOptions = {}): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  const walk = async (dir: string): Promise<void> => {
    for (const ent of await readdir(dir, { withFileTypes: true })) {
      if ((o.skipPartials ?? true) && PARTIAL_RE.test(ent.name)) continue;
      const p = join(dir, ent.name);
      const st = await lstat(p);
      const rel = relative(root, p);
      const kind: TreeEntry['kind'] = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : 'other';
      const e: TreeEntry = { kind, mode: st.mode & 0o7777, size: kind === 'file' ? st.size : 0, mtimeMs: Math.floor(st.mtimeMs) };
      if (kind === 'file' && (o.hash ?? true)) e.sha256 = await sha256File(p);
      if (kind === 'symlink') e.target = await readlink(p);
      out.set(rel, e);
      if (kind === 'dir') await walk(p);
    }
  };
  await walk(root);
  return out;
}

export interface DiffOptions {
  /** Compare permission bits (default true). */
  mode?: boolean;
  /** Compare file mtimes (default true; directories only with `dirMtime`). */
  mtime?: boolean;
  dirMtime?: boolean;
  /** Allowed mtime difference in ms (default 1). */
  mtimeSlackMs?: number;
}

/**
 * Differences between an expected and an actual snapshot, one line each
 * ("missing a/b", "extra x", "a/b: sha256 ... != ..."); empty when they match.
 */
export function diffTrees(expected: Map<string, TreeEntry>, actual: Map<string, TreeEntry>, o: DiffOptions = {}): string[] {
  const out: string[] = [];
  const slack = o.mtimeSlackMs ?? 1;
  for (const [name, e] of expected) {
    const a = actual.get(name);
    if (!a) {
      out.push(`missing ${name} (${e.kind})`);
      continue;
    }
    if (a.kind !== e.kind) out.push(`${name}: kind ${a.kind}, expected ${e.kind}`);
    if (e.kind === 'file' && a.size !== e.size) out.push(`${name}: size ${a.size}, expected ${e.size}`);
    if (e.sha256 !== undefined && a.sha256 !== undefined && e.sha256 !== a.sha256) out.push(`${name}: sha256 ${a.sha256}, expected ${e.sha256}`);
    if ((o.mode ?? true) && a.mode !== e.mode) out.push(`${name}: mode ${a.mode.toString(8)}, expected ${e.mode.toString(8)}`);
    const checkMtime = e.kind === 'dir' ? o.dirMtime === true : (o.mtime ?? true);
    if (checkMtime && Math.abs(a.mtimeMs - e.mtimeMs) > slack) out.push(`${name}: mtime ${a.mtimeMs}, expected ${e.mtimeMs}`);
  }
  for (const name of actual.keys()) if (!expected.has(name)) out.push(`extra ${name} (${actual.get(name)!.kind})`);
  return out.sort();
}

/** Bytes actually allocated on disk for `path` (partials are sparse at full size), or 0. */
export async function allocatedBytes(path: string): Promise<number> {
  try {
    return (await lstat(path)).blocks * 512;
  } catch {
    return 0;
  }
}

/** Partial files (`.<name>.<root16>.wraith-part`) under `dir`, recursively, as absolute paths. */
export async function findPartials(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let ents;
    try {
      ents = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (PARTIAL_RE.test(e.name)) out.push(join(d, e.name));
    }
  };
  await walk(dir);
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
