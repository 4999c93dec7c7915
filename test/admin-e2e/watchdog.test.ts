/**
 * The XDP watchdog end to end (docs/ADMIN.md, `[xdp.watchdog]` in docs/CLI.md): namespace A runs
 * an AF_XDP daemon on veth wa0 that probes a small TCP server in namespace B every 200 ms and
 * falls back to UDP after 3 rounds without an answer. B also runs a sender.
 *
 * While the target answers, the daemon stays on AF_XDP. Then, in the middle of a transfer from B,
 * the target's address is removed from wb0 and the server killed: A's probes now time out (no
 * RST: a refusal would count as an answer). Within failures x interval (+ slack) the daemon logs
 * the ALERT and `transport_changed`, the admin API (GET /v1/status, GET /v1/events) says udp, no
 * XDP program is left on wa0, and the transfer in progress completes over UDP on the same
 * session, identical (sha256).
 *
 * The admin API is served on a unix socket in the test's temp dir as well as on A's loopback:
 * the socket is reachable from the test process, A's loopback only from inside A.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createVethPair, destroyAllNetns, listNetns, ownNetns, type NodeChild, type VethPair } from '../support/netns.js';
import { describeIf, needRoot, REPO_ROOT } from '../support/prereq.js';
import { Scope, sha256File, sleep, WRAITH_BIN, writeRandomFile, type TestHome } from '../support/procs.js';

const TARGET = join(REPO_ROOT, 'test/admin-e2e/fixtures/tcp-target.mjs');
const PORT_A = 4433;
const TARGET_PORT = 7070;
const INTERVAL_MS = 200;
const FAILURES = 3;
const SIZE = 96 * 1024 * 1024;
/** The sender's --rate: the transfer lasts a few seconds whatever the machine, so the trip lands in its middle. */
const RATE = 32_000_000;

/** Upper bound of a wraith datagram (max_datagram_size): N bytes need at least N / this many. */
const MAX_DGRAM = 1452;

type Msg = Record<string, unknown>;

/** wraith_packets_total{direction="rx"} from a /v1/metrics answer. */
function rxPackets(a: { status: number; body: string }): number {
  if (a.status !== 200) throw new Error(`GET /v1/metrics: ${a.status} ${a.body}`);
  const m = /^wraith_packets_total\{direction="rx"\} (\d+)$/m.exec(a.body);
  return m ? Number(m[1]) : 0;
}

interface Answer {
  status: number;
  body: string;
}

