/**
 * SIGINT / SIGTERM ask the running command to stop gracefully (an AbortSignal the node
 * watches); a second SIGINT exits at once with 130. SIGHUP reopens the log file.
 */
import type { CliIo } from './context.js';

export interface Shutdown {
  readonly signal: AbortSignal;
  /** Resolves when a stop was requested. */
  readonly requested: Promise<string>;
  dispose(): void;
}

export function watchShutdown(io: CliIo, onHup?: () => void): Shutdown {
  const ac = new AbortController();
  let resolveRequested!: (sig: string) => void;
  const requested = new Promise<string>((r) => (resolveRequested = r));
  if (!io.handleSignals) return { signal: ac.signal, requested, dispose: () => undefined };
  let count = 0;
  const stop = (sig: NodeJS.Signals): void => {
    count++;
    if (count > 1 && sig === 'SIGINT') process.exit(130);
    ac.abort(new Error(sig));
    resolveRequested(sig);
  };
  const hup = (): void => onHup?.();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', hup);
  return {
    signal: ac.signal,
    requested,
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', hup);
    },
  };
}
