/** The logger of the commands that run the node (pino, so kept apart from ./context.ts). */
import type { LoadedConfig } from '../config/load.js';
import { createLog, type Log } from '../log.js';
import type { CliIo } from './context.js';

/**
 * The logger. Long-running daemons log at the configured level; interactive commands (send,
 * receive, demo) at "warn" so logs do not fight the progress output, unless --verbose (debug)
 * or --log-level is given.
 */
export function makeLog(loaded: LoadedConfig, io: CliIo, o: { interactive: boolean; verbose: boolean; levelFlag: boolean }): Log {
  const c = loaded.config.logging;
  let level = c.level;
  if (o.verbose && !o.levelFlag) level = 'debug';
  else if (o.interactive && !o.levelFlag && c.file === null && (level === 'info' || level === 'debug' || level === 'trace')) level = 'warn';
  const log = createLog({
    level,
    file: c.file,
    pretty: c.file === null && io.stderr.isTTY === true,
    ...(io.logStream !== undefined && c.file === null ? { stream: io.logStream } : {}),
  });
  for (const w of loaded.warnings) log.logger.warn(w);
  return log;
}
