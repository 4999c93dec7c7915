/**
 * A receiver takes at most max_sessions_per_peer sessions from one node: parallel `wraith send`s
 * from one node beyond that wait for a slot (within --reconnect-for) instead of failing. Each
 * case runs a slow send A (rate-limited) on a receiver that takes one session per peer, then a
 * second send B from the same node while A is still going.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, sha256File, writeRandomFile, type Daemon, type TestHome, type WraithProc } from '../support/procs.js';

const MiB = 1024 * 1024;

const scope = new Scope('session-limit');
afterAll(() => scope.dispose());

/** A daemon taking one session per peer, and send A of 6 MiB at 3 MiB/s (~2 s) under way. */
async function busyReceiver(): Promise<{ daemon: Daemon; tx: TestHome; a: WraithProc; aSum: string; dir: string }> {
  const dir = await scope.tempDir('src');
  const aSum = await writeRandomFile(join(dir, 'a.bin'), 6 * MiB);
  const daemon = await scope.daemon({ home: await scope.home('rx'), args: ['--max-sessions-per-peer', '1'] });
  const tx = await scope.home('tx');
  const a = scope.send([join(dir, 'a.bin')], daemon.peer(), { home: tx, args: ['--rate', '3MiB', '--reconnect-for', '0s'] });
  await a.waitFor((e) => e.type === 'progress' && typeof e.bytes_done === 'number' && e.bytes_done > 0, 20_000, 'send A under way');
  return { daemon, tx, a, aSum, dir };
}

describe('max_sessions_per_peer', () => {
  it('a send beyond the limit waits for a slot, says so once, and arrives whole', async () => {
    const { daemon, tx, a, aSum, dir } = await busyReceiver();
    const bSum = await writeRandomFile(join(dir, 'b.bin'), 300_000);
    const b = scope.send([join(dir, 'b.bin')], daemon.peer(), { home: tx, args: ['--reconnect-for', '30s'] });
    const rb = await b.result(60_000);
    const ra = await a.result(60_000);
    expect(ra.code, a.describe()).toBe(0);
    expect(rb.code, b.describe()).toBe(0);
    const waits = rb.events.filter((e) => e.type === 'warning' && e.code === 'E_TOO_MANY_SESSIONS');
    expect(waits.length, b.describe()).toBe(1);
    expect(await sha256File(join(daemon.output, 'a.bin'))).toBe(aSum);
    expect(await sha256File(join(daemon.output, 'b.bin'))).toBe(bSum);
  });

  it('without --reconnect-for, or past it, the send fails with E_TOO_MANY_SESSIONS (exit 5)', async () => {
    const { daemon, tx, a, dir } = await busyReceiver();
    await writeRandomFile(join(dir, 'b.bin'), 1000);
    const now = scope.send([join(dir, 'b.bin')], daemon.peer(), { home: tx, args: ['--reconnect-for', '0s'] });
    const later = scope.send([join(dir, 'b.bin')], daemon.peer(), { home: tx, args: ['--reconnect-for', '500ms'] });
    for (const p of [now, later]) {
      const r = await p.result(30_000);
      expect(r.code, p.describe()).toBe(5);
      expect(r.events.find((e) => e.type === 'error')?.code, p.describe()).toBe('E_TOO_MANY_SESSIONS');
    }
    expect((await a.result(60_000)).code, a.describe()).toBe(0);
  });
});
