/**
 * A source rewritten in place while it is being sent. The sender hashes each file once, up
 * front; the receiver checks every chunk against that root. Changed bytes therefore fail at the
 * receiver, which asks for the chunk again (RESEND), and the sender, hashing that chunk again,
 * names the cause: E_SOURCE_CHANGED, exit 6. Nothing lands under the final name.
 *
 * The rewrite puts the mtime back, so the (size, mtime, inode) snapshot cannot see it: only the
 * hashes can.
 */
import { open, readdir, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, allocatedBytes, findPartials, writeRandomFile } from '../support/procs.js';

const MiB = 1024 * 1024;
const SIZE = 96 * MiB;
/** Far past what the sender has read (its buffer and the receive window are 32 MiB each) when the rewrite happens. */
const CHANGE_AT = 90 * MiB;

const scope = new Scope('source-changed');
afterAll(() => scope.dispose());

describe('a source changed during the transfer', () => {
  it('a same-size rewrite with the mtime put back fails the file with E_SOURCE_CHANGED (exit 6); no file under the final name', async () => {
    const tx = await scope.home('tx');
    const rx = await scope.home('rx');
    const daemon = await scope.daemon({ home: rx });
    const src = join(await scope.tempDir('src'), 'moving.bin');
    await writeRandomFile(src, SIZE);
    // A whole second: utimes() puts it back exactly.
    const MTIME = 1_700_000_000;
    await utimes(src, MTIME, MTIME);
    const before = await stat(src);

    const send = scope.send([src], daemon.peer(), { home: tx, args: ['--rate', '16MiB', '--reconnect-for', '0s'] });
    await send.until(
      async () => {
        const p = (await findPartials(daemon.output))[0];
        return p !== undefined && (await allocatedBytes(p)) >= 4 * MiB;
      },
      60_000,
      '4 MiB on the receiver',
    );
    const fh = await open(src, 'r+');
    try {
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, CHANGE_AT);
      b[0] = b[0]! ^ 0xff;
      await fh.write(b, 0, 1, CHANGE_AT);
    } finally {
      await fh.close();
    }
    await utimes(src, MTIME, MTIME);
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
});
