/**
 * A source rewritten in place while it is being sent. The sender hashes each file once, up
 * front; the receiver checks every chunk against that root. Changed bytes therefore fail at the
 * receiver, which asks for the chunk again (RESEND), and the sender, hashing that chunk again,
 * names the cause: E_SOURCE_CHANGED, exit 6. Nothing lands under the final name.
 *
 * The rewrite puts the mtime back, so the (size, mtime, inode) snapshot cannot see it: only the
 * hashes can. A file that only grows (a log) is sent as its first bytes with --allow-growth,
 * where the hashes still catch a change within them.
 */
import { appendFile, mkdir, open, readdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImpairmentRelay } from '../support/relay.js';
import { Scope, allocatedBytes, findPartials, sha256File, writeRandomFile, type Daemon, type TestHome, type WraithProc } from '../support/procs.js';

const MiB = 1024 * 1024;
const SIZE = 96 * MiB;
/** Far past what the sender has read (its buffer and the receive window are 32 MiB each) when the rewrite happens. */
const CHANGE_AT = 90 * MiB;
const GROW_SIZE = 192 * MiB;

const scope = new Scope('source-changed');
afterAll(() => scope.dispose());

/** A sending home, a receiving daemon, and a fresh source directory. */
async function setup(): Promise<{ tx: TestHome; daemon: Daemon; dir: string }> {
  const [tx, rx] = await Promise.all([scope.home('tx'), scope.home('rx')]);
  return { tx, daemon: await scope.daemon({ home: rx }), dir: await scope.tempDir('src') };
}

/** Waits until the daemon's first partial file holds `bytes` on disk (polling every `pollMs`). */
function partialHolds(send: WraithProc, daemon: Daemon, bytes: number, pollMs?: number): Promise<void> {
  const held = async (): Promise<boolean> => {
    const p = (await findPartials(daemon.output))[0];
    return p !== undefined && (await allocatedBytes(p)) >= bytes;
  };
  return send.until(held, 60_000, `${bytes / MiB} MiB on the receiver`, pollMs);
}

/** Flips the byte at CHANGE_AT of `src`, then runs `after`, all while the sender is stopped. */
async function flipWhileStopped(send: WraithProc, src: string, after: () => Promise<void>): Promise<void> {
  process.kill(send.pid, 'SIGSTOP');
  try {
    const fh = await open(src, 'r+');
    try {
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, CHANGE_AT);
      b[0] = b[0]! ^ 0xff;
      await fh.write(b, 0, 1, CHANGE_AT);
    } finally {
      await fh.close();
    }
    await after();
  } finally {
    process.kill(send.pid, 'SIGCONT');
  }
}

