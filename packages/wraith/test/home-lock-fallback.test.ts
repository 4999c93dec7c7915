/**
 * The home lock without the addon's flock (the portable path): daemon.lock alone decides, so a
 * lock from another host name counts as live, and the error says which file to delete.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { WraithError } from '@wraith/core';
import { ensureHome } from '../src/home/home.js';
import { acquireDaemonLock } from '../src/home/lock.js';
import { tmpDir } from './helpers.js';

vi.mock('@wraith/io-uring', async (original) => ({ ...(await original<typeof import('@wraith/io-uring')>()), lockDirectory: () => null }));

describe('home lock without flock', () => {
  it("another host's lock is live, and the hint names the file to delete", async () => {
    const home = await ensureHome(join(tmpDir(), 'h'));
    writeFileSync(home.lockFile, JSON.stringify({ pid: 1, start: '1', host: 'replaced-pod-7f9c' }));
    const err = (await acquireDaemonLock(home).then(() => null, (e: unknown) => e)) as WraithError;
    expect(err.code).toBe('E_HOME_LOCKED');
    expect(err.message).toBe(`home ${home.dir} is in use by a daemon (pid 1 on replaced-pod-7f9c)`);
    expect(err.hint).toBe(`the lock was taken on host replaced-pod-7f9c, whose processes this host cannot check; if wraith no longer runs there (a container replaced after a crash), delete ${home.lockFile}`);
    const first = await ensureHome(join(tmpDir(), 'h2'));
    const lock = await acquireDaemonLock(first); // the file alone still excludes a second holder
    expect(((await acquireDaemonLock(first).then(() => null, (e: unknown) => e)) as WraithError).code).toBe('E_HOME_LOCKED');
    await lock.release();
  });
});
