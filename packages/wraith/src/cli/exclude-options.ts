/** --exclude and --exclude-from, as `wraith send` and `wraith hash` both take them (compiled in ./excludes.ts). */
import type { Command } from 'commander';

/** commander's collector for a repeatable option (`--exclude a --exclude b`). */
const collect = (v: string, all: string[] = []): string[] => [...all, v];

export function withExcludeOptions(cmd: Command): Command {
  return cmd
    .option('--exclude <PATTERN>', 'leave out what matches, below each PATH: "*.tmp", "cache/" (directories), "/build" (top level only), "logs/**/*.gz"; repeatable', collect)
    .option('--exclude-from <FILE>', 'leave out the patterns in FILE, one per line (# comments); repeatable', collect);
}
