/**
 * `wraith send --exclude PATTERN`: what a walk leaves out, in .gitignore's terms, matched against
 * the path below each PATH ("logs/a.log" for data/logs/a.log of `send ./data`):
 * - a pattern with no "/" (but a trailing one) matches the name of an entry at any depth;
 * - one with a "/" at its start or middle matches the path from the PATH down ("/tmp" only the
 *   top-level tmp, "logs/*.log" only there);
 * - a trailing "/" matches directories only;
 * - `*` is any run of characters but "/", `?` one such character, `[a-z]` / `[!a-z]` a class,
 *   `**` (a whole component) any number of directories, and `\` takes the next character as is.
 * An excluded directory is not walked into.
 */
import { WraithError } from '@wraith/core';

export interface Excludes {
  /** `sub`: the path below the PATH ("a/b"); `dir`: whether it is a directory. */
  excludes(sub: string, dir: boolean): boolean;
  readonly patterns: readonly string[];
}

interface Rule {
  /** null for a literal. */
  readonly re: RegExp | null;
  readonly dirOnly: boolean;
  /** Matched against the base name only. */
  readonly anyDepth: boolean;
  /** The pattern matches this one string (no wildcard), unescaped; null when it has one. */
  readonly literal: string | null;
}

function bad(what: string, pattern: string, why: string): WraithError {
  return new WraithError('E_USAGE', `${what} ${JSON.stringify(pattern)}: ${why}`, { pattern },
    'a pattern is like "*.tmp", "cache/", "/build" or "logs/**/*.gz" (docs/CLI.md, wraith send)');
}

/** One path pattern (no leading or trailing "/") as a regular expression source. */
function globSource(glob: string, pattern: string, what: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const startOk = i === 0 || glob[i - 1] === '/';
      const end = i + 2 === glob.length;
      if (!startOk || (!end && glob[i + 2] !== '/')) throw bad(what, pattern, '"**" must be a whole component (like "a/**/b")');
      if (end) {
        out += '.*';
        i += 1;
      } else {
        out += '(?:.*/)?';
        i += 2;
      }
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const negated = glob[i + 1] === '!' || glob[i + 1] === '^';
      const from = i + 1 + (negated ? 1 : 0);
      // A "]" first in the class is one of its characters.
      const close = glob.indexOf(']', from + 1);
      if (close === -1) throw bad(what, pattern, 'a "[" without its "]"');
      const body = glob.slice(from, close);
      out += `[${negated ? '^/' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else if (c === '\\') {
      if (i + 1 === glob.length) throw bad(what, pattern, 'it ends in a "\\"');
      out += glob[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else {
      out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return out;
}

function rule(pattern: string, what: string): Rule {
  if (pattern === '' || /^\/*$/.test(pattern)) throw bad(what, pattern, 'it is empty');
  if (/[\u0000-\u001f\u007f]/.test(pattern)) throw bad(what, pattern, 'it holds a control character');
  let p = pattern;
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.replace(/\/+$/, '');
  const anyDepth = !p.includes('/');
  p = p.replace(/^\//, '');
  if (p.split('/').some((c) => c === '' || c === '.' || c === '..')) throw bad(what, pattern, 'empty, "." or ".." components match nothing below a PATH');
  // "**/x" is "x" at any depth: the same as a bare name.
  const source = globSource(p, pattern, what); // checks it, also when it is a literal
  const literal = /[*?[]/.test(p.replace(/\\./g, '')) ? null : p.replace(/\\(.)/g, '$1');
  return { re: literal === null ? new RegExp(`^${source}$`, 's') : null, dirOnly, anyDepth, literal };
}

/** Literal patterns, looked up by the string they match: a generated list of many names costs a set lookup, not a scan. */
class Literals {
  private readonly sets = [new Set<string>(), new Set<string>(), new Set<string>(), new Set<string>()];
  private static slot(anyDepth: boolean, dirOnly: boolean): number {
    return (anyDepth ? 2 : 0) + (dirOnly ? 1 : 0);
  }
  add(r: Rule, literal: string): void {
    this.sets[Literals.slot(r.anyDepth, r.dirOnly)]!.add(literal);
  }
  has(sub: string, base: string, dir: boolean): boolean {
    const [path, pathDir, name, nameDir] = this.sets as [Set<string>, Set<string>, Set<string>, Set<string>];
    return path.has(sub) || name.has(base) || (dir && (pathDir.has(sub) || nameDir.has(base)));
  }
}

/** Compiles the patterns: E_USAGE naming the first one that is not a pattern (as `what`). */
export function compileExcludes(patterns: readonly string[], what = '--exclude'): Excludes {
  const literals = new Literals();
  const globs: Rule[] = [];
  for (const p of patterns) {
    const r = rule(p, what);
    if (r.literal !== null) literals.add(r, r.literal);
    else globs.push(r);
  }
  return {
    patterns,
    excludes(sub, dir) {
      const base = sub.slice(sub.lastIndexOf('/') + 1);
      return literals.has(sub, base, dir) || globs.some((r) => (!r.dirOnly || dir) && r.re!.test(r.anyDepth ? base : sub));
    },
  };
}

/** `--exclude-from FILE`: one pattern per line; blank lines and lines starting with "#" are not patterns. */
export function parseExcludeFile(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
}
