/** What command handlers share: the I/O they write to, and loading home + config (the logger: ./logging.ts). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { DestinationStream } from 'pino';
import { WraithError } from '@wraith/core';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { Tree } from '../config/validate.js';
import { ensureHome, homePaths, openHome, resolveHomeDir, type Home } from '../home/home.js';
import type { OutStream } from '../ui/types.js';
import { configFlagsToTree, getFlag, setFlag } from './config-flags.js';

export interface CliIo {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** What `-` reads (`wraith hash --check -`); process.stdin when absent, touched only then. */
  readonly stdin?: AsyncIterable<Buffer | string>;
  /** Where logs go instead of stderr (tests). */
  readonly logStream?: DestinationStream;
  /** Install SIGINT/SIGTERM/SIGHUP handlers (only the real process). */
  readonly handleSignals: boolean;
  /** What bin/wraith.js loaded: the bundle, or the modules (a missing or outdated bundle). */
  readonly entry?: CliEntry;
}

export type CliEntry = 'bundle' | 'modules';

/** Set by a command once it knows its output mode, so errors are printed to match. */
export interface CliState {
  json: boolean;
  transferId: string | null;
  /** Exit code of a command that finished with reported (non-fatal) failures. */
  exitCode: number;
  /** Set by commands whose work outlives their output (send, receive, daemon, demo): a closed stdout must not end it. */
  working: boolean;
}

export interface Loaded {
  readonly homeDir: string;
  readonly home: Home;
  readonly loaded: LoadedConfig;
}

/**
 * Options from commander plus the command's aliases (`--bind` for network.listen_addr, ...).
 * An alias and its config flag given together must agree.
 */
export function flagLayer(cmd: Command, opts: Record<string, unknown>, aliases: Record<string, { flag: string; value: unknown }>): Tree {
  const tree = configFlagsToTree(cmd, opts);
  for (const [dotted, { flag, value }] of Object.entries(aliases)) {
    if (value === undefined) continue;
    const direct = getFlag(tree, dotted);
    if (direct !== undefined && direct !== value) {
      throw new WraithError('E_USAGE', `${flag} and the flag for ${dotted} disagree (${JSON.stringify(value)} vs ${JSON.stringify(direct)})`,
        { key: dotted }, `pass only ${flag}`);
    }
    setFlag(tree, dotted, value);
  }
  return tree;
}

export type HomeMode = 'open' | 'ensure' | 'none';

/**
 * Resolves the home and loads the config. 'open': the home must exist (commands that need the
 * identity); 'ensure': create it (keygen); 'none': only its path is used (config check/show).
 */
export async function loadAll(
  globals: { home?: string; config?: string },
  flags: Tree | undefined,
  io: CliIo,
  mode: HomeMode,
): Promise<Loaded> {
  const homeDir = resolveHomeDir(globals.home, io.env, io.cwd);
  const home = mode === 'open' ? await openHome(homeDir) : mode === 'ensure' ? await ensureHome(homeDir) : homePaths(homeDir);
  const configFile = globals.config !== undefined ? resolve(io.cwd, globals.config) : null;
  const loaded = await loadConfig({
    home: homeDir,
    configFile,
    ...(flags !== undefined ? { flags } : {}),
    cwd: io.cwd,
  });
  return { homeDir, home, loaded };
}
