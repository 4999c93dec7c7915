/** Lists given as a FILE argument, "-" for stdin: `wraith hash --check` and `--files-from`. */
import { readFile } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import { WraithError } from '@wraith/core';
import { fsError } from '../fsutil.js';
import type { CliIo } from './context.js';

/** The text of `source` (a path from the working directory, or "-": stdin). */
export async function readListText(source: string, io: CliIo): Promise<string> {
  if (source !== '-') return readFile(resolve(io.cwd, source), 'utf8').catch((e: unknown) => Promise.reject(fsError('read', source, e)));
  const parts: Buffer[] = [];
  for await (const c of io.stdin ?? process.stdin) parts.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * `--files-from`: one path per line, or NUL-separated when the text holds a NUL (`find -print0`).
 * Blank lines, and "." (the directory itself, which `find .` lists first), are passed over.
 */
export async function readPathList(source: string, io: CliIo): Promise<string[]> {
  const text = await readListText(source, io);
  const items = text.includes('\0') ? text.split('\0') : text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  return items.filter((p) => p !== '' && posix.normalize(p).replace(/\/+$/, '') !== '.');
}

export interface NamingOpts {
  relative?: boolean;
  filesFrom?: string;
}

/**
 * How `send` and `hash` name what they take: --relative, and --files-from's paths (which imply it,
 * as in rsync). E_USAGE when there is nothing at all to take.
 */
export async function namingOf(paths: readonly string[], opts: NamingOpts, io: CliIo, verb: string): Promise<{ relative: boolean; listed?: string[] }> {
  if (opts.filesFrom === undefined) {
    if (paths.length === 0) throw new WraithError('E_USAGE', `give the files or directories to ${verb} (or --files-from LIST)`, {});
    return { relative: opts.relative === true };
  }
  const listed = await readPathList(opts.filesFrom, io);
  if (listed.length === 0 && paths.length === 0) {
    throw new WraithError('E_USAGE', `--files-from ${opts.filesFrom === '-' ? 'stdin' : opts.filesFrom} names nothing to ${verb}`, {});
  }
  return { relative: true, listed };
}
