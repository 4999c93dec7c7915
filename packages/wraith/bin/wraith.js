#!/usr/bin/env node
// The `wraith` command: runs the compiled CLI (build with `npm run build`). It loads the bundle
// (scripts/bundle-cli.mjs) when that is newer than every package's last build, since resolving
// ~220 modules one by one takes longer than most commands; otherwise the modules themselves.
import { BUNDLE_ENTRY, DIST, bundleIsCurrent } from './bundle-state.js';

const entry = process.env.WRAITH_NO_BUNDLE !== '1' && bundleIsCurrent() ? 'bundle' : 'modules';
let run;
try {
  ({ run } = await import(entry === 'bundle' ? BUNDLE_ENTRY : new URL('cli.js', DIST)));
} catch (e) {
  // The CLI's own error report is part of what could not be loaded (out of descriptors, a build
  // half-written): said in its words, without it.
  const emfile = e?.code === 'EMFILE';
  process.stderr.write(`error[${emfile ? 'E_IO' : 'E_INTERNAL'}]: ${String(e?.message ?? e).split('\n')[0]}\n` +
    `  hint: ${emfile ? 'raise the open-files limit (ulimit -n; LimitNOFILE= in a systemd unit)' : 'the wraith program could not be loaded: reinstall or rebuild it (npm run build)'}\n`);
  process.exit(emfile ? 7 : 1);
}
run(entry);
