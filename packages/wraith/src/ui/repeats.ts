/**
 * Human output of a send: the first few failed files of each error code are printed in full,
 * the rest only counted. A tree sent into a full disk failed every file with E_NO_SPACE, two
 * lines each (thousands of lines); the last line of the send still counts them all, and
 * --json lists each.
 */
import type { WraithError } from '@wraith/core';
import { forwarding } from './forwarding.js';
import type { TransferUi } from './types.js';

export const SHOWN_PER_CODE = 5;

export interface RepeatLimitedUi extends TransferUi {
  /** Errors counted but not printed. */
  readonly hidden: number;
}

export function limitRepeats(ui: TransferUi, shown = SHOWN_PER_CODE): RepeatLimitedUi {
  const seen = new Map<string, number>();
  let hidden = 0;
  return {
    ...forwarding(ui),
    error(err: WraithError, transferId: string | null) {
      const n = (seen.get(err.code) ?? 0) + 1;
      seen.set(err.code, n);
      if (n <= shown) return ui.error(err, transferId);
      hidden++;
      if (n === shown + 1) {
        ui.warning({ transfer_id: transferId, code: err.code, message: `more files fail with ${err.code}: they are counted at the end, not shown (--json lists each)` });
      }
    },
    get hidden() {
      return hidden;
    },
  };
}
