#!/usr/bin/env node
// io_uring vs node:fs FileIo: reading and writing a file in 1 MiB chunks,
// through the page cache and with O_DIRECT where the filesystem supports it.
// A benchmark, not a test: numbers vary with the disk and the VM.
//
// Usage (it imports the built packages, so build first):
//   npx tsc -b && npm run bench:io -- [--size-mib 1024] [--chunk-kib 1024] [--depth 8]
//       [--runs 5] [--dir DIR] [--no-direct] [--json FILE]
// Each case runs --runs times per backend after one warm-up pass; the table
// shows the median. Every backend reads into / writes from its own pool
// buffers (registered buffers on io_uring), --depth chunks per
// readChunks/writeChunks batch, one batch in flight. Three variants: fs (libuv thread pool), io_uring as configured by
// default (read batches of >= 2 MiB go to kernel workers, IOSQE_ASYNC; smaller ones are
// copied inline), and
// io_uring with every op attempted inline ("inline"; same as the default for
// O_DIRECT, so not repeated there). Cached reads run twice: one chunk per batch (as one
// pread after another, as the kernel's own pread/io_uring figures compare them: fs pays a
// thread-pool round trip per chunk) and --depth per batch (the thread pool then spreads the
// copies over the cores). Results go to bench/results/io.json unless
// --json names a file.
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './lib/args.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const USAGE = 'usage: npx tsc -b && node bench/io.mjs [--size-mib N] [--chunk-kib N] [--depth N] [--runs N] [--dir DIR] [--no-direct] [--json FILE]';

function parseOptions() {
  const o = benchArgs(import.meta.url, { 'size-mib': 1024, 'chunk-kib': 1024, depth: 8, runs: 5, dir: tmpdir(), 'no-direct': false, json: join(here, 'results', 'io.json') }, { usage: USAGE });
  o.direct = !o.noDirect;
  for (const k of ['sizeMib', 'chunkKib', 'depth', 'runs']) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`--${k} must be a positive integer`);
  }
  if ((o.chunkKib * 1024) % 4096 !== 0) throw new Error('--chunk-kib must be a multiple of 4');
  if ((o.sizeMib * 1024) % o.chunkKib !== 0) throw new Error('--size-mib must be a multiple of the chunk size');
  return o;
}

