/**
 * A sender that cancels a file before the receiver has answered its offer: the CANCEL arrives
 * while the receiver is still opening the partial. The receiver drops the file (nothing of it
 * stays on disk), keeps running, and takes the next sender's file.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, findPartials, sha256File, writeRandomFile } from '../support/procs.js';
import { EvilSender } from './evil-sender.js';

const scope = new Scope('peer-cancel');
afterAll(() => scope.dispose());

describe('a CANCEL right behind its OFFER', () => {
  it('20 offers each cancelled in the same flight: the daemon stays up, keeps no partial, and receives the next file', async () => {
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const daemon = await scope.daemon({ home: rx });
    const evil = await EvilSender.connect(daemon.peerId, { host: '127.0.0.1', port: daemon.port });
    scope.defer(() => evil.close());
    for (let i = 0; i < 20; i++) {
      // A daemon that died leaves the CANCEL unacknowledged: say why.
      await evil.offerAndCancel(`c${i}.bin`, randomBytes(300_000 + i)).catch((e: Error) => {
        throw new Error(`${e.message}\n${daemon.describe()}`);
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(daemon.alive, daemon.describe()).toBe(true);
    expect(daemon.stderr).not.toMatch(/E_TRANSFER_UNKNOWN/);
    expect(daemon.stderr).toMatch(/cancelled by the sender before it was accepted/); // the race was run
    await daemon.until(async () => (await findPartials(daemon.output)).length === 0, 5_000, 'no partial left');

    const src = join(await scope.tempDir('src'), 'after.bin');
    const sent = await writeRandomFile(src, 1_000_000);
    const r = await scope.send([src], daemon.peer(), { home: tx }).result(60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(join(daemon.output, 'after.bin'))).toBe(sent);
    expect((await readdir(daemon.output)).sort()).toEqual(['after.bin']);
    await daemon.terminate();
  }, 60_000);
});
