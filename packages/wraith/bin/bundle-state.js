// Whether the CLI bundle (dist/bundle/cli.js, made by scripts/bundle-cli.mjs) is current: newer
// than every workspace package's last `tsc -b` (its dist/.tsbuildinfo). bin/wraith.js runs the
// bundle only then; the tests ask the same question before they rebuild it.
import { readdirSync, statSync } from 'node:fs';

/** dist/ of @wraith/wraith, and the bundle's entry in it. */
export const DIST = new URL('../dist/', import.meta.url);
export const BUNDLE_ENTRY = new URL('bundle/cli.js', DIST);

export function bundleIsCurrent() {
  try {
    const made = statSync(BUNDLE_ENTRY).mtimeMs;
    const packages = new URL('../../', DIST);
    for (const name of readdirSync(packages)) {
      const built = statSync(new URL(`${name}/dist/.tsbuildinfo`, packages), { throwIfNoEntry: false });
      if (built !== undefined && built.mtimeMs > made) return false;
    }
    return true;
  } catch {
    return false;
  }
}
