/**
 * A file that takes longer to hash than idle_timeout (a big file, slow storage): the sender's
 * session is dialled before the hash pass, and nothing flowed on it until the offer, so it idled
 * out and the send went on only after "session lost; reconnecting" and a second handshake. The
 * sender now keeps it alive with pings. Here idle_timeout is 1 s on both sides and the file is
 * 8 GiB, sparse with a byte in every 256 KiB: no chunk is a hole, so all of it is read (the
 * kernel zero-fills the page cache for the holes: 1 to 4 s per 3 GiB on this machine kind, so
 * 8 GiB stays over a second); the receiver has it already.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, writeSparseFile } from '../support/procs.js';

const scope = new Scope('long-hash');
afterAll(() => scope.dispose());

const SIZE = 8 * 1024 ** 3;
const CHUNK = 256 * 1024; // the default chunk size: none is a hole, most of each is zeros


describe('a hash pass longer than idle_timeout', () => {
  it('8 GiB sparse, --idle-timeout 1s on both sides: one session, no reconnect, already present', async () => {
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const daemon = await scope.daemon({ home: rx, args: ['--idle-timeout', '1s'] });
    await writeSparseFile(join(daemon.output, 'holes.bin'), SIZE, { byteEvery: CHUNK });
    const src = join(await scope.tempDir('src'), 'holes.bin');
    await writeSparseFile(src, SIZE, { byteEvery: CHUNK });
    const send = scope.send([src], daemon.peer(), { home: tx, args: ['--idle-timeout', '1s', '--no-hash-cache', '--verbose'] });
    const r = await send.result(120_000);
    expect(r.code, send.describe()).toBe(0);
    const hashed = /"ms":(\d+)[^\n]*"msg":"source hashed"/.exec(r.stderr);
    expect(Number(hashed?.[1]), 'the hash pass outlasted idle_timeout (what this test is about)').toBeGreaterThan(1000);
    expect(r.stderr).not.toMatch(/session lost|E_IDLE_TIMEOUT/);
    expect((r.stderr.match(/"msg":"session established"/g) ?? []).length).toBe(1);
    const done = r.events.find((e) => e.type === 'completed')!;
    expect(done['bytes_already_present']).toBe(SIZE);
    await daemon.terminate();
  }, 180_000);
});
