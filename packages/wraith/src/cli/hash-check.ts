/**
 * `wraith hash --check LIST...`: reads each listed file (its name taken from the current
 * directory) and says whether its root is the listed one, as `sha256sum -c` does: `name: OK`,
 * `name: FAILED`, `name: FAILED open or read` on stdout, the reasons on stderr.
 */
import { resolve } from 'node:path';
import { WraithError } from '@wraith/core';
import { parseHashList, type ListedRoot } from '../hash-list.js';
import { loadNode, type HashListedOptions } from '../node-api.js';
import type { NdjsonUi } from '../ui/ndjson.js';
import { printable } from '../ui/printable.js';
import { humanBytes } from '../units.js';
import type { Report } from '../ui/report.js';
import type { CliIo } from './context.js';
import { readListText } from './read-list.js';

export interface CheckOptions {
  /** The configured (or --chunk-size) chunk size, for lines that do not carry theirs. */
  readonly chunkSize: number;
  readonly quiet: boolean;
  /** A listed file that does not exist is passed over (a list of more than is here). */
  readonly ignoreMissing: boolean;
  readonly ioBackend: HashListedOptions['ioBackend'];
  readonly signal: AbortSignal;
}

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/** Checks the files the lists name; reported errors go through `fail`, which keeps the exit code. */
export async function checkLists(lists: readonly string[], opts: CheckOptions, io: CliIo, out: Report & { fail(err: WraithError): void }, ndjson: NdjsonUi | null): Promise<void> {
  const entries: ListedRoot[] = [];
  const sources = lists.length === 0 ? ['-'] : lists;
  for (const source of sources) {
    const parsed = parseHashList(await readListText(source, io), source);
    parsed.errors.forEach(out.fail);
    for (const e of parsed.entries) entries.push(e); // not push(...): a list of a million files would overflow the stack
  }
  if (entries.length === 0) {
    throw new WraithError('E_HASH_LIST', `no hash lines in ${sources.map((s) => (s === '-' ? 'stdin' : s)).join(', ')}`, {});
  }
  const shown = (e: ListedRoot, status: 'ok' | 'mismatch' | 'error', found: { root: string; bytes: number } | null): void => {
    if (ndjson !== null) {
      ndjson.emit('hash_check', null, { name: e.name, status, expected: e.root, root: found?.root ?? null, bytes: found?.bytes ?? null, list: e.where });
    } else if (status !== 'ok' || !opts.quiet) {
      io.stdout.write(`${printable(e.name)}: ${status === 'ok' ? 'OK' : status === 'mismatch' ? 'FAILED' : 'FAILED open or read'}\n`);
    }
  };
  let mismatched = 0;
  let checked = 0;
  let missing = 0;
  // Of the mismatches, those hashed at the configured size rather than one their list line gave.
  let atConfigured = 0;
  const runHashListed = await loadNode('runHashListed');
  await runHashListed(
    { files: entries.map((e) => ({ path: resolve(io.cwd, e.name), chunkSize: e.chunkSize ?? opts.chunkSize })), ioBackend: opts.ioBackend, signal: opts.signal },
    {
      file: (i, found) => {
        const e = entries[i] as ListedRoot;
        checked++;
        if (found.root !== e.root) {
          mismatched++;
          if (e.chunkSize === null) atConfigured++;
        }
        shown(e, found.root === e.root ? 'ok' : 'mismatch', found);
      },
      error: (i, err) => {
        if (err.code === 'E_NOT_FOUND') missing++;
        if (opts.ignoreMissing && err.code === 'E_NOT_FOUND') return;
        checked++;
        shown(entries[i] as ListedRoot, 'error', null);
        out.fail(err);
      },
    },
  );
  if (missing === entries.length) {
    // Most likely the wrong directory: say so once, after (or instead of) an error per file.
    const none = new WraithError('E_NOT_FOUND', `none of the ${plural(entries.length, 'listed file')} is here (${io.cwd})`, {},
      'run the check in the directory the names are relative to: where the sender ran `wraith hash`, or the receiver\'s download directory');
    if (checked === 0) throw none;
    out.fail(none);
  }
  if (mismatched > 0) {
    const hint = atConfigured > 0
      ? `the content differs from what was listed, or the list was made at another chunk size than ${humanBytes(opts.chunkSize)}: pass the sender's --chunk-size (\`hash --json\` lists carry theirs)`
      : 'the content differs from what was listed';
    out.fail(new WraithError('E_HASH_MISMATCH', `${mismatched} of ${plural(checked, 'file')} checked did not match the list`, { mismatched, checked }, hint));
  }
}
