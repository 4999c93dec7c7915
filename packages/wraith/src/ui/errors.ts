/** How errors look on a terminal: `error[CODE]: message` and an indented hint. */
import { WraithError, isWraithError } from '@wraith/core';
import { printable } from './printable.js';

export function formatError(err: WraithError): string {
  // The addon's messages end with their hint already (its logs need it): print it once.
  const message = err.hint !== '' && err.message.endsWith(`: ${err.hint}`) ? err.message.slice(0, -err.hint.length - 2) : err.message;
  const hint = err.hint.split('\n').map(printable).join('\n  ');
  return `error[${err.code}]: ${printable(message)}\n  hint: ${hint}\n`;
}

/** Any thrown value as a WraithError: unknown errors are bugs (E_INTERNAL, exit 1). */
export function toWraithError(e: unknown): WraithError {
  if (isWraithError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const err = new WraithError('E_INTERNAL', msg);
  if (e instanceof Error && e.stack !== undefined) err.stack = e.stack;
  return err;
}
