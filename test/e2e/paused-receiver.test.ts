/**
 * A receiving daemon that stops answering for longer than the sender's idle_timeout (a long
 * GC pause, a VM paused for migration, SIGSTOP) and then carries on. The sender gives the
 * session up and re-dials; the daemon, woken, still holds the old session, which the sender's
 * stateless reset then closes while the new session's offer of the same file arrives. The new
 * offer must wait for the old receive to let go of the partial and resume it; it was refused
 * with E_EXISTS "already being received", and the send failed (exit 6).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, findPartials, sha256File, writeRandomFile } from '../support/procs.js';

const scope = new Scope('paused-receiver');
afterAll(() => scope.dispose());

const MiB = 1024 * 1024;

describe('a receiver paused past the sender’s idle timeout', () => {
  it('SIGSTOP for 3.5 s (sender idle_timeout 2 s), then SIGCONT: the send re-dials, resumes and finishes; identical', async () => {
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const daemon = await scope.daemon({ home: rx });
    const src = join(await scope.tempDir('src'), 'p.bin');
    const sum = await writeRandomFile(src, 96 * MiB);
    const send = scope.spawn(['send', src, '--to', daemon.peer(), '--json', '--rate', '48MiB', '--idle-timeout', '2s', '--reconnect-for', '30s'], {
      home: tx,
      name: 'send',
    });
    await send.waitFor((e) => e.type === 'progress' && (e['bytes_done'] as number) >= 24 * MiB, 20_000, 'progress past 24 MiB');
    daemon.signal('SIGSTOP');
    await new Promise((r) => setTimeout(r, 3500));
    daemon.signal('SIGCONT');
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(0);
    expect(await sha256File(join(daemon.output, 'p.bin'))).toBe(sum);
    expect(await findPartials(daemon.output)).toEqual([]);
    const done = r.events.find((e) => e.type === 'completed')!;
    expect(done['bytes_skipped_resume'] as number).toBeGreaterThan(0); // resumed, not started over
    expect(daemon.alive).toBe(true);
    await daemon.terminate();
  }, 90_000);
});
