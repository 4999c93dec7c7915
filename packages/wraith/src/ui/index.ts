/** Picks the rendering: NDJSON with --json, a bar on a TTY, plain lines otherwise. */
import { forwarding } from './forwarding.js';
import { NdjsonUi } from './ndjson.js';
import { PlainUi, ProgressBarUi } from './progress.js';
import type { OutStream, TransferUi } from './types.js';

export interface UiChoice {
  readonly json: boolean;
  /** false with --no-progress: no bar, no progress lines (files and the summary still print). */
  readonly progress: boolean;
  /**
   * --quiet: no start line, progress, file lines or closing summary, so a run from cron prints
   * nothing when all went well; warnings and errors still print. No effect on NDJSON.
   */
  readonly quiet?: boolean;
  /** NDJSON goes here (stdout). */
  readonly stdout: OutStream;
  /** Human output goes here (stderr). */
  readonly stderr: OutStream;
  readonly now?: () => number;
}

export function createUi(c: UiChoice): TransferUi {
  if (c.json) return new NdjsonUi(c.stdout, c.now !== undefined ? { now: c.now } : {});
  if (c.quiet === true) {
    const plain = new PlainUi(c.stderr, c.now !== undefined ? { now: c.now } : {});
    const none = (): void => undefined;
    return { ...forwarding(plain), started: none, progress: none, file: none, completed: none };
  }
  const ui: TransferUi = c.stderr.isTTY === true && c.progress ? new ProgressBarUi(c.stderr) : new PlainUi(c.stderr, c.now !== undefined ? { now: c.now } : {});
  if (!c.progress) {
    return { ...forwarding(ui), progress: () => undefined };
  }
  return ui;
}

export { forwarding } from './forwarding.js';
export { NdjsonUi, NDJSON_VERSION } from './ndjson.js';
export { PlainUi, ProgressBarUi } from './progress.js';
export { formatError, toWraithError } from './errors.js';
export * from './types.js';
