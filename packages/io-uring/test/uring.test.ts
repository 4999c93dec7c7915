// io_uring specifics: completions never block the event loop, batches cost
// one io_uring_enter, registered buffers are used (and skipped when they would
// not fit RLIMIT_MEMLOCK), teardown cancels and drains, selection falls back.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWraithError, SeededRng } from '@wraith/core';
import type { UringNative } from '@wraith/native';
import { describeIf, needRoot } from '../../../test/support/prereq.js';
import { createFileIo, UringFileIo, type FileIo } from '../src/index.js';
import { uringNative } from '../src/native.js';
import { describeNative, tempDir } from './helpers.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describeNative('io_uring FileIo', () => {
  let dir: string;
  let io: FileIo;
  beforeAll(async () => {
    dir = tempDir('uring');
    io = (await createFileIo('io_uring')).io;
  });
  afterAll(async () => {
    await io?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads an empty FIFO without blocking the event loop', async () => {
    const path = join(dir, 'fifo');
    execFileSync('mkfifo', [path]);
    const fd = await io.open(path, 'rw'); // O_RDWR: opening a FIFO this way never blocks
    let settled = false;
    const read = io.readChunks(fd, [{ offset: 0, length: 5 }]).finally(() => {
      settled = true;
    });
    // A blocking design would never get here: the write below is what completes the read.
    for (let i = 0; i < 5; i++) await tick();
    expect(settled).toBe(false);
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        const w = openSync(path, 'w');
        writeSync(w, 'hello');
        closeSync(w);
        resolve();
      }),
    );
    const [got] = await read;
    expect(Buffer.from(got!).toString()).toBe('hello');
    await io.close(fd);
  });

  it('submits a 64-chunk read with at most 2 io_uring_enter calls', async () => {
    const path = join(dir, 'batch.bin');
    const ref = Buffer.alloc(64 * 16384);
    new SeededRng(9).fill(ref);
    writeFileSync(path, ref);
    const fd = await io.open(path, 'r');
    const before = io.stats();
    const got = await io.readChunks(fd, Array.from({ length: 64 }, (_, i) => ({ offset: i * 16384, length: 16384 })));
    const after = io.stats();
    expect(after.enters! - before.enters!).toBeLessThanOrEqual(2);
    expect(after.sqes! - before.sqes!).toBe(64);
    expect(after.completions! - before.completions!).toBe(64);
    expect(Buffer.concat(got).equals(ref)).toBe(true);
    await io.close(fd);
  });

  it('uses READ_FIXED/WRITE_FIXED for pool buffers when registered', async () => {
    const s = io.stats();
    // With CAP_IPC_LOCK the default 8 MiB pool must register; without it, it may not fit
    // (the memlock tests below cover that), and then no op may claim to be fixed.
    if (uringNative!.uringLimits().capIpcLock) expect(s.registered).toBe(1);
    const fixedPerOp = s.registered === 1 ? 1 : 0;
    expect(s.registeredBuffers).toBe(fixedPerOp * s.bufferCount!);
    const path = join(dir, 'fixed.bin');
    const fd = await io.open(path, 'rw');
    const buf = io.acquireBuffer()!;
    buf.fill(0x5a);
    const before = io.stats().fixedOps!;
    await io.writeChunks(fd, [{ offset: 0, data: buf }]);
    buf.fill(0);
    const [back] = await io.readChunks(fd, [{ offset: 0, length: buf.byteLength, buf }]);
    expect(back!.every((x) => x === 0x5a)).toBe(true);
    expect(io.stats().fixedOps! - before).toBe(2 * fixedPerOp);
    io.releaseBuffer(buf);
    await io.close(fd);
  });

  it('runs unregistered (still io_uring, logged) when the pool exceeds RLIMIT_MEMLOCK without CAP_IPC_LOCK', async () => {
    // The limits are injected; the child-process test below checks the kernel agrees.
    const n = uringNative!;
    const noCap: UringNative = Object.assign(Object.create(n) as UringNative, {
      uringLimits: () => ({ memlockCur: 8 << 20, memlockMax: 8 << 20, capIpcLock: false }),
    });
    const logs: string[] = [];
    const big = UringFileIo.create(noCap, { bufferSize: 1 << 20, bufferCount: 16 }, (m) => logs.push(m));
    const fits = UringFileIo.create(noCap, { bufferSize: 1 << 20, bufferCount: 4 }, (m) => logs.push(m));
    try {
      expect(big.backend).toBe('io_uring');
      expect(big.registered).toBe(false);
      expect(big.stats().registeredBuffers).toBe(0);
      expect(logs.join('\n')).toMatch(/RLIMIT_MEMLOCK.*unregistered/);
      expect(fits.registered).toBe(true);
      // Unregistered pool buffers still work, through plain READ/WRITE.
      const fd = await big.open(join(dir, 'unreg.bin'), 'rw');
      const b = big.acquireBuffer()!;
      b.fill(3);
      await big.writeChunks(fd, [{ offset: 0, data: b }]);
      const [r] = await big.readChunks(fd, [{ offset: 0, length: 10 }]);
      expect([...r!]).toEqual(new Array(10).fill(3));
      expect(big.stats().fixedOps).toBe(0);
      big.releaseBuffer(b);
      await big.close(fd);
    } finally {
      await big.destroy();
      await fits.destroy();
    }
  });

  it('destroy() cancels a pending read: it rejects with ECANCELED and no completion comes later', async () => {
    const d = (await createFileIo('io_uring')).io;
    const path = join(dir, 'fifo-cancel');
    execFileSync('mkfifo', [path]);
    const fd = await d.open(path, 'rw');
    const read = d.readChunks(fd, [{ offset: 0, length: 5 }]).then(
      () => 'resolved',
      (e: unknown) => (isWraithError(e) ? `${e.code}:${String(e.details?.errnoName)}` : String(e)),
    );
    await tick();
    await d.destroy();
    expect(await read).toBe('E_IO:ECANCELED');
    expect(d.stats().inflight).toBe(0);
    // Data arriving now must not reach a closed ring (a stray callback would throw).
    const w = openSync(path, 'w');
    writeSync(w, 'late!');
    closeSync(w);
    for (let i = 0; i < 3; i++) await tick();
    closeSync(fd);
  });

  it('a ring closed from inside its completion callback delivers nothing more', async () => {
    const n = uringNative!;
    const L = n.uringDescLayout;
    const ids = new Uint32Array(16);
    let calls = 0;
    let closedWith = -1;
    const ring = new n.UringRing({
      entries: 8, cqEntries: 16, doneIds: ids, doneResults: new Int32Array(16),
      counters: new Float64Array(n.uringCounterNames.length),
      onComplete: (count) => {
        calls++;
        expect(count).toBeGreaterThan(0);
        closedWith = ring.close(); // nothing left in flight: drains 0
      },
    });
    const desc = new Float64Array(L.stride * 4);
    for (let i = 0; i < 4; i++) {
      desc[i * L.stride + L.op] = n.uringOps.NOP;
      desc[i * L.stride + L.buf] = -1;
      desc[i * L.stride + L.fixed] = -1;
      desc[i * L.stride + L.userData] = i;
    }
    expect(ring.submit(desc, 4, [])).toBe(4);
    for (let i = 0; i < 5 && calls === 0; i++) await tick();
    for (let i = 0; i < 3; i++) await tick();
    expect(calls).toBe(1);
    expect(closedWith).toBe(0);
    expect(ring.info().open).toBe(false);
    expect(() => ring.submit(desc, 1, [])).toThrow(/closed/);
    expect(ring.close()).toBe(0); // idempotent
  });

  it('checks every op before submitting: a bad batch submits nothing', () => {
    const n = uringNative!;
    const L = n.uringDescLayout;
    const counters = new Float64Array(n.uringCounterNames.length);
    const ring = new n.UringRing({
      entries: 8, cqEntries: 16, doneIds: new Uint32Array(16), doneResults: new Int32Array(16), counters,
      onComplete: () => {},
    });
    try {
      const desc = new Float64Array(L.stride * 2);
      const buf = new Uint8Array(4096);
      for (const o of [0, L.stride]) {
        desc[o + L.op] = n.uringOps.READ;
        desc[o + L.fd] = 0;
        desc[o + L.length] = 4096;
        desc[o + L.buf] = 0;
        desc[o + L.fixed] = -1;
      }
      desc[L.stride + L.length] = 8192; // second op overruns its buffer
      expect(() => ring.submit(desc, 2, [buf])).toThrow(/op 1: bufOffset \+ length exceeds/);
      desc[L.stride + L.length] = 4096;
      desc[L.stride + L.op] = n.uringOps.READ_FIXED; // nothing is registered
      expect(() => ring.submit(desc, 2, [buf])).toThrow(/registered buffer index/);
      desc[L.stride + L.op] = 200;
      expect(() => ring.submit(desc, 2, [buf])).toThrow(/opcode not allowed/);
      const names = n.uringCounterNames;
      expect(counters[names.indexOf('sqes')]).toBe(0);
      expect(counters[names.indexOf('enters')]).toBe(0);
    } finally {
      ring.close();
    }
  });
});

