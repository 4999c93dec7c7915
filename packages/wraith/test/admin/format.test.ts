// `wraith transfers`: the table shows a running send's phase beside its state.
import { describe, expect, it } from 'vitest';
import { formatTransfers } from '../../src/admin/format.js';
import { transferDto } from './fake-provider.js';

describe('formatTransfers', () => {
  it('names the phase of a running send, an error before it, and the number of warnings', () => {
    const text = formatTransfers([
      transferDto({ id: 't-1', phase: 'waiting_for_receiver' }),
      transferDto({ id: 't-2', phase: 'hashing' }),
      transferDto({ id: 't-3', phase: null }),
      transferDto({ id: 't-4', state: 'failed', phase: null, errors: [{ code: 'E_EXISTS', message: 'x' }] }),
      transferDto({ id: 't-5', state: 'completed', phase: null, warnings: [{ code: null, message: 'a symlink' }], warnings_total: 2 }),
    ]);
    const row = (id: string): string => text.split('\n').find((l) => l.startsWith(id)) ?? '';
    expect(row('t-1')).toContain('running (waiting for receiver)');
    expect(row('t-2')).toContain('running (hashing)');
    expect(row('t-3')).toMatch(/ running /);
    expect(row('t-3')).not.toContain('(');
    expect(row('t-4')).toContain('failed (E_EXISTS)');
    expect(row('t-5')).toContain('completed (2 warnings)');
  });

  it("shows a received name's control and bidi characters escaped (the name comes from the peer)", () => {
    const text = formatTransfers([transferDto({ id: 'rx-1-0', direction: 'receive', path: 'a\u009b2Jb\u202ec' })]);
    expect(text).toContain('a\\x9b2Jb\\u{202e}c');
    expect(text).not.toMatch(/[\u009b\u202e]/);
  });
});
