/**
 * A flag for every config key (`[section] a_b` <-> `--a-b`, or the schema's x-flag), built from
 * the schema. Flag values are turned into a config layer that the loader validates like a file,
 * so a bad flag gets the same message as a bad key ("--chunk-size (transfer.chunk_size): ...").
 */
import { Option, type Command } from 'commander';
import { configKeys, enumValues, type ConfigKey } from '../config/keys.js';
import type { Tree } from '../config/validate.js';

function placeholder(key: ConfigKey): string {
  switch (key.schema['x-kind']) {
    case 'int':
      return 'N';
    case 'size':
      return 'SIZE';
    case 'duration':
      return 'DURATION';
    case 'addr':
      return 'HOST:PORT';
    case 'path':
      return 'PATH';
    case 'peer_id':
      return 'ID';
    case 'enum':
      return enumValues(key.schema).join('|');
    case 'list':
      return key.schema['x-item'] === 'int' ? 'LIST' : 'A,B,...';
    default:
      return 'VALUE';
  }
}

/** attribute name (commander's camelCase) -> key, per command. */
const registry = new WeakMap<Command, Map<string, ConfigKey>>();

/** Adds the flags of every key in `sections` (all sections when omitted). */
export function addConfigFlags(cmd: Command, sections?: readonly string[]): Command {
  const map = new Map<string, ConfigKey>();
  for (const key of configKeys()) {
    if (sections !== undefined && !sections.includes(key.path[0]!)) continue;
    const desc = `config ${key.dotted}: ${key.schema.description}`;
    if (key.schema['x-kind'] === 'bool') {
      const on = new Option(key.flag, desc);
      const off = new Option(`--no-${key.flag.slice(2)}`, `set ${key.dotted} = false`);
      cmd.addOption(on);
      cmd.addOption(off);
      map.set(on.attributeName(), key);
    } else {
      const opt = new Option(`${key.flag} <${placeholder(key)}>`, desc);
      cmd.addOption(opt);
      map.set(opt.attributeName(), key);
    }
  }
  registry.set(cmd, map);
  return cmd;
}

/** "0,2-3" -> [0, 2, 3]; items that are not numbers stay strings for the validator to name. */
function splitList(v: string, ints: boolean): unknown[] {
  const items = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!ints) return items;
  const out: unknown[] = [];
  for (const item of items) {
    const range = /^(\d+)-(\d+)$/.exec(item);
    if (range !== null && Number(range[1]) <= Number(range[2]) && Number(range[2]) - Number(range[1]) < 4096) {
      for (let i = Number(range[1]); i <= Number(range[2]); i++) out.push(i);
    } else {
      out.push(/^\d+$/.test(item) ? Number(item) : item);
    }
  }
  return out;
}

function convert(key: ConfigKey, v: unknown): unknown {
  if (typeof v !== 'string') return v; // booleans from --x / --no-x
  switch (key.schema['x-kind']) {
    case 'int':
      return /^-?\d+$/.test(v) ? Number(v) : v;
    case 'enum':
      return /^\d+$/.test(v) && enumValues(key.schema).some((e) => typeof e === 'number') ? Number(v) : v;
    case 'list':
      return splitList(v, key.schema['x-item'] === 'int');
    default:
      return v;
  }
}

/** The config layer given by the flags of `cmd` (only those actually passed). */
export function configFlagsToTree(cmd: Command, opts: Record<string, unknown>): Tree {
  const map = registry.get(cmd);
  const tree: Tree = {};
  if (map === undefined) return tree;
  for (const [attr, key] of map) {
    const v = opts[attr];
    if (v === undefined) continue;
    let node = tree;
    for (const p of key.path.slice(0, -1)) node = (node[p] ??= {}) as Tree;
    node[key.path[key.path.length - 1]!] = convert(key, v);
  }
  return tree;
}

/** Sets `dotted` in a flag layer (for aliases like --bind and --output). */
export function setFlag(tree: Tree, dotted: string, value: unknown): void {
  const path = dotted.split('.');
  let node = tree;
  for (const p of path.slice(0, -1)) node = (node[p] ??= {}) as Tree;
  node[path[path.length - 1]!] = value;
}

export function getFlag(tree: Tree, dotted: string): unknown {
  let node: unknown = tree;
  for (const p of dotted.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Tree)[p];
  }
  return node;
}
