/** commander's collector for a repeatable option (`--exclude a --exclude b`). */
export const collect = (v: string, all: string[] = []): string[] => [...all, v];
