/** `wraith --version`: package version, wire protocol version, native addon status and what ran. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CliEntry } from './context.js';

/** The wire version this build speaks (docs/PROTOCOL.md). */
export const PROTOCOL_VERSION = 1;

const require = createRequire(import.meta.url);

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** "loaded", or why the addon is unavailable. */
export function nativeStatus(): { loaded: boolean; detail: string } {
  try {
    const m = require('@wraith/native') as { native: unknown; loadError: string | null };
    if (m.native !== null && m.native !== undefined) return { loaded: true, detail: 'loaded' };
    return { loaded: false, detail: m.loadError ?? 'not loaded' };
  } catch (e) {
    return { loaded: false, detail: `cannot load @wraith/native: ${(e as Error).message}` };
  }
}

const ENTRY_TEXT: Record<CliEntry, string> = {
  bundle: 'bundle (dist/bundle)',
  modules: 'modules (no current bundle: npm run build makes one)',
};

export function versionText(entry?: CliEntry): string {
  const n = nativeStatus();
  return [
    `wraith ${packageVersion()}`,
    `protocol ${PROTOCOL_VERSION}`,
    `native addon: ${n.detail}`,
    `node ${process.version}`,
    ...(entry === undefined ? [] : [`cli: ${ENTRY_TEXT[entry]}`]),
  ].join('\n');
}
