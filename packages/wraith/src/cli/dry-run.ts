/**
 * `wraith send --dry-run`: what the send would offer, walked as it would walk it (skips,
 * refused names, --exclude, --dest), without dialling or reading a file. Names go to stdout, as
 * `tar t` lists them (a directory with a trailing "/"); warnings, errors and the total to stderr.
 */
import type { WraithError } from '@wraith/core';
import type { Excludes } from '../exclude.js';
import { NdjsonUi } from '../ui/ndjson.js';
import { printable } from '../ui/printable.js';
import { report } from '../ui/report.js';
import { humanBytes } from '../units.js';
import { walk } from '../walk.js';
import type { CliIo, CliState } from './context.js';

export interface DryRunOptions {
  readonly followSymlinks: boolean;
  readonly dest?: string;
  readonly relative?: boolean;
  readonly listed?: readonly string[];
  readonly exclude?: Excludes;
  /** As the summary names it: <id>@<addr>. */
  readonly peer: string;
  readonly quiet: boolean;
}

export async function dryRun(paths: readonly string[], o: DryRunOptions, io: CliIo, state: CliState): Promise<void> {
  const ndjson = state.json ? new NdjsonUi(io.stdout) : null;
  let files = 0;
  let dirs = 0;
  let bytes = 0;
  const errors: WraithError[] = [];
  const out = report(io.stderr, ndjson);
  const entries = walk(paths, {
    followSymlinks: o.followSymlinks,
    ...(o.dest !== undefined ? { under: o.dest } : {}),
    relative: o.relative === true,
    ...(o.listed !== undefined ? { listed: o.listed } : {}),
    ...(o.exclude !== undefined ? { exclude: o.exclude } : {}),
    onWarning: (w) => out.warning(w.message),
    onUnsendable: (_path, _name, err) => {
      errors.push(err);
      out.error(err);
    },
  });
  for await (const e of entries) {
    if (e.kind === 'dir') dirs++;
    else {
      files++;
      bytes += e.size;
    }
    if (ndjson !== null) ndjson.emit('file', null, { name: e.name, status: 'would_send', kind: e.kind, bytes: e.size });
    else io.stdout.write(`${printable(e.name)}${e.kind === 'dir' ? '/' : ''}\n`);
  }
  if (errors.length > 0) state.exitCode = errors[0]!.exitCode;
  if (ndjson !== null) {
    ndjson.emit('dry_run', null, { files, dirs, bytes, errors: errors.length });
  } else if (!o.quiet || errors.length > 0) {
    const failed = errors.length === 0 ? '' : `; ${errors.length} ${errors.length === 1 ? 'entry' : 'entries'} could not be sent (above)`;
    io.stderr.write(`dry run: ${files} ${files === 1 ? 'file' : 'files'} (${humanBytes(bytes)}) and ${dirs} ${dirs === 1 ? 'directory' : 'directories'} would be sent to ${o.peer}${failed}; nothing was sent\n`);
  }
}
