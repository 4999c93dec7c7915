/**
 * The order of GET /v1/transfers: what runs now first (oldest start first), then the finished
 * ones, newest first, so a terminal shows the live and the latest next to each other.
 */
import type { TransferDto } from './dto.js';

const finishedMs = (t: TransferDto): number => (t.finished_at === null ? 0 : Date.parse(t.finished_at));

export function orderTransfers(list: readonly TransferDto[]): TransferDto[] {
  const running = list.filter((t) => t.state === 'running');
  const done = list.filter((t) => t.state !== 'running');
  running.sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
  done.sort((a, b) => finishedMs(b) - finishedMs(a));
  return [...running, ...done];
}
