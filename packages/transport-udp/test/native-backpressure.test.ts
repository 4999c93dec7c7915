/**
 * Kernel backpressure on the native path: in a private network namespace
 * whose loopback is rate-limited (tbf), the send buffer fills, sendmmsg
 * answers EAGAIN, send() accepts a prefix, and onWritable (from the writable
 * poll) lets everything else out, in order and intact. Needs root, unshare
 * and tc; runs the BUILT package (`npx tsc -b` first; `npm test` does).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeIf, needRoot } from '../../../test/support/prereq.js';
import { nativeMissing } from './native-support.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');

/** The lowest CPU this process may run on (CI containers may not offer CPU 0). */
function firstAllowedCpu(): number {
  const list = /Cpus_allowed_list:\s*(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  return list ? Number(list[1]) : 0;
}

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Null when dist/ is at least as new as every src/ file it is built from. */
function distStale(): string | null {
  for (const f of readdirSync(join(pkg, 'src'))) {
    if (!f.endsWith('.ts')) continue;
    const built = join(pkg, 'dist', f.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(pkg, 'src', f)).mtimeMs) {
      return `packages/transport-udp/dist is missing or older than src/${f}: run npx tsc -b`;
    }
  }
  return null;
}

function prerequisite(): string | null {
  return (
    nativeMissing() ??
    needRoot() ??
    (has('unshare') && has('taskset') && has('tc') && has('ip') ? null : 'needs unshare, taskset, tc and ip (util-linux, iproute2)') ??
    distStale()
  );
}

/** The child's JSON line: `count` datagrams of 1400 B through a tbf (32 KiB burst) of this rate and limit. */
function runChild(count: number, limit: string, rate = '40mbit'): Record<string, number> {
  // One CPU for the whole child: a tbf dequeue from its watchdog on another CPU lands in that
  // CPU's loopback backlog, which the kernel may deliver ahead of this one's (reordering).
  const child = [process.execPath, join(here, 'native-backpressure-child.mjs'), String(count), '1400', rate, limit];
  const r = spawnSync('unshare', ['-n', 'taskset', '-c', String(firstAllowedCpu()), ...child], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

describeIf(prerequisite(), 'native UDP: kernel backpressure (EAGAIN) in a private namespace', () => {
  it('accepts a prefix on EAGAIN and lets the rest out through onWritable, in order', () => {
    const count = 3000;
    const res = runChild(count, '4mb');
    expect(res['got']).toBe(count);
    expect(res['corrupt'], 'datagrams lost, duplicated or damaged').toBe(0);
    expect(res['outOfOrder'], 'datagrams out of order').toBe(0);
    expect(res['txDropped']).toBe(0);
    // The first burst stopped short of everything at an EAGAIN ...
    expect(res['firstPump']).toBeLessThan(count);
    expect(res['sendAgain']).toBeGreaterThanOrEqual(1);
    // ... and the writable poll, not a timer, brought the rest out.
    expect(res['writableWakeups']).toBeGreaterThanOrEqual(1);
    expect(res['writables']).toBeGreaterThanOrEqual(res['writableWakeups']!);
  });

  it('counts what a full local queue drops (ENOBUFS) as lost and goes on, without spinning on writable', () => {
    // An 8 KiB tbf queue drops most of a 3000-datagram burst; the socket stays writable, so
    // waiting for writable after ENOBUFS would wake at once, over and over, and send nothing.
    // (It also refuses any GSO buffer above 8 KiB, which the transport then sends plain.)
    const count = 3000;
    const res = runChild(count, '8kb');
    expect(res['corrupt'], 'datagrams duplicated or damaged').toBe(0);
    expect(res['next'], 'every datagram handed to the transport').toBe(count);
    expect(res['localDrops']).toBeGreaterThan(0);
    expect(res['txDropped']).toBeGreaterThan(0);
    expect(res['got']).toBeLessThan(count);
    expect(res['writableWakeups']).toBeLessThan(10);
  });

  it('sends a GSO buffer that a byte-limited queue refuses whole (ENOBUFS) as plain datagrams', () => {
    // 20 datagrams leave as one 28 KB GSO buffer. A tbf's byte limit (16 KiB, below its
    // 32 KiB burst) refuses it even when empty; one by one they all fit.
    const res = runChild(20, '16kb', '1gbit');
    expect(res['localDrops']).toBeGreaterThanOrEqual(1);
    expect(res['got']).toBe(20);
    expect(res['corrupt']).toBe(0);
    expect(res['outOfOrder']).toBe(0);
  });
});
