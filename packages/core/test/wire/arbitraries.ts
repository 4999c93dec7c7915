/** fast-check generators and helpers shared by the wire tests. */
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { WraithError } from '../../src/errors.js';
import {
  MAX_VARINT,
  type ControlMessage,
  type Frame,
  type LongHeaderPacket,
  type TransportParams,
} from '../../src/wire/index.js';

export const RUNS = { numRuns: 10_000 };

/** Varints biased towards the length boundaries. */
export const varint = (): fc.Arbitrary<number> =>
  fc.oneof(
    fc.constantFrom(0, 63, 64, 16_383, 16_384, 2 ** 30 - 1, 2 ** 30, 2 ** 32, MAX_VARINT),
    fc.integer({ min: 0, max: 63 }),
    fc.integer({ min: 0, max: 16_383 }),
    fc.integer({ min: 0, max: 2 ** 30 - 1 }),
    fc.maxSafeNat(),
  );

export const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: min, maxLength: max });
export const fixed = (n: number): fc.Arbitrary<Uint8Array> => bytes(n, n);

/** Well-formed text of at most 256 UTF-8 bytes (64 code points of up to 4 bytes). */
export const reason = (): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength: 64 });

/** An offset and data whose end stays within 2^53 - 1. */
const span = (maxData: number): fc.Arbitrary<{ offset: number; data: Uint8Array }> =>
  fc.tuple(varint(), bytes(0, maxData)).map(([offset, data]) => ({
    offset: Math.min(offset, MAX_VARINT - data.length),
    data,
  }));

/** Descending, gapped, inclusive ACK ranges built from gaps and lengths. */
export const ackFrame = (): fc.Arbitrary<Extract<Frame, { type: 'ack' }>> =>
  fc
    .record({
      base: fc.oneof(fc.nat(1000), fc.integer({ min: 0, max: 2 ** 40 })),
      first: fc.oneof(fc.nat(100), fc.nat(100_000)),
      rest: fc.array(fc.tuple(fc.oneof(fc.nat(20), fc.nat(100_000)), fc.oneof(fc.nat(20), fc.nat(100_000))), { maxLength: 12 }),
      ackDelay: varint(),
    })
    .map(({ base, first, rest, ackDelay }) => {
      let total = first;
      for (const [g, l] of rest) total += g + 2 + l;
      const largest = base + total;
      const ranges: Array<[number, number]> = [[largest - first, largest]];
      let smallest = largest - first;
      for (const [g, l] of rest) {
        const hi = smallest - g - 2;
        ranges.push([hi - l, hi]);
        smallest = hi - l;
      }
      return { type: 'ack' as const, largest, ackDelay, ranges };
    });

export const frame = (): fc.Arbitrary<Frame> =>
  fc.oneof(
    fc.integer({ min: 1, max: 40 }).map((length): Frame => ({ type: 'padding', length })),
    fc.constant<Frame>({ type: 'ping' }),
    ackFrame(),
    span(64).map(({ offset, data }): Frame => ({ type: 'control', offset, data })),
    fc.tuple(varint(), span(64)).map(([transferId, { offset, data }]): Frame => ({ type: 'chunk', transferId, offset, data })),
    fc
      .tuple(varint(), varint(), varint(), fc.nat(6))
      .chain(([transferId, chunkIndex, first, n]) =>
        fixed(n * 32).map((hashes): Frame => ({ type: 'proof', transferId, chunkIndex, first, hashes })),
      ),
    fc.tuple(varint(), varint()).map(([transferId, maxOffset]): Frame => ({ type: 'window', transferId, maxOffset })),
    fc.tuple(varint(), varint()).map(([transferId, chunkIndex]): Frame => ({ type: 'zero_chunk', transferId, chunkIndex })),
    fc.tuple(varint(), fixed(32)).map(([seq, publicKey]): Frame => ({ type: 'key_update', seq, publicKey })),
    fixed(8).map((data): Frame => ({ type: 'path_challenge', data })),
    fixed(8).map((data): Frame => ({ type: 'path_response', data })),
    fc.tuple(varint(), reason()).map(([errorCode, r]): Frame => ({ type: 'close', errorCode, reason: r })),
  );

