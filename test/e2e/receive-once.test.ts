/**
 * `wraith receive --once`: a foreground receiver that exits 0 once a send is done. A tree
 * arrives whole before it exits; a second sender that connected while the first was sending is
 * served to its end too, not cut off when the first finishes. A `receive` without --once, stopped
 * mid-file, keeps the partial; one that runs on gives memory back when idle.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, diffTrees, freeUdpPort, randomTree, sha256File, snapshotTree, writeRandomFile, type TestHome, type WraithProc } from '../support/procs.js';

const MiB = 1024 * 1024;
const scope = new Scope('receive-once');
afterAll(() => scope.dispose());

async function receiver(home: TestHome, output: string, extra: string[] = []): Promise<{ proc: WraithProc; peer: string }> {
  const port = await freeUdpPort();
  const proc = scope.spawn(['receive', '--once', '--output', output, '--bind', `127.0.0.1:${port}`, '--auto-accept', '--min-free', '0', '--no-progress', ...extra], { home, name: 'receive' });
  await proc.until(() => proc.stderr.includes('wraith receiving as'), 20_000, 'the receiving line');
  return { proc, peer: `${home.peerId}@127.0.0.1:${port}` };
}

describe('receive --once', () => {
  it('takes a tree whole, then exits 0', async () => {
    const out = await scope.tempDir('out');
    const rx = await receiver(await scope.home('rx1'), out);
    const src = join(await scope.tempDir('src'), 'tree');
    await mkdir(src);
    const tree = await randomTree(src, { files: 40, maxSize: 300_000, dirs: 5 });
    const send = await scope.send([src], rx.peer, { home: await scope.home('tx1') }).result(120_000);
    expect(send.code, send.stderr).toBe(0);
    expect(await rx.proc.waitExit(20_000)).toEqual({ code: 0, signal: null });
    const diff = diffTrees(await snapshotTree(src), await snapshotTree(join(out, 'tree')));
    expect(diff, diff.join('\n')).toEqual([]);
    // Each directory has its line too, as on the sending side.
    expect(rx.proc.stderr).toMatch(/^received: tree\/$/m);
    // Its last line sums the run up: the tree's root is a directory too.
    const last = rx.proc.stderr.trimEnd().split('\n').at(-1);
    expect(last).toMatch(new RegExp(`^done: ${tree.files.length} files, [0-9.]+ [KM]iB received; ${tree.dirs.length + 1} directories$`));
  }, 180_000);

  it('--quiet: the receiving line (where to send), then nothing for a clean run; exit 0', async () => {
    const out = await scope.tempDir('out');
    const rx = await receiver(await scope.home('rxq'), out, ['--quiet']);
    const src = join(await scope.tempDir('srcq'), 'q.bin');
    const sha = await writeRandomFile(src, 500_000);
    const send = await scope.send([src], rx.peer, { home: await scope.home('txq') }).result(120_000);
    expect(send.code, send.stderr).toBe(0);
    expect(await rx.proc.waitExit(20_000)).toEqual({ code: 0, signal: null });
    expect(await sha256File(join(out, 'q.bin'))).toBe(sha);
    expect(rx.proc.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^wraith receiving as [0-9a-f]{64}@127\.0\.0\.1:\d+$/)]);
  }, 120_000);

  it('a second sender that connects while the first is sending is served to its end; then it exits 0', async () => {
    const out = await scope.tempDir('out2');
    const rx = await receiver(await scope.home('rx2'), out);
    const [d1, d2] = await Promise.all([scope.tempDir('a'), scope.tempDir('b')]);
    const aHash = await writeRandomFile(join(d1, 'a.bin'), 24 * MiB);
    const bHash = await writeRandomFile(join(d2, 'b.bin'), 48 * MiB);
    // A takes ~1.5 s; B connects during it and is still sending when A is done.
    const a = scope.send([join(d1, 'a.bin')], rx.peer, { home: await scope.home('txa'), args: ['--rate', '16M'] });
    await new Promise((res) => setTimeout(res, 500));
    const b = scope.send([join(d2, 'b.bin')], rx.peer, { home: await scope.home('txb'), args: ['--rate', '16M', '--reconnect-for', '2s'] });
    const [ra, rb] = await Promise.all([a.result(120_000), b.result(120_000)]);
    expect(ra.code, a.describe()).toBe(0);
    expect(rb.code, b.describe()).toBe(0);
    expect(await rx.proc.waitExit(20_000)).toEqual({ code: 0, signal: null });
    expect(await sha256File(join(out, 'a.bin'))).toBe(aHash);
    expect(await sha256File(join(out, 'b.bin'))).toBe(bHash);
    expect(rx.proc.stderr.trimEnd().split('\n').at(-1)).toBe('done: 2 files, 72.0 MiB received');
  }, 180_000);

  it('Ctrl-C while a file arrives: the summary says it was interrupted, the partial stays, exit 130', async () => {
    const out = await scope.tempDir('out3');
    const port = await freeUdpPort();
    const rxHome = await scope.home('rx3');
    const proc = scope.spawn(['receive', '--output', out, '--bind', `127.0.0.1:${port}`, '--auto-accept', '--min-free', '0', '--no-progress'], { home: rxHome, name: 'receive' });
    await proc.until(() => proc.stderr.includes('wraith receiving as'), 20_000, 'the receiving line');
    const dir = await scope.tempDir('c');
    await writeRandomFile(join(dir, 'slow.bin'), 8 * MiB);
    const s = scope.send([join(dir, 'slow.bin')], `${rxHome.peerId}@127.0.0.1:${port}`, { home: await scope.home('txc'), args: ['--rate', '2M', '--reconnect-for', '1s'] });
    await proc.until(() => proc.stderr.includes('receiving 1 file'), 20_000, 'the receive to start');
    proc.signal('SIGINT');
    expect(await proc.waitExit(20_000)).toEqual({ code: 130, signal: null });
    expect(proc.stderr.trimEnd().split('\n').at(-1)).toBe('stopped: nothing received; 1 file interrupted (kept for a resume)');
    expect((await readdir(out)).filter((n) => n.endsWith('.wraith-part'))).toHaveLength(1);
    expect((await s.result(60_000)).code, s.describe()).not.toBe(0);
  }, 120_000);

  it('a receive that runs on gives memory back once idle after a file, as the daemon does', async () => {
    const out = await scope.tempDir('out4');
    const port = await freeUdpPort();
    const rxHome = await scope.home('rx4');
    const proc = scope.spawn(['receive', '--output', out, '--bind', `127.0.0.1:${port}`, '--auto-accept', '--min-free', '0', '--no-progress', '--log-level', 'debug'], { home: rxHome, name: 'receive' });
    await proc.until(() => proc.stderr.includes('wraith receiving as'), 20_000, 'the receiving line');
    const dir = await scope.tempDir('d');
    const sent = await writeRandomFile(join(dir, 'burst.bin'), 16 * MiB);
    const r = await scope.send([join(dir, 'burst.bin')], `${rxHome.peerId}@127.0.0.1:${port}`, { home: await scope.home('txd') }).result(60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(join(out, 'burst.bin'))).toBe(sent);
    // Checked every 10 s: the interval with the file, then a quiet one.
    await proc.until(() => proc.stderr.includes('idle after traffic: memory given back'), 35_000, 'the idle trim');
    const line = proc.stderr.split('\n').find((l) => l.includes('memory given back'))!;
    expect(JSON.parse(line)).toMatchObject({ released: expect.any(Boolean), rss_before: expect.any(Number) });
    proc.signal('SIGINT');
    expect(await proc.waitExit(20_000)).toEqual({ code: 0, signal: null });
  }, 120_000);
});
