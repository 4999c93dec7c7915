/**
 * What travels on the wire: a transfer through a capturing relay carries no
 * 32-byte run of the file in the clear (every path seals and verifies), and no
 * datagram exceeds max_datagram_size.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, sha256File, writeRandomFile } from '../support/procs.js';
import { ImpairmentRelay } from '../support/relay.js';

const scope = new Scope('wire-privacy');
afterAll(() => scope.dispose());

const WINDOW = 32;
const MAX_DATAGRAM = 1452;

describe('on the wire', () => {
  it('no 32-byte window of the file appears in any datagram, and every datagram fits max_datagram_size', async () => {
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const daemon = await scope.daemon({ home: rx });
    const src = join(await scope.tempDir('src'), 'secret.bin');
    const size = 4 * 1024 * 1024;
    const sent = await writeRandomFile(src, size);
    const captured: Buffer[] = [];
    let oversize = 0;
    const relay = new ImpairmentRelay({
      upstream: daemon.addr,
      seed: 1,
      capture: (d) => {
        if (d.stage !== 'in') return;
        if (d.bytes.length > MAX_DATAGRAM) oversize++;
        captured.push(Buffer.from(d.bytes));
      },
    });
    await relay.start();
    scope.defer(() => relay.stop());
    const r = await scope.send([src], `${daemon.peerId}@${relay.listenAddr.host}:${relay.listenAddr.port}`, { home: tx }).result(120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(join(daemon.output, 'secret.bin'))).toBe(sent);
    expect(captured.length).toBeGreaterThan(size / MAX_DATAGRAM);
    expect(oversize).toBe(0);

    // Every 32-byte window of the file contains an 8-aligned 8-byte anchor; index
    // the anchors, find them in the captured bytes, and measure the common run
    // around each hit: a run of 32 or more bytes is a leak.
    const file = await readFile(src);
    const index = new Map<string, number[]>();
    for (let i = 0; i + 8 <= file.length; i += 8) {
      const k = file.toString('latin1', i, i + 8);
      const list = index.get(k);
      if (list) list.push(i);
      else index.set(k, [i]);
    }
    let leaks = 0;
    for (const d of captured) {
      for (let j = 0; j + 8 <= d.length; j++) {
        const hits = index.get(d.toString('latin1', j, j + 8));
        if (!hits) continue;
        for (const p of hits) {
          let back = 0;
          while (back < j && back < p && d[j - back - 1] === file[p - back - 1]) back++;
          let fwd = 8;
          while (j + fwd < d.length && p + fwd < file.length && d[j + fwd] === file[p + fwd]) fwd++;
          if (back + fwd >= WINDOW) leaks++;
        }
      }
    }
    console.log(`captured ${captured.length} datagrams (${captured.reduce((a, b) => a + b.length, 0)} bytes); plaintext windows found: ${leaks}`);
    expect(leaks).toBe(0);
  }, 180_000);
});