export const controlMessage = (): fc.Arbitrary<ControlMessage> =>
  fc.oneof(
    fc
      .record({
        transferId: varint(),
        kind: fc.constantFrom<0 | 1>(0, 1),
        size: varint(),
        chunkLog2: fc.integer({ min: 14, max: 24 }),
        mode: varint(),
        mtimeMs: varint(),
        root: fixed(32),
        name: fc.string({ unit: 'binary', maxLength: 40 }),
        zeroPart: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      })
      .map(({ zeroPart, ...o }): ControlMessage => ({
        type: 'offer',
        ...o,
        ...(zeroPart !== undefined ? { zeroBytes: Math.floor(o.size * zeroPart) } : {}),
      })),
    fc
      .tuple(varint(), fc.array(fc.tuple(fc.nat(1000), fc.integer({ min: 1, max: 1000 })), { maxLength: 10 }))
      .map(([transferId, runs]): ControlMessage => {
        const ranges: Array<[number, number]> = [];
        let at = 0;
        for (const [gap, count] of runs) {
          ranges.push([at + gap, count]);
          at += gap + count;
        }
        return { type: 'accept', transferId, ranges };
      }),
    fc
      .tuple(varint(), fc.option(varint(), { nil: undefined }))
      .map(([transferId, reusedBytes]): ControlMessage => ({ type: 'accept', transferId, ranges: [[0, 1]], ...(reusedBytes !== undefined ? { reusedBytes } : {}) })),
    varint().map((transferId): ControlMessage => ({ type: 'leaf_request', transferId })),
    fc
      .tuple(varint(), varint(), fc.integer({ min: 1, max: 40 }))
      .chain(([transferId, first, count]) =>
        fc.uint8Array({ minLength: count * 32, maxLength: count * 32 }).map((leaves): ControlMessage => ({ type: 'leaves', transferId, first, leaves })),
      ),
    fc.tuple(varint(), varint(), reason()).map(([transferId, errorCode, r]): ControlMessage => ({ type: 'reject', transferId, errorCode, reason: r })),
    fc.tuple(varint(), fc.constantFrom<0 | 1>(0, 1)).map(([transferId, status]): ControlMessage => ({ type: 'done', transferId, status })),
    fc.tuple(varint(), fc.string({ maxLength: 64, unit: 'grapheme' })).map(([transferId, name]): ControlMessage => ({ type: 'done', transferId, status: 2, name })),
    fc.tuple(varint(), varint(), reason()).map(([transferId, errorCode, r]): ControlMessage => ({ type: 'cancel', transferId, errorCode, reason: r })),
    fc.tuple(varint(), varint()).map(([transferId, chunkIndex]): ControlMessage => ({ type: 'resend', transferId, chunkIndex })),
    fc.tuple(varint(), varint()).map(([transferId, bytes]): ControlMessage => ({ type: 'written', transferId, bytes })),
  );

export const longPacket = (): fc.Arbitrary<LongHeaderPacket> => {
  const cids = fc.tuple(fixed(8), fixed(8));
  return fc.oneof(
    fc
      .tuple(cids, bytes(0, 64), bytes(0, 200))
      .map(([[dcid, scid], token, noise]): LongHeaderPacket => ({ type: 'initiation', version: 1, dcid, scid, token, noise })),
    fc.tuple(cids, bytes(0, 200)).map(([[dcid, scid], noise]): LongHeaderPacket => ({ type: 'response', version: 1, dcid, scid, noise })),
    fc.tuple(cids, bytes(0, 200)).map(([[dcid, scid], noise]): LongHeaderPacket => ({ type: 'finish', version: 1, dcid, scid, noise })),
    fc.tuple(cids, bytes(0, 64)).map(([[dcid, scid], cookie]): LongHeaderPacket => ({ type: 'cookie_reply', version: 1, dcid, scid, cookie })),
    fc
      .tuple(cids, fc.array(fc.nat({ max: 0xffff_ffff }), { minLength: 1, maxLength: 8 }))
      .map(([[dcid, scid], versions]): LongHeaderPacket => ({ type: 'version_negotiation', version: 0, dcid, scid, versions })),
  );
};

export const transportParams = (): fc.Arbitrary<TransportParams> =>
  fc.record(
    {
      maxDatagramSize: fc.integer({ min: 1200, max: 65_527 }),
      idleTimeoutMs: varint(),
      initialWindow: varint(),
      maxTransfers: varint(),
      storedNames: fc.constantFrom(0, 1),
      writtenProgress: fc.constantFrom(0, 1),
      zeroChunks: fc.constantFrom(0, 1),
      leafRows: fc.constantFrom(0, 1),
      controlWindow: fc.integer({ min: 65_536, max: 2 ** 30 }),
      sourceCid: fc.uint8Array({ minLength: 1, maxLength: 20 }),
      statelessResetToken: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    },
    { requiredKeys: [] },
  );

/** Byte-string mutations: flip, truncate, insert, append. */
export type Mutation = { op: 'flip' | 'set' | 'truncate' | 'insert'; at: number; value: number };
export const mutations = (): fc.Arbitrary<Mutation[]> =>
  fc.array(
    fc.record({
      op: fc.constantFrom<Mutation['op']>('flip', 'set', 'truncate', 'insert'),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    { minLength: 1, maxLength: 4 },
  );

export function mutate(src: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Array.from(src);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % (b.length + (m.op === 'insert' ? 1 : 0));
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[at] = (b[at] ?? 0) ^ (1 << (m.value % 8));
        break;
      case 'set':
        if (b.length > 0) b[at] = m.value;
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'insert':
        b.splice(at, 0, m.value);
        break;
    }
  }
  return Uint8Array.from(b);
}

/**
 * Run a decoder on hostile input: its result, or null when it threw a
 * WraithError whose code matches `allowed`. Any other exception fails the test.
 */
export function decodeOrWireError<T>(fn: () => T, allowed: RegExp = /^E_WIRE_/): T | null {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof WraithError)) throw new Error(`decoder threw a non-WraithError: ${String(e)}`, { cause: e });
    if (!allowed.test(e.code)) throw new Error(`decoder threw ${e.code}, not matching ${String(allowed)}: ${e.message}`);
    return null;
  }
}

/** Expect `fn` to throw a WraithError with `code`. */
export function expectCode(fn: () => unknown, code: string): WraithError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WraithError);
    expect((e as WraithError).code).toBe(code);
    return e as WraithError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Deep equality for hot property loops: a fast check, with vitest's diff only on failure. */
export function same(actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual).toEqual(expected);
}
