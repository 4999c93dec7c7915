/**
 * Receive memory shared by all the sessions of an endpoint: chunk data granted to senders and
 * not yet on disk. Each session already keeps to its own cap (SessionConfig.sessionBufferBytes);
 * this bounds their sum, so many senders at once against a slow disk cannot make the node
 * buffer a session cap for each. The sessions taking data share it equally, and a session never
 * grants past what the others leave free. A share that shrinks takes nothing back: grants stop
 * until it drains (the first missing chunk of a transfer is always granted, so none starves).
 */
export class ReceiveBudget {
  /** Outstanding (granted, not held) bytes of each session taking data. */
  private readonly bySession = new Map<number, number>();
  private outstanding = 0;

  constructor(readonly totalBytes: number) {}

  /** Session `id` takes data (or not) and has `bytes` outstanding. */
  report(id: number, receiving: boolean, bytes: number): void {
    const before = this.bySession.get(id);
    this.outstanding += (receiving ? bytes : 0) - (before ?? 0);
    if (receiving) this.bySession.set(id, bytes);
    else this.bySession.delete(id);
  }

  /** Sessions taking data now. */
  get sessions(): number {
    return this.bySession.size;
  }

  /** Outstanding bytes over all sessions. */
  get outstandingBytes(): number {
    return this.outstanding;
  }

  /** What session `id` may have outstanding at most: its equal share, within what the others leave. */
  limitFor(id: number): number {
    const share = Math.floor(this.totalBytes / Math.max(1, this.bySession.size));
    const others = this.outstanding - (this.bySession.get(id) ?? 0);
    return Math.max(0, Math.min(share, this.totalBytes - others));
  }
}
