#!/usr/bin/env node
// `npm run bench -- NAME [ARGS...]` runs bench/NAME.mjs with ARGS (each
// benchmark documents its own options: `npm run bench -- NAME --help`).
// Without a name (no argument, or options only: `npm run bench -- --size 256MiB`)
// it runs the end-to-end transfer benchmark, bench/transfer.mjs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFAULT = 'transfer';
const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs')
  .map((f) => f.slice(0, -4))
  .sort();
let args = process.argv.slice(2);
if (args[0] === '--help' || args[0] === '-h' || args[0] === '--list') {
  console.log(
    `usage: npm run bench -- [NAME] [ARGS...]\n` +
      `benchmarks: ${names.join(', ')}\n` +
      `without a NAME: ${DEFAULT} (npm run bench -- ${DEFAULT} --help for its options)`,
  );
  process.exit(0);
}
const name = args[0] === undefined || args[0].startsWith('-') ? DEFAULT : args.shift();
const file = join(here, `${name}.mjs`);
if (!/^[a-z0-9-]+$/.test(name) || !existsSync(file)) {
  console.error(`no benchmark '${name}'; benchmarks: ${names.join(', ')}`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [file, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
