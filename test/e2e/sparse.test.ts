/**
 * A sparse file (a VM image, a preallocated database file): its all-zero chunks cross as
 * ZERO_CHUNK frames, not as data, and arrive as holes. The file still arrives identical.
 */
import { open, stat, statfs, truncate } from 'node:fs/promises';
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { adminDaemon, type Admin } from '../support/hostile.js';
import { EvilSender } from './evil-sender.js';
import { Scope, sha256File, writeRandomAt, type Daemon, type TestHome } from '../support/procs.js';

const MiB = 1024 * 1024;
const SIZE = 1024 * MiB;
const CHUNK = 256 * 1024; // config/ default chunk_size

const scope = new Scope('sparse');
let rx: TestHome;
let tx: TestHome;
let daemon: Daemon;
let admin: Admin;

beforeAll(async () => {
  [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
  ({ daemon, admin } = await adminDaemon(scope, { home: rx }));
});

/** The receiving daemon's counter `name{direction="rx"}`. */
async function rxMetric(name: string): Promise<number> {
  return (await admin.metrics()).get(name, { direction: 'rx' });
}
afterAll(() => scope.dispose());


describe('a sparse file', () => {
  it('1 GiB with 5 MiB of data: only the data chunks are sent, the rest arrives as holes, as many blocks as the source, identical', async () => {
    const src = join(await scope.tempDir('src'), 'disk.img');
    await (await open(src, 'wx', 0o600)).close();
    await truncate(src, SIZE);
    // 4 MiB at 100 MiB (16 whole chunks), 1 MiB ending 4 KiB before the end (5 chunks), and
    // 4 KiB blocks alone in 6 chunks (a file system's scattered blocks).
    const lone = [200 * MiB + 64 * 1024, 300 * MiB, 300 * MiB + CHUNK + 8192, 301 * MiB - 4096, 500 * MiB + 128 * 1024, 700 * MiB + 4096];
    await writeRandomAt(src, [
      [100 * MiB, 4 * MiB],
      [SIZE - MiB - 4096, MiB],
      ...lone.map((at) => [at, 4096] as const),
    ]);
    const dataChunks = 16 + 5 + lone.length;
    const sent = await sha256File(src);

    const send = scope.send([src], daemon.peer(), { home: tx });
    const r = await send.result(180_000);
    expect(r.code, send.describe()).toBe(0);
    const done = r.events.at(-1)!;
    expect(done).toMatchObject({ type: 'completed', payload_bytes_sent: dataChunks * CHUNK, bytes_zero: SIZE - dataChunks * CHUNK });
    const last = r.events.filter((e) => e.type === 'progress').at(-1);
    expect(last).toMatchObject({ bytes_total: SIZE, bytes_done: SIZE });

    // The receiver counts what came as data apart from what came as zeros.
    expect(await rxMetric('wraith_transfer_payload_bytes_total')).toBe(dataChunks * CHUNK);
    expect(await rxMetric('wraith_transfer_zero_bytes_total')).toBe(SIZE - dataChunks * CHUNK);
    // The receiver took the zero chunks from the leaf row, before any data: nothing at all was
    // sent for them (no ZERO_CHUNK, no proof), so the datagrams are about those of the data.
    expect(daemon.stderr).toMatch(new RegExp(`"zero_bytes":${SIZE - dataChunks * CHUNK}\\b`));
    const packets = (await admin.settledMetrics()).get('wraith_packets_total', { direction: 'rx' });
    // ~1400 bytes of data per datagram, and a few hundred for the handshake, the leaf row and
    // acknowledgements; sent as ZERO_CHUNK frames with proofs, the zeros took 1100 more here.
    expect(packets).toBeLessThan((dataChunks * CHUNK) / 1300 + 200);

    const out = join(daemon.output, 'disk.img');
    expect(await sha256File(out)).toBe(sent);
    const st = await stat(out);
    expect(st.size).toBe(SIZE);
    // The data's blocks, no more (a chunk with one block of data is not written whole): the
    // rest, zeros, stayed holes, as `cp` keeps them.
    const srcBlocks = (await stat(src)).blocks;
    expect(st.blocks * 512).toBeGreaterThanOrEqual(5 * MiB + lone.length * 4096);
    expect(st.blocks).toBeLessThanOrEqual(srcBlocks + 16); // an extent's worth of slack
  }, 240_000);

  it("one bigger than the receiver's free space is taken: only its data needs room", async () => {
    const fs = await statfs(daemon.output);
    const size = Math.ceil((fs.bavail * fs.bsize + 2 * 1024 * MiB) / CHUNK) * CHUNK + 777;
    const src = join(await scope.tempDir('big'), 'huge.img');
    await (await open(src, 'wx', 0o600)).close();
    await truncate(src, size);
    const at = 3 * 1024 * MiB;
    const data = randomFillSync(Buffer.alloc(MiB));
    const fh = await open(src, 'r+');
    await fh.write(data, 0, data.length, at);
    await fh.close();

    const send = scope.send([src], daemon.peer(), { home: tx });
    const r = await send.result(180_000);
    expect(r.code, send.describe()).toBe(0);
    expect(r.events.at(-1)).toMatchObject({ type: 'completed', payload_bytes_sent: MiB, bytes_zero: size - MiB });
    // Far too big to hash here: every chunk was checked against the root on arrival, so the
    // data span and a few zero spans stand for the rest.
    const out = join(daemon.output, 'huge.img');
    const st = await stat(out);
    expect(st.size).toBe(size);
    expect(st.blocks * 512).toBeLessThan(4 * MiB);
    const got = await open(out, 'r');
    try {
      const read = async (off: number, len: number): Promise<Buffer> => (await got.read(Buffer.alloc(len), 0, len, off)).buffer;
      expect((await read(at, MiB)).equals(data)).toBe(true);
      for (const off of [0, at - 4096, at + MiB, size - 777]) expect((await read(off, 777)).every((b) => b === 0)).toBe(true);
    } finally {
      await got.close();
    }
  }, 240_000);

  it('a sender whose offer claims more zeros than it sends is stopped with E_PROTOCOL, and nothing lands', async () => {
    const evil = await EvilSender.connect(daemon.peerId, { host: '127.0.0.1', port: daemon.port });
    try {
      const data = randomFillSync(Buffer.alloc(MiB));
      const out = await evil.offer('liar.bin', data, 20_000, { zeroBytes: MiB - 64 * 1024 });
      expect(out).toMatchObject({ kind: 'rejected', code: 'E_PROTOCOL', byPeer: true });
      expect((out as { reason: string }).reason).toMatch(/more than the 65536 bytes of data its offer announced/);
      expect(existsSync(join(daemon.output, 'liar.bin'))).toBe(false);
    } finally {
      await evil.close();
    }
  }, 60_000);
});
