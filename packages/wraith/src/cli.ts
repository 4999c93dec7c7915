/**
 * The `wraith` command line. `main` is the whole CLI as a function (argv and streams in, exit
 * code out) so tests run it in-process; `run` is what bin/wraith.js calls.
 */
import { closeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { CommanderError } from 'commander';
import type { WraithError } from '@wraith/core';
import type { CliEntry, CliIo, CliState } from './cli/context.js';
import { buildProgram } from './cli/program.js';
import { NdjsonUi } from './ui/ndjson.js';

export type { CliIo } from './cli/context.js';

// @wraith/core and ./ui/errors.js are imported where an error is reported: importing
// @wraith/core loads the whole engine, which --help and --version do not need.

async function usageFromCommander(e: CommanderError): Promise<WraithError> {
  const { WraithError } = await import('@wraith/core');
  const message = e.message.replace(/^error: /, '').replace(/\n\(Did you mean (.+)\?\)$/, '; did you mean $1?');
  return new WraithError('E_USAGE', message, { commander: e.code }, 'see `wraith <command> --help`');
}

/** An error line without ./ui/errors.js, for when even that cannot be loaded; exit 7 (a local file error) when out of descriptors. */
function plainError(e: unknown, loadErr: unknown): { text: string; exit: number } {
  const what = (x: unknown): string => (x instanceof Error ? x.message : String(x)).split('\n')[0]!;
  const code = (e as { code?: unknown }).code;
  const emfile = [code, (loadErr as { code?: unknown }).code].includes('EMFILE');
  const hint = emfile ? 'raise the open-files limit (ulimit -n; LimitNOFILE= in a systemd unit)' : `the error report could not be loaded either (${what(loadErr)})`;
  const text = `error[${typeof code === 'string' && code.startsWith('E_') ? code : emfile ? 'E_IO' : 'E_INTERNAL'}]: ${what(e)}\n  hint: ${hint}\n`;
  return { text, exit: emfile ? 7 : 1 };
}

export function newState(argv: readonly string[]): CliState {
  return { json: argv.includes('--json'), transferId: null, exitCode: 0, working: false };
}

export async function main(argv: readonly string[], io: CliIo, state: CliState = newState(argv)): Promise<number> {
  const program = buildProgram(io, state);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      // `wraith help <command>` exits 0 like `<command> --help`; a command group without its
      // subcommand prints its help as an error (commander's exit code 1): a usage error.
      if (e.code === 'commander.help') return e.exitCode === 0 ? 0 : 2;
      if (e.code === 'commander.executeSubCommandAsync') return e.exitCode;
    }
    let errors: typeof import('./ui/errors.js');
    try {
      errors = await import('./ui/errors.js');
    } catch (loadErr) {
      // Out of descriptors (EMFILE) the reporting code cannot be loaded either: say it plainly.
      const plain = plainError(e, loadErr);
      io.stderr.write(plain.text);
      return plain.exit;
    }
    const { formatError, toWraithError } = errors;
    const err = e instanceof CommanderError ? await usageFromCommander(e) : toWraithError(e);
    if (state.json) new NdjsonUi(io.stdout).error(err, state.transferId);
    else io.stderr.write(formatError(err));
    if (err.code === 'E_INTERNAL' && err.stack !== undefined && io.env.WRAITH_DEBUG === '1') io.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
}

/** Entry point for bin/wraith.js, which says whether it loaded the bundle. */
export function run(entry: CliEntry = 'modules'): void {
  const argv = process.argv.slice(2);
  const state = newState(argv);
  // `wraith config show | head`: a closed pipe ends the command quietly, like other tools. A
  // send, receive or daemon goes on without its output (`wraith send --json | head -1`, a log
  // reader that restarted): its exit code tells how the work went. The node's streams are
  // destroyed by the error, so later writes are dropped. EIO: the terminal hung up.
  const gone = (e: NodeJS.ErrnoException): boolean => e.code === 'EPIPE' || e.code === 'EIO';
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (!gone(e)) throw e;
    if (!state.working) process.exit(0);
  });
  process.stderr.on('error', (e: NodeJS.ErrnoException) => {
    if (!gone(e)) throw e;
  });
  // A terminal that hung up fails Node's own restore of its settings at exit (an assertion:
  // SIGABRT on Node 20). It skips a descriptor that is closed by then.
  const ttys = [0, 1, 2].filter((fd) => isatty(fd));
  process.on('exit', () => {
    for (const fd of ttys) {
      if (isatty(fd)) continue;
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  });
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), handleSignals: true, entry };
  main(argv, io, state).then(
    (code) => {
      process.exitCode = code;
      // Something left open (a socket, a timer) must not keep a finished command alive.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    async (e: unknown) => {
      try {
        const { formatError, toWraithError } = await import('./ui/errors.js');
        process.stderr.write(formatError(toWraithError(e)));
      } catch (loadErr) {
        process.stderr.write(plainError(e, loadErr).text);
      }
      process.exitCode = 1;
    },
  );
}
