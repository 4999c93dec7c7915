/**
 * `config show`: the effective config back as TOML (sizes and durations in units, so the output
 * is itself a valid config file) or as JSON (numbers: bytes and milliseconds). Secrets redacted.
 */
import { stringify } from 'smol-toml';
import { redact } from '../redact.js';
import { formatDuration, formatSize } from '../units.js';
import { configKeys } from './keys.js';
import type { ResolvedConfig } from './schema.js';
import type { Tree } from './validate.js';

function secretKeys(): Set<string> {
  return new Set(configKeys().filter((k) => k.schema['x-secret']).map((k) => k.dotted));
}

export function configToJson(config: ResolvedConfig): ResolvedConfig {
  return redact(config, secretKeys());
}

export function configToToml(config: ResolvedConfig): string {
  const tree: Tree = {};
  for (const key of configKeys()) {
    let v: unknown = config;
    for (const p of key.path) v = (v as Tree)[p];
    if (v === null || v === undefined) continue; // absent means "default / unlimited"
    if (key.schema['x-kind'] === 'size') v = formatSize(v as number);
    if (key.schema['x-kind'] === 'duration') v = formatDuration(v as number);
    let node = tree;
    for (const p of key.path.slice(0, -1)) node = (node[p] ??= {}) as Tree;
    node[key.path[key.path.length - 1]!] = v;
  }
  if (Object.keys(config.peers).length > 0) tree.peers = config.peers;
  return stringify(redact(tree, secretKeys())) + '\n';
}
