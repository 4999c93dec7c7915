// Lists every .cc under src/ for binding.gyp, so each area (uring/, xdp/, ...)
// adds files without touching the build file.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.cc')) out.push(relative(root, p));
  }
};
walk(join(root, 'src'));
console.log(out.join(' '));
