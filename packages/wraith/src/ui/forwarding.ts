import type { TransferUi } from './types.js';

/** A UI that forwards every call to `ui` (spread it and override what differs). */
export function forwarding(ui: TransferUi): TransferUi {
  return {
    started: (e) => ui.started(e),
    progress: (e) => ui.progress(e),
    file: (e) => ui.file(e),
    warning: (e) => ui.warning(e),
    completed: (e) => ui.completed(e),
    error: (err, id) => ui.error(err, id),
    close: () => ui.close(),
  };
}
