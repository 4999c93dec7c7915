/** Picks the rendering: NDJSON with --json, a bar on a TTY, plain lines otherwise. */
import { forwarding } from './forwarding.js';
import { NdjsonUi } from './ndjson.js';
import { PlainUi, ProgressBarUi } from './progress.js';
import type { OutStream, TransferUi } from './types.js';

export interface UiChoice {
  readonly json: boolean;
  /** false with --no-progress: no bar, no progress lines (files and the summary still print). */
  readonly progress: boolean;
  /** NDJSON goes here (stdout). */
  readonly stdout: OutStream;
  /** Human output goes here (stderr). */
  readonly stderr: OutStream;
  readonly now?: () => number;
}

export function createUi(c: UiChoice): TransferUi {
  if (c.json) return new NdjsonUi(c.stdout, c.now !== undefined ? { now: c.now } : {});
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
