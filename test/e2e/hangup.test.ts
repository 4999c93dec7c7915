/**
 * SIGHUP to a send. Printing to a terminal that hung up (an SSH session dropped), it stops as on
 * Ctrl-C: the receiver is told, the partial stays for a resume, exit 130. It used to ignore the
 * SIGHUP and die of the first write to the gone terminal (EIO), uncaught. Not on a terminal
 * (nohup, output to files) it carries on to the end: Node resets an inherited SIG_IGN, so this
 * is what keeps `nohup wraith send` working.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, WRAITH_BIN, findPartials, sha256File, writeRandomFile } from '../support/procs.js';

const scope = new Scope('hangup');
afterAll(() => scope.dispose());

const SIZE = 64 * 1024 * 1024;
const RATE = ['--rate', '16MiB'];

// Runs argv on a new pseudo-terminal, reads until `want` bytes of output, closes the terminal
// (the kernel sends SIGHUP, later writes fail with EIO) and prints the exit as JSON.
const ON_TTY = `
import json, os, pty, sys, time
argv = json.loads(sys.argv[1]); want = int(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
got = b''
deadline = time.time() + 30
while len(got) < want and time.time() < deadline:
    try:
        got += os.read(fd, 4096)
    except OSError:
        break
os.close(fd)
_, status = os.waitpid(pid, 0)
print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'seen': got.decode('utf8', 'replace')[-400:]}))
`;

describe('SIGHUP', () => {
  it('on a terminal that hangs up mid-send: stops like Ctrl-C (exit 130), the receiver keeps the partial', async () => {
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const daemon = await scope.daemon({ home: rx });
    const src = join(await scope.tempDir('src'), 'h.bin');
    await writeRandomFile(src, SIZE);
    const argv = [process.execPath, WRAITH_BIN, '--home', tx.dir, 'send', src, '--to', daemon.peer(), ...RATE];
    const r = spawnSync('python3', ['-c', ON_TTY, JSON.stringify(argv), '2000'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { code: number; seen: string };
    expect(out.seen).toMatch(/ETA/); // it was sending when the terminal went
    expect(out.code, out.seen).toBe(130);
    await daemon.until(() => /cancelled by the sender/.test(daemon.stderr), 10_000, 'the cancel at the receiver');
    expect(await findPartials(daemon.output)).toHaveLength(1);
    await daemon.terminate();
  }, 90_000);

  it('not on a terminal (nohup, output to files): ignored, the send finishes; identical', async () => {
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const daemon = await scope.daemon({ home: rx });
    const src = join(await scope.tempDir('src'), 'n.bin');
    const sum = await writeRandomFile(src, SIZE / 2);
    const send = scope.send([src], daemon.peer(), { home: tx, args: RATE });
    await send.waitFor((e) => e.type === 'started', 20_000, 'started');
    await new Promise((res) => setTimeout(res, 300));
    send.signal('SIGHUP');
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(0);
    expect(await sha256File(join(daemon.output, 'n.bin'))).toBe(sum);
    await daemon.terminate();
  }, 90_000);
});