async function loadPackage() {
  const dist = join(here, '..', 'packages', 'io-uring', 'dist', 'index.js');
  if (!existsSync(dist)) {
    console.error('bench/io.mjs imports the built packages: run `npx tsc -b` first');
    process.exit(2);
  }
  return import('@wraith/io-uring');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** One pass over the file: `depth` chunks per batch, one batch in flight. */
async function pass(io, fd, kind, size, chunk, bufs) {
  const depth = bufs.length;
  const reqs = bufs.map((buf) => ({ offset: 0, length: chunk, buf, data: buf }));
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < size; off += chunk * depth) {
    const n = Math.min(depth, (size - off) / chunk);
    const batch = reqs.slice(0, n);
    batch.forEach((r, i) => (r.offset = off + i * chunk));
    if (kind === 'read') {
      const got = await io.readChunks(fd, batch);
      for (const g of got) if (g.byteLength !== chunk) throw new Error(`short read at ${off}: ${g.byteLength}`);
    } else {
      await io.writeChunks(fd, batch);
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return size / secs / 1e9; // GB/s
}

function supportsDirect(path) {
  try {
    closeSync(openSync(path, constants.O_RDONLY | constants.O_DIRECT));
    return true;
  } catch {
    return false;
  }
}

function makeSource(path, size) {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  for (let off = 0; off < size; off += block.length) writeSync(fd, block, 0, Math.min(block.length, size - off), off);
  closeSync(fd);
}

function warm(path) {
  // Pull the whole file into the page cache before the cached cases.
  const fd = openSync(path, 'r');
  const b = Buffer.allocUnsafe(1 << 20);
  while (readSync(fd, b, 0, b.length, null) > 0);
  closeSync(fd);
}

async function main() {
  const o = parseOptions();
  const { createFileIo } = await loadPackage();
  const size = o.sizeMib * 1048576;
  const chunk = o.chunkKib * 1024;
  const work = mkdtempSync(join(o.dir, 'wraith-bench-io-'));
  const src = join(work, 'source.bin');
  const dst = join(work, 'dest.bin');
  const notes = [];
  const loadBefore = loadavg()[0];
  try {
    process.stderr.write(`writing a ${o.sizeMib} MiB source file in ${work} ...\n`);
    makeSource(src, size);
    const direct = o.direct && supportsDirect(src);
    if (o.direct && !direct) notes.push(`O_DIRECT is not supported on ${o.dir}; direct cases skipped`);

    const variants = [
      ['fs', 'fs', {}],
      ['io_uring', 'io_uring', {}],
      ['io_uring_inline', 'io_uring', { asyncMinBytes: Infinity }],
    ];
    const backends = {};
    for (const [name, pref, extra] of variants) {
      const logs = [];
      const { io } = await createFileIo(pref, (m) => logs.push(m), { bufferSize: chunk, bufferCount: o.depth, ...extra });
      backends[name] = io;
      for (const m of logs) notes.push(`${name}: ${m}`);
    }
    const uring = backends.io_uring;
    if (uring.backend !== 'io_uring') throw new Error('io_uring is unavailable here; nothing to compare');

    // Cached reads also one chunk at a time: one pread after another, as the raw figures compare.
    const cases = [
      ...(o.depth !== 1 ? [{ name: 'read, cached, 1 per batch', kind: 'read', direct: false, depth: 1 }] : []),
      { name: 'read, cached', kind: 'read', direct: false, depth: o.depth },
      { name: 'write, cached (no fsync)', kind: 'write', direct: false, depth: o.depth },
      ...(direct
        ? [
            { name: 'read, O_DIRECT', kind: 'read', direct: true, depth: o.depth },
            { name: 'write, O_DIRECT', kind: 'write', direct: true, depth: o.depth },
          ]
        : []),
    ];
    const results = [];
    for (const c of cases) {
      const row = { case: c.name, depth: c.depth };
      // Alternate backends run by run so drift (writeback, host noise) hits all.
      const names = c.direct ? ['fs', 'io_uring'] : ['fs', 'io_uring', 'io_uring_inline'];
      const runs = Object.fromEntries(names.map((n) => [n, []]));
      // Run -1 is a warm-up, not recorded: on a VM the first pass over fresh
      // memory (new page cache, a new file's pages) pays for host faults.
      for (let r = -1; r < o.runs; r++) {
        for (const name of names) {
          const io = backends[name];
          const path = c.kind === 'read' ? src : dst;
          if (c.kind === 'read' && !c.direct) warm(src);
          const fd = await io.open(path, c.kind === 'read' ? 'r' : 'w', 0o644, { direct: c.direct });
          const bufs = [];
          for (let i = 0; i < c.depth; i++) bufs.push(io.acquireBuffer());
          if (c.kind === 'write') bufs.forEach((b, i) => b.fill(i + 1));
          try {
            const gbps = await pass(io, fd, c.kind, size, chunk, bufs);
            if (r >= 0) runs[name].push(gbps);
          } finally {
            bufs.forEach((b) => io.releaseBuffer(b));
            if (c.kind === 'write') await io.fsync(fd); // settle writeback outside the timing
            await io.close(fd);
          }
        }
      }
      for (const n of names) row[n] = { medianGBps: median(runs[n]), runsGBps: runs[n] };
      row.ratio = row.io_uring.medianGBps / row.fs.medianGBps;
      if (row.io_uring_inline) row.ratioInline = row.io_uring_inline.medianGBps / row.fs.medianGBps;
      results.push(row);
      process.stderr.write(`${c.name}: ${names.map((n) => `${n} ${row[n].medianGBps.toFixed(2)}`).join(', ')} GB/s\n`);
    }
    const ustats = uring.stats();
    for (const io of Object.values(backends)) await io.destroy();

    const pad = (s, n) => String(s).padEnd(n);
    console.log(`\nFileIo, ${o.sizeMib} MiB in ${o.chunkKib} KiB chunks, ${o.depth} per batch unless the case says, median of ${o.runs} (GB/s)`);
    console.log(`${pad('case', 28)}${pad('fs', 8)}${pad('io_uring', 10)}${pad('ratio', 8)}${pad('inline', 8)}ratio`);
    for (const r of results) {
      const inl = r.io_uring_inline;
      console.log(
        `${pad(r.case, 28)}${pad(r.fs.medianGBps.toFixed(2), 8)}${pad(r.io_uring.medianGBps.toFixed(2), 10)}${pad(`${r.ratio.toFixed(2)}x`, 8)}` +
          (inl ? `${pad(inl.medianGBps.toFixed(2), 8)}${r.ratioInline.toFixed(2)}x` : `${pad('-', 8)}-`),
      );
    }
    // The target (>= 1.3x fs on cached reads) against the default io_uring configuration.
    for (const r of results.filter((x) => x.case.startsWith('read, cached'))) {
      const met = r.ratio >= 1.3 ? 'met' : 'NOT met';
      console.log(`target: io_uring >= 1.3x fs, ${r.case} (${r.depth} x ${o.chunkKib} KiB): ${r.ratio.toFixed(2)}x ${met}`);
    }
    console.log(`load average (1 min): ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after, on ${cpus().length} CPUs`);
    console.log(`io_uring registered buffers: ${ustats.registered ? 'yes' : 'no'}; fixed ops ${ustats.fixedOps}, enters ${ustats.enters}, sqes ${ustats.sqes}`);
    for (const n of notes) console.log(`note: ${n}`);

    const out = {
      bench: 'io',
      date: new Date().toISOString(),
      kernel: release(),
      node: process.version,
      cpus: cpus().length,
      sizeMiB: o.sizeMib,
      chunkKiB: o.chunkKib,
      depth: o.depth,
      runs: o.runs,
      uvThreadpool: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
      // Other work on the machine skews every number: record how busy it was.
      loadavg1m: { before: loadBefore, after: loadavg()[0] },
      registeredBuffers: ustats.registered === 1,
      results,
      notes,
    };
    mkdirSync(dirname(o.json), { recursive: true });
    writeFileSync(o.json, JSON.stringify(out, null, 2) + '\n');
    console.log(`wrote ${o.json}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
