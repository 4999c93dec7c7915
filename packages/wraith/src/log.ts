/**
 * Logging: pino, JSON lines on stderr (what journald captures) or to `[logging] file`, pretty
 * on a TTY. Components log through child loggers (`{component: "store"}`). Secret-named fields
 * are redacted wherever they appear at the top level or one level down.
 */
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { makeDirsSync } from './fsutil.js';
import { REDACTED, SECRET_FIELDS } from './redact.js';

export type { Logger } from 'pino';

const require = createRequire(import.meta.url);

export interface LogOptions {
  readonly level: Level | 'silent';
  /** Log file; null or absent: stderr. */
  readonly file?: string | null;
  /** Human-readable output; default: stderr is a TTY and no file. */
  readonly pretty?: boolean;
  /** Replaces the destination (tests). */
  readonly stream?: DestinationStream;
}

export interface Log {
  readonly logger: Logger;
  /** A child logger tagged with the component name. */
  child(component: string): Logger;
  /** Reopens the log file (SIGHUP after logrotate moved it); no-op for stderr. */
  reopen(): void;
  /** Flushes buffered lines (before exit). */
  flush(): void;
}

export const REDACT_PATHS: readonly string[] = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]);

export function createLog(opts: LogOptions): Log {
  let file: ReturnType<typeof pino.destination> | null = null;
  let stream: DestinationStream;
  if (opts.stream !== undefined) {
    stream = opts.stream;
  } else if (opts.file != null) {
    // Synchronous: log lines are rare (never per packet) and none are lost in a crash. File
    // names and peers are in it: not for every user to read (0640, its directory 0750).
    makeDirsSync(dirname(opts.file), 0o750);
    file = pino.destination({ dest: opts.file, sync: true, mode: 0o640 });
    stream = file;
  } else if (opts.pretty ?? process.stderr.isTTY === true) {
    // Only a terminal needs it, so only a terminal pays for loading it.
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    stream = pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } else {
    stream = pino.destination({ dest: 2, sync: true });
  }
  const logger = pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
  return {
    logger,
    child: (component) => logger.child({ component }),
    reopen: () => file?.reopen(),
    flush: () => {
      try {
        file?.flushSync();
      } catch {
        // not ready yet (nothing written): nothing to flush
      }
    },
  };
}
