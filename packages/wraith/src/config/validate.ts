/**
 * Validates one config layer (a parsed TOML file, the command-line flags, or an admin API body)
 * against the schema and converts it to resolved types: sizes to bytes, durations to
 * milliseconds, relative paths to absolute, peer ids normalised. Every error names the key, what
 * was expected and what was found.
 */
import { isAbsolute, resolve } from 'node:path';
import { WraithError } from '@wraith/core';
import { DEFAULT_PORT, parseAddr, parsePeerId } from '../peer.js';
import { formatDuration, formatSize, parseDuration, parseSize } from '../units.js';
import type { JsonSchema } from './json-schema.js';
import { enumValues, leafMeta, sectionProperties } from './keys.js';
import { ConfigFileSchema, PEER_NAME_PATTERN, type LeafKind, type LeafMeta } from './schema.js';
import { nearest } from './suggest.js';

export type ConfigSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'flags'; readonly flagOf: (dotted: string) => string | undefined }
  | { readonly kind: 'api' };

/** A layer after validation: the same shape as the file, values already converted. */
export type Tree = { [key: string]: unknown };

export interface Layer {
  readonly tree: Tree;
  readonly warnings: string[];
}

function describeSource(source: ConfigSource): string {
  return source.kind === 'file' ? source.path : source.kind === 'flags' ? 'the command line' : 'the request';
}

/** How a key is named in messages: `transfer.chunk_size`, or `--chunk-size` for flags. */
function keyLabel(path: readonly (string | number)[], source: ConfigSource): string {
  let dotted = '';
  for (const p of path) dotted += typeof p === 'number' ? `[${p}]` : dotted === '' ? p : `.${p}`;
  if (source.kind === 'flags') {
    const flag = source.flagOf(path.filter((p) => typeof p === 'string').join('.'));
    if (flag !== undefined) return `${flag} (${dotted})`;
  }
  return dotted;
}

export function configError(path: readonly (string | number)[], source: ConfigSource, what: string): WraithError {
  const label = keyLabel(path, source);
  return new WraithError(
    'E_CONFIG',
    `config: ${label}: ${what}`,
    { key: path.join('.'), source: describeSource(source) },
    source.kind === 'file' ? `fix ${label} in ${source.path}` : `fix ${label}`,
  );
}

export function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(showValue).join(', ')}]`;
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') return v.constructor?.name === 'TomlDate' ? String(v) : 'a table';
  return String(v);
}

const isPow2 = (n: number): boolean => n > 0 && Number.isInteger(Math.log2(n)) && 2 ** Math.log2(n) === n;

function bounds(meta: LeafMeta, fmt: (n: number) => string): string {
  const min = meta['x-min'];
  const max = meta['x-max'];
  if (min === undefined || max === undefined) return '';
  if (min === 0 && max === Number.MAX_SAFE_INTEGER) return '';
  return ` between ${fmt(min)} and ${fmt(max)}`;
}

/** The "expected ..." phrase for a leaf. */
export function expectation(meta: JsonSchema & LeafMeta): string {
  switch (meta['x-kind']) {
    case 'int':
      return meta['x-pow2'] ? `a power of two${bounds(meta, String)}` : `an integer${bounds(meta, String)}`;
    case 'size':
      return meta['x-pow2']
        ? `a power of two${bounds(meta, String)}`
        : `a size (bytes, or like "64MiB", "1GB")${bounds(meta, formatSize)}`;
    case 'duration':
      return `a duration like "250ms", "10s", "5m", "7d"${bounds(meta, formatDuration)}`;
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${enumValues(meta).map(showValue).join(', ')}`;
    case 'string':
      return 'a non-empty string';
    case 'path':
      return 'a path';
    case 'addr':
      return meta['x-off'] ? 'HOST:PORT, [IPv6]:PORT or "off"' : meta['x-default-port'] ? 'HOST or [IPv6], with :PORT unless it is 40000' : 'HOST:PORT or [IPv6]:PORT';
    case 'peer_id':
      return 'a peer id (64 hex characters)';
    case 'list':
      return `an array of ${itemPhrase(meta['x-item'] ?? 'string')}`;
  }
}

function itemPhrase(kind: LeafKind): string {
  switch (kind) {
    case 'int':
      return 'integers';
    case 'addr':
      return 'HOST:PORT addresses';
    case 'peer_id':
      return 'peer ids';
    case 'path':
      return 'paths';
    default:
      return 'strings';
  }
}

interface Ctx {
  readonly source: ConfigSource;
  readonly baseDir: string;
  readonly warnings: string[];
}

