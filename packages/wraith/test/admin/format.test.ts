// `wraith transfers`: the table shows a running send's phase beside its state.
import { describe, expect, it } from 'vitest';
import { FINISHED_SHOWN, formatTransfers } from '../../src/admin/format.js';
import { orderTransfers } from '../../src/admin/order.js';
import { transferDto } from './fake-provider.js';

describe('formatTransfers', () => {
  it('names the phase of a running send, an error before it, and the number of warnings', () => {
    const text = formatTransfers([
      transferDto({ id: 't-1', phase: 'waiting_for_receiver' }),
      transferDto({ id: 't-2', phase: 'hashing' }),
      transferDto({ id: 't-3', phase: null }),
      transferDto({ id: 't-4', state: 'failed', phase: null, errors: [{ code: 'E_EXISTS', message: 'x' }] }),
      transferDto({ id: 't-5', state: 'completed', phase: null, warnings: [{ code: null, message: 'a symlink' }], warnings_total: 2 }),
      transferDto({ id: 't-6', phase: 'receiver_finishing', bytes_done: 400, bytes_total: 400, bytes_written: 100 }),
      transferDto({ id: 't-7', phase: 'receiver_finishing', bytes_done: 400, bytes_total: 400, bytes_written: null }),
    ]);
    const row = (id: string): string => text.split('\n').find((l) => l.startsWith(id)) ?? '';
    expect(row('t-1')).toContain('running (waiting for receiver)');
    expect(row('t-2')).toContain('running (hashing)');
    expect(row('t-3')).toMatch(/ running /);
    expect(row('t-3')).not.toContain('(');
    expect(row('t-4')).toContain('failed (E_EXISTS)');
    expect(row('t-5')).toContain('completed (2 warnings)');
    expect(row('t-6')).toContain('running (receiver finishing, 25% on disk)');
    expect(row('t-7')).toContain('running (receiver finishing)');
  });

  it("shows a received name's control and bidi characters escaped (the name comes from the peer)", () => {
    const text = formatTransfers([transferDto({ id: 'rx-1-0', direction: 'receive', path: 'a\u009b2Jb\u202ec' })]);
    expect(text).toContain('a\\x9b2Jb\\u{202e}c');
    expect(text).not.toMatch(/[\u009b\u202e]/);
  });

  it("shows a send's dest after its path", () => {
    const text = formatTransfers([transferDto({ id: 't-1', path: '/srv/a.bin', dest: 'nightly/x' }), transferDto({ id: 't-2', path: '/srv/b.bin' })]);
    const row = (id: string): string => text.split('\n').find((l) => l.startsWith(id)) ?? '';
    expect(row('t-1')).toMatch(/ \/srv\/a\.bin \(to nightly\/x\/\)$/);
    expect(row('t-2')).toMatch(/ \/srv\/b\.bin$/);
  });

  it('shows every running transfer and the newest finished ones; --all shows the rest', () => {
    const at = (min: number): string => new Date(Date.UTC(2024, 0, 1, 0, min)).toISOString();
    const finished = Array.from({ length: FINISHED_SHOWN + 5 }, (_, i) =>
      transferDto({ id: `t-f${i}`, state: 'completed', started_at: at(i), finished_at: at(i + 1) }));
    const running = [transferDto({ id: 't-r2', started_at: at(50) }), transferDto({ id: 't-r1', started_at: at(3) })];
    const list = orderTransfers([...finished, ...running]);
    expect(list.map((t) => t.id).slice(0, 4)).toEqual(['t-r1', 't-r2', `t-f${FINISHED_SHOWN + 4}`, `t-f${FINISHED_SHOWN + 3}`]);
    expect(list.at(-1)!.id).toBe('t-f0');

    const ids = (text: string): string[] => text.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0]!).filter((w) => w.startsWith('t-'));
    const text = formatTransfers(list);
    expect(ids(text)).toEqual(list.slice(0, 2 + FINISHED_SHOWN).map((t) => t.id));
    expect(text.trimEnd().split('\n').at(-1)).toBe('(5 older finished transfers not shown: wraith transfers --all)');
    const all = formatTransfers(list, true);
    expect(ids(all)).toEqual(list.map((t) => t.id));
    expect(all).not.toContain('not shown');
  });
});
