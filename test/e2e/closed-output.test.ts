/**
 * A send, or a daemon, whose output pipe is closed while it works (`wraith send --json | head -1`,
 * a log reader that restarted) goes on without it, and its exit code tells how the work went.
 * It used to stop at once and exit 0 (stdout), or crash (stderr), with the file half sent.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, findPartials, sha256File, writeRandomFile, type WraithProc } from '../support/procs.js';

const scope = new Scope('closed-output');
afterAll(() => scope.dispose());

const SIZE = 48 * 1024 * 1024;
// Slow enough that the sender writes progress for about two seconds after the close.
const RATE = ['--rate', '24M'];

function closeWhen(p: WraithProc, stream: 'stdout' | 'stderr', ready: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const s = p.child[stream]!;
    const check = (): void => {
      if (!ready()) return;
      s.off('data', check);
      s.destroy();
      resolve();
    };
    s.on('data', check);
  });
}

describe('a closed output pipe', () => {
  it('send --json: stdout closed after the first line; the file still arrives whole, exit 0', async () => {
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const daemon = await scope.daemon({ home: rx });
    const src = join(await scope.tempDir('src'), 'a.bin');
    const sum = await writeRandomFile(src, SIZE);
    const p = scope.spawn(['send', src, '--to', daemon.peer(), '--json', ...RATE], { home: tx, name: 'send' });
    await closeWhen(p, 'stdout', () => p.events.length > 0);
    const r = await p.result(60_000);
    expect(r.code, p.describe()).toBe(0);
    expect(r.events.map((e) => e.type)).not.toContain('completed'); // the close came first
    expect(await sha256File(join(daemon.output, 'a.bin'))).toBe(sum);
    expect(await findPartials(daemon.output)).toEqual([]);
    await daemon.terminate();
  }, 90_000);

  it('send (human output on stderr): stderr closed after the first line; exit 0, file whole', async () => {
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const daemon = await scope.daemon({ home: rx });
    const src = join(await scope.tempDir('src'), 'b.bin');
    const sum = await writeRandomFile(src, SIZE);
    const p = scope.spawn(['send', src, '--to', daemon.peer(), ...RATE], { home: tx, name: 'send' });
    await closeWhen(p, 'stderr', () => /sending 1 file/.test(p.stderr));
    const r = await p.result(60_000);
    expect(r.code, p.describe()).toBe(0);
    expect(r.stderr).not.toMatch(/^done:/m);
    expect(await sha256File(join(daemon.output, 'b.bin'))).toBe(sum);
  }, 90_000);

  it('daemon: stdout and stderr closed before its ready line; it still receives, and stops cleanly', async () => {
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const out = await scope.tempDir('out');
    const d = scope.spawn(
      ['daemon', '--bind', '127.0.0.1:0', '--output', out, '--auto-accept', '--admin-listen', 'off', '--min-free', '0'],
      { home: rx, name: 'daemon' },
    );
    // As journald restarting does: the ready line already meets a closed pipe.
    d.child.stdout!.destroy();
    d.child.stderr!.destroy();
    let peer = '';
    await d.until(
      async () => {
        type Info = { pid: number; peer_id: string; udp_addrs: string[] };
        const info = await readFile(join(rx.dir, 'run', 'daemon.json'), 'utf8').then((t) => JSON.parse(t) as Info, () => null);
        if (info?.pid === d.pid) peer = `${info.peer_id}@${info.udp_addrs[0]}`;
        return peer !== '';
      },
      20_000,
      'ready (run/daemon.json)',
    );
    await new Promise((r) => setTimeout(r, 200)); // the ready line is written after daemon.json
    const src = join(await scope.tempDir('src'), 'c.bin');
    const sum = await writeRandomFile(src, 8 * 1024 * 1024);
    const r = await scope.send([src], peer, { home: tx, args: ['--reconnect-for', '5s'] }).result(60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(join(out, 'c.bin'))).toBe(sum);
    expect(d.alive).toBe(true);
    const ex = await d.terminate();
    expect(ex).toMatchObject({ code: 0, signal: null });
  }, 90_000);
});
