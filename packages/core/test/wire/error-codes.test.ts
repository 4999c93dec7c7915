import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../../src/errors.js';
import { WireError, errorCodeForWire, wireCodeFor } from '../../src/wire/index.js';

describe('wire error codes (PROTOCOL.md §8)', () => {
  it('numbers the §8 table', () => {
    expect(Object.values(WireError)).toEqual(Array.from({ length: 17 }, (_, i) => i));
    expect(WireError.FLOW_CONTROL).toBe(11);
    expect(WireError.VERSION).toBe(15);
    expect(WireError.IO).toBe(16);
  });

  it('round-trips every wire code through its local error', () => {
    for (const n of Object.values(WireError)) expect(wireCodeFor(errorCodeForWire(n))).toBe(n);
  });

  it('maps the named errors both ways', () => {
    const pairs: Array<[ErrorCode, number]> = [
      ['E_PROTOCOL', 1],
      ['E_INTERNAL', 2],
      ['E_SHUTTING_DOWN', 3],
      ['E_TRANSFER_CANCELLED', 4],
      ['E_PEER_NOT_AUTHORIZED', 5],
      ['E_NO_SPACE', 6],
      ['E_EXISTS', 7],
      ['E_PATH_INVALID', 8],
      ['E_FILE_TOO_LARGE', 9],
      ['E_IDLE_TIMEOUT', 10],
      ['E_FLOW_CONTROL', 11],
      ['E_TOO_MANY_SESSIONS', 12],
      ['E_INTEGRITY', 13],
      ['E_SOURCE_CHANGED', 14],
      ['E_VERSION', 15],
      ['E_IO', 16],
    ];
    for (const [code, n] of pairs) {
      expect(wireCodeFor(code)).toBe(n);
      expect(errorCodeForWire(n)).toBe(code);
    }
  });

  it('maps NO_ERROR and unknown codes to E_PEER_CLOSED', () => {
    expect(errorCodeForWire(0)).toBe('E_PEER_CLOSED');
    expect(errorCodeForWire(17)).toBe('E_PEER_CLOSED');
    expect(errorCodeForWire(2 ** 40)).toBe('E_PEER_CLOSED');
    expect(wireCodeFor('E_PEER_CLOSED')).toBe(0);
  });

  it('falls back by category: protocol errors are PROTOCOL, io errors IO, others INTERNAL', () => {
    expect(wireCodeFor('E_WIRE_FRAME')).toBe(1);
    expect(wireCodeFor('E_WIRE_TRUNCATED')).toBe(1);
    expect(wireCodeFor('E_CANCELLED')).toBe(4);
    expect(wireCodeFor('E_PERMISSION')).toBe(16);
    expect(wireCodeFor('E_NO_SPACE')).toBe(6);
    expect(wireCodeFor('E_USAGE')).toBe(2);
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      const n = wireCodeFor(code);
      expect(Number.isInteger(n) && n >= 0 && n <= 16).toBe(true);
    }
  });
});
