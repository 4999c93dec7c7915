/**
 * Milliseconds on a monotonic clock, for durations, deadlines and throttles. The wall clock
 * (Date.now) can step when NTP corrects it or a VM resumes: an hour back stalled a `--rate`
 * send for that hour. Date.now stays for timestamps people read and for comparing with file
 * times.
 */
export function monoMs(): number {
  return performance.now();
}
