/**
 * Loads the effective config. Precedence, highest first:
 *   command-line flags > `--config FILE` (else <home>/config.toml when present) > config/wraith.toml
 * Each layer is validated on its own (errors name the file or flag), then merged, then checked
 * for rules that span keys.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, TomlError } from 'smol-toml';
import { WraithError } from '@wraith/core';
import { parseAddr } from '../peer.js';
import { configKeys } from './keys.js';
import type { ResolvedConfig } from './schema.js';
import { configError, normalizeLayer, showValue, type ConfigSource, type Tree } from './validate.js';

/** config/wraith.toml at the repository root, found relative to this package. */
export const DEFAULTS_FILE = fileURLToPath(new URL('../../../../config/wraith.toml', import.meta.url));

export interface LoadOptions {
  /** The node's home directory (for the default identity file, download dir and config.toml). */
  readonly home: string;
  /** `--config FILE`; when absent, <home>/config.toml is used if it exists. */
  readonly configFile?: string | null;
  /** Overrides from flags, already shaped like the file (see cli/config-flags.ts). */
  readonly flags?: Tree;
  /** Base for relative paths given as flags. */
  readonly cwd?: string;
  /** Replaces config/wraith.toml (tests). */
  readonly defaultsFile?: string;
}

export interface LoadedConfig {
  readonly config: ResolvedConfig;
  readonly files: { readonly defaults: string; readonly user: string | null };
  /** Deprecations and ignored keys, for the log. */
  readonly warnings: readonly string[];
}

/**
 * The config decides who may send here (trusted_peers, auto_accept) and what the admin API may
 * send (send_roots): a file every user can write, or one in a directory where every user can
 * replace it, hands that to anyone on the host, and is refused (as sshd refuses such an
 * authorized_keys). A file its group or another user can write is a warning.
 */
export function configFileSafety(path: string): string[] {
  const st = statSync(path);
  const dir = dirname(path);
  const d = statSync(dir);
  if ((st.mode & 0o002) !== 0 || ((d.mode & 0o002) !== 0 && (d.mode & 0o1000) === 0)) {
    const which = (st.mode & 0o002) !== 0 ? `${path} is writable by every user` : `its directory ${dir} is writable by every user (and not sticky)`;
    throw new WraithError('E_CONFIG', `config: ${which}: anyone on this host could change who may send files here`, { path },
      (st.mode & 0o002) !== 0 ? `chmod o-w ${path}` : `chmod o-w ${dir}, or keep the config elsewhere`);
  }
  const uid = process.getuid?.() ?? 0;
  const out: string[] = [];
  if ((st.mode & 0o020) !== 0) out.push(`${path} is writable by its group (gid ${st.gid}): its members can change who may send files here`);
  if (st.uid !== uid && st.uid !== 0) out.push(`${path} belongs to uid ${st.uid}, not to the user wraith runs as (${uid}) nor root: that user can change who may send files here`);
  return out;
}

