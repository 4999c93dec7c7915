/**
 * `wraith daemon` under a unit with Type=notify: it tells the service manager (sd_notify(3), a
 * datagram to $NOTIFY_SOCKET) when it is ready, reloading and stopping, and keeps the watchdog
 * fed. A python3 socket stands in for systemd's and records what arrives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, sha256File, writeRandomFile } from '../support/procs.js';

const scope = new Scope('service-manager');
const listeners: ChildProcess[] = [];
afterAll(async () => {
  for (const l of listeners.splice(0)) l.kill('SIGKILL');
  await scope.dispose();
});

// Binds an AF_UNIX datagram socket ("@name": abstract) and prints each datagram as a JSON string.
const LISTEN = `
import json, socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + a[1:] if a.startswith('@') else a)
print(json.dumps('bound'), flush=True)
while True:
    print(json.dumps(s.recv(4096).decode()), flush=True)
`;

interface Listener {
  readonly messages: string[];
  /** Waits for a message matching `re` after the first `from` messages; returns its index. */
  next(re: RegExp, from: number, timeoutMs?: number): Promise<number>;
}

async function listen(address: string): Promise<Listener> {
  const child = spawn('python3', ['-c', LISTEN, address], { stdio: ['ignore', 'pipe', 'inherit'] });
  listeners.push(child);
  const messages: string[] = [];
  let bound!: () => void;
  const ready = new Promise<void>((r) => (bound = r));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as string;
    if (m === 'bound') bound();
    else messages.push(m);
  });
  await ready;
  return {
    messages,
    async next(re, from, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const i = messages.findIndex((m, k) => k >= from && re.test(m));
        if (i >= 0) return i;
        if (Date.now() > end) throw new Error(`no message matching ${re} after #${from}; got ${JSON.stringify(messages)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

describe('daemon and the service manager (sd_notify)', () => {
  it('READY=1 once it listens, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM, WATCHDOG=1 at half WatchdogSec', async () => {
    const path = join(await scope.tempDir('notify'), 'notify.sock');
    const l = await listen(path);
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const daemon = await scope.daemon({ home: rx, env: { NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000' } });

    const ready = await l.next(/^READY=1\n/, 0);
    expect(l.messages[ready]).toMatch(/\nSTATUS=listening on 127\.0\.0\.1:\d+ \(udp[^)]*\)$/);
    expect(l.messages[ready]).toContain(`:${daemon.port}`);
    // The keep-alives run for the daemon's life: at least five more in 1.5 s at 100 ms.
    const before = l.messages.filter((m) => m === 'WATCHDOG=1').length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(l.messages.filter((m) => m === 'WATCHDOG=1').length - before).toBeGreaterThanOrEqual(5);

    // READY=1 came once it listened: a send goes through.
    const src = join(await scope.tempDir('src'), 'n.bin');
    const sum = await writeRandomFile(src, 200_000);
    const sent = await scope.send([src], daemon.peer(), { home: tx, args: ['--reconnect-for', '0s'] }).result(30_000);
    expect(sent.code, sent.stderr).toBe(0);
    expect(await sha256File(join(daemon.output, 'n.bin'))).toBe(sum);

    const n = l.messages.length;
    daemon.signal('SIGHUP');
    const reloading = await l.next(/^RELOADING=1\n/, n);
    expect(l.messages[reloading]).toMatch(/\nMONOTONIC_USEC=\d+\n/);
    // MONOTONIC_USEC is CLOCK_MONOTONIC, which the test's hrtime reads too.
    const usec = BigInt(/MONOTONIC_USEC=(\d+)/.exec(l.messages[reloading]!)![1]!);
    const now = process.hrtime.bigint() / 1000n;
    expect(now - usec).toBeGreaterThanOrEqual(0n);
    expect(now - usec).toBeLessThan(10_000_000n);
    await l.next(/^READY=1\n/, reloading + 1);

    const m = l.messages.length;
    const exit = await daemon.terminate();
    expect(exit.code).toBe(0);
    await l.next(/^STOPPING=1(\n|$)/, m);
    expect(daemon.stderr).not.toMatch(/could not notify/);
  }, 60_000);

  it('an abstract NOTIFY_SOCKET works; keep-alives only when WATCHDOG_PID names the daemon', async () => {
    const address = `@wraith-test-${randomBytes(6).toString('hex')}`;
    const l = await listen(address);
    const rx = await scope.home('rx-abstract');
    const daemon = await scope.daemon({ home: rx, env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' } });
    await l.next(/^READY=1\n/, 0);
    await new Promise((r) => setTimeout(r, 600));
    expect(l.messages.filter((m) => m === 'WATCHDOG=1')).toEqual([]);
    expect((await daemon.terminate()).code).toBe(0);
    await l.next(/^STOPPING=1/, 0);
  }, 60_000);
});
