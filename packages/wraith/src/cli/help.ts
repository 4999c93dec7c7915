/** Help text shared by every command: examples and the exit-code table. */
import type { Command } from 'commander';
// The errors module alone: the package index would load the whole engine to print help.
import { EXIT_CODES } from '@wraith/core/errors';

const CATEGORY_TEXT: Record<string, string> = {
  internal: 'internal error or not supported here (a bug: please report it)',
  usage: 'usage: bad flag, argument, peer or address',
  config: 'config, home, identity or lock problem',
  auth: 'authentication: peer id mismatch, not authorized, bad key',
  network: 'network or protocol: unreachable, timeout, peer closed; no daemon',
  protocol: 'protocol violation by the peer',
  transfer: 'transfer refused or failed: exists, too large, changed, integrity',
  io: 'local file or disk error: no space, permission, not found',
  cancelled: 'cancelled (Ctrl-C, SIGTERM, or by the peer)',
};

export function exitCodeTable(): string {
  const byCode = new Map<number, string[]>();
  for (const [cat, code] of Object.entries(EXIT_CODES)) {
    if (cat === 'protocol') continue; // shares 5 with network
    byCode.set(code, [...(byCode.get(code) ?? []), CATEGORY_TEXT[cat] ?? cat]);
  }
  const rows = [[0, ['success']] as const, ...[...byCode.entries()].sort((a, b) => a[0] - b[0])];
  return ['Exit codes:', ...rows.map(([code, texts]) => `  ${String(code).padStart(3)}  ${texts.join('; ')}`)].join('\n');
}

/** Adds "Examples:" and the exit-code table after the command's help. */
export function withHelp(cmd: Command, examples: readonly string[]): Command {
  cmd.addHelpText('after', () => `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n\n${exitCodeTable()}\n`);
  return cmd;
}
