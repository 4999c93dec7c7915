#!/usr/bin/env node
// `npm run bench -- NAME [ARGS...]` runs bench/NAME.mjs with ARGS (each
// benchmark documents its own options: `npm run bench -- NAME --help`).
// Without a name it lists the benchmarks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs')
  .map((f) => f.slice(0, -4))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- NAME [ARGS...]\nbenchmarks: ${names.join(', ')}`);
  process.exit(name === undefined ? 2 : 0);
}
const file = join(here, `${name}.mjs`);
if (!/^[a-z0-9-]+$/.test(name) || !existsSync(file)) {
  console.error(`no benchmark '${name}'; benchmarks: ${names.join(', ')}`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [file, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
