/**
 * A receiving daemon killed with SIGKILL mid-transfer and restarted on the
 * same port and home: its new process knows nothing of the sender's session
 * and answers its packets with a stateless reset (docs/PROTOCOL.md §3a). The
 * sender, with the default idle_timeout (30 s), learns within about a round
 * trip that the session is gone, re-dials (--reconnect-for), resumes and
 * finishes; without the reset it would sit out the idle timeout first.
 *
 * --rate keeps the sender below what the receiver writes, so it always has
 * data to send. (A sender held back by the receiver's window sends only
 * probes, padded to 41 bytes so they draw a reset too: covered by the
 * simulator test in packages/core/test/sim/stateless-reset.test.ts.)
 */
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Scope,
  allocatedBytes,
  findPartials,
  freeUdpPort,
  sha256File,
  writeRandomFile,
  type Daemon,
  type TestHome,
} from '../support/procs.js';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
/** Slowed so that "mid-transfer" lasts a few seconds. */
const RATE = '16MiB';
/** The default [network] idle_timeout: the sender runs without --idle-timeout. */
const IDLE_TIMEOUT_MS = 30_000;

const scope = new Scope('peer-restart');
let tx: TestHome;
afterAll(() => scope.dispose());
beforeAll(async () => {
  tx = await scope.home('tx');
});

describe('peer restart', () => {
  it(`${SIZE / MiB} MiB: kill -9 of the receiving daemon mid-transfer, restarted on the same port and home: the sender (default idle_timeout) re-dials within seconds and finishes; identical`, async () => {
    const rx = await scope.home('rx');
    const port = await freeUdpPort();
    const output = await scope.tempDir('out');
    const opts = { home: rx, bind: `127.0.0.1:${port}`, output };
    let daemon: Daemon = await scope.daemon(opts);
    const src = join(await scope.tempDir('src'), 'restart.bin');
    const sent = await writeRandomFile(src, SIZE);

    const t0 = Date.now();
    const send = scope.send([src], daemon.peer(), { home: tx, args: ['--reconnect-for', '60s', '--rate', RATE] });
    // Mid-transfer: a quarter of the file on the receiver's disk.
    await send.until(
      async () => {
        const p = (await findPartials(output)).find((f) => basename(f).startsWith('.restart.bin.'));
        return p !== undefined && (await allocatedBytes(p)) >= SIZE / 4;
      },
      30_000,
      'a quarter of the file on disk',
      25,
    );
    await daemon.kill9();
    const tKill = Date.now();
    expect(send.alive).toBe(true);
    expect(send.stdout).not.toMatch(/dialling again/);

    const tRestart = Date.now();
    daemon = await scope.daemon(opts);
    expect(daemon.port).toBe(port);
    const tReady = Date.now();
    // The sender notices the reset and dials again: seconds, not idle_timeout.
    await send.until(() => /dialling again/.test(send.stdout), IDLE_TIMEOUT_MS + 10_000, 'the re-dial', 10);
    const tRedial = Date.now();

    const r = await send.result(60_000);
    const tDone = Date.now();
    console.log(
      `kill at ${((tKill - t0) / 1000).toFixed(1)} s; daemon ready ${tReady - tRestart} ms after its restart began; ` +
        `sender re-dialled ${tRedial - tRestart} ms after the restart began (${tRedial - tReady} ms after ready); ` +
        `done ${((tDone - tKill) / 1000).toFixed(1)} s after the kill`,
    );
    expect(r.code, send.describe()).toBe(0);
    // The session ended by a stateless reset, not by idle_timeout, and the same process re-dialled.
    // A restart slower than the 3 s of refusals that end a session (a loaded machine) ends it
    // through the kernel's ICMP port unreachable instead: also seconds, not idle_timeout.
    const said = send.stderr + send.stdout;
    expect(said, send.describe()).toMatch(/the peer restarted or lost the session|the peer stopped/);
    expect(said, send.describe()).toMatch(/E_PEER_RESET|E_PEER_UNREACHABLE/);
    expect(said, send.describe()).not.toMatch(/E_IDLE_TIMEOUT/);
    expect(tRedial - tRestart).toBeLessThan(10_000);
    expect(tRedial - tRestart).toBeLessThan(IDLE_TIMEOUT_MS / 3);
    expect(await sha256File(join(output, 'restart.bin'))).toBe(sent);
    expect(await findPartials(output)).toEqual([]);
    const completed = r.events.filter((e) => e.type === 'completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]!['bytes_skipped_resume'] as number).toBeGreaterThan(0);
    await daemon.terminate();
  }, 90_000);

  it('kill -9 of the receiving daemon, not restarted: the sender (default idle_timeout) notices in seconds from the port refusing (ICMP), re-dials for --reconnect-for, then fails with E_PEER_LOST', async () => {
    const rx = await scope.home('rx-gone');
    const output = await scope.tempDir('out-gone');
    const daemon = await scope.daemon({ home: rx, output });
    const src = join(await scope.tempDir('src-gone'), 'gone.bin');
    await writeRandomFile(src, SIZE);
    const send = scope.send([src], daemon.peer(), { home: tx, args: ['--reconnect-for', '3s', '--rate', RATE] });
    await send.until(async () => (await findPartials(output)).length > 0, 30_000, 'a partial on the receiver', 25);
    await daemon.kill9();
    const tKill = Date.now();
    await send.until(() => /dialling again/.test(send.stdout), IDLE_TIMEOUT_MS + 10_000, 'the session lost', 10);
    const tLost = Date.now();
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(5);
    expect(r.events.at(-1)).toMatchObject({ type: 'error', code: 'E_PEER_LOST' });
    expect(send.stdout, send.describe()).toMatch(/E_PEER_UNREACHABLE: nothing listens on UDP port \d+ at 127\.0\.0\.1 \(ICMP port unreachable\): the peer stopped/);
    expect(tLost - tKill).toBeLessThan(IDLE_TIMEOUT_MS / 3);
  }, 90_000);
});
