#!/usr/bin/env node
// Run the impairment relay by hand, e.g.
//   node test/support/relay-cli.mjs --listen 127.0.0.1:50000 --upstream 127.0.0.1:40000 --loss 0.05 --seed 1
// Needs @wraith/core built (npm run build). Prints one JSON line when listening,
// and the counters as JSON when it stops (Ctrl-C, SIGTERM or --lifetime).
import { parseArgs } from 'node:util';

const HELP = `usage: node test/support/relay-cli.mjs --upstream HOST:PORT [options]

  --listen HOST:PORT       where clients send (default 127.0.0.1:0)
  --upstream HOST:PORT     where datagrams are forwarded
  --seed N                 seed of every random decision (default 1)
  --dir both|up|down       which direction the impairments apply to (default both)
  --loss P                 random loss probability
  --burst PIN,POUT[,LG,LB] Gilbert-Elliott: P(good->bad), P(bad->good), loss in good/bad (0, 1)
  --delay MS               one-way delay
  --jitter MS              +/- uniform jitter on the delay
  --reorder P              probability of holding a datagram back --reorder-extra MS (default 10)
  --duplicate P            duplication probability
  --corrupt P              probability of flipping one byte among the first 50
  --rate RATE              rate limit: bytes/s, or with a unit: 500kbit, 10mbit, 1gbit
  --rate-queue BYTES       rate limiter backlog before drops (default 65536)
  --blackhole ON/OFF       drop everything ON ms, then pass OFF ms, repeating (starts passing)
  --rebind-every MS        replace the upstream-facing socket (new source port) this often
  --lifetime S             stop after S seconds (default 600)
  --stats-every S          print the counters every S seconds
`;

/** @param {string} v */
function rate(v) {
  const m = /^(\d+(?:\.\d+)?)(kbit|mbit|gbit)?$/i.exec(v);
  if (m === null) throw new Error(`--rate: "${v}" is not a rate (e.g. 125000, 500kbit, 10mbit)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const bits = { kbit: 1e3, mbit: 1e6, gbit: 1e9 }[unit];
  return bits === undefined ? n : (n * bits) / 8;
}

/** @param {string} name @param {string | undefined} v */
function num(name, v) {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name}: "${v}" is not a number`);
  return n;
}

function main() {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string', default: '127.0.0.1:0' },
      upstream: { type: 'string' },
      seed: { type: 'string', default: '1' },
      dir: { type: 'string', default: 'both' },
      loss: { type: 'string' },
      burst: { type: 'string' },
      delay: { type: 'string' },
      jitter: { type: 'string' },
      reorder: { type: 'string' },
      'reorder-extra': { type: 'string' },
      duplicate: { type: 'string' },
      corrupt: { type: 'string' },
      rate: { type: 'string' },
      'rate-queue': { type: 'string' },
      blackhole: { type: 'string' },
      'rebind-every': { type: 'string' },
      lifetime: { type: 'string', default: '600' },
      'stats-every': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true || values.upstream === undefined) {
    process.stdout.write(HELP);
    process.exit(values.help === true ? 0 : 2);
  }
  /** @type {import('./relay.d.mts').Impairments} */
  const imp = {
    loss: num('loss', values.loss),
    delayMs: num('delay', values.delay),
    jitterMs: num('jitter', values.jitter),
    reorder: num('reorder', values.reorder),
    reorderExtraMs: num('reorder-extra', values['reorder-extra']),
    duplicate: num('duplicate', values.duplicate),
    corrupt: num('corrupt', values.corrupt),
    rateBytesPerSec: values.rate === undefined ? undefined : rate(values.rate),
    rateQueueBytes: num('rate-queue', values['rate-queue']),
  };
  if (values.burst !== undefined) {
    const [pEnterBad, pLeaveBad, lossInGood, lossInBad] = values.burst.split(',').map((x) => num('burst', x));
    if (pEnterBad === undefined || pLeaveBad === undefined) throw new Error('--burst needs PIN,POUT');
    imp.burst = { pEnterBad, pLeaveBad, lossInGood, lossInBad };
  }
  if (values.blackhole !== undefined) {
    const [onMs, offMs] = values.blackhole.split('/').map((x) => num('blackhole', x));
    if (onMs === undefined || offMs === undefined) throw new Error('--blackhole needs ON/OFF in ms, e.g. 5000/2000');
    imp.blackhole = { onMs, offMs };
  }
  for (const k of /** @type {(keyof typeof imp)[]} */ (Object.keys(imp))) if (imp[k] === undefined) delete imp[k];
  const dir = values.dir;
  if (dir !== 'both' && dir !== 'up' && dir !== 'down') throw new Error(`--dir: "${dir}" is not both, up or down`);
  const lifetime = num('lifetime', values.lifetime) ?? 600;
  return {
    config: {
      listen: values.listen,
      upstream: values.upstream,
      seed: num('seed', values.seed),
      ...(dir === 'both' ? { both: imp } : dir === 'up' ? { toUpstream: imp } : { toClient: imp }),
      rebindEveryMs: num('rebind-every', values['rebind-every']),
      maxLifetimeMs: lifetime * 1000,
    },
    statsEvery: num('stats-every', values['stats-every']),
  };
}

let parsed;
try {
  parsed = main();
} catch (e) {
  process.stderr.write(`relay: ${e instanceof Error ? e.message : String(e)}\n${HELP}`);
  process.exit(2);
}

let relayModule;
try {
  relayModule = await import('./relay.mjs');
} catch (e) {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`relay: cannot load the relay (${msg}).\nBuild the packages first: npm run build\n`);
  process.exit(1);
}

/** @type {import('./relay.d.mts').ImpairmentRelay} */
let relay;
try {
  relay = new relayModule.ImpairmentRelay(parsed.config);
  await relay.start();
} catch (e) {
  process.stderr.write(`relay: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
process.stdout.write(
  `${JSON.stringify({ listening: relay.listenAddr, upstream: relay.upstreamSourceAddr, seed: relay.seed })}\n`,
);
if (parsed.statsEvery !== undefined && parsed.statsEvery > 0) {
  setInterval(() => process.stdout.write(`${JSON.stringify(relay.counters)}\n`), parsed.statsEvery * 1000).unref();
}
const finish = () => void relay.stop();
process.once('SIGINT', finish);
process.once('SIGTERM', finish);
const reason = await relay.stopped;
process.stdout.write(`${JSON.stringify({ stopped: reason, counters: relay.counters })}\n`);