/** Reads and parses a TOML file; E_CONFIG if unreadable, E_CONFIG_SYNTAX with the line if malformed. */
export async function readTomlFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new WraithError(
      'E_CONFIG',
      `config: cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      { path },
      code === 'ENOENT' ? 'check the path given to --config' : 'check the file permissions',
    );
  }
  try {
    return parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const what = e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new WraithError(
        'E_CONFIG_SYNTAX',
        `config: ${path}:${e.line}:${e.column}: TOML syntax error: ${what}`,
        { path, line: e.line, column: e.column },
        `fix line ${e.line} of ${path}:\n${e.codeblock.replace(/\n$/, '').replace(/^/gm, '    ')}`,
      );
    }
    throw e;
  }
}

function merge(into: Tree, layer: Tree, origin: Map<string, string>, source: string, prefix = ''): void {
  for (const [k, v] of Object.entries(layer)) {
    const dotted = prefix === '' ? k : `${prefix}.${k}`;
    const isTable = v !== null && typeof v === 'object' && !Array.isArray(v);
    // [peers.NAME] entries replace each other whole; sections merge key by key.
    if (isTable && prefix !== 'peers') {
      const existing = into[k];
      const target: Tree = existing !== null && typeof existing === 'object' && !Array.isArray(existing) ? (existing as Tree) : {};
      into[k] = target;
      merge(target, v as Tree, origin, source, dotted);
    } else {
      into[k] = v;
      origin.set(dotted, source);
    }
  }
}

function get(tree: Tree, path: readonly string[]): unknown {
  let node: unknown = tree;
  for (const p of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Tree)[p];
  }
  return node;
}

function set(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const p of path.slice(0, -1)) {
    if (node[p] === undefined) node[p] = {};
    node = node[p] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

/** Fills defaults that depend on the home and checks that every key has a value. */
function complete(tree: Tree, home: string, defaultsFile: string): ResolvedConfig {
  const out: Tree = {};
  for (const key of configKeys()) {
    if (key.schema['x-deprecated'] !== undefined) continue;
    let v = get(tree, key.path);
    if (v === undefined) {
      if (key.dotted === 'node.identity_file') v = join(home, 'identity.key');
      else if (key.dotted === 'transfer.download_dir') v = join(home, 'incoming');
      else if (key.schema['x-nullable']) v = null;
      else throw new WraithError('E_INTERNAL', `config: ${key.dotted} has no value and no default in ${defaultsFile}`);
    }
    set(out, key.path, v);
  }
  out.peers = tree.peers ?? {};
  return out as unknown as ResolvedConfig;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Rules that span keys; `origin` tells which layer set a key, for the hint. */
function crossCheck(c: ResolvedConfig, origin: Map<string, string>): void {
  const fail = (dotted: string, what: string): never => {
    const where = origin.get(dotted);
    const source: ConfigSource = where === undefined || where === 'flags'
      ? { kind: 'flags', flagOf: (d) => configKeys().find((k) => k.dotted === d)?.flag }
      : { kind: 'file', path: where };
    throw configError(dotted.split('.'), source, what);
  };
  if (c.xdp.umem_size % c.xdp.frame_size !== 0) {
    fail('xdp.umem_size', `expected a multiple of xdp.frame_size (${c.xdp.frame_size}), found ${c.xdp.umem_size}`);
  }
  if (c.xdp.umem_size / c.xdp.frame_size < c.xdp.fill_ring_size + c.xdp.tx_ring_size) {
    fail('xdp.umem_size', `expected at least (fill_ring_size + tx_ring_size) frames = ${(c.xdp.fill_ring_size + c.xdp.tx_ring_size) * c.xdp.frame_size} bytes, found ${c.xdp.umem_size}`);
  }
  if (c.admin.listen !== 'off' && !c.admin.allow_remote) {
    const { host } = parseAddr(c.admin.listen, { allowPortZero: true });
    if (!LOOPBACK.test(host)) {
      fail('admin.listen', `expected a loopback address unless admin.allow_remote = true, found ${showValue(c.admin.listen)}`);
    }
  }
  if ((c.admin.tls_cert === null) !== (c.admin.tls_key === null)) {
    fail(c.admin.tls_cert === null ? 'admin.tls_key' : 'admin.tls_cert', 'expected admin.tls_cert and admin.tls_key together');
  }
}

export async function loadConfig(opts: LoadOptions): Promise<LoadedConfig> {
  const defaultsFile = opts.defaultsFile ?? DEFAULTS_FILE;
  if (!existsSync(defaultsFile)) {
    throw new WraithError('E_INTERNAL', `config: the defaults file ${defaultsFile} is missing`, { path: defaultsFile },
      'reinstall wraith: config/wraith.toml ships with it');
  }
  let userFile: string | null = opts.configFile ?? null;
  if (userFile === null && existsSync(join(opts.home, 'config.toml'))) userFile = join(opts.home, 'config.toml');

  const merged: Tree = {};
  const origin = new Map<string, string>();
  const warnings: string[] = [];
  const layers: { raw: unknown; source: ConfigSource; base: string; name: string }[] = [
    { raw: await readTomlFile(defaultsFile), source: { kind: 'file', path: defaultsFile }, base: dirname(defaultsFile), name: defaultsFile },
  ];
  if (userFile !== null) {
    layers.push({ raw: await readTomlFile(userFile), source: { kind: 'file', path: userFile }, base: dirname(userFile), name: userFile });
    warnings.push(...configFileSafety(userFile));
  }
  if (opts.flags !== undefined) {
    layers.push({
      raw: opts.flags,
      source: { kind: 'flags', flagOf: (d) => configKeys().find((k) => k.dotted === d)?.flag },
      base: opts.cwd ?? process.cwd(),
      name: 'flags',
    });
  }
  for (const l of layers) {
    const { tree, warnings: w } = normalizeLayer(l.raw, l.source, l.base);
    warnings.push(...w);
    merge(merged, tree, origin, l.name);
  }
  const config = complete(merged, opts.home, defaultsFile);
  crossCheck(config, origin);
  return { config, files: { defaults: defaultsFile, user: userFile }, warnings };
}
