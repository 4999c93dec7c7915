/**
 * The config keys as a flat list read from the schema: dotted path, leaf annotations and the
 * command-line flag (`[section] a_b` <-> `--a-b`, or the schema's `x-flag`). The CLI builds its
 * config flags from this list, so a new key in the schema is a new flag without other edits.
 */
import type { JsonSchema } from './json-schema.js';
import { ConfigFileSchema, type LeafMeta } from './schema.js';

export interface ConfigKey {
  /** e.g. ["transfer", "chunk_size"] */
  readonly path: readonly string[];
  /** e.g. "transfer.chunk_size" */
  readonly dotted: string;
  /** e.g. "--chunk-size" */
  readonly flag: string;
  readonly schema: JsonSchema & LeafMeta;
}

/** The leaf annotations of a schema node, or undefined for a section. */
export function leafMeta(schema: JsonSchema): (JsonSchema & LeafMeta) | undefined {
  const kind = (schema as { 'x-kind'?: string })['x-kind'];
  if (kind === undefined || kind === 'section' || kind === 'peers' || kind === 'peer') return undefined;
  return schema as JsonSchema & LeafMeta;
}

export function sectionProperties(schema: JsonSchema): Record<string, JsonSchema> | undefined {
  const kind = (schema as { 'x-kind'?: string })['x-kind'];
  if (kind !== 'section' && kind !== 'peer') return undefined;
  return (schema as unknown as { properties: Record<string, JsonSchema> }).properties;
}

/** The values of an enum leaf (its `anyOf` of literals). */
export function enumValues(meta: JsonSchema): unknown[] {
  const anyOf = (meta as { anyOf?: { const: unknown }[] }).anyOf ?? [];
  return anyOf.map((s) => s.const);
}

function collect(schema: JsonSchema, prefix: string[], out: ConfigKey[]): void {
  const props = sectionProperties(schema);
  if (props === undefined) return;
  for (const [name, child] of Object.entries(props)) {
    const path = [...prefix, name];
    const meta = leafMeta(child);
    if (meta !== undefined) {
      out.push({
        path,
        dotted: path.join('.'),
        flag: meta['x-flag'] ?? `--${name.replace(/_/g, '-')}`,
        schema: meta,
      });
    } else {
      collect(child, path, out);
    }
  }
}

let cached: readonly ConfigKey[] | undefined;

/** Every settable leaf except the `[peers.NAME]` tables, in schema order. */
export function configKeys(): readonly ConfigKey[] {
  if (cached === undefined) {
    const out: ConfigKey[] = [];
    collect(ConfigFileSchema, [], out);
    cached = out;
  }
  return cached;
}

export function keyByDotted(dotted: string): ConfigKey | undefined {
  return configKeys().find((k) => k.dotted === dotted);
}
