/**
 * The human ready line of a daemon bound to every address (0.0.0.0 or [::]) is followed by what
 * a sender can actually use: the wildcard is not an address to send to. Run in a network
 * namespace of its own (unshare -n), so binding every address reaches nothing outside.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Scope } from '../support/procs.js';

const scope = new Scope('ready-line');
afterAll(() => scope.dispose());

describe('the daemon ready line', () => {
  it.each(['0.0.0.0:0', '[::]:0'])('bound to %s: a second line says how senders reach it', async (bind) => {
    const rx = await scope.home('rx');
    const out = await scope.tempDir('out');
    const d = scope.spawn(['daemon', '--bind', bind, '--output', out, '--admin-listen', 'off', '--min-free', '0'], {
      home: rx,
      name: 'daemon',
      prefix: ['unshare', '-n', '--'],
    });
    await d.until(() => /senders use /.test(d.stdout), 20_000, 'the ready lines');
    const m = /wraith daemon ready: ([0-9a-f]{64})@(?:0\.0\.0\.0|\[::\]):(\d+) \(udp\)\nsenders use ([0-9a-f]{64})@(\S+):(\d+) \(any address of this host\)/.exec(d.stdout);
    expect(m, d.stdout).not.toBeNull();
    expect(m![1]).toBe(rx.peerId);
    expect(m![3]).toBe(rx.peerId);
    expect(m![5]).toBe(m![2]);
    expect(m![4]).not.toMatch(/^(0\.0\.0\.0|\[::\])$/);
    expect((await d.terminate()).code).toBe(0);
  }, 30_000);
});
