/** --exclude and --exclude-from of `wraith send` and `wraith hash`, compiled before anything runs. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { compileExcludes, parseExcludeFile, type Excludes } from '../exclude.js';
import { fsError } from '../fsutil.js';

export interface ExcludeOpts {
  exclude?: string[];
  excludeFrom?: string[];
}

/** undefined when no pattern was given; E_USAGE for one that is not a pattern. */
export async function excludesOf(opts: ExcludeOpts, cwd: string): Promise<Excludes | undefined> {
  const patterns: string[] = [];
  for (const file of opts.excludeFrom ?? []) {
    const path = resolve(cwd, file);
    const text = await readFile(path, 'utf8').catch((e: unknown) => Promise.reject(fsError('read', path, e)));
    for (const p of parseExcludeFile(text)) patterns.push(p); // a generated file can hold more patterns than a call takes arguments
  }
  patterns.push(...(opts.exclude ?? []));
  return patterns.length === 0 ? undefined : compileExcludes(patterns);
}
