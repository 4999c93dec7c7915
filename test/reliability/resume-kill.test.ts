/**
 * Resume under kill -9: one transfer, and at 10 points of its progress
 * (seeded) either the daemon or the sender is killed with SIGKILL and
 * started again (the daemon on the same port; a new `wraith send` of the
 * same file). The sender re-dials a restarted daemon by itself
 * (--reconnect-for). Progress is what the receiver has on disk: the
 * allocated bytes of the sparse partial file.
 *
 * While it runs, a watcher polls the download directory every few
 * milliseconds: the file may appear under its final name only complete
 * (full size and the sent sha256). At the end it is identical.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SeededRng } from '@wraith/core';
import { Scope, allocatedBytes, findPartials, freeUdpPort, sha256File, writeRandomFile, type Daemon, type WraithProc } from '../support/procs.js';
import { MiB, sleep } from '../support/hostile.js';

const LONG = process.env.WRAITH_LONG === '1';
const SIZE = LONG ? 1024 * MiB : 64 * MiB;
const KILLS = 10;
const SEED = 7001;
const scope = new Scope('reliability-kill9');
afterAll(() => scope.dispose());

describe('resume under kill -9', () => {
  it(`kill -9 of either side at ${KILLS} seeded points of one ${SIZE / MiB} MiB transfer: never installed early, identical in the end`, async () => {
    const rng = new SeededRng(SEED);
    const plan = Array.from({ length: KILLS }, () => ({ side: rng.nextFloat() < 0.5 ? 'daemon' : 'sender', at: 0.04 + rng.nextFloat() * 0.9 }))
      .sort((a, b) => a.at - b.at) as Array<{ side: 'daemon' | 'sender'; at: number }>;
    console.log(`kill plan (seed ${SEED}): ${plan.map((p) => `${p.side}@${(p.at * 100).toFixed(0)}%`).join(' ')}`);

    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const output = await scope.tempDir('out');
    const port = await freeUdpPort();
    const src = join(await scope.tempDir('src'), 'big.bin');
    const sha = await writeRandomFile(src, SIZE);
    const final = join(output, 'big.bin');
    // Short timeouts so a killed peer is noticed in seconds; --rate so the kill points can be hit.
    const daemonArgs = ['--idle-timeout', '3s'];
    const sendArgs = ['--rate', LONG ? '128M' : '16M', '--idle-timeout', '2s', '--reconnect-for', '60s'];
    const startDaemon = (): Promise<Daemon> => scope.daemon({ home: rx, bind: `127.0.0.1:${port}`, output, args: daemonArgs });
    let daemon = await startDaemon();
    const startSend = (): WraithProc => scope.send([src], daemon.peer(), { home: tx, args: sendArgs });
    let send = startSend();

    // The watcher: the final name only ever holds the complete file.
    let watching = true;
    let early: string | null = null;
    let firstSeenSize = -1;
    const watcher = (async () => {
      while (watching && early === null) {
        const st = await stat(final).catch(() => null);
        if (st) {
          if (firstSeenSize < 0) firstSeenSize = st.size;
          if (st.size !== SIZE) early = `${final} appeared with ${st.size} of ${SIZE} bytes`;
          else if ((await sha256File(final)) !== sha) early = `${final} appeared complete in size but with other content`;
          return;
        }
        await sleep(5);
      }
    })();

    const progress = async (): Promise<number> => {
      const parts = await findPartials(output);
      let best = 0;
      for (const p of parts) best = Math.max(best, await allocatedBytes(p));
      return Math.min(1, best / SIZE);
    };

    const log: string[] = [];
    let resumed = 0;
    const t0 = performance.now();
    for (const [i, k] of plan.entries()) {
      // Wait for the kill point (the file is not complete yet: the point is below 95 %).
      const deadline = Date.now() + 120_000;
      for (;;) {
        const p = await progress();
        if (p >= k.at) break;
        if (!send.alive && send.exit?.code === 0) throw new Error(`the transfer finished before kill #${i + 1} at ${(k.at * 100).toFixed(0)}%`);
        if (!send.alive) throw new Error(`send exited before kill #${i + 1}\n${send.describe()}`);
        if (Date.now() > deadline) throw new Error(`no progress to ${(k.at * 100).toFixed(0)}% (at ${(p * 100).toFixed(1)}%)\n${send.describe()}\n${daemon.describe()}`);
        await sleep(10);
      }
      const at = await progress();
      if (k.side === 'daemon') {
        await daemon.kill9();
        expect(await stat(final).catch(() => null), `final name after killing the daemon at ${(at * 100).toFixed(1)}%`).toBeNull();
        daemon = await startDaemon();
      } else {
        await send.kill9();
        resumed += Number(send.last('completed')?.['bytes_skipped_resume'] ?? 0);
        expect(await stat(final).catch(() => null), `final name after killing the sender at ${(at * 100).toFixed(1)}%`).toBeNull();
        send = startSend();
      }
      log.push(`#${i + 1} ${k.side} at ${(at * 100).toFixed(1)}% (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
    const r = await send.result(LONG ? 1_800_000 : 180_000);
    watching = false;
    await watcher;
    const completed = send.last('completed');
    console.log(`kills: ${log.join(', ')}; done in ${((performance.now() - t0) / 1000).toFixed(1)} s; last send skipped ${completed?.['bytes_skipped_resume']} B as already held`);

    expect(r.code, `${send.describe()}\n${daemon.describe()}`).toBe(0);
    expect(early).toBeNull();
    expect(firstSeenSize).toBe(SIZE); // the watcher did see the file appear, complete
    expect(await sha256File(final)).toBe(sha);
    expect(await findPartials(output)).toEqual([]);
    // The last sender resumed: what the receiver already held was not sent again.
    expect(Number(completed?.['bytes_skipped_resume'] ?? 0) + resumed).toBeGreaterThan(0);
  });
});
