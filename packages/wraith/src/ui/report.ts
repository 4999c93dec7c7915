/** Warnings and errors of the commands that list (`hash`, `send --dry-run`): NDJSON, or lines on stderr. */
import type { WraithError } from '@wraith/core';
import { formatError } from './errors.js';
import type { NdjsonUi } from './ndjson.js';
import { printable } from './printable.js';

export interface Report {
  warning(message: string): void;
  error(err: WraithError): void;
}

export function report(stderr: { write(s: string): unknown }, ndjson: NdjsonUi | null): Report {
  return {
    warning: (message) => {
      if (ndjson !== null) ndjson.emit('warning', null, { code: null, message });
      else stderr.write(`warning: ${printable(message)}\n`);
    },
    error: (err) => {
      if (ndjson !== null) ndjson.emit('error', null, { code: err.code, exit_code: err.exitCode, message: err.message, hint: err.hint });
      else stderr.write(formatError(err));
    },
  };
}
