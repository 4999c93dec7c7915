/**
 * What a daemon does with its config file on SIGHUP (`systemctl reload wraith`): the keys it can
 * change while running take effect at once; the others are named as waiting for a restart.
 */
import type { ResolvedConfig } from './schema.js';

/** Keys a running daemon applies on reload. */
export const LIVE_KEYS = ['receive.trusted_peers', 'receive.auto_accept', 'logging.level', 'peers', 'admin.send_roots'] as const;

export interface ConfigChanges {
  /** Changed, and applied now. */
  readonly live: string[];
  /** Changed, but in effect only after a restart. */
  readonly restart: string[];
}

type Sections = Record<string, Record<string, unknown>>;

/** The dotted keys whose values differ between the running config and a new one. */
export function configChanges(running: ResolvedConfig, next: ResolvedConfig): ConfigChanges {
  const a = running as unknown as Sections;
  const b = next as unknown as Sections;
  const changed: string[] = [];
  for (const section of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const sa = a[section] ?? {};
    const sb = b[section] ?? {};
    if (section === 'peers') {
      if (JSON.stringify(sa) !== JSON.stringify(sb)) changed.push('peers');
      continue;
    }
    for (const key of new Set([...Object.keys(sa), ...Object.keys(sb)])) {
      if (JSON.stringify(sa[key]) !== JSON.stringify(sb[key])) changed.push(`${section}.${key}`);
    }
  }
  const live = new Set<string>(LIVE_KEYS);
  return { live: changed.filter((k) => live.has(k)), restart: changed.filter((k) => !live.has(k)) };
}

/** The running config once the live keys of `next` are applied. */
export function withLiveKeys(running: ResolvedConfig, next: ResolvedConfig): ResolvedConfig {
  return {
    ...running,
    receive: { ...running.receive, trusted_peers: next.receive.trusted_peers, auto_accept: next.receive.auto_accept },
    logging: { ...running.logging, level: next.logging.level },
    peers: next.peers,
    admin: { ...running.admin, send_roots: next.admin.send_roots },
  };
}
