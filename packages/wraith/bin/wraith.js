#!/usr/bin/env node
// The `wraith` command: runs the compiled CLI (build with `npm run build`). It loads the bundle
// (scripts/bundle-cli.mjs) when that is newer than every package's last build, since resolving
// ~220 modules one by one takes longer than most commands; otherwise the modules themselves.
import { readdirSync, statSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
const bundle = new URL('bundle/cli.js', dist);

function bundleIsCurrent() {
  try {
    const made = statSync(bundle).mtimeMs;
    const packages = new URL('../../', dist);
    for (const name of readdirSync(packages)) {
      const built = statSync(new URL(`${name}/dist/.tsbuildinfo`, packages), { throwIfNoEntry: false });
      if (built !== undefined && built.mtimeMs > made) return false;
    }
    return true;
  } catch {
    return false;
  }
}

const entry = process.env.WRAITH_NO_BUNDLE !== '1' && bundleIsCurrent() ? 'bundle' : 'modules';
const { run } = await import(entry === 'bundle' ? bundle : new URL('cli.js', dist));
run(entry);
