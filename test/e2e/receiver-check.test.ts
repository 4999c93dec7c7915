/**
 * A receiver offered a file it already has hashes its copy before it answers; the sender says
 * so instead of sitting at 0 % with no rate: progress events carry waiting_for_receiver while
 * the offer is undecided, and the file ends already_present. Both copies are sparse and alike (a
 * byte in every chunk, holes between), so the test costs hashing time, not disk or memory.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, writeSparseFile, type RunResult } from '../support/procs.js';

const SIZE = 3 * 1024 ** 3 + 12_345;
const CHUNK = 256 * 1024; // config/ default chunk_size

const scope = new Scope('receiver-check');
afterAll(() => scope.dispose());


describe('a receiver checking a copy it has', () => {
  it('the sender reports waiting_for_receiver until the answer, then already_present; the rate starts at zero', async () => {
    const output = await scope.tempDir('out');
    await writeSparseFile(join(output, 'holes.bin'), SIZE, { byteEvery: CHUNK });
    // No hash cache on the receiver: it hashes its copy on every offer.
    const daemon = await scope.daemon({ home: await scope.home('rx'), output, args: ['--no-hash-cache'] });
    const src = join(await scope.tempDir('src'), 'holes.bin');
    await writeSparseFile(src, SIZE, { byteEvery: CHUNK });
    const tx = await scope.home('tx');
    const sendOnce = async (): Promise<RunResult> => {
      const send = scope.send([src], daemon.peer(), { home: tx, args: ['--reconnect-for', '0s'] });
      const r = await send.result(120_000);
      expect(r.code, send.describe()).toBe(0);
      expect(r.events.find((e) => e.type === 'file')).toMatchObject({ status: 'already_present', bytes: SIZE });
      expect(r.events.find((e) => e.type === 'completed')).toMatchObject({ payload_bytes_sent: 0, bytes_skipped_resume: SIZE, bytes_already_present: SIZE });
      return r;
    };
    // The first send hashes its source too (and remembers it); the second takes its leaves from
    // the sender's cache, so from its first progress event on, only the receiver is busy.
    await sendOnce();
    const r = await sendOnce();
    const progress = r.events.filter((e) => e.type === 'progress');
    const waiting = progress.filter((e) => e['waiting_for_receiver'] === true);
    console.log(`waiting for the receiver: ${waiting.length} of ${progress.length} progress events, ${waiting.map((e) => e['ts']).join(' ')}; answered ${String(r.events.find((e) => e.type === 'file')?.['ts'])}`);
    expect(progress[0], JSON.stringify(progress)).toMatchObject({ waiting_for_receiver: true, bytes_done: 0, rate_bps: 0, eta_s: null });
    for (const e of progress) expect(e).not.toHaveProperty('bytes_hashed');
    // Not on the last event: the answer came.
    expect(progress.at(-1)).toMatchObject({ bytes_done: SIZE });
    expect(progress.at(-1)).not.toHaveProperty('waiting_for_receiver');
  }, 180_000);
});
