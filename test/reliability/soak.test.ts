/**
 * Soak: back-to-back transfers into one daemon for a fixed time (5 minutes in
 * CI, one hour with WRAITH_LONG=1; WRAITH_SOAK_S overrides), each checked by
 * sha256. After every transfer the daemon runs a full GC and reports its
 * memory (a preload, workers/gc-probe.cjs, through NODE_OPTIONS="--expose-gc
 * --require ..."; SIGUSR2 asks for a sample); VmRSS is also read from
 * /proc/PID/status. The first 40 % (at least 60 s, at most 5 minutes) is a
 * warm-up with three sends at a time; then sends go one at a time, sampled
 * after each, and the slope of heap used and of RSS over time (Theil-Sen: the
 * median of the pairwise slopes, so one allocator step does not count as
 * growth) must stay below 1 MiB per minute; least squares is printed too.
 *
 * It runs beside the rest of the suite (see vitest.config.ts) at the lowest
 * priority, which its daemon and senders inherit: the timing tests keep the
 * CPUs, and the soak takes what they leave. So that a busy stretch cannot cut
 * it short, the warm-up also lasts MIN_WARM_SENDS sends and the measured part
 * MIN_SAMPLES samples.
 *
 * Why 5 minutes and not less: the daemon's RSS keeps settling for about two
 * and a half minutes (V8 heap sizing, JIT code, allocator arenas), rising
 * about 1 MiB/min meanwhile and flat after; a 150 s soak measured inside that
 * phase and failed about half of its runs with no leak. glibc is told to give
 * memory back at once (GLIBC_TUNABLES below), so RSS follows live memory.
 */
import { link, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SeededRng } from '@wraith/core';
import { REPO_ROOT } from '../support/prereq.js';
import { Scope, randomTree, sha256File, snapshotTree, writeRandomFile } from '../support/procs.js';
import { MiB, procStatus, robustSlope, slope, sleep } from '../support/hostile.js';

const LONG = process.env.WRAITH_LONG === '1';
const SOAK_S = Number(process.env.WRAITH_SOAK_S ?? (LONG ? 3600 : 300));
const LIMIT_MIB_PER_MIN = 1;
/** About a third of what an idle machine does in the warm-up, and a fifth of its samples. */
const MIN_WARM_SENDS = 150;
const MIN_SAMPLES = 60;
const scope = new Scope('reliability-soak');
afterAll(() => scope.dispose());

interface MemSample {
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  vmRssKiB: number;
}

