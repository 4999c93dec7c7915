/**
 * `wraith send --dest DIR` and the admin API's `dest`: a directory below the receiver's download
 * directory that everything sent goes into ("backups/2026-11"). Checked with the receiver's own
 * name rules, so that a bad one is a usage error before anything is hashed, not a refusal of
 * every file; the receiver checks each name again and creates the directories it needs.
 */
import { WraithError } from '@wraith/core';
import { nameRefusal } from './store/names.js';

export function parseDest(value: string, what = '--dest'): string {
  const dest = value.replace(/\/+$/, ''); // "backups/" means "backups"
  const why = nameRefusal(dest);
  if (why !== null) {
    throw new WraithError('E_USAGE', `${what} ${JSON.stringify(value)}: ${why}`, { dest: value },
      'name a directory relative to the receiver\'s download directory, such as backups/2026-11');
  }
  return dest;
}
