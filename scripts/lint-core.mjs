#!/usr/bin/env node
// Core lint: packages/core stays sans-IO (no sockets, files, timers, clocks or
// Math.random) and wire codecs index bytes only through the Reader and Writer.
// Prints `file:line: rule: text` per violation; exits 1 if there are any.
// Usage: node scripts/lint-core.mjs [srcDir]   (default: packages/core/src)
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lintTree } from './lint-core-rules.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = resolve(process.argv[2] ?? join(repo, 'packages', 'core', 'src'));
const shown = relative(process.cwd(), srcDir) || '.';
const violations = lintTree(srcDir);
for (const v of violations) console.log(`${shown}/${v.file}:${v.line}: ${v.rule}: ${v.text}`);
if (violations.length > 0) {
  console.error(`lint-core: ${violations.length} violation(s)`);
  process.exit(1);
}
console.log('lint-core: ok');