function leaf(meta: JsonSchema & LeafMeta, value: unknown, path: (string | number)[], ctx: Ctx): unknown {
  const fail = (): never => {
    throw configError(path, ctx.source, `expected ${expectation(meta)}, found ${showValue(value)}`);
  };
  const inRange = (n: number): boolean =>
    (meta['x-min'] === undefined || n >= meta['x-min']) && (meta['x-max'] === undefined || n <= meta['x-max']);
  switch (meta['x-kind']) {
    case 'int': {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || !inRange(value)) fail();
      if (meta['x-pow2'] && !isPow2(value as number)) fail();
      return value;
    }
    case 'size': {
      const n = typeof value === 'number' || typeof value === 'string' ? parseSize(value) : null;
      if (n === null || !inRange(n) || (meta['x-pow2'] && !isPow2(n))) fail();
      return n;
    }
    case 'duration': {
      const n = typeof value === 'string' ? parseDuration(value) : null;
      if (n === null || !inRange(n)) fail();
      return n;
    }
    case 'bool':
      if (typeof value !== 'boolean') fail();
      return value;
    case 'enum':
      if (!enumValues(meta).includes(value)) fail();
      return value;
    case 'string':
      if (typeof value !== 'string' || value === '') fail();
      if (meta.maxLength !== undefined && (value as string).length > (meta.maxLength as number)) {
        throw configError(path, ctx.source, `expected at most ${meta.maxLength} characters, found ${showValue(value)}`);
      }
      return value;
    case 'path':
      if (typeof value !== 'string' || value === '' || value.includes('\0')) fail();
      // Relative paths in a file are relative to that file; on the command line, to the cwd.
      return isAbsolute(value as string) ? value : resolve(ctx.baseDir, value as string);
    case 'addr': {
      if (typeof value !== 'string') fail();
      if (meta['x-off'] && value === 'off') return value;
      try {
        parseAddr(value as string, { allowPortZero: meta['x-port-zero'] === true, ...(meta['x-default-port'] === true ? { defaultPort: DEFAULT_PORT } : {}) });
      } catch (e) {
        throw configError(path, ctx.source, `expected ${expectation(meta)}, found ${showValue(value)} (${(e as Error).message.replace(/^invalid address "[^"]*": /, '')})`);
      }
      return value;
    }
    case 'peer_id':
      if (typeof value !== 'string') fail();
      try {
        return parsePeerId(value as string);
      } catch {
        return fail();
      }
    case 'list': {
      if (!Array.isArray(value)) fail();
      const itemKind = meta['x-item'] ?? 'string';
      const itemMeta = { ...(meta.items as JsonSchema), 'x-kind': itemKind, description: meta.description } as JsonSchema & LeafMeta;
      if (itemKind === 'int') Object.assign(itemMeta, { 'x-min': meta.items?.minimum ?? 0, 'x-max': meta.items?.maximum });
      return (value as unknown[]).map((v, i) => leaf(itemMeta, v, [...path, i], ctx));
    }
  }
}

function table(schema: JsonSchema, value: unknown, path: string[], ctx: Ctx): Tree {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) {
    throw configError(path, ctx.source, `expected a table, found ${showValue(value)}`);
  }
  const props = sectionProperties(schema);
  if (props === undefined) throw new WraithError('E_INTERNAL', `config schema: ${path.join('.')} is not a section`);
  const out: Tree = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const child = Object.hasOwn(props, key) ? props[key] : undefined;
    const childPath = [...path, key];
    if (child === undefined) {
      const guess = nearest(key, Object.keys(props));
      const where = path.length === 0 ? 'unknown section' : 'unknown key';
      // A key put in the wrong table, or above every table, is named with its table.
      const home = path.length <= 1 && guess === null ? sectionOf(key) : null;
      if (home !== null) throw configError(childPath, ctx.source, `${path.length === 0 ? 'not a section' : `unknown key in [${path[0]}]`}; ${key} belongs in [${home}]`);
      throw configError(childPath, ctx.source, guess !== null ? `${where}; did you mean ${guess}?` : `${where}; valid: ${Object.keys(props).join(', ')}`);
    }
    const kind = (child as { 'x-kind'?: string })['x-kind'];
    if (kind === 'peers') {
      out[key] = peers(child, v, childPath, ctx);
      continue;
    }
    const meta = leafMeta(child);
    if (meta === undefined) {
      out[key] = table(child, v, childPath, ctx);
      continue;
    }
    out[key] = leaf(meta, v, childPath, ctx);
    if (meta['x-deprecated'] !== undefined) {
      ctx.warnings.push(`config: ${keyLabel(childPath, ctx.source)} is deprecated: ${meta['x-deprecated']}`);
    }
  }
  const missing = ((schema as { required?: string[] }).required ?? []).filter((k) => !(k in out));
  if (missing.length > 0) {
    throw configError([...path, missing[0]!], ctx.source, `missing; ${path.join('.')} needs ${missing.join(' and ')}`);
  }
  return out;
}

const PEER_NAME = new RegExp(PEER_NAME_PATTERN);

/** The top-level section that has a key of this name (a key put in the wrong table), or null. */
function sectionOf(key: string): string | null {
  for (const [name, section] of Object.entries(sectionProperties(ConfigFileSchema) ?? {})) {
    const props = sectionProperties(section);
    if (props !== undefined && Object.hasOwn(props, key) && leafMeta(props[key]!) !== undefined) return name;
  }
  return null;
}

function peers(schema: JsonSchema, value: unknown, path: string[], ctx: Ctx): Tree {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw configError(path, ctx.source, `expected tables [peers.NAME], found ${showValue(value)}`);
  }
  const entry = Object.values((schema as unknown as { patternProperties: Record<string, JsonSchema> }).patternProperties)[0]!;
  const out: Tree = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (!PEER_NAME.test(name)) {
      throw configError([...path, name], ctx.source, 'a peer name is 1 to 64 letters, digits, "_", "." or "-"');
    }
    out[name] = table(entry, v, [...path, name], ctx);
  }
  return out;
}

/**
 * Validates and converts one layer. `baseDir` resolves relative paths. The deprecated
 * `network.enable_xdp` is mapped here, per layer, so it overrides a lower layer's transport.
 */
export function normalizeLayer(raw: unknown, source: ConfigSource, baseDir: string): Layer {
  const ctx: Ctx = { source, baseDir, warnings: [] };
  const tree = table(ConfigFileSchema, raw, [], ctx);
  const network = tree.network as Tree | undefined;
  if (network !== undefined && 'enable_xdp' in network) {
    const enable = network.enable_xdp as boolean;
    delete network.enable_xdp;
    if ('transport' in network) {
      ctx.warnings.push(`config: ${keyLabel(['network', 'enable_xdp'], source)} is ignored: transport is set`);
    } else {
      network.transport = enable ? 'auto' : 'udp';
    }
  }
  return { tree, warnings: ctx.warnings };
}