// Child processes: behaviour tied to the process (event loop liveness, capabilities).
const nativeDir = join(createRequire(import.meta.url).resolve('@wraith/native'), '..');
function child(code: string, prefix: string[] = []): { status: number | null; out: string } {
  const args = [...prefix, process.execPath, '-e', code];
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 20_000, cwd: nativeDir });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
const RING = `const { native: n } = require('./index.cjs');
const mk = () => new n.UringRing({ entries: 8, cqEntries: 16, doneIds: new Uint32Array(16),
  doneResults: new Int32Array(16), counters: new Float64Array(16), onComplete() {} });`;

describeNative('io_uring ring and the process', () => {
  it('an idle ring does not keep the process alive', () => {
    const r = child(`${RING} globalThis.keep = mk(); console.log('made');`);
    expect(r.out).toContain('made');
    expect(r.status).toBe(0); // exits on its own (spawnSync would time out otherwise)
  });
});

describeNative('registered buffers without CAP_IPC_LOCK', () => {
  describeIf(
    needRoot() ?? (spawnSync('setpriv', ['--version']).status === 0 ? null : 'setpriv (util-linux) is not installed'),
    'kernel check in a child without CAP_IPC_LOCK',
    () => {
    it('registering more than RLIMIT_MEMLOCK fails with ENOMEM; a pool that fits registers', () => {
      const r = child(
        `${RING}
const lim = n.uringLimits();
const ring = mk();
let big = 'ok';
try { ring.registerBuffers([new Uint8Array(lim.memlockCur + (1 << 20))]); } catch (e) { big = e.code + ':' + e.errno; }
const ring2 = mk();
ring2.registerBuffers([new Uint8Array(1 << 20)]);
console.log(JSON.stringify({ cap: lim.capIpcLock, limit: lim.memlockCur, big }));
ring.close(); ring2.close();`,
        ['setpriv', '--inh-caps=-ipc_lock', '--bounding-set=-ipc_lock', '--'],
      );
      expect(r.status, r.out).toBe(0);
      const res = JSON.parse(r.out.trim().split('\n').pop()!) as { cap: boolean; limit: number; big: string };
      expect(res.cap).toBe(false);
      expect(res.big).toBe('E_IO:12'); // ENOMEM
    });
    },
  );
});

