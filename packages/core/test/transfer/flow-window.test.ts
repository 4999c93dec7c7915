// FlowWindow.setBudget: a session moves budget between its transfers; a grant is never taken back.
import { describe, expect, it } from 'vitest';
import { ChunkSet } from '../../src/transfer/chunk-set.js';
import { FlowWindow } from '../../src/transfer/flow-window.js';

const CS = 1000;

describe('FlowWindow.setBudget', () => {
  it('a larger budget grants more at once; a smaller one grants nothing more until the outstanding bytes drain under it', () => {
    const held = new ChunkSet(20);
    const w = new FlowWindow(20 * CS, CS, held, 4 * CS);
    expect(w.maxOffset).toBe(4 * CS);
    w.setBudget(6 * CS);
    expect(w.maxOffset).toBe(6 * CS);
    expect(w.outstandingBytes).toBe(6 * CS);
    w.setBudget(2 * CS); // nothing taken back
    expect(w.maxOffset).toBe(6 * CS);
    for (const i of [0, 1, 2]) {
      held.add(i);
      w.onHeld(i);
    }
    expect(w.maxOffset).toBe(6 * CS); // 3 chunks outstanding, over the budget of 2
    for (const i of [3, 4]) {
      held.add(i);
      w.onHeld(i);
    }
    expect(w.maxOffset).toBe(7 * CS); // 1 left, so one more fits
    expect(w.outstandingBytes).toBe(2 * CS);
  });

  it('the first missing chunk is granted whatever the budget, and a budget under 1 is refused', () => {
    const held = new ChunkSet(5);
    const w = new FlowWindow(5 * CS, CS, held, 1);
    expect(w.maxOffset).toBe(CS);
    held.add(0);
    w.onHeld(0);
    expect(w.maxOffset).toBe(2 * CS);
    expect(() => w.setBudget(0)).toThrow(/positive integer/);
    const idle = new FlowWindow(5 * CS, CS, new ChunkSet(5), 0);
    expect(idle.maxOffset).toBe(0);
    idle.setBudget(1);
    expect(idle.maxOffset).toBe(CS);
  });
});