describe('a source changed during the transfer', () => {
  it('a same-size rewrite with the mtime put back fails the file with E_SOURCE_CHANGED (exit 6); no file under the final name', async () => {
    const { tx, daemon, dir } = await setup();
    const src = join(dir, 'moving.bin');
    await writeRandomFile(src, SIZE);
    // A whole second: utimes() puts it back exactly.
    const MTIME = 1_700_000_000;
    await utimes(src, MTIME, MTIME);
    const before = await stat(src);

    const send = scope.send([src], daemon.peer(), { home: tx, args: ['--rate', '16MiB', '--reconnect-for', '0s'] });
    await partialHolds(send, daemon, 4 * MiB);
    // The mtime goes back while the sender is stopped: a stat of its own between the flip and
    // the utimes would see the mtime move, and this is about what the content check sees.
    await flipWhileStopped(send, src, () => utimes(src, MTIME, MTIME));
    expect((await stat(src)).mtimeMs).toBe(before.mtimeMs);

    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(6);
    const err = r.events.find((e) => e.type === 'error');
    expect(err, send.describe()).toMatchObject({ code: 'E_SOURCE_CHANGED', exit_code: 6 });
    expect(String(err?.['message'])).toContain(`chunk ${Math.floor(CHANGE_AT / (256 * 1024))}`);
    expect(r.events.some((e) => e.type === 'completed')).toBe(false);
    expect(await readdir(daemon.output)).not.toContain('moving.bin');
    await daemon.terminate();
  }, 120_000);

  it('a file that grows while it is sent fails before its last chunk (exit 6): the receiver discards it, and the next send succeeds', async () => {
    const { tx, daemon, dir } = await setup();
    const src = join(dir, 'growing.bin');
    await writeRandomFile(src, GROW_SIZE);
    // Full speed: several reads are in flight when the change is seen.
    const send = scope.send([src], daemon.peer(), { home: tx, args: ['--reconnect-for', '0s'] });
    await partialHolds(send, daemon, 4 * MiB, 5);
    await appendFile(src, Buffer.alloc(4096, 1));
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(6);
    expect(r.events.find((e) => e.type === 'error'), send.describe()).toMatchObject({ code: 'E_SOURCE_CHANGED' });
    expect(String(r.events.find((e) => e.type === 'error')?.['message'])).toContain(`its size went from ${GROW_SIZE} to ${GROW_SIZE + 4096}`);
    expect(String(r.events.find((e) => e.type === 'error')?.['message'])).toContain('--allow-growth');
    expect(r.events.filter((e) => e.type === 'error')).toHaveLength(1); // the file fails once, however many reads were in flight
    // The cancel reached the receiver before the session closed: no partial waits for the sweep.
    await daemon.until(async () => (await readdir(daemon.output)).length === 0, 10_000, 'the partial removed');
    expect(daemon.stderr).toMatch(/"code":"E_SOURCE_CHANGED"[^\n]*"reason":"growing.bin changed while it was being sent[^\n]*"receive stopped"/);
    expect(daemon.stderr, 'the receiver learns the name, not where the file lives on the sender').not.toContain(dir);

    const again = await scope.send([src], daemon.peer(), { home: tx }).result(60_000);
    expect(again.code, again.stderr).toBe(0);
    expect(await sha256File(join(daemon.output, 'growing.bin'))).toBe(await sha256File(src));
    await daemon.terminate();
  }, 120_000);

  it('--allow-growth: a file appended to while it is sent (a log) arrives as its first bytes, as they were when it was opened, with a warning (exit 0)', async () => {
    const { tx, daemon, dir } = await setup();
    const src = join(dir, 'app.log');
    const sent = await writeRandomFile(src, GROW_SIZE);
    const send = scope.send([src], daemon.peer(), { home: tx, args: ['--allow-growth', '--reconnect-for', '0s'] });
    await partialHolds(send, daemon, 4 * MiB, 5);
    await appendFile(src, Buffer.alloc(4096, 1));
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(0);
    const w = r.events.find((e) => e.type === 'warning' && e['code'] === 'E_SOURCE_CHANGED');
    expect(String(w?.['message']), send.describe()).toContain(`app.log grew while it was sent (to ${GROW_SIZE + 4096} bytes): the receiver has its first ${GROW_SIZE} bytes`);
    expect(r.events.find((e) => e.type === 'file')).toMatchObject({ name: 'app.log', status: 'sent', bytes: GROW_SIZE });
    expect(await sha256File(join(daemon.output, 'app.log'))).toBe(sent);
    await daemon.terminate();
  }, 120_000);

  it('--allow-growth still fails a file whose first bytes changed as it grew (exit 6): the chunk check sees what the size cannot', async () => {
    const { tx, daemon, dir } = await setup();
    const src = join(dir, 'db.bin');
    await writeRandomFile(src, SIZE);
    const send = scope.send([src], daemon.peer(), { home: tx, args: ['--allow-growth', '--rate', '16MiB', '--reconnect-for', '0s'] });
    await partialHolds(send, daemon, 4 * MiB);
    // Both at once for the sender: a byte far ahead of its reads changes, and the file grows.
    await flipWhileStopped(send, src, () => appendFile(src, Buffer.alloc(4096, 1)));
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(6);
    const err = r.events.find((e) => e.type === 'error');
    expect(err, send.describe()).toMatchObject({ code: 'E_SOURCE_CHANGED', exit_code: 6 });
    expect(String(err?.['message'])).toContain(`chunk ${Math.floor(CHANGE_AT / (256 * 1024))}`);
    expect(await readdir(daemon.output)).not.toContain('db.bin');
    await daemon.terminate();
  }, 120_000);

  it('a change after the last read is a warning: the receiver has the file as it was read (exit 0)', async () => {
    const { tx, daemon, dir } = await setup();
    const src = join(dir, 'late.bin');
    const sent = await writeRandomFile(src, 1 * MiB);
    // The receiver's confirmation takes 500 ms to come back: time to change the source after
    // the receiver has installed it (so after every read) and before the sender hears of it.
    const relay = new ImpairmentRelay({ upstream: daemon.addr, toClient: { delayMs: 500 } });
    await relay.start();
    scope.defer(() => relay.stop());
    const send = scope.send([src], `${daemon.peerId}@${relay.listenAddr.host}:${relay.listenAddr.port}`, { home: tx });
    await send.until(async () => (await readdir(daemon.output)).includes('late.bin'), 60_000, 'late.bin installed', 10);
    await appendFile(src, Buffer.alloc(100, 1));
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(0);
    const w = r.events.find((e) => e.type === 'warning' && e['code'] === 'E_SOURCE_CHANGED');
    expect(w, send.describe()).toBeDefined();
    expect(String(w?.['message'])).toContain(`changed after it was read (its size went from ${MiB} to ${MiB + 100}`);
    expect(r.events.find((e) => e.type === 'file')).toMatchObject({ name: 'late.bin', status: 'sent' });
    expect(await sha256File(join(daemon.output, 'late.bin'))).toBe(sent);
    await daemon.terminate();
  }, 120_000);

  it('a file of a tree removed after the walk saw it is skipped with a warning (exit 0), like one the walk finds gone', async () => {
    const { tx, daemon, dir } = await setup();
    const tree = join(dir, 'tree');
    await mkdir(tree);
    const sums = await Promise.all([1, 2, 3].map((i) => writeRandomFile(join(tree, `f${i}.bin`), 32 * MiB)));
    // One file at a time, slowed down: f3 is opened only once f2 is done.
    const send = scope.send([tree], daemon.peer(), { home: tx, args: ['--max-concurrent', '1', '--rate', '64MiB', '--reconnect-for', '0s'] });
    await send.until(async () => (await findPartials(join(daemon.output, 'tree')).catch(() => [])).length > 0, 60_000, 'f1 on its way', 10);
    await rm(join(tree, 'f3.bin'));
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(0);
    expect(r.events.filter((e) => e.type === 'error')).toEqual([]);
    expect(r.events.some((e) => e.type === 'warning' && String(e['message']).endsWith('f3.bin disappeared before it was read: skipped'))).toBe(true);
    expect((await readdir(join(daemon.output, 'tree'))).sort()).toEqual(['f1.bin', 'f2.bin']);
    expect(await sha256File(join(daemon.output, 'tree', 'f2.bin'))).toBe(sums[1]);
    await daemon.terminate();
  }, 120_000);
});