describe('createFileIo backend selection', () => {
  it("'fs' is always fs", async () => {
    const { io, reason } = await createFileIo('fs');
    expect(io.backend).toBe('fs');
    expect(reason).toBeUndefined();
    await io.destroy();
  });

  it("'auto' falls back to fs with the reason when io_uring cannot run; 'io_uring' then fails coded", async () => {
    const logs: string[] = [];
    const probe = () => ({ ok: false, code: 'E_IO_URING_UNAVAILABLE', reason: 'io_uring_setup: EPERM: blocked by seccomp', ioUringDisabledSysctl: 0 });
    const { io, reason } = await createFileIo('auto', (m) => logs.push(m), { probe });
    expect(io.backend).toBe('fs');
    expect(reason).toMatch(uringNative ? /EPERM/ : /native|WRAITH_NO_NATIVE/);
    expect(logs.join('\n')).toContain(reason!);
    await io.destroy();
    await expect(createFileIo('io_uring', () => {}, { probe })).rejects.toMatchObject({
      code: uringNative ? 'E_IO_URING_UNAVAILABLE' : 'E_NATIVE_UNAVAILABLE',
    });
  });

  it("'auto' picks io_uring when the probe passes", async () => {
    const { io, reason } = await createFileIo('auto');
    expect(io.backend).toBe(uringNative && uringNative.uringProbe().ok ? 'io_uring' : 'fs');
    if (io.backend === 'fs') expect(reason).toBeTruthy();
    await io.destroy();
  });
});
