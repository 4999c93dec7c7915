/**
 * The lists `wraith hash --check` reads: `wraith hash`'s own lines (`<root hex>  <name>`, the
 * name as printable() showed it), or the NDJSON of `wraith hash --json` ("hash" lines, which
 * carry their chunk size) and of `wraith send --json` / `receive --json` ("file" lines of files
 * that arrived: the list of what was sent, to check on the receiver).
 */
import { MAX_CHUNK_LOG2, MIN_CHUNK_LOG2, validateName, WraithError } from '@wraith/core';
import { printable } from './ui/printable.js';

export interface ListedRoot {
  /** The name as sent: a path relative to where the check runs. */
  readonly name: string;
  /** Hex, lowercase. */
  readonly root: string;
  /** From a "hash" NDJSON line; null: the configured chunk size. */
  readonly chunkSize: number | null;
  /** "FILE:LINE", for messages. */
  readonly where: string;
}

const ROOT = /^[0-9a-f]{64}$/i;
const PLAIN = /^([0-9a-fA-F]{64}) {2}(.+)$/;
const FORMAT = '`<64 hex digits>  <name>` as `wraith hash` prints it, or an NDJSON line of `wraith hash --json` or `wraith send --json`';
// A "file" line of a file that is now on the receiver's disk under `stored_as ?? name`.
const ARRIVED = new Set(['sent', 'received', 'already_present']);

/** One `wraith hash` line: printable() keeps a name from driving the terminal; real names hold no backslash. */
export function hashLine(root: string, name: string): string {
  return `${root}  ${printable(name)}\n`;
}

/** Undoes printable(): names never hold a backslash (validateName), so every one starts an escape. */
function unescapeName(s: string): string | null {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      out += s[i];
      continue;
    }
    const m = /^\\(?:x([0-9a-f]{2})|u\{([0-9a-f]{1,6})\})/.exec(s.slice(i, i + 10));
    if (m === null) return null;
    const code = parseInt(m[1] ?? m[2] ?? '', 16);
    if (code > 0x10ffff) return null;
    out += String.fromCodePoint(code);
    i += m[0].length - 1;
  }
  return out;
}

function chunkSizeOf(v: unknown): number | null | undefined {
  if (v === undefined) return null;
  // The chunk sizes the wire can carry: a power of two, 2^MIN_CHUNK_LOG2 to 2^MAX_CHUNK_LOG2.
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 2 ** MIN_CHUNK_LOG2 || v > 2 ** MAX_CHUNK_LOG2 || (v & (v - 1)) !== 0) return undefined;
  return v;
}

type Parsed = ListedRoot | 'skip' | string;

/**
 * A "file" line's name on the receiver. `stored_as` (a rename) changes only the last component,
 * but under the receiver's peer_dirs it also has the sender's directory in front, which the other
 * lines' names lack: so it is cut to as many components as `name` has, and every name of a list
 * is below one directory.
 */
function storedName(name: unknown, storedAs: unknown): unknown {
  if (typeof storedAs !== 'string' || typeof name !== 'string') return storedAs ?? name;
  const depth = name.split('/').length;
  return storedAs.split('/').slice(-depth).join('/');
}

function parseJson(line: string, where: string): Parsed {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return 'neither a hash line nor JSON';
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'JSON, but not an object';
  const r = o as Record<string, unknown>;
  let name: unknown;
  let chunkSize: number | null | undefined = null;
  if (r['type'] === 'hash') {
    name = r['name'];
    chunkSize = chunkSizeOf(r['chunk_size']);
    if (chunkSize === undefined) return `chunk_size ${JSON.stringify(r['chunk_size'])} is not a chunk size (a power of two from 16 KiB to 16 MiB)`;
  } else if (r['type'] === 'file') {
    // Directories, skipped files and `--dry-run` listings hold no content to check.
    if (r['kind'] !== 'file' || typeof r['status'] !== 'string' || !ARRIVED.has(r['status'])) return 'skip';
    name = storedName(r['name'], r['stored_as']);
  } else {
    // started, progress, completed, warning, error: the rest of a send's output.
    return typeof r['type'] === 'string' ? 'skip' : 'JSON without a "type"';
  }
  if (typeof name !== 'string') return 'no "name" string';
  if (typeof r['root'] !== 'string' || !ROOT.test(r['root'])) return 'no "root" of 64 hex digits';
  return { name, root: r['root'].toLowerCase(), chunkSize, where };
}

function parseLine(line: string, where: string): Parsed {
  if (line.startsWith('{') || line.startsWith('[')) return parseJson(line, where);
  const m = PLAIN.exec(line);
  if (m === null) return 'not a hash line';
  const name = unescapeName(m[2] ?? '');
  if (name === null) return 'a backslash that is not a \\xNN or \\u{X} escape in the name';
  return { name, root: (m[1] ?? '').toLowerCase(), chunkSize: null, where };
}

function malformed(where: string, why: string, line: string): WraithError {
  const shown = line.length > 80 ? `${line.slice(0, 80)}...` : line;
  return new WraithError('E_HASH_LIST', `${where}: ${why}: ${printable(shown)}`, { where }, `a line of a --check list is ${FORMAT}`);
}

/**
 * The roots listed in `text` (from `source`, "-" for stdin), in order, and an error per line that
 * is not one. Blank lines and a send's other NDJSON lines are passed over.
 */
export function parseHashList(text: string, source: string): { entries: ListedRoot[]; errors: WraithError[] } {
  const entries: ListedRoot[] = [];
  const errors: WraithError[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const where = `${source === '-' ? 'stdin' : source}:${i + 1}`;
    const p = parseLine(line, where);
    if (p === 'skip') return;
    if (typeof p === 'string') {
      errors.push(malformed(where, p, line));
      return;
    }
    try {
      validateName(p.name);
    } catch (e) {
      errors.push(malformed(where, `the name is not one a send gives (${e instanceof WraithError ? String(e.details?.['problem']) : String(e)})`, line));
      return;
    }
    entries.push(p);
  });
  return { entries, errors };
}
