/**
 * SIGINT / SIGTERM ask the running command to stop gracefully (an AbortSignal the node
 * watches); a second SIGINT exits at once with 130. SIGHUP calls onHup (the daemon reopens its
 * log file and reloads its config), except for a foreground command printing to a terminal:
 * its terminal went away (an SSH session dropped), so it stops as on Ctrl-C, and the partial
 * stays for a resume. One not on a terminal (nohup, output to files) carries on: Node resets an
 * inherited SIG_IGN, so this is what keeps nohup working.
 */
import type { CliIo } from './context.js';

export interface Shutdown {
  readonly signal: AbortSignal;
  /** Resolves when a stop was requested. */
  readonly requested: Promise<string>;
  /** A stop the command itself asks for (it cannot go on), as graceful as a signal's. */
  stop(why: string): void;
  dispose(): void;
}

export interface ShutdownOptions {
  /** SIGHUP: reopen the log file. */
  onHup?: () => void;
  /** A foreground command: SIGHUP stops it when its output is a terminal. */
  foreground?: boolean;
}

export function watchShutdown(io: CliIo, opts: ShutdownOptions = {}): Shutdown {
  const ac = new AbortController();
  let resolveRequested!: (sig: string) => void;
  const requested = new Promise<string>((r) => (resolveRequested = r));
  const stopSelf = (why: string): void => {
    ac.abort(new Error(why));
    resolveRequested(why);
  };
  if (!io.handleSignals) return { signal: ac.signal, requested, stop: stopSelf, dispose: () => undefined };
  let count = 0;
  const stop = (sig: NodeJS.Signals): void => {
    count++;
    if (count > 1 && sig === 'SIGINT') process.exit(130);
    ac.abort(new Error(sig));
    resolveRequested(sig);
  };
  const onTerminal = process.stdout.isTTY === true || process.stderr.isTTY === true;
  const hup = (): void => {
    if (opts.foreground === true && onTerminal) stop('SIGHUP');
    else opts.onHup?.();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', hup);
  return {
    signal: ac.signal,
    requested,
    stop: stopSelf,
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', hup);
    },
  };
}
