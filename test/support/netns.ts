/**
 * Network namespaces for tests: everything that attaches XDP programs or
 * moves packets does it inside namespaces created here, joined by veth, with
 * 10.x / fd00:: addresses only inside them. Nothing touches the root
 * namespace's interfaces.
 *
 * Names are `wr-<pid>-<hex>`: a namespace whose creating process is gone is
 * stale and deleted by the next createNetns() (a crashed run leaves nothing
 * behind for long), while namespaces of concurrently running tests are left
 * alone. Namespaces and the processes spawned into them are also removed at
 * process exit; tests still call destroy() in afterAll / finally.
 *
 * A Node process doing XDP must itself run inside the namespace
 * (unshare/setns move one thread only): spawnNode() starts it with
 * `ip netns exec NS node ...`, which execs node, so the child's pid is the
 * node process (kill -9 reaches it directly). Children should exit when
 * their stdin closes, so a killed test run does not leave them behind.
 *
 *   const pair = await createVethPair({ queues: 2 });
 *   try {
 *     const child = pair.a.spawnNode(script, [JSON.stringify(cfg)]);
 *     await child.waitFor((m) => m.event === 'ready');
 *     const reply = await child.request({ cmd: 'stats' });
 *     const addrs = await exec(pair.b, ['ip', '-j', 'addr']);
 *   } finally {
 *     await pair.destroy();
 *   }
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

const NAME_RE = /^wr-(\d+)-[0-9a-f]+$/;
const created = new Set<string>();
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code !== 0 ? err.message : '') });
    });
  });
}

async function runOk(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a test that forgot destroy(); synchronous by necessity.
  process.on('exit', () => {
    for (const c of children) {
      try {
        c.kill('SIGKILL');
      } catch {}
    }
    for (const name of created) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {}
    }
  });
}

/** Deletes `wr-<pid>-*` namespaces whose creating process no longer exists; returns their names. */
export function deleteStaleNamespaces(): string[] {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = NAME_RE.exec(name);
    if (!m || created.has(name) || pidAlive(Number(m[1]))) continue;
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      removed.push(name);
    } catch {}
  }
  return removed;
}

