import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TransportParamId,
  Writer,
  decodeTransportParams,
  encodeTransportParams,
  transportParamsLength,
  writeTransportParams,
} from '../../src/wire/index.js';
import { RUNS, decodeOrWireError, expectCode, hex, mutate, mutations, transportParams, same } from './arbitraries.js';

describe('transport parameters (PROTOCOL.md §3)', () => {
  it('encodes known ids ascending as id, length, varint value', () => {
    const b = encodeTransportParams({ maxTransfers: 64, maxDatagramSize: 1452, idleTimeoutMs: 30_000, initialWindow: 1 << 20 });
    expect(Buffer.from(b).toString('hex')).toBe('01' + '02' + '45ac' + '02' + '04' + '80007530' + '03' + '04' + '80100000' + '04' + '02' + '4040');
    expect(decodeTransportParams(b)).toEqual({ maxDatagramSize: 1452, idleTimeoutMs: 30_000, initialWindow: 1 << 20, maxTransfers: 64 });
  });

  it('carries stored_names (id 7) as a varint', () => {
    const b = encodeTransportParams({ storedNames: 1 });
    expect(Buffer.from(b).toString('hex')).toBe('070101');
    expect(decodeTransportParams(b)).toEqual({ storedNames: 1 });
  });

  it('carries written_progress (id 8) as a varint', () => {
    const b = encodeTransportParams({ storedNames: 1, writtenProgress: 1 });
    expect(Buffer.from(b).toString('hex')).toBe('070101' + '080101');
    expect(decodeTransportParams(b)).toEqual({ storedNames: 1, writtenProgress: 1 });
  });

  it('carries zero_chunks (id 9) as a varint', () => {
    const b = encodeTransportParams({ writtenProgress: 1, zeroChunks: 1 });
    expect(Buffer.from(b).toString('hex')).toBe('080101' + '090101');
    expect(decodeTransportParams(b)).toEqual({ writtenProgress: 1, zeroChunks: 1 });
  });

  it('carries leaf_rows (id 10) as a varint', () => {
    const b = encodeTransportParams({ zeroChunks: 1, leafRows: 1 });
    expect(Buffer.from(b).toString('hex')).toBe('090101' + '0a0101');
    expect(decodeTransportParams(b)).toEqual({ zeroChunks: 1, leafRows: 1 });
  });

  it('carries control_window (id 11) as a varint of at least 65536', () => {
    const b = encodeTransportParams({ leafRows: 1, controlWindow: 4 * 1024 * 1024 });
    expect(Buffer.from(b).toString('hex')).toBe('0a0101' + '0b04' + '80400000');
    expect(decodeTransportParams(b)).toEqual({ leafRows: 1, controlWindow: 4 * 1024 * 1024 });
    expect(decodeTransportParams(encodeTransportParams({ controlWindow: 65_536 }))).toEqual({ controlWindow: 65_536 });
    expectCode(() => encodeTransportParams({ controlWindow: 65_535 }), 'E_WIRE_PARAM');
    expectCode(() => decodeTransportParams(Uint8Array.from([0x0b, 0x04, 0x80, 0x00, 0xff, 0xff])), 'E_WIRE_PARAM');
  });

  it('carries source_cid (id 5) as raw bytes, 1..20 of them', () => {
    const cid = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const b = encodeTransportParams({ maxTransfers: 64, sourceCid: cid });
    expect(Buffer.from(b).toString('hex')).toBe('04' + '02' + '4040' + '05' + '08' + '0102030405060708');
    expect(decodeTransportParams(b)).toEqual({ maxTransfers: 64, sourceCid: cid });
    expectCode(() => encodeTransportParams({ sourceCid: new Uint8Array(21) }), 'E_WIRE_PARAM');
    expectCode(() => decodeTransportParams(Uint8Array.from([5, 0])), 'E_WIRE_PARAM');
  });

  it('carries stateless_reset_token (id 6) as exactly 16 raw bytes', () => {
    const token = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    const b = encodeTransportParams({ maxTransfers: 64, sourceCid: Uint8Array.from([9, 9]), statelessResetToken: token });
    expect(Buffer.from(b).toString('hex')).toBe('04' + '02' + '4040' + '05' + '02' + '0909' + '06' + '10' + 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
    expect(decodeTransportParams(b)).toEqual({ maxTransfers: 64, sourceCid: Uint8Array.from([9, 9]), statelessResetToken: token });
    expect(TransportParamId.STATELESS_RESET_TOKEN).toBe(6);
    expect(transportParamsLength({ statelessResetToken: token })).toBe(18);
    // The decoded token is a copy, not a view into the handshake payload.
    const got = decodeTransportParams(b).statelessResetToken as Uint8Array;
    b.fill(0);
    expect(got).toEqual(token);
  });

  it('rejects a stateless_reset_token of any other length, both ways', () => {
    for (const n of [0, 1, 15, 17, 20, 32]) {
      expectCode(() => encodeTransportParams({ statelessResetToken: new Uint8Array(n) }), 'E_WIRE_PARAM');
      expectCode(() => transportParamsLength({ statelessResetToken: new Uint8Array(n) }), 'E_WIRE_PARAM');
      expectCode(() => decodeTransportParams(Uint8Array.from([6, n, ...new Uint8Array(n)])), 'E_WIRE_PARAM');
    }
    // A declared length past the end of the block is truncation, not a short token.
    expectCode(() => decodeTransportParams(Uint8Array.from([6, 16, ...new Uint8Array(15)])), 'E_WIRE_TRUNCATED');
    expectCode(() => decodeTransportParams(Uint8Array.from([6, 16, ...new Uint8Array(16), 6, 16, ...new Uint8Array(16)])), 'E_WIRE_PARAM');
  });

  it('encodes an empty set as no bytes, and decodes it to no fields', () => {
    expect(encodeTransportParams({}).length).toBe(0);
    expect(decodeTransportParams(new Uint8Array(0))).toEqual({});
  });

  it('skips unknown ids but still bounds-checks them', () => {
    expect(decodeTransportParams(hex('1f 03 aabbcc 04 01 05'))).toEqual({ maxTransfers: 5 });
    expectCode(() => decodeTransportParams(hex('1f 05 aabbcc')), 'E_WIRE_TRUNCATED');
  });

  it('rejects a repeated id, known or not', () => {
    expectCode(() => decodeTransportParams(hex('04 01 05 04 01 06')), 'E_WIRE_PARAM');
    expectCode(() => decodeTransportParams(hex('1f 00 1f 00')), 'E_WIRE_PARAM');
  });

  it('rejects a value that does not exactly fill its length', () => {
    expectCode(() => decodeTransportParams(hex('04 02 05 00')), 'E_WIRE_PARAM');
    expectCode(() => decodeTransportParams(hex('04 01 40')), 'E_WIRE_TRUNCATED');
    expectCode(() => decodeTransportParams(hex('04 00')), 'E_WIRE_TRUNCATED');
    expect(decodeTransportParams(hex('04 02 4005'))).toEqual({ maxTransfers: 5 }); // non-minimal value is fine
  });

  it('range-checks max_datagram_size both ways', () => {
    expectCode(() => decodeTransportParams(hex('01 02 44af')), 'E_WIRE_PARAM'); // 1199
    expect(decodeTransportParams(hex('01 02 44b0'))).toEqual({ maxDatagramSize: 1200 });
    expectCode(() => encodeTransportParams({ maxDatagramSize: 65_528 }), 'E_WIRE_PARAM');
    expectCode(() => encodeTransportParams({ idleTimeoutMs: -1 }), 'E_WIRE_PARAM');
    expect(TransportParamId.MAX_DATAGRAM_SIZE).toBe(1);
  });

  it('writes into a caller buffer, refusing one that is too small', () => {
    const p = { maxTransfers: 3 };
    const buf = new Uint8Array(2);
    expectCode(() => writeTransportParams(new Writer(buf), p), 'E_WIRE_TOO_LARGE');
    const big = new Uint8Array(8);
    const w = new Writer(big);
    writeTransportParams(w, p);
    expect(w.offset).toBe(transportParamsLength(p));
  });

  it('round-trips (property)', () => {
    fc.assert(
      fc.property(transportParams(), (p) => {
        const b = encodeTransportParams(p);
        expect(b.length).toBe(transportParamsLength(p));
        same(decodeTransportParams(b), p);
      }),
      RUNS,
    );
  });

  it('mutated and random blocks decode to re-encodable params or throw a wire error (property)', () => {
    fc.assert(
      fc.property(transportParams(), mutations(), fc.uint8Array({ maxLength: 32 }), (p, ms, noise) => {
        for (const input of [mutate(encodeTransportParams(p), ms), noise]) {
          const got = decodeOrWireError(() => decodeTransportParams(input));
          if (got !== null) expect(decodeTransportParams(encodeTransportParams(got))).toEqual(got);
        }
      }),
      RUNS,
    );
  });
});