describe('soak', () => {
  it(`${SOAK_S} s of back-to-back transfers: daemon heap and RSS after GC grow < ${LIMIT_MIB_PER_MIN} MiB/min after warm-up`, async () => {
    setPriority(19); // this thread; the processes it starts inherit it
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const probeOut = join(await scope.tempDir('probe'), 'mem.ndjson');
    const probe = join(REPO_ROOT, 'test', 'reliability', 'workers', 'gc-probe.cjs');
    const daemon = await scope.daemon({
      home: rx,
      env: {
        NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --expose-gc --require ${probe}`.trim(),
        WRAITH_GC_PROBE_OUT: probeOut,
        // malloc gives freed memory back at once (no trimming threshold, large blocks mmapped, two
        // arenas): RSS then follows live memory, so allocator retention is not read as growth.
        GLIBC_TUNABLES: process.env['WRAITH_SOAK_TUNABLES'] ?? 'glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072:glibc.malloc.arena_max=2',
      },
    });

    // Sources: files of several sizes and a tree of small files, all sent again and again.
    const srcDir = await scope.tempDir('src');
    const rng = new SeededRng(9001);
    const files: Array<{ path: string; name: string; sha: string }> = [];
    for (const [i, size] of [8 * MiB, 3 * MiB + 12345, 1 * MiB, 200_000, 0].entries()) {
      const path = join(srcDir, `f${i}.bin`);
      files.push({ path, name: `f${i}.bin`, sha: await writeRandomFile(path, size) });
    }
    const treeRoot = join(srcDir, 'tree');
    await mkdir(treeRoot);
    await randomTree(treeRoot, { files: 40, maxSize: 20_000, dirs: 5 });
    const treeSnap = await snapshotTree(treeRoot);

    const samples: MemSample[] = [];
    // Only whole lines: a read can land inside the probe's append (tmpfs grows a file page by
    // page), and would see half a line.
    const probeLines = async (): Promise<string[]> => {
      const text = await readFile(probeOut, 'utf8').catch(() => '');
      return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
    };
    const sample = async (): Promise<void> => {
      const before = (await probeLines()).length;
      daemon.signal('SIGUSR2');
      for (let i = 0; i < 200; i++) {
        const lines = await probeLines();
        if (lines.length > before) {
          const s = JSON.parse(lines[lines.length - 1]!) as Omit<MemSample, 'vmRssKiB'>;
          samples.push({ ...s, vmRssKiB: procStatus(daemon.pid)?.['VmRSS'] ?? -1 });
          return;
        }
        await sleep(10);
      }
      throw new Error(`the daemon did not answer SIGUSR2 with a memory sample\n${daemon.describe()}`);
    };

    // Lanes 1 and 2 send the same files under their own names (hard links) and from their own
    // identities (the receiver keys unfinished files by sender and content): never one file twice at once.
    const LANES = 3;
    const laneHomes = [tx, ...(await Promise.all(Array.from({ length: LANES - 1 }, (_, k) => scope.home(`tx${k + 1}`))))];
    const laneFiles: Array<typeof files> = [files];
    for (let lane = 1; lane < LANES; lane++) {
      const set: typeof files = [];
      for (const f of files) {
        const path = join(srcDir, `l${lane}-${f.name}`);
        await link(f.path, path);
        set.push({ path, name: `l${lane}-${f.name}`, sha: f.sha });
      }
      laneFiles.push(set);
    }
    let transfers = 0;
    let bytes = 0;
    const oneSend = async (lane: number, n: number): Promise<void> => {
      const set = laneFiles[lane]!;
      // Two of the files (seeded pick) and, every third time on lane 0, the tree.
      const pick = [set[rng.nextInt(set.length)]!, set[rng.nextInt(set.length)]!].filter((f, i, a) => a.indexOf(f) === i);
      const withTree = lane === 0 && n % 3 === 2;
      const paths = [...pick.map((f) => f.path), ...(withTree ? [treeRoot] : [])];
      const send = scope.send(paths, daemon.peer(), { home: laneHomes[lane]! });
      const r = await send.result(60_000);
      expect(r.code, send.describe()).toBe(0);
      for (const f of pick) {
        expect(await sha256File(join(daemon.output, f.name)), f.name).toBe(f.sha);
        bytes += (await stat(f.path)).size;
      }
      if (withTree) {
        const got = await snapshotTree(join(daemon.output, 'tree'));
        for (const [name, e] of treeSnap) if (e.kind === 'file') expect(got.get(name)?.sha256, `tree/${name}`).toBe(e.sha256);
        await rm(join(daemon.output, 'tree'), { recursive: true });
      }
      for (const f of pick) await rm(join(daemon.output, f.name));
      transfers++;
    };

    await sample();
    const t0 = Date.now();
    // Warm-up: three sends at a time, so the daemon's allocators reach their high-water mark
    // early (back-to-back sends alone take about two minutes to settle RSS).
    const warmMs = Math.min(5 * 60_000, Math.max(60_000, SOAK_S * 1000 * 0.4));
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let n = 0; Date.now() - t0 < warmMs || transfers < MIN_WARM_SENDS; n++) await oneSend(lane, n);
      }),
    );
    const warmTransfers = transfers;
    // Measured: back-to-back, one at a time, a sample after each.
    const steadyFrom = samples.length;
    while (Date.now() - t0 < SOAK_S * 1000 || samples.length - steadyFrom < MIN_SAMPLES) {
      await oneSend(0, transfers);
      await sample();
    }
    expect(daemon.alive, daemon.describe()).toBe(true);

    const steady = samples.slice(steadyFrom);
    const mins = steady.map((s) => (s.t - t0) / 60_000);
    const heap = steady.map((s) => s.heapUsed / MiB);
    const rss = steady.map((s) => s.rss / MiB);
    const heapSlope = robustSlope(mins, heap);
    const rssSlope = robustSlope(mins, rss);
    const vmRssSlope = robustSlope(mins, steady.map((s) => s.vmRssKiB / 1024));
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    console.log(
      `soak: ${transfers} sends (${(bytes / MiB).toFixed(0)} MiB of files, a 40-file tree every third on one lane) in ${((Date.now() - t0) / 1000).toFixed(0)} s; ` +
        `${warmTransfers} of them in a ${(warmMs / 1000).toFixed(0)} s warm-up, ${LANES} at a time; ${steady.length} samples after GC in the measured part; ` +
        `heap used ${(first.heapUsed / MiB).toFixed(1)} -> ${(last.heapUsed / MiB).toFixed(1)} MiB (slope ${heapSlope.toFixed(3)} MiB/min, least squares ${slope(mins, heap).toFixed(3)}), ` +
        `RSS ${(first.rss / MiB).toFixed(1)} -> ${(last.rss / MiB).toFixed(1)} MiB (slope ${rssSlope.toFixed(3)} MiB/min, least squares ${slope(mins, rss).toFixed(3)}; VmRSS ${vmRssSlope.toFixed(3)}), ` +
        `external ${(last.external / MiB).toFixed(1)} MiB, array buffers ${(last.arrayBuffers / MiB).toFixed(1)} MiB`,
    );
    if (process.env.WRAITH_SOAK_DUMP) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(process.env.WRAITH_SOAK_DUMP, samples.map((s) => JSON.stringify(s)).join('\n'));
    }
    expect(steady.length).toBeGreaterThanOrEqual(MIN_SAMPLES);
    // Every 10th sample, for the failure message: minutes, heap MiB, RSS MiB.
    const series = steady.filter((_, i) => i % 10 === 0).map((s, i) => `${mins[i * 10]!.toFixed(2)}:${(s.heapUsed / MiB).toFixed(1)}/${(s.rss / MiB).toFixed(1)}`).join(' ');
    expect(heapSlope, `heap slope (MiB/min); samples min:heap/rss ${series}`).toBeLessThan(LIMIT_MIB_PER_MIN);
    expect(rssSlope, `RSS slope (MiB/min); samples min:heap/rss ${series}`).toBeLessThan(LIMIT_MIB_PER_MIN);
  }, SOAK_S * 2000 + 120_000);
});
