/** Dropped datagrams by reason: every drop is counted, none is silent. */
export class DropCounters {
  private readonly counts = new Map<string, number>();
  total = 0;

  add(reason: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    this.total++;
  }

  get(reason: string): number {
    return this.counts.get(reason) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
