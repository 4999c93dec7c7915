/**
 * Time inside the engine: a monotonic count of microseconds from an arbitrary
 * origin, always passed in by the caller (the driver or the simulator).
 * The core never reads a clock.
 */
export type Instant = number;
/** A span of time in microseconds. */
export type Duration = number;

export const MICROS_PER_MS = 1_000;
export const MICROS_PER_SEC = 1_000_000;

export const ms = (n: number): Duration => n * MICROS_PER_MS;
export const secs = (n: number): Duration => n * MICROS_PER_SEC;

/** "Never": a deadline that does not fire. */
export const NEVER: Instant = Number.POSITIVE_INFINITY;
