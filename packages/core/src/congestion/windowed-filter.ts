/**
 * Windowed max (or min) filter after Kathleen Nichols' algorithm, as used by
 * the BBR draft (§5.5.2, "update_windowed_max_filter"): it keeps the best,
 * second-best and third-best samples of three sub-windows, so the estimate
 * over the last `length` time units costs O(1) per sample and no storage.
 *
 * Time is any monotonic counter (BBR uses cycle counts and round counts).
 * A sample taken at time t stops counting at t + length: with length 2 and
 * t = a cycle count, the filter covers the current and the previous cycle.
 */
export class WindowedFilter {
  private readonly isMax: boolean;
  private readonly length: number;
  private v0 = 0;
  private t0 = 0;
  private v1 = 0;
  private t1 = 0;
  private v2 = 0;
  private t2 = 0;
  private empty = true;

  constructor(kind: 'max' | 'min', length: number) {
    this.isMax = kind === 'max';
    this.length = length;
  }

  /** The current best estimate (0 when empty). */
  get(): number {
    return this.empty ? 0 : this.v0;
  }

  /** Forget all samples. */
  reset(time: number, value: number): void {
    this.empty = false;
    this.v0 = this.v1 = this.v2 = value;
    this.t0 = this.t1 = this.t2 = time;
  }

  clear(): void {
    this.empty = true;
    this.v0 = this.v1 = this.v2 = 0;
  }

  /** Add a sample taken at `time` (non-decreasing); returns the new estimate. */
  update(value: number, time: number): number {
    const len = this.length;
    if (this.empty || this.better(value, this.v0) || time - this.t2 >= len) {
      this.reset(time, value);
      return value;
    }
    if (this.better(value, this.v1)) {
      this.v1 = this.v2 = value;
      this.t1 = this.t2 = time;
    } else if (this.better(value, this.v2)) {
      this.v2 = value;
      this.t2 = time;
    }
    // Age out the best sample(s) when they leave the window, promoting the
    // sub-window bests; refresh the later sub-windows when they are stale.
    const dt = time - this.t0;
    if (dt >= len) {
      this.v0 = this.v1;
      this.t0 = this.t1;
      this.v1 = this.v2;
      this.t1 = this.t2;
      this.v2 = value;
      this.t2 = time;
      if (time - this.t0 >= len) {
        this.v0 = this.v1;
        this.t0 = this.t1;
        this.v1 = this.v2;
        this.t1 = this.t2;
      }
    } else if (this.t1 === this.t0 && dt > len / 4) {
      this.v1 = this.v2 = value;
      this.t1 = this.t2 = time;
    } else if (this.t2 === this.t1 && dt > len / 2) {
      this.v2 = value;
      this.t2 = time;
    }
    return this.v0;
  }

  private better(a: number, b: number): boolean {
    return this.isMax ? a >= b : a <= b;
  }
}
