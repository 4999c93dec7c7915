/** What another process runs, for errors that name it (a lock's or a port's holder). */
import { readFileSync } from 'node:fs';

/** ": wraith daemon ..." from /proc/<pid>/cmdline, cut short; "" where unreadable. */
export function commandOf(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    const line = argv.join(' ');
    return line === '' ? '' : `: ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`;
  } catch {
    return '';
  }
}
