// Preloaded into the daemon by test/reliability/soak.test.ts through
// NODE_OPTIONS="--expose-gc --require .../gc-probe.cjs": on SIGUSR2 it runs a
// full garbage collection, lets V8's background threads give the freed pages
// back (100 ms), collects again and appends one JSON line of
// process.memoryUsage() to the file named by WRAITH_GC_PROBE_OUT. Nothing else
// changes in the daemon.
'use strict';
const { appendFileSync } = require('node:fs');

const out = process.env.WRAITH_GC_PROBE_OUT;
if (out && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
    setTimeout(() => {
      globalThis.gc();
      const m = process.memoryUsage();
      appendFileSync(out, `${JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
    }, 100).unref();
  });
}