/** A line-oriented JSON child: each stdout line is one message, stdin takes one command per line. */
export class NodeChild {
  readonly messages: Array<Record<string, unknown>> = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];

  constructor(readonly proc: ChildProcess) {
    children.add(proc);
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        children.delete(proc);
        resolve({ code, signal });
        this.wake();
      });
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 1 << 20) this.stderr = this.stderr.slice(-(1 << 19));
    });
    if (proc.stdout) {
      createInterface({ input: proc.stdout }).on('line', (line) => {
        try {
          this.messages.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.messages.push({ event: 'stdout', line });
        }
        this.wake();
      });
    }
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  send(cmd: Record<string, unknown>): void {
    this.proc.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  /** The first message (from `from` on) satisfying `pred`; rejects on exit or after timeoutMs. */
  async waitFor(pred: (m: Record<string, unknown>) => boolean, timeoutMs = 20_000, from = 0): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      for (let i = from; i < this.messages.length; i++) if (pred(this.messages[i]!)) return this.messages[i]!;
      if (exited) throw new Error(`child ${this.pid} exited before the awaited message; stderr:\n${this.stderr.slice(-4000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`child ${this.pid}: no awaited message within ${timeoutMs} ms; stderr:\n${this.stderr.slice(-4000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Sends `cmd` and waits for the reply carrying the same `id`. */
  async request(cmd: Record<string, unknown>, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const id = `${Date.now()}-${Math.random()}`;
    const from = this.messages.length;
    this.send({ ...cmd, id });
    return this.waitFor((m) => m['id'] === id, timeoutMs, from);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    await this.exited;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export class Netns {
  private readonly procs = new Set<NodeChild>();

  constructor(readonly name: string) {}

  /** Runs `cmd args` inside the namespace. */
  exec(cmd: string, args: string[] = [], timeoutMs?: number): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], timeoutMs);
  }

  /** Like exec, but throws on a non-zero exit; returns stdout. */
  execOk(cmd: string, args: string[] = []): Promise<string> {
    return runOk('ip', ['netns', 'exec', this.name, cmd, ...args]);
  }

  /** `ip -n NS args`: iproute2 against this namespace. */
  ip(args: string[]): Promise<string> {
    return runOk('ip', ['-n', this.name, ...args]);
  }

  /** Starts `node script args` inside the namespace, stdio piped. */
  spawnNode(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): NodeChild {
    const proc = spawn('ip', ['netns', 'exec', this.name, process.execPath, script, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const child = new NodeChild(proc);
    this.procs.add(child);
    void child.exited.then(() => this.procs.delete(child));
    return child;
  }

  /** Kills what was spawned here, then deletes the namespace. Idempotent. */
  async destroy(): Promise<void> {
    await Promise.all([...this.procs].map((c) => c.kill('SIGKILL')));
    if (!created.has(this.name)) return;
    await run('ip', ['netns', 'del', this.name]);
    created.delete(this.name);
  }
}

/** Runs `cmd[0] cmd[1..]` inside `ns` (the free-function form of ns.exec). */
export function exec(ns: Netns, cmd: string[], timeoutMs?: number): Promise<ExecResult> {
  const [bin, ...args] = cmd;
  if (!bin) throw new Error('exec: empty command');
  return ns.exec(bin, args, timeoutMs);
}

/** A fresh namespace with loopback up. */
export async function createNetns(): Promise<Netns> {
  installExitHook();
  deleteStaleNamespaces();
  const name = `wr-${process.pid}-${randomBytes(3).toString('hex')}`;
  await runOk('ip', ['netns', 'add', name]);
  created.add(name);
  const ns = new Netns(name);
  try {
    await ns.ip(['link', 'set', 'lo', 'up']);
  } catch (e) {
    await ns.destroy();
    throw e;
  }
  return ns;
}

export interface VethPairOptions {
  /** RX and TX queues on each end (veth default: 1). */
  queues?: number;
  mtu?: number;
}

export interface VethPair {
  a: Netns;
  b: Netns;
  ifA: string;
  ifB: string;
  ipA: string;
  ipB: string;
  ip6A: string;
  ip6B: string;
  macA: string;
  macB: string;
  destroy(): Promise<void>;
}

/**
 * Two namespaces joined by one veth pair: `wa0` in a, `wb0` in b, with
 * 10.<r>.<r>.1/24 and .2, fd00:<r>::1/64 and ::2 (no DAD, usable at once).
 */
export async function createVethPair(opts: VethPairOptions = {}): Promise<VethPair> {
  const a = await createNetns();
  let b: Netns | undefined;
  try {
    b = await createNetns();
    const r = randomBytes(2);
    const net = `10.${100 + (r[0]! % 100)}.${r[1]!}`;
    const net6 = `fd00:${r.toString('hex')}`;
    const q = opts.queues ? ['numtxqueues', String(opts.queues), 'numrxqueues', String(opts.queues)] : [];
    // Created inside namespace a with its peer placed straight into b: the
    // pair never exists in the root namespace.
    await a.ip(['link', 'add', 'wa0', ...q, 'type', 'veth', 'peer', 'name', 'wb0', 'netns', b.name, ...q]);
    const pair: VethPair = {
      a,
      b,
      ifA: 'wa0',
      ifB: 'wb0',
      ipA: `${net}.1`,
      ipB: `${net}.2`,
      ip6A: `${net6}::1`,
      ip6B: `${net6}::2`,
      macA: '',
      macB: '',
      destroy: async () => {
        await Promise.all([a.destroy(), b!.destroy()]);
      },
    };
    for (const [ns, dev, ip4, ip6] of [
      [a, 'wa0', pair.ipA, pair.ip6A],
      [b, 'wb0', pair.ipB, pair.ip6B],
    ] as const) {
      if (opts.mtu) await ns.ip(['link', 'set', 'dev', dev, 'mtu', String(opts.mtu)]);
      await ns.ip(['addr', 'add', `${ip4}/24`, 'dev', dev]);
      await ns.ip(['-6', 'addr', 'add', `${ip6}/64`, 'dev', dev, 'nodad']);
      await ns.ip(['link', 'set', 'dev', dev, 'up']);
    }
    const mac = async (ns: Netns, dev: string): Promise<string> =>
      (JSON.parse(await ns.ip(['-j', 'link', 'show', 'dev', dev])) as Array<{ address: string }>)[0]!.address;
    pair.macA = await mac(a, 'wa0');
    pair.macB = await mac(b, 'wb0');
    return pair;
  } catch (e) {
    await Promise.all([a.destroy(), b?.destroy()]);
    throw e;
  }
}

/** Deletes every namespace this process created (for afterAll). */
export async function destroyAllNetns(): Promise<void> {
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
  for (const name of [...created]) {
    await run('ip', ['netns', 'del', name]);
    created.delete(name);
  }
}

/** Names of all namespaces (to assert a clean `ip netns list`). */
export function listNetns(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n !== '');
  } catch {
    return [];
  }
}

/** Namespaces created by this process and not yet deleted. */
export function ownNetns(): string[] {
  return [...created];
}
