#!/usr/bin/env node
// The `wraith` command: runs the compiled CLI (build with `npm run build`). It loads the bundle
// (scripts/bundle-cli.mjs) when that is newer than every package's last build, since resolving
// ~220 modules one by one takes longer than most commands; otherwise the modules themselves.
import { BUNDLE_ENTRY, DIST, bundleIsCurrent } from './bundle-state.js';

const entry = process.env.WRAITH_NO_BUNDLE !== '1' && bundleIsCurrent() ? 'bundle' : 'modules';
const { run } = await import(entry === 'bundle' ? BUNDLE_ENTRY : new URL('cli.js', DIST));
run(entry);