/** One admin API request over the daemon's unix socket. */
function api(socketPath: string, token: string, method: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { authorization: `Bearer ${token}`, host: 'localhost' }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

async function apiJson<T>(socketPath: string, token: string, path: string): Promise<T> {
  const r = await api(socketPath, token, 'GET', path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}

/** GET /v1/events over the unix socket, parsed as it arrives. */
class EventStream {
  readonly events: Array<{ event: string; data: Msg; at: number }> = [];
  connected = false;
  private destroy: () => void = () => {};

  constructor(socketPath: string, token: string) {
    const req = request({ socketPath, method: 'GET', path: '/v1/events', headers: { authorization: `Bearer ${token}`, host: 'localhost' } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          let data = '';
          for (const line of frame.split('\n')) {
            if (line.startsWith(': connected')) this.connected = true;
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data !== '') this.events.push({ event, data: JSON.parse(data) as Msg, at: Date.now() });
        }
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    req.end();
    this.destroy = () => req.destroy();
  }

  close(): void {
    this.destroy();
  }
}

/** The pino JSON lines a child wrote to stderr. */
function logs(child: NodeChild): Msg[] {
  const out: Msg[] = [];
  for (const line of child.stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Msg);
    } catch {}
  }
  return out;
}

/** What a process is doing, from /proc: each thread's name, state and wait channel, and its CPU time. */
function procState(pid: number): string {
  try {
    const threads = readdirSync(`/proc/${pid}/task`).map((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      let wchan = '';
      try {
        wchan = readFileSync(`/proc/${pid}/task/${tid}/wchan`, 'utf8');
      } catch {}
      let stack = '';
      if (tid === String(pid)) {
        try {
          stack = readFileSync(`/proc/${pid}/task/${tid}/stack`, 'utf8').split('\n').slice(0, 6).join(' | ');
        } catch {}
      }
      return `${tid} ${name} ${f[0]} utime=${f[11]} stime=${f[12]} wchan=${wchan} ${stack}`;
    });
    return `\n  ${threads.join('\n  ')}`;
  } catch (e) {
    return `(no /proc: ${(e as Error).message})`;
  }
}

const msgOf = (l: Msg): string => String(l['msg']);
const timeOf = (l: Msg): number => (typeof l['time'] === 'number' ? l['time'] : Date.parse(String(l['time'])));

/** Polls `check` until it holds; `what` (a function: evaluated on failure) names it. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string), pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not ${typeof what === 'string' ? what : what()} within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

describeIf(needRoot(), 'XDP watchdog: falls back to UDP mid-transfer when its targets stop answering', () => {
  const scope = new Scope('admin-e2e-watchdog');
  const streams: EventStream[] = [];
  let pair: VethPair;
  let homeA: TestHome;
  let homeS: TestHome;
  let out = '';
  let sock = '';
  let token = '';
  let ipT = '';
  let daemon: NodeChild;
  let target: NodeChild;
  let src = '';
  let srcSha = '';

  const status = (): Promise<{ transport: { active: string }; xdp_mode: string | null }> => apiJson(sock, token, '/v1/status');
  const xdpProg = async (): Promise<string | null> =>
    /prog\/xdp id (\d+)/.exec(await pair.a.ip(['-d', 'link', 'show', 'dev', pair.ifA]))?.[1] ?? null;
  const daemonLogs = (): Msg[] => logs(daemon);
  /** An assertion message with the daemon's state and its last log lines (admin request lines left out). */
  const fail = (what: string): string => {
    const tail = daemon.stderr
      .split('\n')
      .filter((l) => !l.includes('"component":"admin"'))
      .slice(-40)
      .join('\n');
    const state = daemon.proc.exitCode !== null || daemon.proc.signalCode !== null ? `exited ${daemon.proc.exitCode ?? daemon.proc.signalCode}` : `running: ${procState(daemon.pid)}`;
    return `${what}\n--- daemon (${state}) stderr, admin requests left out (tail) ---\n${tail}`;
  };

  beforeAll(async () => {
    [homeA, homeS] = await Promise.all([scope.home('a'), scope.home('s')]);
    out = await scope.tempDir('out');
    sock = join(await scope.tempDir('sock'), 'admin.sock');
    src = join(await scope.tempDir('src'), 'payload.bin');
    srcSha = await writeRandomFile(src, SIZE);

    pair = await createVethPair();
    // The probe target lives on an address of its own on wb0, so it can be taken away
    // without touching the sender's address.
    ipT = pair.ipB.replace(/\.\d+$/, '.3');
    await pair.b.ip(['addr', 'add', `${ipT}/24`, 'dev', pair.ifB]);
    target = pair.b.spawnNode(TARGET, [ipT, String(TARGET_PORT)]);
    await target.waitFor((m) => m['event'] === 'ready');

    daemon = pair.a.spawnNode(WRAITH_BIN, [
      '--home', homeA.dir, 'daemon', '--json',
      '--bind', `${pair.ipA}:${PORT_A}`, '--output', out, '--auto-accept', '--min-free', '0',
      '--transport', 'xdp', '--no-udp-fallback', '--xdp-interface', pair.ifA,
      '--watchdog-targets', `${ipT}:${TARGET_PORT}`, '--watchdog-interval', `${INTERVAL_MS}ms`, '--watchdog-failures', String(FAILURES),
      '--admin-listen', '127.0.0.1:0', '--admin-unix-socket', sock,
      '--log-level', 'info',
    ]);
    const ready = await daemon.waitFor((m) => m['type'] === 'ready' || m['type'] === 'error', 30_000);
    if (ready['type'] !== 'ready') throw new Error(fail(`daemon failed: ${JSON.stringify(ready)}`));
    expect(ready['transport']).toBe('xdp');
    token = (await readFile(join(homeA.dir, 'admin.token'), 'utf8')).trim();
  });

  afterAll(async () => {
    for (const s of streams) s.close();
    await pair?.destroy();
    await destroyAllNetns();
    await scope.dispose();
    expect(ownNetns()).toEqual([]);
    for (const n of [pair?.a.name, pair?.b.name]) if (n) expect(listNetns()).not.toContain(n);
  });

  it('while the target answers: >= 10 probe rounds, no detach (status xdp, program attached, no transport_changed)', async () => {
    expect(daemonLogs().find((l) => msgOf(l) === 'XDP watchdog armed'), fail('no "XDP watchdog armed" line')).toMatchObject({
      targets: [`${ipT}:${TARGET_PORT}`],
      interval_ms: INTERVAL_MS,
      failures: FAILURES,
    });
    // The target counts the watchdog's connections: ten answered rounds.
    await target.waitFor((m) => m['event'] === 'accept' && Number(m['n']) >= 10, 10 * INTERVAL_MS + 10_000);
    const st = await status();
    expect(st.transport.active).toBe('xdp');
    expect(st.xdp_mode).not.toBeNull();
    expect(await xdpProg()).not.toBeNull();
    const lines = daemonLogs();
    expect(lines.filter((l) => msgOf(l) === 'transport_changed')).toEqual([]);
    expect(lines.filter((l) => msgOf(l).startsWith('ALERT'))).toEqual([]);
    expect(lines.filter((l) => msgOf(l) === 'XDP watchdog: no target answered')).toEqual([]);
  });

  it('target silenced mid-transfer: ALERT + transport_changed within failures x interval, status udp, program gone, SSE event, transfer completes identical', async () => {
    const events = new EventStream(sock, token);
    streams.push(events);
    await until(() => events.connected, 5000, 'SSE stream connected');

    const sender = pair.b.spawnNode(WRAITH_BIN, [
      '--home', homeS.dir, 'send', src, '--to', `${homeA.peerId}@${pair.ipA}:${PORT_A}`,
      '--json', '--no-progress', '--transport', 'udp', '--rate', String(RATE),
    ]);
    // Let a sixth of the file arrive over AF_XDP first (A's receive progress, from the API).
    let doneAtTrip = 0;
    await until(
      async () => {
        const { transfers } = await apiJson<{ transfers: Array<{ direction: string; bytes_done: number }> }>(sock, token, '/v1/transfers');
        doneAtTrip = transfers.find((t) => t.direction === 'receive')?.bytes_done ?? 0;
        if (sender.proc.exitCode !== null) throw new Error(`sender exited early: ${sender.stderr}`);
        return doneAtTrip >= SIZE / 6;
      },
      60_000,
      'a sixth of the file received',
    );
    expect((await status()).transport.active).toBe('xdp');
    expect(doneAtTrip).toBeLessThan(SIZE);

    // Silence the target: its address goes (A's SYNs are dropped in B, no RST), then the server.
    const tripAt = Date.now();
    await pair.b.ip(['addr', 'del', `${ipT}/24`, 'dev', pair.ifB]);
    await target.kill();

    await until(() => daemonLogs().some((l) => msgOf(l) === 'transport_changed'), FAILURES * INTERVAL_MS + 5000, () => fail('transport_changed logged'));
    const lines = daemonLogs();
    const alert = lines.find((l) => msgOf(l).startsWith('ALERT: XDP watchdog tripped'));
    const changed = lines.find((l) => msgOf(l) === 'transport_changed')!;
    expect(alert, fail('no ALERT line')).toBeDefined();
    expect(alert!['level']).toBe('error');
    expect(alert!['alert']).toBe(true);
    expect(alert!['evidence']).toMatchObject({ targets: [`${ipT}:${TARGET_PORT}`], consecutiveFailures: FAILURES });
    expect(changed).toMatchObject({ from: 'xdp', to: 'udp', reason: 'watchdog' });
    // FAILURES consecutive failed rounds, counted 1..FAILURES, before the ALERT.
    const warns = lines.filter((l) => msgOf(l) === 'XDP watchdog: no target answered');
    expect(warns.map((l) => l['failures'])).toEqual(Array.from({ length: FAILURES }, (_, i) => i + 1));
    for (const w of warns) expect(String((w['errors'] as string[])[0])).not.toMatch(/ECONNREFUSED/);
    // Timing: not before FAILURES - 1 whole intervals, and within FAILURES x interval plus slack
    // (one interval of phase, the probe timeout, and a loaded machine).
    const tripMs = timeOf(alert!) - tripAt;
    console.log(`watchdog tripped ${tripMs} ms after the target went silent (failures ${FAILURES} x interval ${INTERVAL_MS} ms)`);
    expect(tripMs).toBeGreaterThanOrEqual((FAILURES - 1) * INTERVAL_MS);
    expect(tripMs).toBeLessThanOrEqual(FAILURES * INTERVAL_MS + 1500);
    expect(timeOf(changed)).toBeGreaterThanOrEqual(timeOf(alert!));

    // The admin API and the interface agree.
    const rxAtSwitch = rxPackets(await api(sock, token, 'GET', '/v1/metrics'));
    // The transfer was still in progress at the switch (a finished one leaves the list).
    const rxDone = (await apiJson<{ transfers: Array<{ direction: string; bytes_done: number }> }>(sock, token, '/v1/transfers')).transfers.find(
      (t) => t.direction === 'receive',
    )?.bytes_done;
    expect(rxDone, 'the receive is still listed (in progress) after the switch').toBeDefined();
    expect(rxDone!).toBeLessThan(SIZE);
    const st = await status();
    expect(st.transport.active).toBe('udp');
    expect(st.xdp_mode, 'no AF_XDP after the fallback').toBeNull();
    let prog = await xdpProg();
    for (let i = 0; prog !== null && i < 40; i++) {
      await sleep(50);
      prog = await xdpProg();
    }
    expect(prog, 'no XDP program left on wa0').toBeNull();
    expect(await pair.a.ip(['-d', 'link', 'show', 'dev', pair.ifA])).not.toMatch(/prog\/xdp/);
    // The CLI client, run inside A (its admin_url is A's loopback), says so too.
    const cli = await pair.a.exec(process.execPath, [WRAITH_BIN, '--home', homeA.dir, 'status', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    expect((JSON.parse(cli.stdout.trim().split('\n').pop()!) as Msg)['transport']).toMatchObject({
      active: 'udp',
      changes: [{ from: 'xdp', to: 'udp', reason: 'watchdog', detail: expect.stringMatching(/^XDP watchdog tripped \(/), at: expect.any(String) }],
    });
    const human = await pair.a.exec(process.execPath, [WRAITH_BIN, '--home', homeA.dir, 'status']);
    expect(human.stdout).toMatch(/^transport {3}udp \(from xdp since \d{4}-\d\d-\d\dT[^:]+:\d\d:\d\d\.\d+Z: XDP watchdog tripped \(/m);
    // So does run/daemon.json, which other commands read to find the daemon.
    await until(async () => JSON.parse(await readFile(join(homeA.dir, 'run', 'daemon.json'), 'utf8')).transport === 'udp', 2000, 'run/daemon.json says udp');

    // The SSE stream carried it.
    await until(() => events.events.some((e) => e.event === 'transport_changed'), 2000, 'transport_changed on /v1/events');
    expect(events.events.find((e) => e.event === 'transport_changed')!.data).toMatchObject({ type: 'transport_changed', from: 'xdp', to: 'udp', reason: 'watchdog' });

    // The transfer that was running goes on over UDP and completes, identical.
    let timer: NodeJS.Timeout | undefined;
    const { code, signal } = await Promise.race([
      sender.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the sender still runs 60 s on: ${JSON.stringify(sender.messages.slice(-2))}\n${fail('the transfer completed')}`)), 60_000);
      }),
    ]).finally(() => clearTimeout(timer));
    const completed = sender.messages.find((m) => m['type'] === 'completed');
    expect(code, `sender exited ${code ?? signal}: ${JSON.stringify(sender.messages.slice(-3))}\n${sender.stderr.slice(-3000)}`).toBe(0);
    expect(completed).toBeDefined();
    expect(Date.parse(String(completed!['ts'])), 'the transfer finished after the switch').toBeGreaterThan(timeOf(changed));
    expect(await sha256File(join(out, 'payload.bin'))).toBe(srcSha);
    // On the same session: the daemon saw one session from the sender, never closed before the end.
    const after = daemonLogs();
    expect(after.filter((l) => msgOf(l) === 'session established')).toHaveLength(1);
    const closed = after.find((l) => msgOf(l) === 'session closed');
    if (closed) expect(timeOf(closed)).toBeGreaterThanOrEqual(Date.parse(String(completed!['ts'])) - 1000);
    // Exactly one switch.
    expect(after.filter((l) => msgOf(l) === 'transport_changed')).toHaveLength(1);
    expect(events.events.filter((e) => e.event === 'transport_changed')).toHaveLength(1);

    // The metrics follow the new transport: it is named, and its datagrams are counted (the
    // node copies the transport's counters every second: wait for one more copy).
    await sleep(1500);
    const m1 = await api(sock, token, 'GET', '/v1/metrics');
    expect(m1.status).toBe(200);
    expect(m1.body).toMatch(/^wraith_transport_info\{[^}]*transport="udp"[^}]*\} 1$/m);
    const rxAfter = rxPackets(m1);
    const bytesLeft = SIZE - rxDone!;
    console.log(`rx datagrams counted: ${rxAtSwitch} at the switch, ${rxAfter} after; ${bytesLeft} bytes were still to come`);
    expect(rxAfter - rxAtSwitch, 'datagrams received over UDP after the switch are counted').toBeGreaterThanOrEqual(Math.floor((bytesLeft * 0.9) / MAX_DGRAM));
    expect(rxAfter, 'every datagram of the file is counted, over AF_XDP and then UDP').toBeGreaterThanOrEqual(Math.floor(SIZE / MAX_DGRAM));
  });
});
